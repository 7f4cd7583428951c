"""A properly enrolled terminal that lies: validation at push, against the signed sender.

The terminal here holds a valid key and a valid audit chain; its journal was written
straight into the store (``store.record`` inside ``store.transaction()``, as core does), so
everything the hub checked before — signature, seq continuity, the chain, pairing — passes.
What the events *say* is refused at push, the whole batch with nothing of it applied:

* a ``branch.policy_set`` naming another branch (422 ``foreign_branch``): before, the hub
  stored it and every other terminal's pull failed with ForeignBranch;
* a ``dues.dues`` carrying another terminal's ``terminal_id`` (422 ``foreign_terminal``):
  before, the hub report credited that terminal with the cash;
* a ``dues.*`` with a receipt number the hub holds for another entry of the terminal (409
  ``receipt_conflict``);
* a ``dues.dues`` whose amount is not the sum of its months (422 ``bad_amount``).

Each time the refusal is on record for the operator (``admin.list_terminals``), its reason
is in the hub's log, and another terminal of the branch keeps syncing.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest

from core import audit, branch, pins
from core.clock import CST, FixedClock, iso
from core.errors import AuthError, InvalidInput, NotFound
from core.store import Store
from sync import client as sc
from sync import protocol
from sync.hub import admin, report

DEMO = "DEMO-QSC"
MONTH = "2026-11"


@pytest.fixture
def hub(hub_storage, hub_server):
    admin.load_demo(hub_storage, people=True)  # an empty terminal gets the roster
    admin.create_branch(hub_storage, code="TEST", name="测试村党支部", township="青石镇")
    return hub_server(hub_storage)


@pytest.fixture
def liar(hub, demo_store):
    """The demo terminal, enrolled in its branch and synced once: honest so far."""
    _enroll(hub, demo_store)
    sc.sync_once(demo_store)
    return demo_store


@pytest.fixture
def honest(hub, tmp_path):
    """A second terminal of the branch, enrolled empty and synced once."""
    s = Store.create(tmp_path / "honest" / "terminal.db",
                     clock=FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=CST)))
    _enroll(hub, s)
    sc.sync_once(s)
    yield s
    s.close()


def _enroll(hub, store: Store, branch_code: str = DEMO) -> None:
    code = admin.issue_enroll_code(hub.storage, branch_code)["code"]
    sc.enroll(store.path, hub.url, code)


def _state(hub) -> tuple:
    """What a refused batch must not change: the branch log, the report, terminals' marks."""
    log = hub.storage.log_for_branch(DEMO)
    marks = sorted((t["terminal_id"], t["stored_seq"], t["audit_seq"])
                   for t in hub.storage.list_terminals(DEMO))
    rep = report.build(hub.storage, DEMO, MONTH)
    rep.pop("terminals", None)  # last-seen times move with every request
    return len(log), log[-1]["cursor"], marks, json.dumps(rep, sort_keys=True, default=str)


def _a_payment(store: Store) -> dict:
    row = store.one("SELECT payload FROM journal WHERE type = 'dues.dues' ORDER BY seq DESC "
                    "LIMIT 1")
    return json.loads(row["payload"])


def _write(store: Store, type_: str, payload: dict) -> str:
    """What ``Store.record`` writes, without core's own refusal (``core.events.check_local``):
    an attacker holding the store and its key writes rows, not API calls."""
    event_id = str(uuid.uuid4())
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    with store.transaction():
        store.db.execute("INSERT INTO journal(event_id, type, payload, at) VALUES (?, ?, ?, ?)",
                         [event_id, type_, body, iso(store.now())])
        audit.append(store, actor="staff:S02", action=type_,
                     subject=f"member:{payload.get('member_no', '')}",
                     detail={"event_id": event_id, "sha256": audit.digest(body)})
    return event_id


