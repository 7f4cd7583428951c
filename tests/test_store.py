"""The encrypted terminal store: what it creates, what it refuses, and what every write leaves.

Pins: the key file is 0600 and the bytes on disk (.db and -wal) carry no plaintext; create
never overwrites; open never creates, never writes to a file it cannot read (wrong key,
garbage, truncated, an empty stray file) and names the problem with a StoreError subclass;
WAL + synchronous=FULL are in effect; the migration set is recorded; every domain write
appends exactly one journal event (increasing seq, UUID id) and its audit entry in the same
transaction, so a write that fails leaves neither; staff reads are audited; a failed COMMIT
does not leave a transaction open.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from core import audit, branch, members
from core.errors import KeyMissing, NoStore, StoreError, WrongKey
from core.store import Store, key_path

NAME = "欧阳春花"  # a name that must never appear in the file's bytes


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _wal(path: Path) -> Path:
    return Path(str(path) + "-wal")


def _add_member(store, no: str = "M001", name: str = NAME) -> dict:
    return members.add(store, member_no=no, name=name, category="retired", income_fen=300000,
                       phones=["13800001234"], actor="test")


# -- create -------------------------------------------------------------------------------

def test_create_writes_a_0600_key_and_an_encrypted_file(tmp_path, clock):
    path = tmp_path / "terminal.db"
    s = Store.create(path, clock=clock)
    try:
        kp = key_path(path)
        assert stat.S_IMODE(kp.stat().st_mode) == 0o600
        key = kp.read_text().strip()
        assert len(key) == 64 and int(key, 16) >= 0
        branch.setup(s, code="TEST", name="测试村党支部", actor="test")
        _add_member(s)
        wal = _wal(path)
        assert wal.exists() and wal.stat().st_size > 0  # the check below is not vacuous
        for f in (path, wal):
            data = f.read_bytes()
            assert b"SQLite format 3" not in data
            assert NAME.encode("utf-8") not in data
            assert "测试村".encode() not in data
            assert b"CREATE TABLE" not in data
            assert b"13800001234" not in data
            assert key.encode() not in data
    finally:
        s.close()
    data = path.read_bytes()  # after the checkpoint everything lives in the .db file
    assert b"SQLite format 3" not in data
    assert NAME.encode("utf-8") not in data
    assert b"member_no" not in data
    # and it is really there, behind the key
    with Store.open(path, clock=clock) as s2:
        assert members.get(s2, "M001")["name"] == NAME


def test_store_files_are_0600_in_a_0700_folder(tmp_path, clock):
    path = tmp_path / "new" / "terminal.db"
    s = Store.create(path, clock=clock)
    try:
        branch.setup(s, code="TEST", name="测试村党支部", actor="test")
        files = (path, key_path(path), *_sidecars(path))
        assert all(f.exists() for f in files)
        assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        s.close()
    # A store made before this rule (SQLite gave it 0644) is tightened when opened.
    path.chmod(0o644)
    with Store.open(path, clock=clock):
        assert {stat.S_IMODE(f.stat().st_mode) for f in (path, *_sidecars(path))} == {0o600}


def _sidecars(path):
    return [path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def test_create_refuses_when_the_db_exists(tmp_path, clock):
    path = tmp_path / "terminal.db"
    Store.create(path, clock=clock).close()
    key_before, db_before = key_path(path).read_text(), _sha(path)
    with pytest.raises(StoreError) as e:
        Store.create(path, clock=clock)
    assert "already exist" in e.value.detail
    assert e.value.zh == "这台终端已经有数据了，不能重新初始化。"
    assert key_path(path).read_text() == key_before and _sha(path) == db_before


def test_create_refuses_when_only_the_key_exists(tmp_path, clock):
    path = tmp_path / "terminal.db"
    key_path(path).write_text("ab" * 32 + "\n")
    with pytest.raises(StoreError):
        Store.create(path, clock=clock)
    assert _files(tmp_path) == ["terminal.db.key"]
    assert key_path(path).read_text() == "ab" * 32 + "\n"


def test_create_refuses_over_a_stray_wal_file(tmp_path, clock):
    path = tmp_path / "terminal.db"
    _wal(path).write_bytes(b"left over")
    with pytest.raises(StoreError):
        Store.create(path, clock=clock)
    assert _files(tmp_path) == ["terminal.db-wal"]
    assert _wal(path).read_bytes() == b"left over"


# -- open ---------------------------------------------------------------------------------

def test_open_missing_path_raises_nostore_and_creates_nothing(tmp_path, clock):
    path = tmp_path / "sub" / "terminal.db"
    with pytest.raises(NoStore) as e:
        Store.open(path, clock=clock)
    assert "lianxin init" in e.value.detail
    assert not path.parent.exists()
    with pytest.raises(NoStore):
        Store.open(tmp_path / "terminal.db", clock=clock)
    assert _files(tmp_path) == []


def test_open_without_key_file_raises_keymissing(tmp_path, clock):
    path = tmp_path / "terminal.db"
    Store.create(path, clock=clock).close()
    key_path(path).rename(tmp_path / "elsewhere.key")
    before = _sha(path)
    with pytest.raises(KeyMissing) as e:
        Store.open(path, clock=clock)
    assert str(key_path(path)) in e.value.detail
    assert _sha(path) == before
    assert _files(tmp_path) == ["elsewhere.key", "terminal.db"]


def test_open_with_a_malformed_key_file_raises_keymissing(tmp_path, clock):
    path = tmp_path / "terminal.db"
    Store.create(path, clock=clock).close()
    key_path(path).write_text("not a key\n")
    with pytest.raises(KeyMissing):
        Store.open(path, clock=clock)


def test_open_with_wrong_key_raises_wrongkey_and_leaves_file_unchanged(tmp_path, clock, capfd):
    path = tmp_path / "terminal.db"
    s = Store.create(path, clock=clock)
    branch.setup(s, code="TEST", name="测试村党支部", actor="test")
    s.close()
    before = _sha(path)
    key_path(path).write_text("0f" * 32 + "\n")
    capfd.readouterr()
    with pytest.raises(WrongKey) as e:
        Store.open(path, clock=clock)
    assert "key does not open" in e.value.detail
    assert "数据没有改动" in e.value.zh
    assert _sha(path) == before
    assert _files(tmp_path) == ["terminal.db", "terminal.db.key"]  # no -wal/-shm made
    out, err = capfd.readouterr()
    assert err == "" and out == ""  # SQLCipher's own error log stays quiet


def test_a_fresh_process_opening_with_wrong_key_prints_nothing(tmp_path, clock):
    """SQLCipher's log level is process-wide, so this runs in a process of its own: the
    first connection it makes is the one that meets the wrong key."""
    path = tmp_path / "terminal.db"
    Store.create(path, clock=clock).close()
    key_path(path).write_text("0f" * 32 + "\n")
    (tmp_path / "junk.db").write_bytes(os.urandom(8192))
    key_path(tmp_path / "junk.db").write_text("0f" * 32 + "\n")
    code = (
        "import sys\n"
        "from core.errors import StoreError\n"
        "from core.store import Store\n"
        "for p in sys.argv[1:]:\n"
        "    try:\n"
        "        Store.open(p)\n"
        "    except StoreError as e:\n"
        "        print(type(e).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "junk.db")],
                         capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.split() == ["WrongKey", "WrongKey"]
    assert out.stderr == ""


@pytest.mark.parametrize("damage", ["garbage", "half", "plain_sqlite"])
def test_open_damaged_file_raises_storeerror_and_leaves_it_unchanged(tmp_path, clock, capfd, damage):
    path = tmp_path / "terminal.db"
    s = Store.create(path, clock=clock)
    branch.setup(s, code="TEST", name="测试村党支部", actor="test")
    _add_member(s)
    s.close()
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "half":
        path.write_bytes(data[: len(data) // 2])
    else:  # an ordinary unencrypted SQLite file where the store should be
        import sqlite3

        path.unlink()
        with sqlite3.connect(path) as plain:
            plain.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        plain.close()
    before = _sha(path)
    capfd.readouterr()
    with pytest.raises(StoreError) as e:
        Store.open(path, clock=clock)
    assert str(path) in e.value.detail
    if damage == "half":  # the key fits; the file is damaged, and says so (not "wrong key")
        assert type(e.value) is StoreError and "may be damaged" in e.value.detail
        assert e.value.zh == "本机数据文件可能损坏了，数据没有改动，请联系工作人员。"
    else:  # SQLite cannot tell garbage or a plain file from a wrong key
        assert type(e.value) is WrongKey
    assert _sha(path) == before
    assert _files(tmp_path) == ["terminal.db", "terminal.db.key"]
    assert capfd.readouterr().err == ""


def test_open_an_empty_stray_file_does_not_turn_it_into_a_store(tmp_path, clock):
    """SQLite takes a 0-byte file for an empty database; open must not migrate it."""
    path = tmp_path / "terminal.db"
    path.write_bytes(b"")
    key_path(path).write_text("ab" * 32 + "\n")
    with pytest.raises(StoreError) as e:
        Store.open(path, clock=clock)
    assert "not a Lianxin terminal database" in e.value.detail
    assert path.stat().st_size == 0
    assert _files(tmp_path) == ["terminal.db", "terminal.db.key"]


def test_open_a_directory_raises_nostore(tmp_path, clock):
    (tmp_path / "terminal.db").mkdir()
    with pytest.raises(NoStore):
        Store.open(tmp_path / "terminal.db", clock=clock)


def test_reopen_keeps_terminal_id_and_data(tmp_path, clock):
    path = tmp_path / "terminal.db"
    s = Store.create(path, clock=clock)
    tid = s.terminal_id
    uuid.UUID(tid)
    s.close()
    with Store.open(path, clock=clock) as s2:
        assert s2.terminal_id == tid
        assert s2.meta("created_at") == "2026-11-15T10:00:00.000+08:00"


# -- pragmas and migrations ---------------------------------------------------------------

@pytest.mark.parametrize("how", ["create", "open"])
def test_wal_and_synchronous_full_are_in_effect(tmp_path, clock, how):
    path = tmp_path / "terminal.db"
    s = Store.create(path, clock=clock)
    if how == "open":
        s.close()
        s = Store.open(path, clock=clock)
    try:
        q = s.db.execute
        assert q("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert q("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert q("PRAGMA foreign_keys").fetchone()[0] == 1
        assert q("PRAGMA busy_timeout").fetchone()[0] == 10000
        assert q("PRAGMA cipher_version").fetchone()[0].startswith("4.")
    finally:
        s.close()


def test_migrations_are_recorded(store):
    rows = store.all("SELECT migration_set, name FROM _sqlite_migrations ORDER BY rowid")
    from core.schema import migrations

    assert rows == [{"migration_set": "core", "name": m.name} for m in migrations._migrations]
    assert rows[0]["name"] == "m001_initial"
    tables = {r["name"] for r in store.all("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"meta", "member", "staff", "ledger", "journal", "audit"} <= tables
    triggers = {r["name"] for r in store.all("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"audit_no_update", "audit_no_delete", "journal_no_update", "ledger_no_delete"} <= triggers


def test_reopen_does_not_reapply_migrations(tmp_path, clock):
    path = tmp_path / "terminal.db"
    Store.create(path, clock=clock).close()
    with Store.open(path, clock=clock) as s:
        pass
    with Store.open(path, clock=clock) as s:
        from core.schema import migrations

        names = [r["name"] for r in s.all("SELECT name FROM _sqlite_migrations")]
        assert sorted(names) == sorted({m.name for m in migrations._migrations})


def test_append_only_tables_refuse_update_and_delete(store):
    import sqlcipher3

    for sql in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit",
                "UPDATE journal SET type = 'x'", "DELETE FROM journal"):
        with pytest.raises(sqlcipher3.IntegrityError, match="append-only"):
            store.db.execute(sql)


# -- journal + audit with every write -----------------------------------------------------

def _journal(store) -> list[dict]:
    return store.all("SELECT seq, event_id, type, payload, at FROM journal ORDER BY seq")


def test_every_domain_write_appends_one_journal_event_and_one_audit_entry(store):
    j0, a0 = len(_journal(store)), store.one("SELECT count(*) AS n FROM audit")["n"]
    assert j0 == 2  # branch.created, staff.added (fixture)
    writes = [
        ("member.added", lambda: _add_member(store, "M001")),
        ("member.added", lambda: _add_member(store, "M002", "李四")),
        ("branch.policy_set", lambda: branch.set_policy(store, back_pay_limit=3,
                                                        pay_ahead_limit=12, actor="staff:S01")),
    ]
    for i, (etype, write) in enumerate(writes, 1):
        write()
        events = _journal(store)
        assert len(events) == j0 + i
        new = events[-1]
        assert new["type"] == etype
        assert str(uuid.UUID(new["event_id"])) == new["event_id"]
        audits = store.all("SELECT seq, action, detail FROM audit ORDER BY seq")
        assert len(audits) == a0 + i
        assert audits[-1]["action"] == etype
        detail = json.loads(audits[-1]["detail"])
        assert detail["event_id"] == new["event_id"]
        assert detail["sha256"] == hashlib.sha256(new["payload"].encode()).hexdigest()
    seqs = [e["seq"] for e in _journal(store)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len({e["event_id"] for e in _journal(store)}) == len(seqs)
    assert audit.verify(store).ok


def test_record_outside_a_transaction_is_refused(store):
    with pytest.raises(RuntimeError):
        store.record("help.requested", {"where": "home"}, actor="test")
    assert len(_journal(store)) == 2


def test_a_write_that_fails_mid_transaction_leaves_no_journal_or_audit_row(store):
    head = store.meta("audit_head")
    n_audit = store.one("SELECT count(*) AS n FROM audit")["n"]
    with pytest.raises(OSError, match="power cut"):
        with store.transaction():
            store.db.execute("INSERT INTO notice(notice_id, title, body, posted) "
                             "VALUES ('n1', 't', 'b', '2026-11-15')")
            store.record("notice.posted", {"notice_id": "n1"}, actor="test")
            raise OSError("power cut")
    assert len(_journal(store)) == 2
    assert store.one("SELECT count(*) AS n FROM audit")["n"] == n_audit
    assert store.meta("audit_head") == head
    assert store.one("SELECT count(*) AS n FROM notice")["n"] == 0
    assert not store.db.conn.in_transaction
    # and the chain carries on cleanly afterwards
    _add_member(store)
    assert audit.verify(store).ok


def test_a_domain_error_after_record_rolls_back_everything(store):
    """A duplicate member number fails after nothing, a constraint after the record."""
    _add_member(store, "M001")
    events = len(_journal(store))
    with pytest.raises(Exception):  # noqa: B017 - any failure; what matters is what is left
        with store.transaction():
            store.record("member.added", {"member_no": "M009"}, actor="test")
            store.db.execute("INSERT INTO member_phone(phone, member_no) VALUES ('1', 'NOPE')")
    assert len(_journal(store)) == events
    assert audit.verify(store).ok


def test_nested_transaction_failure_rolls_back_only_the_inner_part(store):
    with store.transaction():
        _add_member(store, "M001")
        with pytest.raises(ValueError):
            with store.transaction():
                store.record("help.requested", {"where": "inner"}, actor="test")
                raise ValueError("inner")
    types = [e["type"] for e in _journal(store)]
    assert types[-1] == "member.added" and types.count("help.requested") == 0
    assert audit.verify(store).ok


def test_a_failed_commit_does_not_leave_the_transaction_open(store):
    store.db.execute("PRAGMA defer_foreign_keys = ON")
    with pytest.raises(Exception, match="FOREIGN KEY"):
        with store.transaction():
            store.db.execute("PRAGMA defer_foreign_keys = ON")
            store.db.execute("INSERT INTO member_phone(phone, member_no) VALUES ('1', 'NOPE')")
            store.record("help.requested", {"where": "bad"}, actor="test")
    assert not store.db.conn.in_transaction
    # the next write commits on its own, and the bad one is gone
    _add_member(store, "M001")
    path, clock = store.path, store.clock
    store.close()
    with Store.open(path, clock=clock) as s:
        types = [e["type"] for e in _journal(s)]
        assert types[-1] == "member.added" and "help.requested" not in types
        assert audit.verify(s).ok


def test_staff_read_of_a_member_is_audited(store):
    _add_member(store)
    n = store.one("SELECT count(*) AS n FROM audit")["n"]
    members.get(store, "M001")  # the member's own read (no reader) is not an audit event
    assert store.one("SELECT count(*) AS n FROM audit")["n"] == n
    members.get(store, "M001", reader="staff:S01")
    rows = store.all("SELECT actor, action, subject, detail FROM audit WHERE seq > ?", [n])
    assert rows == [{"actor": "staff:S01", "action": "read", "subject": "member:M001",
                     "detail": '{"what":"profile"}'}]
    assert len(_journal(store)) == 3  # a read is audited, not shipped as an event
    assert audit.verify(store).ok


# -- the branch this store holds ----------------------------------------------------------

def test_a_store_holds_one_branch_only(store):
    from core.errors import InvalidInput

    events = len(_journal(store))
    with pytest.raises(StoreError) as e:
        branch.setup(store, code="OTHER", name="另一个支部", actor="test")
    assert e.value.zh == "这台终端已经属于一个支部。"
    assert branch.get(store).code == "TEST"
    assert len(_journal(store)) == events and not store.db.conn.in_transaction
    for bad in (-1, 2.5, True, "6"):
        with pytest.raises(InvalidInput):
            branch.set_policy(store, back_pay_limit=bad, pay_ahead_limit=6, actor="test")
    assert len(_journal(store)) == events
    b = branch.set_policy(store, back_pay_limit=0, pay_ahead_limit=12, actor="staff:S01")
    assert (b.back_pay_limit, b.pay_ahead_limit) == (0, 12)
    assert json.loads(_journal(store)[-1]["payload"]) == {
        "code": "TEST", "back_pay_limit": 0, "pay_ahead_limit": 12}
