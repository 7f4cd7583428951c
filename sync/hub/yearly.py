"""The yearly collection summary a branch publishes to its members (DESIGN §4: "the branch
publishes collection totals to its members once a year"): dues expected and collected by
month, the year's totals, how many members are paid up and how many behind, and voluntary
dues. The console prints it (``/branch/CODE/summary/YEAR``); ``lianxin hub summary``
prints the same figures.

The months are :func:`sync.hub.report.trend`'s (the console's charts), from January to
December of a past year, or to this month in the current one. Paid up and behind are
counted as the console counts them (report.build at the last month: months still owed,
that month included).
"""

from __future__ import annotations

from core.clock import default_clock, month_of
from core.errors import InvalidInput
from core.money import fen_to_yuan

from . import report
from .storage import HubStorage

FIRST_YEAR = 2000


def _rate(collected: int, expected: int) -> int | None:
    return None if expected <= 0 else min(100, collected * 100 // expected)


def summary(storage: HubStorage, code: str, year: int, *, clock=None) -> dict:
    now_month = month_of((clock or default_clock()).now())
    if not FIRST_YEAR <= year <= int(now_month[:4]):
        raise InvalidInput(f"no summary for year {year} (from {FIRST_YEAR} to this year)",
                           "只能查看今年和以前年份的汇总。")
    last = min(f"{year}-12", now_month)
    rep = report.build(storage, code, last, clock=clock)    # NotFound for another branch
    months = report.trend(storage, code, last, months=int(last[5:]))
    expected = sum(m["expected_fen"] for m in months)
    collected = sum(m["collected_fen"] for m in months)
    behind = [len(m["months_owed"]) for m in rep["members_behind"]]
    active = rep["members"]["active"]
    voluntary = storage.voluntary_fen(code, f"{year}-01-01", f"{year + 1}-01-01")
    return {
        "branch": rep["branch"], "year": year, "last_month": last,
        "complete": last == f"{year}-12", "generated_at": rep["generated_at"],
        "months": [{**m, "rate": _rate(m["collected_fen"], m["expected_fen"]),
                    "expected_yuan": fen_to_yuan(m["expected_fen"]),
                    "collected_yuan": fen_to_yuan(m["collected_fen"])} for m in months],
        "totals": {"expected_fen": expected, "expected_yuan": fen_to_yuan(expected),
                   "collected_fen": collected, "collected_yuan": fen_to_yuan(collected),
                   "rate": _rate(collected, expected),
                   "voluntary_fen": voluntary, "voluntary_yuan": fen_to_yuan(voluntary)},
        "members": {"active": active, "paid_up": active - len(behind),
                    "behind": len(behind), "behind_3": sum(1 for n in behind if n >= 3),
                    "behind_6": sum(1 for n in behind if n >= 6)},
    }