def _assert_refused(hub, liar: Store, honest: Store, before: tuple, code: str,
                    status: int) -> None:
    with pytest.raises(sc.SyncError) as e:
        sc.sync_once(liar)
    assert (e.value.code, e.value.status) == (code, status)
    assert e.value.zh == protocol.ERRORS[code][2] and "服务中心" in e.value.zh
    assert _state(hub) == before
    [row] = [t for t in admin.list_terminals(hub.storage, DEMO)
             if t["terminal_id"] == liar.terminal_id]
    assert row["chain"] == f"refused: {code}" and row["last_refusal_at"]
    hub.stop()  # the log is flushed; the reason is there in English
    log = hub.proc.log_path.read_text(errors="replace")
    assert f"push from terminal {liar.terminal_id}" in log and f"refused: {code}:" in log
    hub.start()
    # Refused again on the next try, with nothing applied either.
    with pytest.raises(sc.SyncError) as e:
        sc.sync_once(liar)
    assert e.value.code == code and _state(hub) == before
    # The branch's other terminal keeps syncing, and a new one gets the whole roster.
    sc.sync_once(honest)
    members = honest.one("SELECT count(*) AS n FROM member")["n"]
    assert members > 0


def test_an_event_naming_another_branch_is_refused(hub, liar, honest, tmp_path):
    before = _state(hub)
    _write(liar, "study.session", {"branch": "TEST", "session_id": "s1", "member_no": "QS001",
                                   "lesson_id": "02-party-dues", "started_at": "x",
                                   "seconds": 1, "completed": True, "channel": "kiosk",
                                   "terminal_id": liar.terminal_id})
    _assert_refused(hub, liar, honest, before, "foreign_branch", 422)
    newcomer = Store.create(tmp_path / "new" / "terminal.db",
                            clock=FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=CST)))
    try:
        _enroll(hub, newcomer)
        sc.sync_once(newcomer)
        assert newcomer.one("SELECT count(*) AS n FROM member")["n"] == \
            honest.one("SELECT count(*) AS n FROM member")["n"] > 0
    finally:
        newcomer.close()


def test_a_payment_naming_another_terminal_is_refused(hub, liar, honest):
    before = _state(hub)
    p = _a_payment(liar)
    p.update(entry_id=str(uuid.uuid4()), receipt_no=p["receipt_no"][:-5] + "99999",
             terminal_id=honest.terminal_id, amount_fen=5_000_000,
             month_amounts=[[MONTH, 5_000_000]], months=[MONTH])
    _write(liar, "dues.dues", p)
    _assert_refused(hub, liar, honest, before, "foreign_terminal", 422)
    cash = report.build(hub.storage, DEMO, MONTH)
    assert "5000000" not in json.dumps(cash)


def test_a_receipt_number_already_held_is_refused(hub, liar, honest):
    before = _state(hub)
    p = _a_payment(liar)  # pushed already: the hub holds its receipt number
    p.update(entry_id=str(uuid.uuid4()))
    _write(liar, "dues.dues", p)
    _assert_refused(hub, liar, honest, before, "receipt_conflict", 409)


def test_a_payment_whose_months_do_not_add_up_is_refused(hub, liar, honest):
    before = _state(hub)
    p = _a_payment(liar)
    p.update(entry_id=str(uuid.uuid4()), receipt_no=p["receipt_no"][:-5] + "99998",
             amount_fen=5_000_000)
    _write(liar, "dues.dues", p)
    _assert_refused(hub, liar, honest, before, "bad_amount", 422)


