"""The hub's monthly report and reconciliation, in-process on a real hub database, fed by
real terminal stores through the hub's own push and pull code (sync.hub.service) without
HTTP (test_sync_converge.py does the same over a real hub process).

Pins: expected dues, collected dues and members behind agree with what the terminal's own
dues rules say for the same month; study hours count each sitting once (the newest figure
of a session); a member-month paid on two terminals is flagged, the operator closes it only
with a note, and a later payment of the same month reopens it; roster edits made at a
terminal are proposals that no other terminal pulls until accepted, after which the
accepted edit is the hub's own event in the branch log; a rejected proposal stays out;
the report is plain JSON; a bad month or unknown branch is refused.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from core import branch, dues, members, replica, study
from core.clock import CST, FixedClock
from core.errors import InvalidInput, NotFound
from core.store import Store
from sync import client as sc
from sync import protocol
from sync.hub import admin, conflicts, report, service

DEMO = "DEMO-QSC"
MONTH = "2026-11"


@pytest.fixture
def hub(hub_storage):
    """In process: the storage itself, holding the demo branch."""
    admin.load_demo(hub_storage)
    return hub_storage


def _join(storage, store: Store, code: str = DEMO) -> service.Caller:
    key = protocol.new_private_key()
    head = store.one("SELECT coalesce(max(seq), 0) AS s FROM journal")["s"]
    storage.insert_terminal(terminal_id=store.terminal_id, branch=code,
                            public_key=protocol.public_key_b64(key), label="", at="2026-11-15",
                            enrolled_seq=head)
    with store.transaction():
        store.set_meta("sync.branch", code)
    return service.Caller(store.terminal_id, code)


def _push(storage, store: Store, caller: service.Caller) -> None:
    after = int(store.meta("sync.pushed_audit_seq", "0") or 0)
    while True:
        events, entries = sc._batch(store, after, protocol.PUSH_BATCH)
        if not entries:
            return
        got = service.push(storage, caller, {"events": events, "audit": entries},
                           int(time.time() * 1000))
        after = got["audit_seq"]
        with store.transaction():
            store.set_meta("sync.pushed_audit_seq", str(after))


def _pull(storage, store: Store, caller: service.Caller) -> list[dict]:
    cursor, seen = int(store.meta("sync.pull_cursor", "0") or 0), []
    while True:
        page = service.pull(storage, caller, cursor, protocol.PULL_PAGE)
        replica.apply_page(store, page["events"], branch=caller.branch, cursor_from=cursor,
                           cursor_to=page["next_cursor"])
        seen += page["events"]
        cursor = page["next_cursor"]
        if not page["more"]:
            return seen


def test_report_agrees_with_the_terminals_own_dues_rules(hub, demo_store):
    caller = _join(hub, demo_store)
    s1 = study.record_session(demo_store, member_no="QS001", lesson_id="02-party-dues",
                              seconds=100, completed=False)
    study.record_session(demo_store, member_no="QS001", lesson_id="02-party-dues", seconds=400,
                         completed=True, session_id=s1["session_id"])  # the same sitting
    study.record_session(demo_store, member_no="QS002", lesson_id="03-phone-scams",
                         seconds=200, completed=False)
    _push(hub, demo_store, caller)
    before = report.build(hub, DEMO, MONTH)
    assert before["members"]["awaiting_acceptance"] == 34
    founded = demo_store.one("SELECT count(*) AS n FROM journal WHERE type IN "
                             "('member.added', 'member.rate_fixed', 'staff.added')")["n"]
    assert before["members"]["proposals_pending"] == founded
    conflicts.accept_all(hub, DEMO, by="operator")

    got = report.build(hub, DEMO, MONTH)
    json.dumps(got, ensure_ascii=False)  # plain JSON
    roster = demo_store.all("SELECT member_no, status, dues_from FROM member")
    expected = sum(members.rate_for(demo_store, m["member_no"], 2026)["monthly_fen"]
                   for m in roster if m["status"] == "active" and m["dues_from"] <= MONTH)
    collected = demo_store.one("SELECT coalesce(sum(amount_fen), 0) AS f FROM ledger_month "
                               "WHERE month = ?", [MONTH])["f"]
    behind = {m["member_no"]: dues.status(demo_store, m["member_no"]).months_owed
              for m in roster}
    assert got["dues"]["expected_fen"] == expected > 0
    assert got["dues"]["collected_fen"] == collected > 0
    assert {b["member_no"]: b["months_owed"] for b in got["members_behind"]} == \
        {no: owed for no, owed in behind.items() if owed}
    qs008 = next(b for b in got["members_behind"] if b["member_no"] == "QS008")
    assert (qs008["overdue_months"], len(qs008["months_owed"])) == (7, 8)  # "owes 8"
    own = demo_store.one("SELECT sum(amount_fen) AS f, count(*) AS n FROM ledger")
    assert got["dues"]["ledger"] == [{"terminal_id": demo_store.terminal_id,
                                      "entries": own["n"], "fen": own["f"]}]
    assert got["study"]["seconds"] == 600 and got["study"]["sessions"] == 2
    assert got["study"]["completed"] == 1 and got["study"]["hours"] == 0.17
    assert (got["members"]["accepted"], got["members"]["proposals_pending"]) == (34, 0)
    assert got["double_payments"] == []

    with pytest.raises(InvalidInput):
        report.build(hub, DEMO, "2026-13")
    with pytest.raises(NotFound):
        report.build(hub, "NOPE", MONTH)


def test_double_payment_flag_and_roster_proposals(hub, demo_store, tmp_path):
    a = demo_store
    ca = _join(hub, a)
    _push(hub, a, ca)
    conflicts.accept_all(hub, DEMO, by="operator")
    b, c = (Store.create(tmp_path / name / "terminal.db",
                         clock=FixedClock(datetime(2026, 11, 15, 12, 0, tzinfo=CST)))
            for name in ("b", "c"))
    cb, cc = _join(hub, b), _join(hub, c)
    _pull(hub, b, cb)
    _pull(hub, c, cc)
    assert b.one("SELECT count(*) AS n FROM member")["n"] == 34

    month = dues.status(a, "QS004").months_owed[0]
    for t, caller in ((a, ca), (b, cb)):
        dues.pay(t, "QS004", months=1, confirmation=branch.confirm(t, "S02", "2468"))
        _push(hub, t, caller)
    [flag] = report.build(hub, DEMO, MONTH)["double_payments"]
    assert (flag["member_no"], flag["month"]) == ("QS004", month)
    assert len(flag["entries"]) == 2 and flag["amount_fen"] == 2 * flag["entries"][0]["amount_fen"]
    with pytest.raises(InvalidInput):
        conflicts.resolve_flag(hub, DEMO, "QS004", month, note=" ", by="operator")
    done = conflicts.resolve_flag(hub, DEMO, "QS004", month, note="多交的一个月转为预交",
                                  by="operator")
    assert (done["status"], done["resolved_by"]) == ("resolved", "operator")
    assert report.build(hub, DEMO, MONTH)["double_payments"] == []
    # C has pulled neither payment: it takes the same month once more — reopened.
    dues.pay(c, "QS004", months=1, confirmation=branch.confirm(c, "S01", "2468"))
    _push(hub, c, cc)
    [again] = report.build(hub, DEMO, MONTH)["double_payments"]
    assert len(again["entries"]) == 3

    # A roster edit at B is a proposal: A does not get it until the operator accepts.
    members.update(b, "QS010", name="李秀英", actor="staff:S01")
    old_name = members.get(a, "QS010")["name"]
    _push(hub, b, cb)
    [prop] = conflicts.proposals(hub, DEMO)
    assert (prop["type"], prop["member_no"], prop["origin"]) == \
        ("member.updated", "QS010", b.terminal_id)
    pulled = _pull(hub, a, ca)
    assert "member.updated" not in {e["type"] for e in pulled}
    assert members.get(a, "QS010")["name"] == old_name
    conflicts.accept(hub, prop["event_id"], by="operator", note="核对过户口本")
    _pull(hub, a, ca)
    assert members.get(a, "QS010")["name"] == "李秀英"
    accepted = [e for e in hub.log_for_branch(DEMO) if e["origin"] == "hub"
                and json.loads(e["payload"]).get("proposal_of") == prop["event_id"]]
    assert len(accepted) == 1 and accepted[0]["type"] == "member.updated"
    with pytest.raises(InvalidInput):  # decided once
        conflicts.reject(hub, prop["event_id"], by="operator")

    members.update(b, "QS011", status="transferred", actor="staff:S01")
    _push(hub, b, cb)
    [prop] = conflicts.proposals(hub, DEMO)
    assert conflicts.reject(hub, prop["event_id"], by="operator")["status"] == "rejected"
    _pull(hub, a, ca)
    assert members.get(a, "QS011")["status"] == "active"
    assert conflicts.proposals(hub, DEMO) == []
    b.close()
    c.close()


def test_a_sitting_told_twice_in_one_push_counts_once_newest_seconds_finished_stays(hub):
    """A push can carry several events of one sitting (its progress, then its end): the
    hub keeps one row — the newest seconds, finished once any said finished."""
    row = ("s-twice", DEMO, "QS001", "L01", "2026-11-20T09:00:00+08:00")
    with hub.transaction():
        hub.put_studies([(*row, 60, 0, "T1"), (*row, 300, 1, "T1"), (*row, 320, 0, "T1"),
                         ("s-other", *row[1:], 30, 0, "T1")])
    assert [(s["session_id"], s["seconds"], s["completed"]) for s in hub.export_study(DEMO)
            if s["session_id"].startswith("s-")] == [("s-other", 30, 0), ("s-twice", 320, 1)]
    with hub.transaction():  # told again later: the same rule against the stored row
        hub.put_studies([(*row, 10, 0, "T1")])
    assert [s["seconds"] for s in hub.export_study(DEMO) if s["session_id"] == "s-twice"] == [10]
