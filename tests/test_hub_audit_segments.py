"""The hub keeps each terminal's audit chain as segments, one per push (sync.hub.audit_segments).

Pins: a chain read back is the chain the terminal sent, field for field and hash for hash,
whether its entries restate their events (the usual ones, stored without what the event
gives) or not; segments are append-only; a segment whose body was altered, or whose event
the branch log no longer gives, is reported as damage, never handed on, and ``lianxin hub
check --chains`` finds it; a hub upgraded from a row per entry (m009) keeps every chain
whole. Both back ends.
"""

from __future__ import annotations

import json
import random
import time

import orjson
import pytest
from click.testing import CliRunner

from bench.bench_sync import FakeTerminal
from cli.main import cli
from core.audit import GENESIS, entry_hash
from sync import protocol
from sync.hub import admin, audit_segments, open_hub, service
from sync.hub.audit_segments import SegmentDamaged
from sync.hub.storage import IntegrityError


def _enrolled(hub, seed: int = 1) -> FakeTerminal:
    t = FakeTerminal(random.Random(seed))
    hub.insert_terminal(terminal_id=t.terminal_id, branch="B",
                        public_key=protocol.public_key_b64(t.key), label="", at="x")
    return t


def _push(hub, t: FakeTerminal, events, entries) -> dict:
    return service.push(hub, service.Caller(t.terminal_id, "B"),
                        protocol.push_rows(events, entries), int(time.time() * 1000))


@pytest.fixture
def hub(hub_storage):
    admin.create_branch(hub_storage, code="B", name="基准支部")
    return hub_storage


def test_the_chain_read_back_is_the_chain_sent(hub):
    t = _enrolled(hub)
    sent = []
    for n in (30, 1, 45):
        events, entries = t.events(n)
        # An entry that does not restate its event: a time and an action of its own.
        _rechained(entries, 0, at="2026-11-01T09:00:00.000+08:00")
        t.head = entries[-1]["hash"]
        assert _push(hub, t, events, entries)["applied"] == n
        sent += entries
    assert hub.audit_chain(t.terminal_id) == sent
    assert hub.audit_hashes(t.terminal_id, 29, 32) == {e["seq"]: e["hash"] for e in sent[28:32]}
    bodies = hub.conn.execute("SELECT body FROM audit_segment ORDER BY first_seq").fetchall()
    assert len(bodies) == 3  # one per push
    # The usual entry keeps only what its event does not give: no event id, time or type.
    usual = orjson.loads(bytes(bodies[0][0]))[1]
    assert usual[0] is None and usual[3] is None and usual[5] == 2 and len(usual[4]) == 64


def _rechained(entries: list[dict], i: int, **fields) -> None:
    """Entry ``i`` with ``fields`` changed, and the chain from it rehashed, in place."""
    changed = {**entries[i], **fields}
    prev = changed["prev_hash"]
    for k in range(i, len(entries)):
        e = changed if k == i else entries[k]
        e["prev_hash"] = prev
        e["hash"] = prev = entry_hash(prev, e["seq"], e["at"], e["actor"], e["action"],
                                      e["subject"], e["detail"])
        entries[k] = e


def test_segments_are_append_only(hub):
    t = _enrolled(hub)
    _push(hub, t, *t.events(5))
    for sql in ("UPDATE audit_segment SET hash = 'x'", "DELETE FROM audit_segment"):
        with pytest.raises(IntegrityError, match="append-only"):
            hub.conn.execute(sql)


def test_an_altered_segment_is_damage_not_a_chain():
    entries, events, prev = [], [], GENESIS
    for seq in range(1, 4):
        ev = {"seq": seq, "event_id": f"e{seq}", "type": "study.session", "at": "t", "payload": "{}"}
        detail = f'{{"event_id":"e{seq}","sha256":"{"ab" * 32}"}}'
        h = entry_hash(prev, seq, "t", "member:M1", "study.session", "member:M1", detail)
        entries.append({"seq": seq, "at": "t", "actor": "member:M1", "action": "study.session",
                        "subject": "member:M1", "detail": detail, "prev_hash": prev, "hash": h})
        events.append(ev)
        prev = h
    segment = {"first_seq": 1, "last_seq": 3, "prev_hash": GENESIS, "hash": prev,
               "body": audit_segments.pack(entries, events)}
    known = {e["seq"]: (e["event_id"], e["at"], e["type"]) for e in events}
    assert audit_segments.unpack(segment, lambda seqs: known) == entries
    rows = orjson.loads(segment["body"])
    rows[1][1] = "member:M2"  # someone with the key edits who did it
    with pytest.raises(SegmentDamaged, match="does not hash"):
        audit_segments.unpack({**segment, "body": orjson.dumps(rows)}, lambda seqs: known)
    with pytest.raises(SegmentDamaged, match="event 2"):
        audit_segments.unpack(segment, lambda seqs: {1: known[1], 3: known[3]})