def test_cash_not_matching_the_hubs_record_is_kept_and_flagged_for_the_operator(
        hub, liar, honest):
    """The demo terminal's whole payment history matches the hub's record: nothing flagged.
    A payment at another monthly amount than the member's, confirmed by a collector the hub
    does not know, is kept (the cash was taken) and flagged; so is large voluntary dues."""
    assert admin.payment_checks(hub.storage, DEMO) == []
    p = _a_payment(liar)
    rate = [fen for _, fen in p["month_amounts"]][0]
    p.update(entry_id=str(uuid.uuid4()), receipt_no=p["receipt_no"][:-5] + "99997",
             amount_fen=1, month_amounts=[[MONTH, 1]], months=[MONTH], collected_by="S77")
    _write(liar, "dues.dues", p)
    sc.sync_once(liar)  # accepted
    checks = {c["reason"]: c for c in admin.payment_checks(hub.storage, DEMO)}
    assert set(checks) == {"amount_mismatch", "unknown_collector"}
    assert checks["amount_mismatch"]["detail"] == {"month": MONTH, "paid_fen": 1,
                                                   "expected_fen": rate}
    assert checks["unknown_collector"]["detail"] == {"collected_by": "S77"}
    assert {c["entry_id"] for c in checks.values()} == {p["entry_id"]}
    assert len(report.build(hub.storage, DEMO, MONTH)["payment_checks"]) == 2
    # Honest cash: the regular kind matches; large voluntary dues are for staff to handle.
    staff = branch.confirm(honest, "S01", "2468")
    from core import dues

    dues.pay(honest, "QS004", months=1, confirmation=staff)
    big = dues.pay_voluntary(honest, "QS004", amount_fen=100_000, confirmation=staff)
    sc.sync_once(honest)
    mine = [c for c in admin.payment_checks(hub.storage, DEMO)
            if c["terminal_id"] == honest.terminal_id]
    assert [(c["entry_id"], c["reason"]) for c in mine] == [(big.entry_id, "large_voluntary")]
    # The operator resolves a check with a note; it is then closed, on record.
    with pytest.raises(InvalidInput):
        admin.resolve_payment_check(hub.storage, DEMO, p["entry_id"], note=" ", by="op")
    done = admin.resolve_payment_check(hub.storage, DEMO, p["entry_id"], note="已退还多收部分",
                                       by="op")
    assert {c["status"] for c in done} == {"resolved"} and len(done) == 2
    assert [c["reason"] for c in admin.payment_checks(hub.storage, DEMO)] == ["large_voluntary"]


# -- the rules themselves (sync.protocol.check_payloads) -------------------------------

def _ev(type_: str, seq: int = 1) -> dict:
    return {"seq": seq, "type": type_}


def _dues(**kw) -> dict:
    p = {"entry_id": "e1", "receipt_no": "R-1", "terminal_id": "T1", "amount_fen": 3000,
         "month_amounts": [["2026-10", 1500], ["2026-11", 1500]]}
    return {**p, **kw}


@pytest.mark.parametrize("payload", [
    _dues(amount_fen=-3000, month_amounts=[["2026-10", -1500], ["2026-11", -1500]]),
    _dues(amount_fen=3000.0),
    _dues(amount_fen=True, month_amounts=[["2026-10", 1]]),
    _dues(month_amounts=[["2026-10", 1500.0], ["2026-11", 1500]]),
    _dues(month_amounts=[["2026-10", 3500], ["2026-11", -500]]),
    _dues(month_amounts=[["2026-10", 1500], ["2026-10", 1500]]),
    _dues(month_amounts=[]),
    _dues(month_amounts=None),
    _dues(amount_fen=3001),
    _dues(month_amounts=[["abcd", 1500], ["2026-11", 1500]]),
    _dues(month_amounts=[["2026-13", 1500], ["2026-11", 1500]]),
])
def test_regular_dues_amounts_are_whole_non_negative_fen_adding_up(payload):
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.check_payloads([_ev("dues.dues")], [payload], "T1", "B1")
    assert (e.value.code, e.value.status) == ("bad_amount", 422)


def test_payload_rules_pass_what_core_writes_and_refuse_the_rest():
    ok = [_dues(), _dues(entry_id="e2", receipt_no="R-2", kind="voluntary", month_amounts=[]),
          {"code": "B1", "back_pay_limit": 3}, {"terminal_id": "T1", "session_id": "s"},
          "not an object"]
    types = ["dues.dues", "dues.voluntary", "branch.policy_set", "study.session", "x.y"]
    events = [_ev(t, i) for i, t in enumerate(types, start=1)]
    assert protocol.check_payloads(events, ok, "T1", "B1") == [("R-1", "e1", 1), ("R-2", "e2", 2)]
    for type_, payload, code in [
        ("study.session", {"terminal_id": "T2"}, "foreign_terminal"),
        ("call.recorded", {"terminal_id": None}, "foreign_terminal"),
        ("notice.posted", {"branch": "B2"}, "foreign_branch"),
        ("member.added", {"branch_code": "B2"}, "foreign_branch"),
        ("dues.correction", _dues(amount_fen="-3000"), "bad_amount"),
    ]:
        with pytest.raises(protocol.ProtocolError) as e:
            protocol.check_payloads([_ev(type_)], [payload], "T1", "B1")
        assert e.value.code == code, (type_, payload)
    # One receipt number for two entries within one batch.
    with pytest.raises(protocol.ProtocolError) as e:
        protocol.check_payloads([_ev("dues.dues", 1), _ev("dues.dues", 2)],
                                [_dues(), _dues(entry_id="e2")], "T1", "B1")
    assert (e.value.code, e.value.status) == ("receipt_conflict", 409)


