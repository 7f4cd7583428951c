"""Record ids (core.ids): RFC 9562 version 7, ordered by time, unique; and the hub's
study table moved to WITHOUT ROWID with its rows."""

import re
import uuid

from core import ids
from sync.hub import open_hub

V7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_new_ids_are_version_7_increasing_and_unique():
    made = [ids.new_id() for _ in range(20_000)]   # many within one millisecond
    assert all(V7.fullmatch(i) for i in made)
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert {uuid.UUID(i).version for i in made[:10]} == {7}


def test_an_id_starts_with_its_millisecond(monkeypatch):
    monkeypatch.setattr(ids.time, "time_ns", lambda: 1_790_000_000_123_456_789)
    monkeypatch.setattr(ids, "_last", (0, 0))
    made = ids.new_id()
    assert int(made.replace("-", "")[:12], 16) == 1_790_000_000_123


def test_a_clock_stepping_back_keeps_ids_increasing(monkeypatch):
    monkeypatch.setattr(ids, "_last", (0, 0))
    monkeypatch.setattr(ids.time, "time_ns", lambda: 2_000_000_000_000_000_000)
    first = ids.new_id()
    monkeypatch.setattr(ids.time, "time_ns", lambda: 1_000_000_000_000_000_000)
    later = [ids.new_id() for _ in range(5000)]      # past the 12-bit counter, too
    assert [first, *later] == sorted([first, *later])


def test_uuid_v7_fields():
    u = ids.uuid_v7(0x0123456789AB, 0xFFF, (1 << 62) - 1)
    assert str(u) == "01234567-89ab-7fff-bfff-ffffffffffff"
    assert u.version == 7 and u.variant == uuid.RFC_4122


def test_hub_study_moves_to_without_rowid_keeping_its_rows(tmp_path):
    """m005-m007 on an older hub_study: its rows kept, keyed by branch, start and sitting."""
    path = tmp_path / "hub.db"
    storage = open_hub(path)
    rows = [(f"s{i}", "B", "M001", "L01", "2026-11-01T08:00:00+08:00", 60 * i, i % 2, "T1")
            for i in range(5)]
    with storage.transaction():
        # The table as it was before the migration, holding sessions.
        storage.conn.execute("DROP TABLE hub_study")
        storage.conn.execute("""CREATE TABLE hub_study (
            session_id TEXT PRIMARY KEY, branch TEXT NOT NULL, member_no TEXT NOT NULL,
            lesson_id TEXT NOT NULL, started_at TEXT NOT NULL, seconds INTEGER NOT NULL,
            completed INTEGER NOT NULL, terminal_id TEXT NOT NULL)""")
        storage.conn.executemany("INSERT INTO hub_study VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        storage.conn.execute("DELETE FROM _sqlite_migrations WHERE migration_set = "
                             "'hub_reconcile' AND name IN ('m005_hub_study_without_rowid', "
                             "'m006_hub_study_covering_index', 'm007_hub_study_by_branch')")
    storage.close()
    storage = open_hub(path)
    try:
        sql = storage.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'hub_study'"
                                   ).fetchone()[0]
        assert "WITHOUT ROWID" in sql and "PRIMARY KEY (branch, started_at, session_id)" in sql
        kept = storage.conn.execute("SELECT * FROM hub_study ORDER BY session_id").fetchall()
        assert [tuple(r) for r in kept] == rows
        storage.put_studies([("s1", "B", "M001", "L01", "2026-11-01T08:00:00+08:00", 999, 0,
                              "T1")])
        assert storage.conn.execute("SELECT seconds, completed FROM hub_study WHERE "
                                    "session_id = 's1'").fetchone() == (999, 1)
    finally:
        storage.close()
