"""Terminals converge through a real hub process (tests/hub_fixtures.py), each terminal a real
encrypted store in its own folder.

Pins: an empty terminal enrolled in a branch gets the whole branch on its first sync —
roster (once the operator accepts the founding terminal's roster proposals), payments with
their entry ids, receipt numbers and terminal ids, staff whose PINs work there, lessons with
their audio downloaded and verified, notices — without writing a journal event (nothing is
pushed back) and with one ``sync.applied`` audit entry per page; payments and study
sessions made offline on two terminals of one branch reach each other and the hub, and
nothing of a third terminal's branch reaches them (nor theirs it); hub totals equal the sum
of the terminals' own ledgers; the same member-month paid on two terminals is flagged in the
hub report and a correction closes the flag; applying is idempotent (a re-read of the whole
log changes nothing); an unknown event type is kept and skipped; a page naming another
branch is refused whole; a payment whose member has not arrived waits, then applies.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from core import branch, dues, members, replica, study
from core.clock import CST, FixedClock
from core.store import Store
from sync import client as sc
from sync.hub import admin, conflicts
from sync.hub import report as hub_report

DEMO = "DEMO-QSC"


@pytest.fixture
def hub(hub_storage, hub_server):
    admin.load_demo(hub_storage)
    admin.create_branch(hub_storage, code="TEST", name="测试村党支部", township="青石镇")
    return hub_server(hub_storage)


def _new_terminal(tmp_path: Path, name: str) -> Store:
    return Store.create(tmp_path / name / "terminal.db",
                        clock=FixedClock(datetime(2026, 11, 15, 11, 0, tzinfo=CST)))


def _enroll(storage, url: str, store: Store, code: str) -> None:
    sc.enroll(store.path, url, admin.issue_enroll_code(storage, code)["code"])


def _ledger(store: Store) -> dict[str, tuple]:
    return {r["entry_id"]: (r["receipt_no"], r["terminal_id"], r["amount_fen"], r["member_no"])
            for r in store.all("SELECT * FROM ledger")}


def _own_total(store: Store) -> int:
    return store.one("SELECT coalesce(sum(amount_fen), 0) AS f FROM ledger WHERE terminal_id = ?",
                     [store.terminal_id])["f"]


def _sessions(store: Store) -> set[str]:
    return {r["session_id"] for r in store.all("SELECT session_id FROM study_session")}


def test_two_terminals_of_a_branch_converge_and_a_third_branch_stays_apart(hub, demo_store,
                                                                          tmp_path):
    storage, url = hub.storage, hub.url
    a = demo_store
    _enroll(storage, url, a, DEMO)
    first = sc.sync_once(a)
    assert first["applied"] > 0 and first["waiting"] == 0
    # The founding terminal's roster is a set of proposals until the operator accepts it.
    pending = conflicts.proposals(storage, DEMO)
    added = [p for p in pending if p["type"] == "member.added"]
    assert len(added) == 34 and {p["type"] for p in pending} == {
        "member.added", "member.rate_fixed", "staff.added"}
    conflicts.accept_all(storage, DEMO, by="operator")
    assert conflicts.proposals(storage, DEMO) == []

    audio = tmp_path / "lesson.wav"
    audio.write_bytes(os.urandom(150_000))
    lesson = admin.publish_lesson(storage, DEMO, lesson_id="09-audio", title="有声课",
                                  category="健康生活", minutes=3, body="听一听。",
                                  quiz=[{"question": "听了吗？", "choices": ["听了", "没听"],
                                         "answer": 0}], audio=audio)

    # An empty terminal enrolled in the branch: its first sync brings the whole branch.
    b = _new_terminal(tmp_path, "terminal-b")
    _enroll(storage, url, b, DEMO)
    report = sc.sync_once(b)
    assert report["pushed"] == 0 and report["media"] == 1 and report["waiting"] == 0
    assert b.meta("branch_code") == DEMO and branch.get(b).name == branch.get(a).name
    assert {r["member_no"] for r in members_rows(b)} == {r["member_no"] for r in members_rows(a)}
    assert members_rows(b) == members_rows(a)
    assert _ledger(b) == _ledger(a)
    assert dues.status(b, "QS004").months_owed == dues.status(a, "QS004").months_owed
    assert dues.status(b, "QS018").exempt
    assert branch.confirm(b, "S01", "2468").staff_no == "S01"  # staff PINs work there
    assert members.get(b, "QS001")["phones"] == members.get(a, "QS001")["phones"]
    got = study.lesson(b, "09-audio")
    assert got["audio_sha256"] == lesson["audio_sha256"] and got["quiz"][0]["answer"] == 0
    media = replica.media_path(b, lesson["audio_sha256"])
    assert hashlib.sha256(media.read_bytes()).hexdigest() == lesson["audio_sha256"]
    assert len(study.lessons(b)) == 9
    assert b.one("SELECT count(*) AS n FROM notice")["n"] >= 4
    assert b.one("SELECT count(*) AS n FROM journal")["n"] == 0  # nothing to push back
    # One audit entry a page (a line of the hub's answer), their cursors end to end.
    applied = [json.loads(r["detail"]) for r in
               b.all("SELECT detail FROM audit WHERE action = 'sync.applied' ORDER BY seq")]
    assert sum(a["applied"] for a in applied) > 100 and applied[0]["cursor_from"] == 0
    assert [a["cursor_from"] for a in applied[1:]] == [a["cursor_to"] for a in applied[:-1]]

    # A third terminal, another branch, with a member and a payment of its own.
    c = _new_terminal(tmp_path, "terminal-c")
    branch.setup(c, code="TEST", name="测试村党支部", township="青石镇", actor="test")
    branch.add_staff(c, staff_no="T01", name="李会计", role="collector", pin="1357", actor="test")
    members.add(c, member_no="T001", name="赵大山", category="farmer", farmer_fen=50,
                dues_from="2026-11", actor="test")
    _enroll(storage, url, c, "TEST")
    dues.pay(c, "T001", months=1, confirmation=branch.confirm(c, "T01", "1357"))

    # Offline, on both demo terminals: QS004's oldest unpaid month is paid twice.
    owed = dues.status(a, "QS004").months_owed[0]
    pay_a = dues.pay(a, "QS004", months=1, confirmation=branch.confirm(a, "S02", "2468"))
    pay_b = dues.pay(b, "QS004", months=1, confirmation=branch.confirm(b, "S02", "2468"))
    assert pay_a.months == pay_b.months == [owed] and pay_a.receipt_no != pay_b.receipt_no
    dues.pay(b, "QS010", months=1, confirmation=branch.confirm(b, "S01", "2468"))
    sa = study.record_session(a, member_no="QS001", lesson_id="02-party-dues", seconds=300,
                              completed=True)
    sb = study.record_session(b, member_no="QS002", lesson_id="01-party-constitution",
                              seconds=600, completed=False)

    for t in (a, b, c, a):
        sc.sync_once(t)

    # Both demo terminals hold the same ledger and study sessions; the hub holds the sum.
    assert _ledger(a) == _ledger(b)
    assert {pay_a.entry_id, pay_b.entry_id} <= set(_ledger(a))
    assert {sa["session_id"], sb["session_id"]} <= _sessions(a) and _sessions(a) == _sessions(b)
    month = hub_report.build(storage, DEMO, "2026-11")
    assert month["dues"]["ledger_fen"] == _own_total(a) + _own_total(b)
    assert {r["terminal_id"] for r in month["dues"]["ledger"]} == {a.terminal_id, b.terminal_id}
    assert month["study"]["sessions"] == 2 and month["study"]["seconds"] == 900
    [double] = month["double_payments"]
    assert (double["member_no"], double["month"]) == ("QS004", owed)
    assert double["terminals"] == sorted([a.terminal_id, b.terminal_id])
    assert any(m["member_no"] == "QS008" for m in month["members_behind"])
    assert month["members"]["accepted"] == 34

    # Nothing crosses branches, in either direction.
    test_month = hub_report.build(storage, "TEST", "2026-11")
    assert test_month["dues"]["ledger_fen"] == _own_total(c) > 0
    assert test_month["double_payments"] == []
    assert not {r["member_no"] for r in members_rows(a) + members_rows(b)} & {"T001"}
    assert {r["member_no"] for r in members_rows(c)} == {"T001"}
    assert set(_ledger(c)) == {e for e, v in _ledger(c).items() if v[1] == c.terminal_id}
    assert c.one("SELECT count(*) AS n FROM lesson")["n"] == 0
    assert c.one("SELECT count(*) AS n FROM staff")["n"] == 1

    # Staff reconcile: B refunds its payment; once synced, the flag closes by itself.
    dues.correct(b, pay_b.entry_id, reason="重复交费，已退还",
                 confirmation=branch.confirm(b, "S01", "2468"))
    sc.sync_once(b)
    assert hub_report.build(storage, DEMO, "2026-11")["double_payments"] == []
    [closed] = conflicts.flags(storage, DEMO, status=None)
    assert (closed["status"], closed["resolved_by"]) == ("resolved", "correction")
    b.close()
    c.close()


def members_rows(store: Store) -> list[dict]:
    return store.all("SELECT member_no, name, initials, category, joined, probation, dues_from, "
                     "status, pin_hash FROM member ORDER BY member_no")


def test_applying_is_idempotent_and_keeps_what_it_cannot_use(hub, demo_store, tmp_path):
    storage, url = hub.storage, hub.url
    _enroll(storage, url, demo_store, DEMO)
    sc.sync_once(demo_store)
    conflicts.accept_all(storage, DEMO, by="operator")
    storage.append_log(branch=DEMO, origin="hub", event_id="future-1", type="vote.opened",
                       payload='{"title": "选举"}', at="2026-11-15T12:00:00.000+08:00")
    b = _new_terminal(tmp_path, "terminal-b")
    _enroll(storage, url, b, DEMO)
    client = sc.open_client(b)
    first = sc.pull(b, client, limit=100)
    assert first["pages"] > 1 and first["waiting"] == 0
    assert first["skipped_reasons"].get("unknown event type 'vote.opened'") == 1
    assert replica.pending(b)["skipped"]["vote.opened"] == 1
    assert json.loads(b.one("SELECT payload FROM replica_event WHERE event_id = 'future-1'")
                      ["payload"]) == {"title": "选举"}
    before = (_ledger(b), members_rows(b), b.one("SELECT count(*) AS n FROM consent")["n"])
    audit_before = b.one("SELECT count(*) AS n FROM audit")["n"]
    assert audit_before == first["pages"]  # one entry per page

    with b.transaction():  # read the whole log again: nothing changes, all duplicates
        b.set_meta("sync.pull_cursor", "0")
    again = sc.pull(b, client, limit=100)
    assert again["applied"] == 0 and again["duplicates"] == again["events"] == first["events"]
    assert (_ledger(b), members_rows(b), b.one("SELECT count(*) AS n FROM consent")["n"]) == before
    assert b.one("SELECT count(*) AS n FROM journal")["n"] == 0
    b.close()


def test_page_of_another_branch_is_refused_and_waiting_events_apply_later(tmp_path):
    """core.replica alone, fed pages by hand (what a broken or hostile hub could send)."""
    t = _new_terminal(tmp_path, "terminal")
    with t.transaction():
        t.set_meta("sync.branch", "MINE")

    def ev(cursor, type_, payload, at="2026-11-15T09:00:00.000+08:00"):
        return {"cursor": cursor, "origin": "hub", "event_id": f"e{cursor}", "type": type_,
                "payload": json.dumps(payload, ensure_ascii=False), "at": at}

    created = ev(1, "branch.created", {"code": "MINE", "name": "本村党支部", "township": ""})
    foreign = ev(2, "branch.policy_set", {"code": "OTHER", "back_pay_limit": 1,
                                          "pay_ahead_limit": 1})
    with pytest.raises(replica.ForeignBranch):
        replica.apply_page(t, [created, foreign], branch="MINE", cursor_from=0, cursor_to=2)
    assert t.one("SELECT count(*) AS n FROM branch")["n"] == 0  # nothing of the page
    assert t.meta("sync.pull_cursor") is None

    payment = ev(3, "dues.dues", {
        "entry_id": "x1", "receipt_no": "ABCDEF01-2026-00001", "member_no": "M1", "kind": "dues",
        "amount_fen": 50, "method": "cash", "collected_by": "S01",
        "recorded_at": "2026-11-15T09:00:00.000+08:00", "terminal_id": "abcdef01-other",
        "month_amounts": [["2026-11", 50]]})
    r = replica.apply_page(t, [created, payment], branch="MINE", cursor_from=0, cursor_to=3)
    assert (r["applied"], r["waiting"]) == (1, 1)
    assert t.one("SELECT count(*) AS n FROM ledger")["n"] == 0
    added = ev(4, "member.added", {"member_no": "M1", "name": "张三", "category": "farmer",
                                   "dues_from": "2026-11", "phones": ["13800000000"],
                                   "rate": {"year": 2026, "monthly_fen": 50, "rule": "farmer"}})
    r = replica.apply_page(t, [added], branch="MINE", cursor_from=3, cursor_to=4)
    assert (r["applied"], r["waiting"]) == (2, 0)
    assert dues.status(t, "M1").months_owed == []
    assert t.one("SELECT receipt_no, terminal_id FROM ledger WHERE entry_id = 'x1'") == {
        "receipt_no": "ABCDEF01-2026-00001", "terminal_id": "abcdef01-other"}
    assert t.meta("sync.pull_cursor") == "4"
    # A withdrawal of phone recognition arriving from elsewhere removes the phone here.
    withdrawn = ev(5, "consent.withdrawn", {
        "consent_id": "c1", "member_no": "M1", "scope": "phone_recognition", "granted": False,
        "method": "touch", "witness": None, "at": "2026-11-15T10:00:00.000+08:00"})
    replica.apply_page(t, [withdrawn], branch="MINE", cursor_from=4, cursor_to=5)
    assert members.get(t, "M1")["phones"] == []
    # An event sent twice in one page, and a page sent again, apply once.
    again = ev(6, "notice.posted", {"notice_id": "n1", "title": "通知", "body": "开会",
                                    "posted": "2026-11-15T10:00:00.000+08:00"})
    r = replica.apply_page(t, [again, again], branch="MINE", cursor_from=5, cursor_to=6)
    assert (r["applied"], r["duplicates"]) == (1, 1)
    r = replica.apply_page(t, [withdrawn, again], branch="MINE", cursor_from=6, cursor_to=6)
    assert (r["applied"], r["duplicates"]) == (0, 2)
    assert t.one("SELECT count(*) AS n FROM notice")["n"] == 1
    t.close()
