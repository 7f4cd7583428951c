"""The calendar's edges on a real store: a month's last minute, a year's last minute, a leap day.

Pins: the month and the year change at midnight China Standard Time (not UTC); months owed
grow by exactly one across a month end; receipt numbers carry the year and start again at 1
in a new year without colliding; a new year not fixed yet carries the old year's amount;
a day's takings follow the CST day; ``LIANXIN_NOW`` pins ``default_clock`` and a bad value
is a clear error. The last test runs on the real wall clock: CI also runs this module under
``faketime`` at these same edges (.ci/run), so it meets them for real.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from core import branch, dues, members
from core.clock import (
    CST,
    ENV_NOW,
    FixedClock,
    SystemClock,
    add_months,
    default_clock,
    month_of,
    pinned_moment,
)
from core.errors import InvalidInput
from core.store import Store

YEAR_END = datetime(2027, 12, 31, 23, 58, tzinfo=CST)
MONTH_END = datetime(2027, 11, 30, 23, 59, tzinfo=CST)
LEAP_DAY = datetime(2028, 2, 29, 12, 0, tzinfo=CST)


def _terminal(tmp_path, clock, *, dues_from: str):
    s = Store.create(tmp_path / "terminal.db", clock=clock)
    branch.setup(s, code="TEST", name="测试村党支部", actor="test")
    branch.add_staff(s, staff_no="S01", name="王书记", role="secretary", pin="2468", actor="test")
    members.add(s, member_no="M1", name="刘桂兰", category="farmer", farmer_fen=50, dues_from=dues_from,
                actor="test")
    return s, branch.confirm(s, "S01", "2468")


def test_year_end_receipts_restart_and_the_new_year_carries_the_amount(tmp_path):
    clock = FixedClock(YEAR_END)
    s, ok = _terminal(tmp_path, clock, dues_from="2027-12")
    try:
        before = dues.status(s, "M1")
        assert before.months_owed == ["2027-12"]
        first = dues.pay(s, "M1", months=1, confirmation=ok)
        assert first.receipt_no.endswith("-2027-00001") and first.months == ["2027-12"]
        clock.advance(minutes=4)  # 2028-01-01 00:02 CST (still 2027-12-31 in UTC)
        assert month_of(clock.now()) == "2028-01"
        after = dues.status(s, "M1")
        assert after.months_owed == ["2028-01"] and after.overdue_months == 0
        assert after.monthly_fen == before.monthly_fen  # 2028 not fixed yet: carried over
        second = dues.pay(s, "M1", months=1, confirmation=ok)
        assert second.receipt_no.endswith("-2028-00001")
        assert second.receipt_no != first.receipt_no
        assert [e["receipt_no"] for e in dues.takings(s, "2028-01-01")["entries"]] \
            == [second.receipt_no]
        assert [e["receipt_no"] for e in dues.takings(s, "2027-12-31")["entries"]] \
            == [first.receipt_no]
        # Paying 2028-01 fixed the carried amount for 2028: a different amount is refused.
        with pytest.raises(InvalidInput):
            members.fix_rate(s, "M1", 2028, category="employed", income_fen=900000, actor="t")
    finally:
        s.close()


def test_month_end_adds_exactly_one_month_owed(tmp_path):
    clock = FixedClock(MONTH_END)
    s, _ = _terminal(tmp_path, clock, dues_from="2027-08")
    try:
        before = dues.status(s, "M1")
        assert before.months_owed == ["2027-08", "2027-09", "2027-10", "2027-11"]
        assert before.overdue_months == 3 and before.level == "warning"
        clock.advance(minutes=2)
        after = dues.status(s, "M1")
        assert after.months_owed == before.months_owed + ["2027-12"]
        assert after.overdue_months == 4
        assert after.amount_owed_fen == before.amount_owed_fen + before.monthly_fen
    finally:
        s.close()


def test_leap_day(tmp_path):
    clock = FixedClock(LEAP_DAY)
    s, ok = _terminal(tmp_path, clock, dues_from="2028-01")
    try:
        r = dues.pay(s, "M1", months=2, confirmation=ok)
        assert r.months == ["2028-01", "2028-02"]
        assert dues.takings(s)["day"] == "2028-02-29"
        assert dues.takings(s)["total_fen"] == r.amount_fen
        assert add_months("2028-02", 12) == "2029-02"
        clock.advance(days=1)
        assert month_of(clock.now()) == "2028-03"
        assert dues.status(s, "M1").months_owed == ["2028-03"]
    finally:
        s.close()


def test_lianxin_now_pins_the_default_clock(monkeypatch):
    monkeypatch.setenv(ENV_NOW, "2028-02-29T23:59:00")
    at = default_clock().now()
    assert at == datetime(2028, 2, 29, 23, 59, tzinfo=CST) and pinned_moment() == at
    monkeypatch.setenv(ENV_NOW, "2028-02-29T15:59:00+00:00")  # the same instant in UTC
    assert default_clock().now() == datetime(2028, 2, 29, 23, 59, tzinfo=CST)
    monkeypatch.setenv(ENV_NOW, "29/02/2028")
    with pytest.raises(InvalidInput) as e:
        default_clock()
    assert e.value.zh == "日期时间格式不对。"
    monkeypatch.delenv(ENV_NOW)
    assert isinstance(default_clock(), SystemClock) and pinned_moment() is None


def test_pay_and_status_on_the_wall_clock(tmp_path):
    """Whatever today is (under faketime in CI: a month's and a year's last minute and a
    leap day), a member whose dues start this month owes exactly this month, and a payment
    settles it with a receipt number of this year."""
    wall = SystemClock()
    this_month = month_of(wall.now())
    s, ok = _terminal(tmp_path, wall, dues_from=this_month)
    try:
        assert dues.status(s, "M1").months_owed == [this_month]
        r = dues.pay(s, "M1", months=1, confirmation=ok)
        # Paid in the same month unless midnight struck in between (then it is last month).
        assert r.months == [this_month]
        assert f"-{r.recorded_at[:4]}-00001" in r.receipt_no
        assert dues.status(s, "M1").months_owed in ([], [month_of(wall.now())])
    finally:
        s.close()
