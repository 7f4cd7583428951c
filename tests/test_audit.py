"""The audit chain ("数据留痕") names every kind of tampering an attacker with the key can do.

Pins: an untampered chain verifies; after dropping the append-only triggers (as someone
holding the key could), an edited, deleted, reordered or forged entry, entries cut off the
end, a removed or garbled head, and an edited or deleted journal event all make
``audit.verify`` return ok=False with a problem that names the entry by its number.
Limitation (by design, see core/audit.py): the chain is unkeyed, so a full rewrite from the
changed entry onwards, head included, is only caught by the hub comparing heads it has seen.
"""

from __future__ import annotations

import json

import pytest

from core import audit, members
from core.audit import GENESIS, entry_hash

COLS = "at, actor, action, subject, detail, prev_hash, hash"


@pytest.fixture
def chain(store):
    """The test store with a short chain: 2 setup entries + 3 members + 1 staff read + 1 more."""
    for no, name in (("M001", "张三"), ("M002", "李四"), ("M003", "王五")):
        members.add(store, member_no=no, name=name, category="retired", income_fen=200000,
                    actor="staff:S01")
    members.get(store, "M002", reader="staff:S01")
    members.add(store, member_no="M004", name="赵六", category="farmer", farmer_fen=50,
                actor="staff:S01")
    assert _count(store) == 7
    return store


def _count(store) -> int:
    return store.one("SELECT count(*) AS n FROM audit")["n"]


def _as_attacker(store, *tables: str) -> None:
    for table in tables or ("audit",):
        store.db.execute(f"DROP TRIGGER {table}_no_update")
        store.db.execute(f"DROP TRIGGER {table}_no_delete")


def _problems(store) -> str:
    v = audit.verify(store)
    assert v.ok is False
    assert v.problems
    return "\n".join(v.problems)


def test_untampered_chain_verifies(chain):
    v = audit.verify(chain)
    assert (v.ok, v.entries, v.problems) == (True, 7, [])
    assert v.as_dict() == {"ok": True, "entries": 7, "problems": []}
    rows = chain.all(f"SELECT seq, {COLS} FROM audit ORDER BY seq")
    assert rows[0]["prev_hash"] == GENESIS
    assert [r["seq"] for r in rows] == list(range(1, 8))
    for before, after in zip(rows, rows[1:], strict=False):
        assert after["prev_hash"] == before["hash"]
    assert chain.meta("audit_head") == f"7:{rows[-1]['hash']}"


def test_empty_chain_verifies(tmp_path, clock):
    from core.store import Store

    with Store.create(tmp_path / "t.db", clock=clock) as s:
        assert audit.verify(s).as_dict() == {"ok": True, "entries": 0, "problems": []}


def test_demo_chain_verifies(demo_store):
    v = audit.verify(demo_store)
    assert v.ok, v.problems
    assert v.entries > 100


def test_triggers_stop_a_plain_update_without_the_attack(chain):
    import sqlcipher3

    with pytest.raises(sqlcipher3.IntegrityError):
        chain.db.execute("UPDATE audit SET actor = 'x' WHERE seq = 4")
    assert audit.verify(chain).ok


@pytest.mark.parametrize("column, value", [
    ("actor", "staff:S99"), ("subject", "member:M009"), ("at", "2026-11-14T10:00:00.000+08:00"),
    ("action", "member.updated"), ("detail", '{"what":"nothing"}'),
])
def test_edited_middle_entry_is_named(chain, column, value):
    _as_attacker(chain)
    chain.db.execute(f"UPDATE audit SET {column} = ? WHERE seq = 4", [value])
    text = _problems(chain)
    assert "entry 4: contents changed" in text
    assert "entry 5" not in text  # the next entry still follows the stored hash


def test_edited_entry_with_recomputed_hash_breaks_the_next_link(chain):
    _as_attacker(chain)
    r = chain.one(f"SELECT seq, {COLS} FROM audit WHERE seq = 4")
    forged = entry_hash(r["prev_hash"], 4, r["at"], "staff:S99", r["action"], r["subject"],
                        r["detail"])
    chain.db.execute("UPDATE audit SET actor = 'staff:S99', hash = ? WHERE seq = 4", [forged])
    text = _problems(chain)
    assert "entry 5: does not follow the entry before it" in text
    assert "entry 4" not in text.replace("entry 5", "")


def test_deleted_middle_entry_is_named(chain):
    _as_attacker(chain)
    chain.db.execute("DELETE FROM audit WHERE seq = 4")
    v = audit.verify(chain)
    assert v.ok is False and v.entries == 6
    text = "\n".join(v.problems)
    assert "entry 4 missing (chain jumps to entry 5)" in text
    assert "entry 5: does not follow" in text


def test_deleted_run_of_entries_is_named(chain):
    _as_attacker(chain)
    chain.db.execute("DELETE FROM audit WHERE seq IN (2, 3, 4)")
    assert "entry 2..4 missing" in _problems(chain)


def test_deleted_first_entry_is_named(chain):
    _as_attacker(chain)
    chain.db.execute("DELETE FROM audit WHERE seq = 1")
    text = _problems(chain)
    assert "entry 1 missing" in text and "entry 2: does not follow" in text


def test_deleted_last_entry_is_caught_by_the_head(chain):
    _as_attacker(chain)
    chain.db.execute("DELETE FROM audit WHERE seq = 7")
    text = _problems(chain)
    assert "chain ends at entry 6 but the head says entry 7" in text


def test_all_entries_deleted_is_caught_by_the_head(chain):
    _as_attacker(chain)
    chain.db.execute("DELETE FROM audit")
    v = audit.verify(chain)
    assert v.ok is False and v.entries == 0
    assert any("head says entry 7" in p for p in v.problems)