# -- authority (core.events): what only the hub authors --------------------------------

def _in_2099(store: Store) -> None:
    """The terminal's clock set forward to 2099 (by accident, or by an attacker)."""
    store.clock = FixedClock(datetime(2099, 1, 1, tzinfo=CST))


def test_a_staff_account_a_terminal_invents_is_refused(hub, liar, honest):
    before = _state(hub)
    _in_2099(liar)
    _write(liar, "staff.added", {"staff_no": "S99", "name": "假书记", "role": "secretary",
                                 "pin_hash": pins.hash_pin("0000")})
    _assert_refused(hub, liar, honest, before, "not_authorized", 422)
    assert honest.one("SELECT 1 FROM staff WHERE staff_no = 'S99'") is None
    with pytest.raises(NotFound):
        branch.confirm(honest, "S99", "0000")


def test_a_policy_from_a_terminal_is_refused_and_the_operators_wins(hub, liar, honest):
    before = _state(hub)
    _in_2099(liar)
    _write(liar, "branch.policy_set", {"code": DEMO, "back_pay_limit": 60,
                                       "pay_ahead_limit": 60})
    _assert_refused(hub, liar, honest, before, "not_authorized", 422)
    admin.set_policy(hub.storage, DEMO, back_pay_limit=3, pay_ahead_limit=3)
    sc.sync_once(honest)
    got = branch.get(honest)
    assert (got.back_pay_limit, got.pay_ahead_limit) == (3, 3)


def test_a_staff_pin_set_by_a_terminal_is_a_proposal_not_an_order(hub, liar, honest):
    """attack 1 of issue 9: S01's PIN rewritten for the whole branch from one kiosk."""
    _in_2099(liar)
    _write(liar, "staff.pin_set", {"staff_no": "S01", "pin_hash": pins.hash_pin("9999")})
    sc.sync_once(liar)  # accepted: a proposal the operator decides on
    sc.sync_once(honest)
    assert branch.confirm(honest, "S01", "2468").staff_no == "S01"
    with pytest.raises(AuthError):
        branch.confirm(honest, "S01", "9999")
    [prop] = [p for p in admin.proposals(hub.storage, DEMO) if p["type"] == "staff.pin_set"]
    assert prop["origin"] == liar.terminal_id and prop["member_no"] == "S01"
    assert "pin_hash" not in prop["payload"] and prop["payload"]["pin_set"] is True
    admin.reject_proposal(hub.storage, prop["event_id"], by="operator", note="not asked for")
    sc.sync_once(honest)
    assert branch.confirm(honest, "S01", "2468").staff_no == "S01"


def test_a_staff_member_changes_a_pin_offline_and_the_hub_passes_it_on(hub, liar, honest):
    """The honest way (docs/security.md): the new PIN works at once on the terminal where
    it was set, offline too; the others take it when the operator accepts it."""
    pins.set_pin(liar, "staff", "S02", "1357", actor="staff:S02")
    assert branch.confirm(liar, "S02", "1357").staff_no == "S02"
    sc.sync_once(liar)
    sc.sync_once(honest)
    with pytest.raises(AuthError):
        branch.confirm(honest, "S02", "1357")
    [prop] = [p for p in admin.proposals(hub.storage, DEMO) if p["type"] == "staff.pin_set"]
    admin.accept_proposal(hub.storage, prop["event_id"], by="operator")
    sc.sync_once(honest)
    sc.sync_once(liar)
    assert branch.confirm(honest, "S02", "1357").staff_no == "S02"
    assert branch.confirm(liar, "S02", "1357").staff_no == "S02"


def test_an_enrolled_terminal_does_not_author_what_the_hub_owns(liar):
    from core.events import HubOwned

    with pytest.raises(HubOwned) as e:
        branch.set_policy(liar, back_pay_limit=60, pay_ahead_limit=60, actor="staff:S01")
    assert "服务中心" in e.value.zh
    with pytest.raises(HubOwned):
        branch.add_staff(liar, staff_no="S99", name="假书记", role="secretary", pin="0000",
                         actor="staff:S01")
    assert liar.one("SELECT count(*) AS n FROM journal WHERE type IN "
                    "('branch.policy_set', 'staff.added') AND seq > ?",
                    [liar.one("SELECT max(seq) AS s FROM journal")["s"]])["n"] == 0


