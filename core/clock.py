"""Time on the terminal: China Standard Time, and months as ``YYYY-MM`` strings.

A clock is any object with ``now() -> datetime`` (aware, Asia/Shanghai). The store takes
one, so tests and the demo can pin the date with :class:`FixedClock` instead of patching.

Processes that take no clock argument (the CLI, the hub server, a subprocess in a test) get
theirs from :func:`default_clock`: the system clock, unless ``LIANXIN_NOW`` names a moment,
in which case the clock is frozen there. The test suite sets it for every process it starts;
a production unit never should (``lianxin doctor`` says so when it is set).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .errors import InvalidInput

CST = ZoneInfo("Asia/Shanghai")
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
ENV_NOW = "LIANXIN_NOW"


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(CST)


@dataclass
class FixedClock:
    """A clock that stays where it is put; ``advance`` moves it."""

    at: datetime = field(default_factory=lambda: datetime(2026, 11, 15, 10, 0, tzinfo=CST))

    def now(self) -> datetime:
        return self.at

    def advance(self, **kw) -> None:
        self.at = self.at + timedelta(**kw)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment; one without a zone is China Standard Time."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except (AttributeError, ValueError):
        raise InvalidInput(f"not an ISO 8601 date and time: {text!r}",
                           "日期时间格式不对。") from None
    return dt.replace(tzinfo=CST) if dt.tzinfo is None else dt.astimezone(CST)


def pinned_moment() -> datetime | None:
    """The moment ``LIANXIN_NOW`` pins, or None when the clock is the system's."""
    text = os.environ.get(ENV_NOW, "").strip()
    return parse_moment(text) if text else None


def default_clock():
    """The clock of a process that was given none: see the module's docstring."""
    at = pinned_moment()
    return SystemClock() if at is None else FixedClock(at)


def iso(dt: datetime) -> str:
    """Timestamps are stored as ISO 8601 in CST, to the millisecond."""
    return dt.astimezone(CST).isoformat(timespec="milliseconds")


def month_of(dt: datetime) -> str:
    dt = dt.astimezone(CST)
    return f"{dt.year:04d}-{dt.month:02d}"


def parse_month(text: str) -> tuple[int, int]:
    m = _MONTH.fullmatch(text or "") if isinstance(text, str) else None
    if not m:
        raise InvalidInput(f"not a month (YYYY-MM): {text!r}", "月份格式不对。")
    return int(m.group(1)), int(m.group(2))


def add_months(month: str, n: int) -> str:
    y, m = parse_month(month)
    k = y * 12 + (m - 1) + n
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def months_between(a: str, b: str) -> int:
    """Number of months from ``a`` to ``b`` (b - a)."""
    ya, ma = parse_month(a)
    yb, mb = parse_month(b)
    return (yb * 12 + mb) - (ya * 12 + ma)


def month_range(first: str, last: str) -> list[str]:
    """Inclusive list of months; empty when ``last`` is before ``first``."""
    return [add_months(first, i) for i in range(months_between(first, last) + 1)]


def month_zh(month: str) -> str:
    """'2026-08' -> '2026年8月' (how it is shown and spoken)."""
    y, m = parse_month(month)
    return f"{y}年{m}月"
