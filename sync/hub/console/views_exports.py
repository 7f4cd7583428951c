"""What the 导出 page, the downloads and the printable yearly summary show, for one
signed-in operator's scope: plain dicts and bytes from the hub's service functions
(:mod:`sync.hub.exports`, :mod:`sync.hub.yearly`, the same ones ``lianxin hub export`` and
``lianxin hub summary`` call). No HTTP here."""

from __future__ import annotations

from core.errors import InvalidInput

from .. import exports, operators, yearly
from ..storage import HubStorage
from .views import this_month


def page(storage: HubStorage, operator: dict, branch: str = "", *, clock=None) -> dict:
    """The branches the operator may export from, the one chosen (``branch``, else the
    first) with its download links, and the hub's trail for a county admin."""
    out = exports.catalogue(storage, operator)
    codes = [b["code"] for b in out["branches"]]
    if branch:
        operators.require_branch(storage, operator, branch)
    chosen = branch or (codes[0] if codes else "")
    out["chosen"] = next((b for b in out["branches"] if b["code"] == chosen), None)
    year = int(this_month(clock)[:4])
    out["years"] = [year, year - 1]
    return out


def download(storage: HubStorage, operator: dict, actor: operators.Actor, code: str | None,
             filename: str, *, clock=None) -> exports.Export:
    """``filename`` is ``TABLE.FORMAT`` (``members.xlsx``); in scope, on the trail."""
    name, dot, fmt = filename.rpartition(".")
    if not dot:
        raise InvalidInput(f"bad export name {filename!r}", "没有这种表格。")
    return exports.export(storage, actor, code, name, fmt, operator=operator, clock=clock)


def summary(storage: HubStorage, operator: dict, code: str, year: str, *,
            clock=None) -> dict:
    operators.require_branch(storage, operator, code)
    if not (year.isascii() and year.isdigit() and len(year) == 4):
        raise InvalidInput(f"bad year {year!r}", "年份要写成四位数字，例如2026。")
    out = yearly.summary(storage, code, int(year), clock=clock)
    this_year = int(this_month(clock)[:4])
    out["other_years"] = [y for y in range(this_year, this_year - 5, -1) if y != int(year)]
    return out