def test_swapped_entries_are_named(chain):
    """Reordering: entries 3 and 5 exchange their contents (every column but seq)."""
    _as_attacker(chain)
    a = chain.one(f"SELECT {COLS} FROM audit WHERE seq = 3")
    b = chain.one(f"SELECT {COLS} FROM audit WHERE seq = 5")
    sets = ", ".join(f"{c} = ?" for c in a)
    chain.db.execute(f"UPDATE audit SET {sets} WHERE seq = 3", list(b.values()))
    chain.db.execute(f"UPDATE audit SET {sets} WHERE seq = 5", list(a.values()))
    text = _problems(chain)
    assert "entry 3: does not follow" in text and "entry 3: contents changed" in text
    assert "entry 5: does not follow" in text and "entry 5: contents changed" in text


def test_forged_entry_with_a_bad_hash_is_named(chain):
    _as_attacker(chain)
    head = chain.one("SELECT hash FROM audit WHERE seq = 7")["hash"]
    chain.db.execute(f"INSERT INTO audit(seq, {COLS}) VALUES (8, '2026-11-15T10:00:00.000+08:00', "
                     "'staff:S01', 'read', 'member:M001', '{}', ?, ?)", [head, "f" * 64])
    text = _problems(chain)
    assert "entry 8: contents changed" in text
    assert "chain ends at entry 8 but the head says entry 7" in text


def test_forged_entry_with_a_correct_hash_is_caught_by_the_head(chain):
    _as_attacker(chain)
    prev = chain.one("SELECT hash FROM audit WHERE seq = 7")["hash"]
    fields = ("2026-11-15T10:00:00.000+08:00", "staff:S01", "read", "member:M001", "{}")
    digest = entry_hash(prev, 8, *fields)
    chain.db.execute(f"INSERT INTO audit(seq, {COLS}) VALUES (8, ?, ?, ?, ?, ?, ?, ?)",
                     [*fields, prev, digest])
    text = _problems(chain)
    assert "chain ends at entry 8 but the head says entry 7" in text
    assert "contents changed" not in text


def test_forged_entry_for_a_journal_event_that_does_not_exist_is_named(chain):
    """Even with the head moved along, an entry claiming a journal event must have one."""
    _as_attacker(chain)
    prev = chain.one("SELECT hash FROM audit WHERE seq = 7")["hash"]
    detail = json.dumps({"event_id": "00000000-0000-4000-8000-000000000000", "sha256": "0" * 64},
                        sort_keys=True, separators=(",", ":"))
    fields = ("2026-11-15T10:00:00.000+08:00", "staff:S01", "dues.dues", "member:M001", detail)
    digest = entry_hash(prev, 8, *fields)
    chain.db.execute(f"INSERT INTO audit(seq, {COLS}) VALUES (8, ?, ?, ?, ?, ?, ?, ?)",
                     [*fields, prev, digest])
    chain.set_meta("audit_head", f"8:{digest}")
    text = _problems(chain)
    assert "entry 8: its journal event 00000000-0000-4000-8000-000000000000 is missing" in text


def test_removed_head_is_named(chain):
    chain.db.execute("DELETE FROM meta WHERE key = 'audit_head'")
    assert "audit head is missing" in _problems(chain)


def test_garbled_head_is_named_not_a_crash(chain):
    chain.set_meta("audit_head", "seven:abc")
    assert "head was changed" in _problems(chain)


def test_a_field_turned_into_a_blob_is_named_not_a_crash(chain):
    _as_attacker(chain)
    chain.db.execute("UPDATE audit SET actor = X'73746166663a533031' WHERE seq = 3")
    assert "entry 3: damaged" in _problems(chain)


def test_edited_journal_payload_is_named(chain):
    _as_attacker(chain, "journal")
    ev = chain.one("SELECT seq, payload FROM journal WHERE type = 'member.added' "
                   "ORDER BY seq LIMIT 1")
    payload = ev["payload"].replace("张三", "张四")
    assert payload != ev["payload"]
    chain.db.execute("UPDATE journal SET payload = ? WHERE seq = ?", [payload, ev["seq"]])
    text = _problems(chain)
    assert f"journal event {ev['seq']}: payload changed after it was written (audit entry 3)" in text


def test_journal_event_with_a_changed_type_is_named(chain):
    _as_attacker(chain, "journal")
    chain.db.execute("UPDATE journal SET type = 'member.updated' WHERE seq = 4")
    assert "journal event 4: type 'member.updated' is not what audit entry 4 recorded " \
        "('member.added')" in _problems(chain)


def test_deleted_journal_event_is_named(chain):
    _as_attacker(chain, "journal")
    ev = chain.one("SELECT seq, event_id FROM journal WHERE seq = 4")
    chain.db.execute("DELETE FROM journal WHERE seq = 4")
    assert f"its journal event {ev['event_id']} is missing" in _problems(chain)


def test_journal_event_without_audit_entry_is_named(chain):
    chain.db.execute("INSERT INTO journal(event_id, type, payload, at) VALUES "
                     "('11111111-1111-4111-8111-111111111111', 'x.forged', '{}', 'now')")
    seq = chain.one("SELECT max(seq) AS s FROM journal")["s"]
    assert f"journal event {seq} (11111111-1111-4111-8111-111111111111) has no audit entry" \
        in _problems(chain)


def test_appends_after_verify_continue_the_chain(chain):
    before = chain.meta("audit_head")
    members.get(chain, "M001", reader="staff:S01")
    seq, prev = chain.one("SELECT seq, prev_hash FROM audit ORDER BY seq DESC LIMIT 1").values()
    assert seq == 8 and before == f"7:{prev}"
    assert audit.verify(chain).ok
