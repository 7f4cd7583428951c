"""The 2008 dues regulation as pure functions (core.dues_rules.quote / hardship).

Pins every band edge of DESIGN.md §4 (the rate applies to the *whole* base, the edge
belongs to the lower band, half-up to the fen), the farmer bounds 0.20-1.00, the flat 0.20
categories, hardship reduction/exemption only with an approval reference and a reason,
and the errors for unknown categories, missing or non-integer incomes.
"""

from __future__ import annotations

import pytest

from core import dues_rules
from core.dues_rules import CATEGORIES, hardship, quote
from core.errors import InvalidInput
from core.money import yuan_to_fen


def employed(yuan: str) -> int:
    return quote("employed", income_fen=yuan_to_fen(yuan)).monthly_fen


def retired(yuan: str) -> int:
    return quote("retired", income_fen=yuan_to_fen(yuan)).monthly_fen


@pytest.mark.parametrize("income, monthly", [
    # DESIGN.md §4 worked edges
    ("3000.00", "15.00"), ("3000.01", "30.00"), ("2999.99", "15.00"),
    ("5000.00", "50.00"), ("5000.01", "75.00"),
    ("10000.00", "150.00"), ("10000.01", "200.00"),
    # inside each band
    ("0.01", "0.00"), ("1000.00", "5.00"), ("4000.00", "40.00"), ("8000.00", "120.00"),
    ("12500.00", "250.00"), ("4999.99", "50.00"), ("9999.99", "150.00"),
])
def test_employed_bands(income, monthly):
    assert employed(income) == yuan_to_fen(monthly)


@pytest.mark.parametrize("income, monthly", [
    ("5000.00", "25.00"), ("5000.01", "50.00"),  # 1% of 5000.01 = 50.0001 -> 50.00
    ("4999.99", "25.00"), ("2800.00", "14.00"), ("6300.00", "63.00"), ("20000.00", "200.00"),
])
def test_retired_bands(income, monthly):
    assert retired(income) == yuan_to_fen(monthly)


@pytest.mark.parametrize("category, income_fen, monthly_fen", [
    # incomes whose rate lands on exactly half a fen round up
    ("employed", 299900, 1500),    # 0.5% of 2999.00 = 14.995 -> 15.00
    ("employed", 299700, 1499),    # 14.985 -> 14.99
    ("employed", 100, 1),          # 0.5% of 1.00 = 0.005 -> 0.01
    ("employed", 300050, 3001),    # 1% of 3000.50 = 30.005 -> 30.01
    ("employed", 500100, 7502),    # 1.5% of 5001.00 = 75.015 -> 75.02
    ("employed", 500101, 7502),    # 75.01515 -> 75.02
    ("employed", 500099, 7501),    # 75.01485 -> 75.01
    ("employed", 1000025, 20001),  # 2% of 10000.25 = 200.005 -> 200.01
    ("retired", 500050, 5001),     # 1% of 5000.50 = 50.005 -> 50.01
    ("retired", 300100, 1501),     # 0.5% of 3001.00 = 15.005 -> 15.01
])
def test_half_up_to_the_fen(category, income_fen, monthly_fen):
    assert quote(category, income_fen=income_fen).monthly_fen == monthly_fen


def test_quote_records_the_rule_and_base():
    q = quote("employed", income_fen=300001)
    assert q.monthly_fen == 3000
    assert q.base_fen == 300001
    assert q.rule == "employed: 1% of after-tax wage 3000.01 yuan"
    assert q.rule_zh == "按税后工资3000.01元的1%交纳"
    assert q.as_dict() == {"monthly_fen": 3000, "monthly_yuan": "30.00", "rule": q.rule,
                           "rule_zh": q.rule_zh, "base_fen": 300001}
    r = quote("retired", income_fen=1000000)
    assert r.rule == "retired: 1% of pension 10000.00 yuan"
    assert quote("employed", income_fen=1000001).rule.startswith("employed: 2% ")
    assert quote("employed", income_fen=1000000).rule.startswith("employed: 1.5% ")
    assert quote("employed", income_fen=300000).rule.startswith("employed: 0.5% ")


