"""Finding yourself on the branch list: surnames, pages of at most a few, typed numbers.

Pure functions over ``core.members.list_all`` rows, so the screens stay thin and these
rules are tested without a window.
"""

from __future__ import annotations

import re
from collections import OrderedDict

# Two-character surnames common enough to meet in a village roster.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 端木 西门 南宫".split())


def surname_of(name: str) -> str:
    name = (name or "").strip()
    return name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]


def by_surname(rows: list[dict]) -> OrderedDict[str, list[dict]]:
    """Members grouped by surname; larger groups first (most people find theirs on page 1),
    then by the surname's first appearance in member-number order (stable, predictable)."""
    groups: OrderedDict[str, list[dict]] = OrderedDict()
    for row in rows:
        groups.setdefault(surname_of(row["name"]), []).append(row)
    order = sorted(groups, key=lambda s: -len(groups[s]))   # sorted() is stable
    return OrderedDict((s, groups[s]) for s in order)


def page(items: list, index: int, size: int) -> tuple[list, int]:
    """Items of page ``index`` (wrapping round) and the number of pages."""
    pages = max(1, -(-len(items) // size))
    index %= pages
    return items[index * size:(index + 1) * size], pages


_TAIL = re.compile(r"(\d+)$")


def match_number(rows: list[dict], typed: str) -> list[dict]:
    """Members a digits-only keypad entry means: the exact member number, else those whose
    number ends in the same value ("7", "07" and "007" all find QS007)."""
    typed = (typed or "").strip()
    if not typed:
        return []
    exact = [r for r in rows if r["member_no"].upper() == typed.upper()]
    if exact or not typed.isdigit():
        return exact
    want = int(typed)
    found = []
    for r in rows:
        m = _TAIL.search(r["member_no"])
        if m and int(m.group(1)) == want:
            found.append(r)
    return found