def test_an_older_hubs_audit_rows_become_segments(hub):
    """m009 on a hub that kept a row per entry: 1,201 rows of one terminal, chained."""
    rows, prev = [], GENESIS
    for seq in range(1, 1202):
        e = {"seq": seq, "at": f"2026-11-01T08:{seq % 60:02d}:00.000+08:00",
             "actor": "staff:S01", "action": "member.read", "subject": f"member:M{seq % 40}",
             "detail": '{"by":"staff:S01"}'}
        e["prev_hash"] = prev
        e["hash"] = prev = entry_hash(prev, seq, e["at"], e["actor"], e["action"],
                                      e["subject"], e["detail"])
        rows.append(e)
    conn = hub.conn  # the hub as m008 left it
    conn.execute("DROP TABLE audit_segment")
    if hub.postgres:
        conn.raw.execute("DROP FUNCTION audit_segment_no_update_fn, audit_segment_no_delete_fn")
    conn.execute("CREATE TABLE terminal_audit (terminal_id TEXT NOT NULL, seq INTEGER NOT NULL, "
                 "at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT "
                 "NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, "
                 "PRIMARY KEY (terminal_id, seq))")
    conn.executemany("INSERT INTO terminal_audit(terminal_id, seq, at, actor, action, subject, "
                     "detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [("T1", *e.values()) for e in rows])
    table = "lianxin_migrations" if hub.postgres else "_sqlite_migrations"
    conn.execute(f"DELETE FROM {table} WHERE name = ?", ["m009_audit_segments"])
    hub.close()
    again = open_hub(hub.path, files=hub.files if hub.postgres else None)
    try:
        assert again.audit_chain("T1") == rows
        assert again.conn.execute("SELECT count(*) FROM audit_segment").fetchone()[0] == 2
        with pytest.raises(Exception, match="terminal_audit"):
            again.conn.execute("SELECT 1 FROM terminal_audit")
    finally:
        again.close()


def test_hub_check_chains_finds_a_chain_edited_in_the_database(hub):
    """``lianxin hub check --chains``: nothing for chains as pushed; an edited segment and
    a chain that no longer ends at the head the hub recorded are both found (exit 1)."""
    edited, cut = _enrolled(hub, 1), _enrolled(hub, 2)
    for t in (edited, cut):
        _push(hub, t, *t.events(20))
    assert admin.check_chains(hub) == []
    conn = hub.conn
    if hub.postgres:
        conn.raw.execute("ALTER TABLE audit_segment DISABLE TRIGGER audit_segment_no_update")
    else:
        conn.execute("DROP TRIGGER audit_segment_no_update")
    (body,) = conn.execute("SELECT body FROM audit_segment WHERE terminal_id = ?",
                           [edited.terminal_id]).fetchone()
    rows = orjson.loads(bytes(body))
    rows[4][1] = "staff:S99"  # who did it, rewritten
    conn.execute("UPDATE audit_segment SET body = ? WHERE terminal_id = ?",
                 [orjson.dumps(rows), edited.terminal_id])
    conn.execute("UPDATE terminal SET audit_hash = ? WHERE terminal_id = ?",
                 [GENESIS, cut.terminal_id])
    found = {f["terminal_id"]: f for f in admin.check_chains(hub)}
    assert set(found) == {edited.terminal_id, cut.terminal_id}
    assert "does not hash" in found[edited.terminal_id]["detail"]
    assert "hash the hub recorded" in found[cut.terminal_id]["detail"]
    r = CliRunner().invoke(cli, ["hub", "--db", str(hub.path), "check", "--chains", "--json"])
    assert r.exit_code == 1, r.output
    out = json.loads(r.output)
    assert out["events"] == [] and {c["code"] for c in out["chains"]} == {"audit_damaged"}
    r = CliRunner().invoke(cli, ["hub", "--db", str(hub.path), "check"])
    assert r.exit_code == 0  # without --chains, chains are not read
