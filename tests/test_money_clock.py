"""Money and time helpers: integer fen in and out, months as YYYY-MM.

Pins: ``yuan_to_fen`` accepts at most two decimals and rejects negatives, junk and bools;
``fen_zh`` says amounts the way people say them (150 -> 1元5角, 105 -> 1元零5分);
``fen_to_yuan`` always shows two decimals; ``rate_of`` rounds half-up on the whole base;
month helpers cross year ends and refuse anything that is not exactly YYYY-MM.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.clock import (
    CST,
    FixedClock,
    add_months,
    iso,
    month_of,
    month_range,
    month_zh,
    months_between,
    parse_month,
)
from core.errors import InvalidInput
from core.money import fen_to_yuan, fen_zh, rate_of, yuan_to_fen

# -- money ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, fen", [
    ("3000.01", 300001), ("3000", 300000), ("3000.1", 300010), ("0.05", 5), ("0", 0),
    (" 12.30 ", 1230), ("999999999.99", 99999999999), (15, 1500), (0, 0),
])
def test_yuan_to_fen_parses(text, fen):
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", [
    "1.234", "-1", "abc", "", " ", "1.", ".5", "1,000", "1e3", "12.3.4", "1 000", "+5",
    "1000000000", "3000.01\n5", -1, True,
])
def test_yuan_to_fen_rejects(text):
    with pytest.raises(InvalidInput) as e:
        yuan_to_fen(text)
    assert e.value.zh == "金额格式不对。"


@pytest.mark.parametrize("fen, said", [
    (150, "1元5角"), (5, "5分"), (105, "1元零5分"), (2000, "20元"), (0, "0元"),
    (20, "2角"), (25, "2角5分"), (1005, "10元零5分"), (1050, "10元5角"), (300001, "3000元零1分"),
    (-150, "负1元5角"), (100000, "1000元"),
])
def test_fen_zh(fen, said):
    assert fen_zh(fen) == said


@pytest.mark.parametrize("fen, shown", [
    (150, "1.50"), (5, "0.05"), (0, "0.00"), (300001, "3000.01"), (-1500, "-15.00"), (-5, "-0.05"),
])
def test_fen_to_yuan(fen, shown):
    assert fen_to_yuan(fen) == shown


@pytest.mark.parametrize("text", ["0.01", "3000.01", "12.30", "999999999.99"])
def test_yuan_round_trip(text):
    assert fen_to_yuan(yuan_to_fen(text)) == text


@pytest.mark.parametrize("base, permille, fen", [
    (100, 5, 1),        # 0.5 fen -> 1 (half-up, not banker's)
    (300, 5, 2),        # 1.5 -> 2
    (500, 5, 3),        # 2.5 -> 3 (banker's rounding would give 2)
    (99, 5, 0),         # 0.495 -> 0
    (300050, 10, 3001),  # 3000.5 -> 3001
    (300049, 10, 3000),
    (500100, 15, 7502),  # 7501.5 -> 7502
    (1000025, 20, 20001),  # 20000.5 -> 20001
    (1000024, 20, 20000),
])
def test_rate_of_half_up(base, permille, fen):
    assert rate_of(base, permille) == fen


# -- clock ------------------------------------------------------------------------------


def test_fixed_clock_stays_and_advances():
    c = FixedClock(datetime(2026, 12, 31, 23, 30, tzinfo=CST))
    assert c.now() == c.now() == datetime(2026, 12, 31, 23, 30, tzinfo=CST)
    c.advance(hours=1)
    assert month_of(c.now()) == "2027-01"


def test_default_fixed_clock_is_the_test_day():
    assert iso(FixedClock().now()) == "2026-11-15T10:00:00.000+08:00"


def test_month_of_and_iso_are_china_time():
    utc = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January in Beijing
    assert month_of(utc) == "2027-01"
    assert iso(utc) == "2027-01-01T00:30:00.000+08:00"
    assert iso(datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=CST)) == "2026-03-01T08:00:00.123+08:00"


@pytest.mark.parametrize("month, n, out", [
    ("2026-11", 1, "2026-12"), ("2026-12", 1, "2027-01"), ("2027-01", -1, "2026-12"),
    ("2026-11", 14, "2028-01"), ("2026-11", -23, "2024-12"), ("2026-05", 0, "2026-05"),
])
def test_add_months(month, n, out):
    assert add_months(month, n) == out


def test_months_between_and_range():
    assert months_between("2026-05", "2026-11") == 6
    assert months_between("2026-11", "2027-05") == 6
    assert months_between("2027-01", "2026-12") == -1
    assert month_range("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert month_range("2026-11", "2026-11") == ["2026-11"]
    assert month_range("2026-11", "2026-10") == []


def test_month_zh():
    assert month_zh("2026-08") == "2026年8月"
    assert month_zh("2026-12") == "2026年12月"


@pytest.mark.parametrize("text", [
    "2026-13", "2026-00", "2026-1", "26-01", "2026/01", "", "2026-01\n", " 2026-01",
    "２０２６-01", None, 202601,
])
def test_parse_month_rejects(text):
    with pytest.raises(InvalidInput):
        parse_month(text)


def test_parse_month():
    assert parse_month("2026-08") == (2026, 8)


def test_fixed_clock_advance_by_days_keeps_timezone():
    c = FixedClock(datetime(2026, 11, 15, 10, 0, tzinfo=CST))
    c.advance(days=47)
    assert c.now() - datetime(2026, 11, 15, 10, 0, tzinfo=CST) == timedelta(days=47)
    assert iso(c.now()) == "2027-01-01T10:00:00.000+08:00"
