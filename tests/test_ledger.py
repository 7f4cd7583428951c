"""The dues ledger on a real encrypted store (core.dues, with members.fix_rate and branch policy).

Pins: the yearly fixing (a year's amount cannot change once a month of it is paid, except
by a hardship approval; a payment spanning December -> January uses each year's amount; an
unfixed year carries the last fixed amount); allocation oldest-unpaid-first and paying
ahead after the current month; back-pay and pay-ahead limits from the branch policy (6/6,
exceeded only with a staff override reason, which lands on the ledger row, in the journal
and in the audit chain); large voluntary dues from 1000 yuan; money recorded only with a
StaffConfirmation; paid-through / months owed / warning at 3 overdue / flag at 6 and the
sentence the kiosk says; corrections as compensating rows, once per entry; the append-only
triggers; receipt numbers and check codes; the clock guard; a day's takings.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime

import pytest
import sqlcipher3

from core import audit, branch, dues, members
from core.branch import StaffConfirmation
from core.clock import CST, FixedClock, iso
from core.errors import InvalidInput, NotFound, PolicyError
from core.store import Store, key_path

NOW = datetime(2026, 11, 15, 10, 0, tzinfo=CST)


# -- fixtures: one template terminal per module (argon2 is the cost), copied per test ----

@pytest.fixture(scope="module")
def _template(tmp_path_factory):
    """A terminal with branch TEST and staff S01/2468, written on 2025-01-01 so any later
    test clock is ahead of its journal. Also a confirmation made on it, and one made on a
    different terminal for a staff number this one does not have."""
    d = tmp_path_factory.mktemp("ledger")
    early = FixedClock(datetime(2025, 1, 1, 8, 0, tzinfo=CST))
    s = Store.create(d / "terminal.db", clock=early)
    branch.setup(s, code="TEST", name="测试村党支部", actor="test")
    branch.add_staff(s, staff_no="S01", name="王书记", role="secretary", pin="2468", actor="test")
    ok = branch.confirm(s, "S01", "2468")
    s.close()
    other = Store.create(d / "other.db", clock=early)
    branch.setup(other, code="OTHER", name="别的村党支部", actor="test")
    branch.add_staff(other, staff_no="S09", name="外人", role="staff", pin="1357", actor="test")
    foreign = branch.confirm(other, "S09", "1357")
    other.close()
    return d / "terminal.db", ok, foreign


@pytest.fixture
def store(tmp_path, clock, _template):
    path = tmp_path / "terminal.db"
    shutil.copy(_template[0], path)
    shutil.copy(key_path(_template[0]), key_path(path))
    s = Store.open(path, clock=clock)
    yield s
    s.close()


@pytest.fixture
def staff_ok(_template):
    return _template[1]


def add(store, no="M01", *, name="张三丰", category="employed", income_fen=300001,
        dues_from="2026-11", **kw):
    kw.setdefault("farmer_fen", None)
    if category not in ("employed", "retired"):
        income_fen = None
    return members.add(store, member_no=no, name=name, category=category, income_fen=income_fen,
                       dues_from=dues_from, actor="test", **kw)


def months_of(store, entry_id):
    return store.all("SELECT month, amount_fen FROM ledger_month WHERE entry_id = ? "
                     "ORDER BY month", [entry_id])


def journal_payload(store, entry_id):
    for row in store.all("SELECT type, payload FROM journal ORDER BY seq"):
        p = json.loads(row["payload"])
        if p.get("entry_id") == entry_id:
            return row["type"], p
    raise AssertionError(f"no journal event for {entry_id}")


# -- yearly fixing ----------------------------------------------------------------------

def test_rate_can_be_refixed_until_a_month_of_the_year_is_paid(store, staff_ok):
    add(store)  # 3000.01 -> 30.00
    q = members.fix_rate(store, "M01", 2026, income_fen=500001, actor="test")
    assert q.monthly_fen == 7500
    assert members.rate_for(store, "M01", 2026)["monthly_fen"] == 7500
    r = dues.pay(store, "M01", months=1, confirmation=staff_ok)
    assert r.amount_fen == 7500
    with pytest.raises(InvalidInput) as e:
        members.fix_rate(store, "M01", 2026, income_fen=300000, actor="test")
    assert e.value.zh == "今年的党费金额已经确定，年内不再调整。"
    assert members.rate_for(store, "M01", 2026)["monthly_fen"] == 7500


def test_hardship_may_change_a_fixed_year(store, staff_ok):
    add(store, dues_from="2026-10")
    dues.pay(store, "M01", months=1, confirmation=staff_ok)  # 2026-10 at 30.00
    q = members.fix_rate(store, "M01", 2026, income_fen=300001, hardship_fen=1000,
                         approval_ref="镇党委〔2026〕7号", reason="大病", actor="test")
    assert q.monthly_fen == 1000
    rate = members.get(store, "M01")["rates"][0]
    assert (rate["hardship_ref"], rate["hardship_reason"]) == ("镇党委〔2026〕7号", "大病")
    s = dues.status(store, "M01")
    assert s.monthly_fen == 1000
    assert s.months_owed == ["2026-11"] and s.amount_owed_fen == 1000
    with pytest.raises(InvalidInput):  # hardship without approval is still refused
        members.fix_rate(store, "M01", 2026, income_fen=300001, hardship_fen=0, actor="test")


def test_payment_spanning_december_to_january_uses_each_years_amount(store, staff_ok, clock):
    clock.at = datetime(2026, 12, 10, 9, 0, tzinfo=CST)
    add(store, dues_from="2026-12")
    members.fix_rate(store, "M01", 2027, income_fen=500001, actor="test")  # 75.00 in 2027
    r = dues.pay(store, "M01", months=3, confirmation=staff_ok)
    assert months_of(store, r.entry_id) == [
        {"month": "2026-12", "amount_fen": 3000},
        {"month": "2027-01", "amount_fen": 7500},
        {"month": "2027-02", "amount_fen": 7500},
    ]
    assert r.amount_fen == 18000


def test_unfixed_next_year_carries_the_current_amount(store, staff_ok, clock):
    clock.at = datetime(2026, 12, 10, 9, 0, tzinfo=CST)
    add(store, dues_from="2026-12")
    assert members.rate_for(store, "M01", 2027)["year"] == 2026
    r = dues.pay(store, "M01", months=2, confirmation=staff_ok)
    assert months_of(store, r.entry_id) == [{"month": "2026-12", "amount_fen": 3000},
                                            {"month": "2027-01", "amount_fen": 3000}]
    # the next year can be fixed separately while the current one stays fixed
    members.fix_rate(store, "M01", 2028, income_fen=100000, actor="test")
    assert members.rate_for(store, "M01", 2028)["monthly_fen"] == 500
    assert members.rate_for(store, "M01", 2027)["monthly_fen"] == 3000


def test_months_paid_ahead_at_a_carried_amount_fix_that_year(store, staff_ok, clock):
    clock.at = datetime(2026, 12, 10, 9, 0, tzinfo=CST)
    add(store, dues_from="2026-12")
    dues.pay(store, "M01", months=2, confirmation=staff_ok)  # 2027-01 paid at 30.00 (carried)
    with pytest.raises(InvalidInput):
        members.fix_rate(store, "M01", 2027, income_fen=200000, actor="test")  # 10.00


# -- allocation -------------------------------------------------------------------------

def test_oldest_unpaid_first_then_ahead(store, staff_ok):
    add(store, dues_from="2026-08")
    assert [m.month for m in dues.plan(store, "M01", 2)] == ["2026-08", "2026-09"]
    r1 = dues.pay(store, "M01", months=2, confirmation=staff_ok)
    assert r1.months == ["2026-08", "2026-09"] and r1.amount_fen == 6000
    r2 = dues.pay(store, "M01", months=4, confirmation=staff_ok)
    assert r2.months == ["2026-10", "2026-11", "2026-12", "2027-01"]
    assert r2.amount_fen == 12000
    assert r2.kind == "dues" and r2.method == "cash" and r2.collected_by == "S01"
    assert r2.collector_name == "王书记" and r2.branch_name == "测试村党支部"
    assert dues.status(store, "M01").paid_through == "2027-01"
    assert [m.month for m in dues.plan(store, "M01", 1)] == ["2027-02"]


def test_plan_writes_nothing(store):
    add(store, dues_from="2026-09")
    before = store.one("SELECT count(*) AS n FROM journal")["n"]
    plan = dues.plan(store, "M01", 3)
    assert [(m.month, m.due_fen, m.paid_fen) for m in plan] == [
        ("2026-09", 3000, 0), ("2026-10", 3000, 0), ("2026-11", 3000, 0)]
    assert store.one("SELECT count(*) AS n FROM journal")["n"] == before
    assert store.one("SELECT count(*) AS n FROM ledger")["n"] == 0


@pytest.mark.parametrize("months", [0, -1, 37, True, 1.0, "2"])
def test_months_must_be_1_to_36(store, staff_ok, months):
    add(store)
    with pytest.raises(InvalidInput):
        dues.pay(store, "M01", months=months, confirmation=staff_ok)
    assert store.one("SELECT count(*) AS n FROM ledger")["n"] == 0


def test_member_who_left_cannot_pay(store, staff_ok):
    add(store)
    members.update(store, "M01", status="transferred", actor="test")
    with pytest.raises(InvalidInput):
        dues.pay(store, "M01", months=1, confirmation=staff_ok)
    s = dues.status(store, "M01")
    assert s.months_owed == [] and s.level == "ok"


def test_unknown_member(store, staff_ok):
    with pytest.raises(NotFound):
        dues.pay(store, "NOBODY", months=1, confirmation=staff_ok)
    with pytest.raises(NotFound):
        dues.status(store, "NOBODY")


# -- limits and overrides ---------------------------------------------------------------

def test_back_pay_limit_six_months(store, staff_ok):
    add(store, "M01", dues_from="2026-05")  # 6 months before 2026-11
    add(store, "M02", name="李四", dues_from="2026-04")  # 7 months before
    assert dues.pay(store, "M01", months=1, confirmation=staff_ok).months == ["2026-05"]
    with pytest.raises(PolicyError) as e:
        dues.pay(store, "M02", months=1, confirmation=staff_ok)
    assert "2026-04" in e.value.detail and "6 months back" in e.value.detail
    assert e.value.zh == "补交或预交的月数超过了支部规定，需要工作人员填写原因后确认。"
    with pytest.raises(PolicyError):
        dues.pay(store, "M02", months=1, confirmation=staff_ok, override_reason="   ")
    assert store.one("SELECT count(*) AS n FROM ledger WHERE member_no = 'M02'")["n"] == 0


def test_pay_ahead_limit_six_months(store, staff_ok):
    add(store)  # dues from 2026-11
    with pytest.raises(PolicyError) as e:
        dues.pay(store, "M01", months=8, confirmation=staff_ok)  # up to 2027-06, 7 ahead
    assert "2027-06" in e.value.detail
    r = dues.pay(store, "M01", months=7, confirmation=staff_ok)  # up to 2027-05, 6 ahead
    assert r.months[-1] == "2027-05" and r.override_reason is None


def test_override_reason_is_stored_journaled_and_audited(store, staff_ok):
    add(store, dues_from="2026-03")
    reason = "外出打工回村，补交今年党费"
    r = dues.pay(store, "M01", months=9, confirmation=staff_ok, override_reason=f"  {reason} ")
    assert r.months[0] == "2026-03" and r.months[-1] == "2026-11"
    assert r.override_reason == reason
    row = store.one("SELECT override_reason FROM ledger WHERE entry_id = ?", [r.entry_id])
    assert row["override_reason"] == reason
    kind, payload = journal_payload(store, r.entry_id)
    assert kind == "dues.dues" and payload["override_reason"] == reason
    entry = store.one("SELECT actor, subject, detail FROM audit WHERE action = 'dues.override'")
    assert entry["actor"] == "staff:S01" and entry["subject"] == "member:M01"
    detail = json.loads(entry["detail"])
    assert detail["reason"] == reason and detail["entry_id"] == r.entry_id
    assert detail["months"][0] == "2026-03"
    assert dues.history(store, "M01")[0]["override_reason"] == reason
    assert audit.verify(store).ok


def test_reason_not_kept_when_no_override_was_needed(store, staff_ok):
    add(store)
    r = dues.pay(store, "M01", months=1, confirmation=staff_ok, override_reason="不需要")
    assert r.override_reason is None
    assert store.one("SELECT count(*) AS n FROM audit WHERE action = 'dues.override'")["n"] == 0


def test_branch_policy_changes_the_limits(store, staff_ok):
    add(store, "M01", dues_from="2026-08")  # 3 back
    add(store, "M02", name="李四")
    b = branch.set_policy(store, back_pay_limit=2, pay_ahead_limit=0, actor="test")
    assert (b.back_pay_limit, b.pay_ahead_limit) == (2, 0)
    with pytest.raises(PolicyError):
        dues.pay(store, "M01", months=1, confirmation=staff_ok)
    assert dues.pay(store, "M02", months=1, confirmation=staff_ok).months == ["2026-11"]
    with pytest.raises(PolicyError):
        dues.pay(store, "M02", months=1, confirmation=staff_ok)  # 2026-12 is 1 ahead
    branch.set_policy(store, back_pay_limit=12, pay_ahead_limit=12, actor="test")
    assert dues.pay(store, "M01", months=4, confirmation=staff_ok).months == [
        "2026-08", "2026-09", "2026-10", "2026-11"]
    assert dues.pay(store, "M02", months=12, confirmation=staff_ok).months[-1] == "2027-11"
    with pytest.raises(InvalidInput):
        branch.set_policy(store, back_pay_limit=-1, pay_ahead_limit=6, actor="test")


# -- voluntary --------------------------------------------------------------------------

def test_large_voluntary_dues_from_1000_yuan(store, staff_ok):
    add(store)
    big = dues.pay_voluntary(store, "M01", amount_fen=100000, confirmation=staff_ok)
    small = dues.pay_voluntary(store, "M01", amount_fen=99999, confirmation=staff_ok)
    assert (big.large, small.large) == (True, False)
    assert big.kind == "voluntary" and big.months == []
    rows = {r["entry_id"]: r for r in dues.history(store, "M01")}
    assert rows[big.entry_id]["large"] is True and rows[small.entry_id]["large"] is False
    assert store.one("SELECT count(*) AS n FROM ledger_month")["n"] == 0
    s = dues.status(store, "M01")  # a gift does not pay dues
    assert s.months_owed == ["2026-11"] and s.amount_owed_fen == 3000
    assert journal_payload(store, big.entry_id)[1]["large"] is True


@pytest.mark.parametrize("amount", [0, -100, True, 10.5, "100"])
def test_voluntary_amount_is_positive_fen(store, staff_ok, amount):
    add(store)
    with pytest.raises(InvalidInput):
        dues.pay_voluntary(store, "M01", amount_fen=amount, confirmation=staff_ok)


# -- staff confirmation and method ------------------------------------------------------

def test_confirmation_only_from_branch_confirm():
    with pytest.raises(TypeError):
        StaffConfirmation("S01", "王书记", "2026-11-15T10:00:00.000+08:00", object())


class FakeConfirmation:
    staff_no, name, at = "S01", "王书记", "2026-11-15T10:00:00.000+08:00"


@pytest.mark.parametrize("conf", [None, FakeConfirmation()])
def test_money_needs_a_real_confirmation(store, conf):
    add(store)
    with pytest.raises(PolicyError) as e:
        dues.pay(store, "M01", months=1, confirmation=conf)
    assert e.value.zh == "需要工作人员输入密码确认。"
    with pytest.raises(PolicyError):
        dues.pay_voluntary(store, "M01", amount_fen=500, confirmation=conf)
    assert store.one("SELECT count(*) AS n FROM ledger")["n"] == 0


def test_confirmation_from_another_terminal_is_refused(store, _template):
    add(store)
    with pytest.raises(PolicyError):
        dues.pay(store, "M01", months=1, confirmation=_template[2])
    assert store.one("SELECT count(*) AS n FROM ledger")["n"] == 0


def test_payment_through_a_relative_names_who_paid(store, staff_ok):
    add(store)
    with pytest.raises(InvalidInput) as e:
        dues.pay(store, "M01", months=1, confirmation=staff_ok, method="relative")
    assert e.value.zh == "请写明代交人的姓名。"
    with pytest.raises(InvalidInput):
        dues.pay(store, "M01", months=1, confirmation=staff_ok, method="relative", paid_by="  ")
    r = dues.pay(store, "M01", months=1, confirmation=staff_ok, method="relative",
                 paid_by="张小明（儿子）")
    assert r.paid_by == "张小明（儿子）" and r.method == "relative"
    assert dues.history(store, "M01")[0]["paid_by"] == "张小明（儿子）"
    with pytest.raises(InvalidInput):
        dues.pay(store, "M01", months=1, confirmation=staff_ok, method="wechat")


# -- status -----------------------------------------------------------------------------

@pytest.mark.parametrize("dues_from, overdue, level", [
    ("2026-11", 0, "ok"), ("2026-09", 2, "ok"), ("2026-08", 3, "warning"),
    ("2026-06", 5, "warning"), ("2026-05", 6, "flag"), ("2025-11", 12, "flag"),
])
def test_warning_at_three_overdue_flag_at_six(store, dues_from, overdue, level):
    add(store, dues_from=dues_from)
    s = dues.status(store, "M01")
    assert s.overdue_months == overdue and s.level == level
    assert len(s.months_owed) == overdue + 1  # the current month is owed but not overdue
    assert s.months_owed[-1] == "2026-11"


def test_status_after_payments_and_its_sentence(store, staff_ok):
    add(store, dues_from="2026-08")
    s = dues.status(store, "M01")
    assert s.paid_through == "2026-07" and s.amount_owed_fen == 12000
    assert s.say_zh() == "您的党费交到2026年7月，还差4个月，一共120元。"
    dues.pay(store, "M01", months=1, confirmation=staff_ok)
    s = dues.status(store, "M01")
    assert s.paid_through == "2026-08"
    assert s.months_owed == ["2026-09", "2026-10", "2026-11"]
    assert s.amount_owed_fen == 9000 and s.overdue_months == 2 and s.level == "ok"
    assert s.say_zh() == "您的党费交到2026年8月，还差3个月，一共90元。"
    d = s.as_dict()
    assert d["amount_owed_yuan"] == "90.00" and d["monthly_yuan"] == "30.00"
    dues.pay(store, "M01", months=5, confirmation=staff_ok)
    s = dues.status(store, "M01")
    assert s.paid_through == "2027-01" and s.months_owed == [] and s.amount_owed_fen == 0
    assert s.say_zh() == "您的党费交到2027年1月，已经交齐了。"


def test_sentence_with_odd_amounts(store, staff_ok):
    add(store, category="farmer", farmer_fen=35, dues_from="2026-10")
    s = dues.status(store, "M01")
    assert s.amount_owed_fen == 70
    assert s.say_zh() == "您的党费交到2026年9月，还差2个月，一共7角。"
    add(store, "M02", name="李四", income_fen=210000, dues_from="2026-11")  # 0.5% = 10.50
    assert dues.status(store, "M02").say_zh() == "您的党费交到2026年10月，还差1个月，一共10元5角。"


def test_dues_starting_later_owe_nothing_yet(store):
    add(store, dues_from="2027-01")
    s = dues.status(store, "M01")
    assert s.months_owed == [] and s.paid_through == "2026-12" and s.level == "ok"
    assert s.say_zh() == "您的党费交到2026年12月，已经交齐了。"


def test_dues_starting_later_can_be_paid_ahead(store, staff_ok):
    add(store, dues_from="2027-03")  # four months after 2026-11
    r = dues.pay(store, "M01", months=2, confirmation=staff_ok)
    assert r.months == ["2027-03", "2027-04"] and r.override_reason is None
    s = dues.status(store, "M01")
    assert s.paid_through == "2027-04" and s.months_owed == []
    assert s.say_zh() == "您的党费交到2027年4月，已经交齐了。"


def test_exempt_member(store, staff_ok):
    add(store, category="student", dues_from="2026-11")
    members.fix_rate(store, "M01", 2026, hardship_fen=0, approval_ref="镇党委〔2026〕9号",
                     reason="家庭困难", actor="test")
    s = dues.status(store, "M01")
    assert s.exempt and s.months_owed == [] and s.amount_owed_fen == 0
    assert s.say_zh() == "您经支部批准免交党费。"
    with pytest.raises(InvalidInput) as e:
        dues.pay(store, "M01", months=1, confirmation=staff_ok)
    assert e.value.zh == "这位党员经批准免交党费，不需要交。"


def test_behind_lists_most_overdue_first(store):
    add(store, "M01", dues_from="2026-08")  # 3 overdue
    add(store, "M02", name="李四", dues_from="2026-04")  # 7 overdue
    add(store, "M03", name="王五", dues_from="2026-10")  # 1 overdue
    assert [(s.member_no, s.overdue_months) for s in dues.behind(store)] == [("M02", 7), ("M01", 3)]
    assert [s.member_no for s in dues.behind(store, 1)] == ["M02", "M01", "M03"]


def test_status_read_by_staff_is_audited(store):
    add(store)
    dues.status(store, "M01", reader="staff:S01")
    entry = store.one("SELECT actor, action, subject FROM audit ORDER BY seq DESC LIMIT 1")
    assert entry == {"actor": "staff:S01", "action": "read", "subject": "member:M01"}


# -- corrections ------------------------------------------------------------------------

def test_correction_is_a_compensating_row(store, staff_ok):
    add(store, dues_from="2026-10")
    r = dues.pay(store, "M01", months=2, confirmation=staff_ok)
    assert dues.status(store, "M01").months_owed == []
    c = dues.correct(store, r.entry_id, reason="收错了人", confirmation=staff_ok)
    assert c.kind == "correction" and c.amount_fen == -6000
    assert months_of(store, c.entry_id) == [{"month": "2026-10", "amount_fen": -3000},
                                            {"month": "2026-11", "amount_fen": -3000}]
    row = store.one("SELECT corrects, note FROM ledger WHERE entry_id = ?", [c.entry_id])
    assert row == {"corrects": r.entry_id, "note": "收错了人"}
    # the original row is still there, unchanged
    assert store.one("SELECT amount_fen FROM ledger WHERE entry_id = ?", [r.entry_id]) == \
        {"amount_fen": 6000}
    s = dues.status(store, "M01")
    assert s.months_owed == ["2026-10", "2026-11"] and s.amount_owed_fen == 6000
    assert s.paid_through == "2026-09"
    assert dues.pay(store, "M01", months=2, confirmation=staff_ok).months == ["2026-10", "2026-11"]
    assert journal_payload(store, c.entry_id)[1]["corrects"] == r.entry_id


def test_correction_only_once_and_never_of_a_correction(store, staff_ok):
    add(store)
    r = dues.pay(store, "M01", months=1, confirmation=staff_ok)
    c = dues.correct(store, r.entry_id, reason="退款", confirmation=staff_ok)
    with pytest.raises(InvalidInput) as e:
        dues.correct(store, r.entry_id, reason="再退一次", confirmation=staff_ok)
    assert e.value.zh == "这笔记录已经更正过了。"
    with pytest.raises(InvalidInput):
        dues.correct(store, c.entry_id, reason="撤销更正", confirmation=staff_ok)
    with pytest.raises(InvalidInput):
        dues.correct(store, r.entry_id, reason=" ", confirmation=staff_ok)
    with pytest.raises(NotFound):
        dues.correct(store, "no-such-entry", reason="退款", confirmation=staff_ok)
    with pytest.raises(PolicyError):
        dues.correct(store, r.entry_id, reason="退款", confirmation=None)
    assert store.one("SELECT count(*) AS n FROM ledger")["n"] == 2


def test_correcting_a_voluntary_payment(store, staff_ok):
    add(store)
    v = dues.pay_voluntary(store, "M01", amount_fen=120000, confirmation=staff_ok)
    c = dues.correct(store, v.entry_id, reason="多收了", confirmation=staff_ok)
    assert c.amount_fen == -120000 and c.months == [] and c.large is False
    assert store.one("SELECT SUM(amount_fen) AS s FROM ledger")["s"] == 0


@pytest.mark.parametrize("table", ["ledger", "ledger_month"])
def test_ledger_tables_refuse_update_and_delete(store, staff_ok, table):
    add(store)
    dues.pay(store, "M01", months=1, confirmation=staff_ok)
    with pytest.raises(sqlcipher3.DatabaseError, match="append-only"):
        store.db.execute(f"UPDATE {table} SET amount_fen = 1")
    with pytest.raises(sqlcipher3.DatabaseError, match="append-only"):
        store.db.execute(f"DELETE FROM {table}")
    assert store.one(f"SELECT SUM(amount_fen) AS s FROM {table}")["s"] == 3000


# -- receipts ---------------------------------------------------------------------------

def test_receipt_numbers_unique_and_increasing(store, staff_ok, clock):
    add(store, dues_from="2026-05")
    rs = [dues.pay(store, "M01", months=1, confirmation=staff_ok) for _ in range(3)]
    rs.append(dues.pay_voluntary(store, "M01", amount_fen=500, confirmation=staff_ok))
    rs.append(dues.correct(store, rs[0].entry_id, reason="退款", confirmation=staff_ok))
    prefix = store.terminal_id[:8].upper()
    assert [r.receipt_no for r in rs] == [f"{prefix}-2026-{n:05d}" for n in range(1, 6)]
    clock.at = datetime(2027, 1, 2, 9, 0, tzinfo=CST)
    r = dues.pay(store, "M01", months=1, confirmation=staff_ok, override_reason="补交")
    assert r.receipt_no == f"{prefix}-2027-00001"
    numbers = [x["receipt_no"] for x in store.all("SELECT receipt_no FROM ledger ORDER BY rowid")]
    assert numbers == sorted(numbers) and len(set(numbers)) == 6


def test_check_code_is_stable(store, staff_ok):
    add(store)
    r = dues.pay(store, "M01", months=2, confirmation=staff_ok)
    assert len(r.check_code) == 8 and r.check_code == r.check_code.upper()
    int(r.check_code, 16)
    again = dues.receipt(store, r.entry_id)
    assert again == r and again.check_code == r.check_code
    assert journal_payload(store, r.entry_id)[1]["check_code"] == r.check_code
    assert r.as_dict()["amount_yuan"] == "60.00"
    # any change to what the code covers changes the code
    forged = dataclasses.replace(r, amount_fen=r.amount_fen + 1, check_code="")
    assert forged.check_code != r.check_code
    with pytest.raises(NotFound):
        dues.receipt(store, "nope")


# -- clock guard ------------------------------------------------------------------------

def test_clock_behind_its_journal_needs_the_date_confirmed(store, staff_ok, clock):
    add(store)  # journal now holds an event at 2026-11-15 10:00
    clock.at = datetime(2026, 11, 15, 9, 0, tzinfo=CST)
    assert "earlier than its newest event" in dues.clock_suspect(store)
    with pytest.raises(PolicyError) as e:
        dues.pay(store, "M01", months=1, confirmation=staff_ok)
    assert e.value.zh == "终端的时间可能不准，请工作人员核对今天的日期后再确认。"
    with pytest.raises(PolicyError):
        dues.pay_voluntary(store, "M01", amount_fen=100, confirmation=staff_ok)
    assert store.one("SELECT count(*) AS n FROM ledger")["n"] == 0
    r = dues.pay(store, "M01", months=1, confirmation=staff_ok, date_confirmed=True)
    assert r.recorded_at == "2026-11-15T09:00:00.000+08:00"
    assert dues.clock_suspect(store) is None
    dues.pay_voluntary(store, "M01", amount_fen=100, confirmation=staff_ok)


def test_clock_reset_is_caught_after_an_unrelated_write(store, staff_ok, clock):
    add(store, dues_from="2026-10")
    dues.pay(store, "M01", months=1, confirmation=staff_ok)  # at 2026-11-15 10:00
    clock.at = datetime(2026, 1, 1, 8, 0, tzinfo=CST)  # a flat clock battery
    add(store, "M02", name="李四", dues_from="2026-01")  # some other write at the wrong time
    assert "latest payment" in dues.clock_suspect(store)
    with pytest.raises(PolicyError):
        dues.pay(store, "M01", months=1, confirmation=staff_ok)
    clock.at = datetime(2026, 11, 16, 8, 0, tzinfo=CST)  # fixed: later than everything
    assert dues.clock_suspect(store) is None


def test_clock_behind_the_hub_time(store, staff_ok):
    add(store)
    with store.transaction():
        store.set_meta("hub_time_seen", "2026-11-15T03:00:00Z")  # 11:00 in Beijing, in UTC
    assert "hub time" in dues.clock_suspect(store)
    with pytest.raises(PolicyError):
        dues.pay(store, "M01", months=1, confirmation=staff_ok)
    with store.transaction():
        store.set_meta("hub_time_seen", "2026-11-15T01:00:00Z")  # 09:00 in Beijing
    assert dues.clock_suspect(store) is None


def test_clock_ahead_of_the_hub_at_the_last_sync(store, staff_ok):
    add(store)
    with store.transaction():
        store.set_meta("sync.clock_offset_ms", str(-3_600_000))  # the terminal 1 h fast
    assert "60 min ahead" in dues.clock_suspect(store)
    with pytest.raises(PolicyError):
        dues.pay(store, "M01", months=1, confirmation=staff_ok)
    with store.transaction():
        store.set_meta("sync.clock_offset_ms", str(-120_000))  # 2 min: within the slack
    assert dues.clock_suspect(store) is None
    with store.transaction():  # the hub found events from the future at the last push
        store.set_meta("sync.clock_ahead", "2026-11-15T10:00:00.000+08:00")
    assert "ahead of its clock" in dues.clock_suspect(store)


# -- takings and history ----------------------------------------------------------------

def test_takings_for_a_day(store, staff_ok, clock):
    add(store, "M01", dues_from="2026-10")
    add(store, "M02", name="李四", category="farmer", farmer_fen=50)
    a = dues.pay(store, "M01", months=2, confirmation=staff_ok)           # 60.00
    dues.pay(store, "M02", months=3, confirmation=staff_ok)               # 1.50
    dues.pay_voluntary(store, "M02", amount_fen=2000, confirmation=staff_ok)  # 20.00
    clock.advance(days=1)
    dues.correct(store, a.entry_id, reason="退款", confirmation=staff_ok)  # -60.00 next day
    dues.pay(store, "M02", months=1, confirmation=staff_ok)               # 0.50 next day
    day1 = dues.takings(store, "2026-11-15")
    assert day1["total_fen"] == 8150 and day1["total_yuan"] == "81.50"
    assert [e["member_no"] for e in day1["entries"]] == ["M01", "M02", "M02"]
    assert day1["entries"][0]["name"] == "张三丰"
    day2 = dues.takings(store)
    assert day2["day"] == "2026-11-16"
    assert day2["total_fen"] == -5950 and len(day2["entries"]) == 2
    assert dues.takings(store, "2026-11-14") == {"day": "2026-11-14", "entries": [],
                                                 "total_fen": 0, "total_yuan": "0.00"}


def test_history_lists_every_row_with_its_months(store, staff_ok):
    add(store, dues_from="2026-10")
    r = dues.pay(store, "M01", months=2, confirmation=staff_ok, note="当面交")
    v = dues.pay_voluntary(store, "M01", amount_fen=1000, confirmation=staff_ok)
    rows = dues.history(store, "M01", reader="staff:S01")
    assert [(x["entry_id"], x["kind"], x["months"], x["amount_yuan"]) for x in rows] == [
        (r.entry_id, "dues", ["2026-10", "2026-11"], "60.00"),
        (v.entry_id, "voluntary", [], "10.00")]
    assert rows[0]["note"] == "当面交" and rows[0]["recorded_at"] == iso(store.now())


def test_every_payment_is_one_journal_event_and_the_chain_verifies(store, staff_ok):
    add(store, dues_from="2026-09")
    r = dues.pay(store, "M01", months=3, confirmation=staff_ok)
    kind, p = journal_payload(store, r.entry_id)
    assert kind == "dues.dues"
    assert p["month_amounts"] == [["2026-09", 3000], ["2026-10", 3000], ["2026-11", 3000]]
    assert p["amount_fen"] == 9000 and p["receipt_no"] == r.receipt_no
    assert audit.verify(store).ok
