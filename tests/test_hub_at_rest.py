"""The hub's data at rest: encrypted like a terminal, private files, clear errors.

Pins: a hub database is SQLCipher-encrypted (the stdlib ``sqlite3`` cannot read it), mode
0600 with its WAL/SHM, its key file 0600, its folder 0700, and the media it stores 0600;
opening an existing hub creates no file; a missing or wrong key is refused and the file is
left as it was; a plain hub made before encryption is refused with the migration named,
and ``lianxin hub --db FILE migrate-encrypt`` encrypts it in place, keeping its data.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat

import pytest
import sqlcipher3
from click.testing import CliRunner

from cli.main import cli
from core.errors import KeyMissing, WrongKey
from core.store import key_path
from sync.hub import admin, open_hub
from sync.hub.storage import PlainHub


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def hub(tmp_path):
    """A SQLite hub: encryption at rest is Lianxin's there (on PostgreSQL it is the
    server's, docs/security.md)."""
    (tmp_path / "hub").mkdir()
    storage = open_hub(tmp_path / "hub" / "hub.db")
    admin.create_branch(storage, code="B1", name="一支部")
    yield storage
    storage.close()


def test_the_standard_library_cannot_read_the_hub(hub):
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        with sqlite3.connect(hub.path) as plain:
            plain.execute("SELECT count(*) FROM sqlite_master").fetchone()
    assert b"SQLite format 3" not in hub.path.read_bytes()[:100]
    assert "一支部".encode() not in hub.path.read_bytes()


def test_hub_files_are_private(hub):
    kp = key_path(hub.path)
    assert _mode(hub.path.parent) == 0o700
    assert _mode(hub.path) == 0o600
    assert _mode(kp) == 0o600
    assert len(kp.read_text().strip()) == 64
    for side in ("-wal", "-shm"):
        p = hub.path.with_name(hub.path.name + side)
        if p.exists():
            assert _mode(p) == 0o600, p


def test_media_the_hub_stores_is_private(hub, tmp_path):
    audio = tmp_path / "lesson.mp3"
    audio.write_bytes(b"ID3" + os.urandom(2000))
    sha = admin.add_media(hub, "B1", audio)["sha256"]
    stored = hub.media_dir / sha[:2] / sha
    assert stored.read_bytes() == audio.read_bytes()
    assert _mode(stored) == 0o600
    assert _mode(hub.media_dir) == 0o700 and _mode(stored.parent) == 0o700


def test_reopening_creates_no_file(hub):
    folder, path = hub.path.parent, hub.path
    hub.close()
    before = sorted(os.listdir(folder))
    again = open_hub(path)
    try:
        assert [b["code"] for b in admin.list_branches(again)] == ["B1"]
    finally:
        again.close()
    assert sorted(os.listdir(folder)) == before


def test_a_wrong_key_is_refused_and_the_file_left_alone(hub):
    path = hub.path
    hub.close()
    before = _digest(path)
    key_path(path).write_text("ab" * 32 + "\n")
    with pytest.raises(WrongKey, match="key does not open"):
        open_hub(path)
    assert _digest(path) == before


def test_a_missing_key_is_refused(hub):
    path = hub.path
    hub.close()
    key_path(path).unlink()
    before = sorted(os.listdir(path.parent))
    with pytest.raises(KeyMissing, match="key file"):
        open_hub(path)
    assert sorted(os.listdir(path.parent)) == before


def _decrypt_to_plain(path) -> None:
    """Turn an encrypted hub into what a hub made before encryption looked like."""
    plain = path.with_name("plain.db")
    conn = sqlcipher3.connect(str(path))
    conn.execute(f"PRAGMA key = \"x'{key_path(path).read_text().strip()}'\"")
    conn.execute("ATTACH DATABASE ? AS plain KEY ''", [str(plain)])
    conn.execute("SELECT sqlcipher_export('plain')")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.execute(f"PRAGMA plain.user_version = {version}")
    conn.execute("DETACH DATABASE plain")
    conn.close()
    os.replace(plain, path)
    for p in (key_path(path), path.with_name(path.name + "-wal"),
              path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)
    os.chmod(path, 0o644)


def test_a_plain_hub_is_refused_then_migrated_in_place(hub):
    path = hub.path
    hub_id = hub.meta("hub_id")
    hub.close()
    _decrypt_to_plain(path)
    with sqlite3.connect(path) as plain:  # as a hub made before this change
        assert plain.execute("SELECT value FROM meta WHERE key='hub_id'").fetchone()[0] == hub_id

    with pytest.raises(PlainHub, match="migrate-encrypt"):
        open_hub(path)
    assert not key_path(path).exists()  # refusing made nothing

    result = CliRunner().invoke(cli, ["hub", "--db", str(path), "migrate-encrypt"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "密钥文件" in result.output
    assert sorted(os.listdir(path.parent)) == ["hub.db", "hub.db.key"]
    assert _mode(path) == 0o600 and _mode(key_path(path)) == 0o600
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        with sqlite3.connect(path) as plain:
            plain.execute("SELECT count(*) FROM sqlite_master").fetchone()

    again = open_hub(path)
    try:
        assert again.meta("hub_id") == hub_id
        assert [b["code"] for b in admin.list_branches(again)] == ["B1"]
    finally:
        again.close()

    # Run twice: the second time says it is encrypted already, and changes nothing.
    before = _digest(path)
    result = CliRunner().invoke(cli, ["hub", "--db", str(path), "migrate-encrypt"])
    assert result.exit_code != 0
    assert _digest(path) == before