@pytest.mark.parametrize("category", ["employed", "retired"])
@pytest.mark.parametrize("income", [None, -1, 0, 3000.0, "300000", True])
def test_income_categories_need_a_positive_integer_income(category, income):
    with pytest.raises(InvalidInput):
        quote(category, income_fen=income)


@pytest.mark.parametrize("fen", [20, 21, 50, 99, 100])
def test_farmer_within_bounds(fen):
    q = quote("farmer", farmer_fen=fen)
    assert q.monthly_fen == fen
    assert q.base_fen is None
    assert q.rule_zh == "农民党员，由支部确定每月金额"


@pytest.mark.parametrize("fen", [19, 101, 0, -20, 1000])
def test_farmer_out_of_range(fen):
    with pytest.raises(InvalidInput) as e:
        quote("farmer", farmer_fen=fen)
    assert e.value.zh == "农民党员每月党费应在2角到1元之间。"


@pytest.mark.parametrize("fen", [None, 0.5, True, "50"])
def test_farmer_amount_missing_or_not_fen(fen):
    with pytest.raises(InvalidInput):
        quote("farmer", farmer_fen=fen)


def test_farmer_ignores_an_income():
    assert quote("farmer", farmer_fen=40, income_fen=900000).monthly_fen == 40


@pytest.mark.parametrize("category", ["student", "unemployed", "relief", "subsistence"])
def test_flat_twenty_fen(category):
    q = quote(category)
    assert q.monthly_fen == 20
    assert q.rule == f"{category}: flat 0.20 yuan a month"
    assert q.rule_zh == f"{CATEGORIES[category]}党员，每月交纳2角"
    # an income, if given, does not change a flat amount
    assert quote(category, income_fen=800000).monthly_fen == 20


def test_every_category_is_covered():
    assert set(CATEGORIES) == {"employed", "retired", "farmer", "student", "unemployed",
                               "relief", "subsistence"}
    assert CATEGORIES["subsistence"] == "领取最低生活保障金"


@pytest.mark.parametrize("category", ["worker", "", "Employed", "低保", None])
def test_unknown_category(category):
    with pytest.raises(InvalidInput) as e:
        quote(category, income_fen=300000)
    assert e.value.zh == "党员类别不对。"


# -- hardship ---------------------------------------------------------------------------


def test_hardship_reduced():
    base = quote("retired", income_fen=320000)  # 16.00
    q = hardship(base, 500, approval_ref="镇党委〔2026〕3号", reason="大病住院")
    assert q.monthly_fen == 500
    assert q.base_fen == 320000
    assert q.rule == "hardship: reduced to 5.00 yuan (镇党委〔2026〕3号: 大病住院)"
    assert q.rule_zh == "经批准减少交纳党费"


def test_hardship_exempt():
    q = hardship(quote("farmer", farmer_fen=50), 0, approval_ref="镇党委〔2026〕4号",
                 reason="家庭困难")
    assert q.monthly_fen == 0
    assert q.rule == "hardship: exempt (镇党委〔2026〕4号: 家庭困难)"
    assert q.rule_zh == "经批准免交党费"


@pytest.mark.parametrize("ref, reason", [("", "大病"), ("  ", "大病"), ("批准1号", ""),
                                         ("批准1号", " "), (None, "大病"), ("批准1号", None)])
def test_hardship_needs_approval_and_reason(ref, reason):
    with pytest.raises(InvalidInput) as e:
        hardship(quote("student"), 0, approval_ref=ref, reason=reason)
    assert e.value.zh == "减免党费要写明原因和批准文号。"


@pytest.mark.parametrize("fen", [-1, 1501, 1.5, True])
def test_hardship_amount_between_zero_and_normal(fen):
    with pytest.raises(InvalidInput):
        hardship(quote("employed", income_fen=300000), fen, approval_ref="批准1号", reason="困难")


def test_hardship_may_keep_the_normal_amount_at_most():
    base = quote("employed", income_fen=300000)
    assert hardship(base, 1500, approval_ref="批准1号", reason="困难").monthly_fen == 1500


def test_bands_are_ordered_and_open_ended():
    for bands in (dues_rules.EMPLOYED_BANDS, dues_rules.RETIRED_BANDS):
        edges = [e for e, _ in bands[:-1]]
        assert edges == sorted(edges)
        assert bands[-1][0] is None
