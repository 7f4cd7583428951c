"""Money is integer fen everywhere; these helpers parse and show it, never a float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import InvalidInput

_YUAN = re.compile(r"\s*(\d{1,9})(?:\.(\d{1,2}))?\s*")


def yuan_to_fen(text: str | int) -> int:
    """'3000.01' -> 300001. Accepts at most two decimals; rejects negatives and junk."""
    if isinstance(text, bool):
        raise InvalidInput(f"not an amount in yuan: {text!r}", "金额格式不对。")
    if isinstance(text, int):
        if text < 0:
            raise InvalidInput(f"not an amount in yuan: {text!r}", "金额格式不对。")
        return text * 100
    m = _YUAN.fullmatch(str(text))
    if not m:
        raise InvalidInput(f"not an amount in yuan: {text!r}", "金额格式不对。")
    whole, frac = m.group(1), (m.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(frac)


def fen_to_yuan(fen: int) -> str:
    """150 -> '1.50'."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def fen_zh(fen: int) -> str:
    """How an amount is said: 150 -> '1元5角', 5 -> '5分', 2000 -> '20元', 0 -> '0元'."""
    if fen == 0:
        return "0元"
    sign = "负" if fen < 0 else ""
    fen = abs(fen)
    yuan, jiao, f = fen // 100, (fen % 100) // 10, fen % 10
    parts = []
    if yuan:
        parts.append(f"{yuan}元")
    if jiao:
        parts.append(f"{jiao}角")
    if f:
        if yuan and not jiao:
            parts.append("零")
        parts.append(f"{f}分")
    return sign + "".join(parts)


def rate_of(base_fen: int, permille: int) -> int:
    """A rate in per-mille of a whole base, rounded half-up to the fen."""
    try:
        value = (Decimal(base_fen) * Decimal(permille) / Decimal(1000)).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
    except InvalidOperation as e:  # pragma: no cover - ints never fail here
        raise InvalidInput(str(e)) from e
    return int(value)