# -- time: an event from the future is kept and flagged; a time that is no time refuses ----

def test_events_from_the_future_are_kept_flagged_and_the_terminal_hears_its_clock_is_wrong(
        hub, liar, honest):
    from core import dues

    assert dues.clock_suspect(liar) is None
    _in_2099(liar)
    event_id = _write(liar, "help.requested", {"where": "kiosk", "member_no": None})
    report_ = sc.sync_once(liar)  # kept: it is in the terminal's journal and chain for good
    assert report_["future_events"] == 1
    [held] = [e for e in hub.storage.log_for_branch(DEMO) if e["event_id"] == event_id]
    assert held["at"].startswith("2099-01-01") and held["received_at"] < "2099"
    [row] = [t for t in admin.list_terminals(hub.storage, DEMO)
             if t["terminal_id"] == liar.terminal_id]
    assert (row["clock"], row["future_events"]) == ("ahead", 1)
    assert row["future_latest_at"].startswith("2099-01-01") and row["chain"] == "ok"
    # The terminal knows too: cash now needs staff to confirm the date.
    assert "ahead of its clock" in (dues.clock_suspect(liar) or "")
    hub.stop()
    log = hub.proc.log_path.read_text(errors="replace")
    assert f"push from terminal {liar.terminal_id}" in log and "clock is wrong" in log
    hub.start()
    # The clock set right again: its next new events clear the flag (kept in the log).
    liar.clock = FixedClock(datetime(2026, 11, 30, 10, 0, tzinfo=CST))
    _write(liar, "help.requested", {"where": "kiosk", "member_no": None})
    assert sc.sync_once(liar)["future_events"] == 0
    [row] = [t for t in admin.list_terminals(hub.storage, DEMO)
             if t["terminal_id"] == liar.terminal_id]
    assert (row["clock"], row["future_latest_at"][:4]) == ("ok", "2099")
    # The others are not affected; an honest clock is not flagged.
    sc.sync_once(honest)
    [other] = [t for t in admin.list_terminals(hub.storage, DEMO)
               if t["terminal_id"] == honest.terminal_id]
    assert other["clock"] == "ok" and dues.clock_suspect(honest) is None


def test_an_event_whose_time_is_no_time_is_refused(hub, liar, honest):
    before = _state(hub)
    event_id = _write(liar, "help.requested", {"where": "kiosk", "member_no": None})
    with liar.transaction():  # the journal is append-only: only an attacker rewrites it
        liar.db.execute("DROP TRIGGER IF EXISTS journal_no_update")
        liar.db.execute("UPDATE journal SET at = 'tomorrow' WHERE event_id = ?", [event_id])
    _assert_refused(hub, liar, honest, before, "bad_time", 422)


@pytest.mark.parametrize("seconds", [10**30, 2**64 + 1, -5, 86_401, 1.5, True])
def test_a_study_session_with_impossible_seconds_is_kept_but_not_counted(hub, liar, honest,
                                                                         seconds):
    """No 500 (an integer SQLite cannot hold), no wedged terminal: the event stays in the
    branch log as sent; the hub's study figures leave it out."""
    study = hub.storage.report_study(DEMO, MONTH)
    event_id = _write(liar, "study.session", {
        "session_id": f"huge-{seconds}", "member_no": "QS001", "lesson_id": "02-party-dues",
        "started_at": f"{MONTH}-30T09:00:00+08:00", "seconds": seconds, "completed": True,
        "channel": "kiosk", "terminal_id": liar.terminal_id})
    assert sc.sync_once(liar)["pushed"] >= 1
    assert hub.storage.log_event(event_id) is not None
    assert hub.storage.report_study(DEMO, MONTH) == study
    sc.sync_once(honest)   # its pull skips the event (reported at its next push)
    seen = honest.one("SELECT state, reason FROM replica_event WHERE event_id = ?", [event_id])
    assert seen["state"] == "skipped" and "seconds" in seen["reason"], seen
