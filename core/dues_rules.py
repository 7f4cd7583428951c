"""How much a member pays each month: the 2008 regulation on Party dues, as pure functions.

The rate applies to the *whole* monthly base (not marginal bands) and is rounded half-up to
the fen. Band edges belong to the lower band: employed 3000.00 -> 15.00, 3000.01 -> 30.00.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidInput
from .money import fen_to_yuan, rate_of

CATEGORIES = {
    "employed": "在职",
    "retired": "离退休",
    "farmer": "农民",
    "student": "学生",
    "unemployed": "下岗失业",
    "relief": "依靠抚恤或救济生活",
    "subsistence": "领取最低生活保障金",
}
FLAT_FEN = 20  # 0.20 yuan a month for students, the unemployed, relief and 低保
FARMER_MIN_FEN, FARMER_MAX_FEN = 20, 100

# (upper edge of the band in fen, inclusive, or None for no edge; rate in per-mille)
EMPLOYED_BANDS = ((300000, 5), (500000, 10), (1000000, 15), (None, 20))
RETIRED_BANDS = ((500000, 5), (None, 10))


@dataclass(frozen=True)
class Quote:
    monthly_fen: int
    rule: str          # English, for logs and --json
    rule_zh: str       # plain Chinese, for the member
    base_fen: int | None = None

    def as_dict(self) -> dict:
        return {"monthly_fen": self.monthly_fen, "monthly_yuan": fen_to_yuan(self.monthly_fen),
                "rule": self.rule, "rule_zh": self.rule_zh, "base_fen": self.base_fen}


def _fen(value, what: str, zh: str) -> int:
    """An amount in integer fen (never a float, never a bool)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be a whole number of fen, not {value!r}", zh)
    return value


def _band(base_fen: int, bands) -> int:
    for edge, permille in bands:
        if edge is None or base_fen <= edge:
            return permille
    raise AssertionError("bands end with an open band")


def quote(category: str, *, income_fen: int | None = None, farmer_fen: int | None = None) -> Quote:
    """The monthly amount for a category; ``income_fen`` is the after-tax wage or pension."""
    if category not in CATEGORIES:
        raise InvalidInput(f"unknown category {category!r}; one of {', '.join(CATEGORIES)}",
                           "党员类别不对。")
    if category in ("employed", "retired"):
        # No income means no quote: a zero income would make a member exempt without the
        # approval a hardship exemption needs (use hardship(), or another category).
        if income_fen is None or _fen(income_fen, "income", "请填写每月收入。") <= 0:
            raise InvalidInput(f"{category} needs the monthly income (after tax) in yuan",
                               "请填写每月收入。")
        bands = EMPLOYED_BANDS if category == "employed" else RETIRED_BANDS
        permille = _band(income_fen, bands)
        fen = rate_of(income_fen, permille)
        pct = f"{permille / 10:g}%"
        what, what_zh = ("after-tax wage", "税后工资") if category == "employed" else ("pension", "离退休费")
        return Quote(fen, f"{category}: {pct} of {what} {fen_to_yuan(income_fen)} yuan",
                     f"按{what_zh}{fen_to_yuan(income_fen)}元的{pct}交纳", income_fen)
    if category == "farmer":
        if farmer_fen is None:
            raise InvalidInput("a farmer's monthly amount (0.20 to 1.00 yuan) is set by the branch",
                               "农民党员的党费由支部在2角到1元之间确定。")
        if not FARMER_MIN_FEN <= _fen(farmer_fen, "farmer amount", "金额不对。") <= FARMER_MAX_FEN:
            raise InvalidInput(f"farmer amount {fen_to_yuan(farmer_fen)} is outside 0.20-1.00 yuan",
                               "农民党员每月党费应在2角到1元之间。")
        return Quote(farmer_fen, f"farmer: {fen_to_yuan(farmer_fen)} yuan a month set by the branch",
                     "农民党员，由支部确定每月金额")
    return Quote(FLAT_FEN, f"{category}: flat 0.20 yuan a month",
                 f"{CATEGORIES[category]}党员，每月交纳2角")


def hardship(base: Quote, monthly_fen: int, *, approval_ref: str, reason: str) -> Quote:
    """A reduced amount (or 0, exempt) for a member in hardship, with its approval recorded."""
    if not (approval_ref or "").strip() or not (reason or "").strip():
        raise InvalidInput("a hardship reduction needs the approval reference and the reason",
                           "减免党费要写明原因和批准文号。")
    if not 0 <= _fen(monthly_fen, "hardship amount", "金额不对。") <= base.monthly_fen:
        raise InvalidInput("a hardship amount must be between 0 and the normal amount")
    kind = "exempt" if monthly_fen == 0 else f"reduced to {fen_to_yuan(monthly_fen)} yuan"
    return Quote(monthly_fen, f"hardship: {kind} ({approval_ref}: {reason})",
                 "经批准免交党费" if monthly_fen == 0 else "经批准减少交纳党费", base.base_fen)
