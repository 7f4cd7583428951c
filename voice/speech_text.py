"""Display text -> text that reads well aloud in Mandarin (pure; no I/O, no engine).

Why this exists: what espeak-ng 1.51 (Debian 12) does with Arabic numerals in Mandarin was
checked with ``espeak-ng -v cmn-latn-pinyin -x`` before writing any rule here:

    reads well                      reads badly (so converted here)
    0-9999 without inner zeros      101 -> "一百一", 1001 -> "一千一"  (the 零 is dropped)
    "3月", "15日", "第3课"            10000 -> "十千", 12345 -> "十二千…" (no 万 at all)
    "1元5角" (with tone sandhi)      2026 in "2026年" -> a quantity, not 二零二六
                                    13812345678 / 1234 (PIN) -> one huge quantity
                                    2.5 -> "二五" (no 点); 50% -> English "percent"
                                    10:30 -> "十 三十"; "2026-08" -> "二千二十六 零八"

Because small numbers are the only ones it gets right, every number is converted here, so
what a listener hears does not depend on the espeak-ng version. Latin letters are left to
espeak-ng (it spells them, e.g. "QS001" -> letters then 零零一).

Public surface:
    integer_zh(123)          -> "一百二十三"
    digits_zh("138")         -> "一三八"           (PINs, phone and receipt numbers)
    month_zh("2026-08")      -> "二零二六年八月"
    money_zh(150)            -> "一元五角"         (fen, the way core.money.fen_zh shows it)
    for_speech(text)         -> the whole display text with every number rewritten
    sentences(body)          -> a lesson body split for sentence-by-sentence reading
"""

from __future__ import annotations

import re

__all__ = ["digits_zh", "for_speech", "integer_zh", "money_zh", "month_zh", "sentences"]

_DIGITS = "零一二三四五六七八九"
_SMALL_UNITS = ["", "十", "百", "千"]
_BIG_UNITS = ["", "万", "亿", "万亿"]

# Digit runs at least this long are identifiers (phone, receipt, member numbers), read
# digit by digit, unless a counting unit follows them ("12000元" stays a quantity).
_ID_MIN_LEN = 5
# ...and any run right after a word that names a code ("密码1234", "电话：65432").
_ID_WORDS_BEFORE = ("密码", "编号", "号码", "电话", "手机", "卡号", "收据号", "单号", "验证码")
_UNITS_AFTER_QUANTITY = frozenset("元角分块毛人个位名次天年月日号岁小时秒件条篇课期张笔")


def integer_zh(n: int) -> str:
    """Chinese numerals the standard way: 0 -> 零, 10 -> 十, 101 -> 一百零一, 10001 -> 一万零一.

    Up to 10**16 - 1; larger numbers are not quantities anyone hears here and are read
    digit by digit.
    """
    if n < 0:
        return "负" + integer_zh(-n)
    if n == 0:
        return "零"
    if n >= 10**16:
        return digits_zh(str(n))
    groups = []  # groups of four digits, least significant first
    while n:
        n, g = divmod(n, 10000)
        groups.append(g)
    out = []
    zero_pending = False
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            zero_pending = bool(out)
            continue
        if out and (zero_pending or g < 1000):
            out.append("零")
        out.append(_group_zh(g) + _BIG_UNITS[i])
        zero_pending = False
    text = "".join(out)
    # 一十五 -> 十五 only at the very start (10-19); inside a number 一十 is right (一百一十).
    if text.startswith("一十"):
        text = text[1:]
    return text


def _group_zh(g: int) -> str:
    """1..9999 with inner zeros read once: 1001 -> 一千零一, 1010 -> 一千零一十."""
    out = []
    zero = False
    for pos in range(3, -1, -1):
        d = (g // 10**pos) % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_DIGITS[d] + _SMALL_UNITS[pos])
    return "".join(out)


def digits_zh(digits: str) -> str:
    """Read a string of digits one by one: "13812345678" -> "一三八一二三四五六七八".

    一 is used for 1, not the phone-style 幺: it is what older listeners read on paper and
    what the keypad and kiosk screen show.
    """
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"not a string of digits: {digits!r}")
    return "".join(_DIGITS[int(c)] for c in digits)


def month_zh(month: str) -> str:
    """A YYYY-MM month as said aloud: "2026-08" -> "二零二六年八月"."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", month)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"not a YYYY-MM month: {month!r}")
    return f"{digits_zh(m.group(1))}年{integer_zh(int(m.group(2)))}月"


def money_zh(fen: int) -> str:
    """Fen as said aloud: 150 -> 一元五角, 5 -> 五分, 2000 -> 二十元, 105 -> 一元零五分, 0 -> 零元."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"money is integer fen, got {fen!r}")
    if fen == 0:
        return "零元"
    sign = "负" if fen < 0 else ""
    fen = abs(fen)
    yuan, jiao, f = fen // 100, (fen % 100) // 10, fen % 10
    parts = []
    if yuan:
        parts.append(integer_zh(yuan) + "元")
    if jiao:
        parts.append(_DIGITS[jiao] + "角")
    if f:
        if yuan and not jiao:
            parts.append("零")
        parts.append(_DIGITS[f] + "分")
    return sign + "".join(parts)


# -- whole texts ---------------------------------------------------------------------------

# No ASCII letter or digit on either side: a number inside "QS001" or "ABC-2026-00001" is
# part of an identifier, not a date or a quantity.
_L = r"(?<![A-Za-z0-9-])"
_R = r"(?![A-Za-z0-9])"

_DATE = re.compile(_L + r"(\d{4})-(\d{1,2})-(\d{1,2})" + _R)
_MONTH = re.compile(_L + r"(\d{4})-(\d{1,2})(?![A-Za-z0-9-])")
_YEAR = re.compile(_L + r"(\d{4})(?=\s*年)")
# Not right after "80." either: "80.4GB" is a decimal and a unit, not "80." + "4GB".
_IDENT = re.compile(r"(?<![A-Za-z0-9-])(?<!\d\.)(?=[A-Za-z0-9-]*[A-Za-z])(?=[A-Za-z0-9-]*\d)"
                    r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![A-Za-z0-9-])")
_YUAN_DECIMAL = re.compile(r"[¥￥]\s*(\d+)(?:\.(\d{1,2}))?(?!\d)|" + _L + r"(\d+)\.(\d{1,2})\s*元")
_TIME = re.compile(_L + r"(\d{1,2}):(\d{2})" + _R)
_PERCENT = re.compile(_L + r"(\d+(?:\.\d+)?)\s*[%％]")
_DECIMAL = re.compile(_L + r"(\d+)\.(\d+)(?![0-9])")   # letters may follow: "80.4GB"
_RUN = re.compile(r"\d+")


def for_speech(text: str) -> str:
    """Rewrite every number in a display text the way it is said.

    Order matters: dates and identifiers first (their digits are not quantities), then
    money, times, percentages and decimals, then the remaining digit runs (long runs and
    runs with a leading zero are identifiers read digit by digit; others are quantities).
    """
    text = _DATE.sub(lambda m: _date(m), text)
    text = _MONTH.sub(lambda m: _month_or_keep(m), text)
    text = _YEAR.sub(lambda m: digits_zh(m.group(1)), text)
    text = _IDENT.sub(lambda m: _identifier(m.group(0)), text)
    text = _YUAN_DECIMAL.sub(_yuan_decimal, text)
    text = _TIME.sub(_time, text)
    text = _PERCENT.sub(lambda m: "百分之" + _number(m.group(1)), text)
    text = _DECIMAL.sub(lambda m: _number(m.group(0)), text)
    return _RUN.sub(_run, text)


def _date(m: re.Match) -> str:
    y, mo, d = m.group(1), int(m.group(2)), int(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return m.group(0)
    return f"{digits_zh(y)}年{integer_zh(mo)}月{integer_zh(d)}日"


def _month_or_keep(m: re.Match) -> str:
    mo = int(m.group(2))
    if not 1 <= mo <= 12:
        return m.group(0)
    return f"{digits_zh(m.group(1))}年{integer_zh(mo)}月"


def _identifier(token: str) -> str:
    """Letters kept for espeak-ng to spell, digit groups read one by one, dashes dropped."""
    parts = re.findall(r"[A-Za-z]+|\d+", token)
    return " ".join(digits_zh(p) if p.isdigit() else " ".join(p.upper()) for p in parts)


def _yuan_decimal(m: re.Match) -> str:
    whole = m.group(1) if m.group(1) is not None else m.group(3)
    frac = m.group(2) if m.group(1) is not None else m.group(4)
    fen = int(whole) * 100 + int((frac or "").ljust(2, "0"))
    return money_zh(fen)


def _time(m: re.Match) -> str:
    h, mi = int(m.group(1)), int(m.group(2))
    if h > 24 or mi > 59:
        return m.group(0)
    if mi == 0:
        return f"{integer_zh(h)}点"
    return f"{integer_zh(h)}点{'零' if mi < 10 else ''}{integer_zh(mi)}分"


def _number(s: str) -> str:
    whole, _, frac = s.partition(".")
    said = integer_zh(int(whole))
    return said + ("点" + digits_zh(frac) if frac else "")


def _run(m: re.Match) -> str:
    s = m.group(0)
    after = m.string[m.end():m.end() + 1]
    before = m.string[max(0, m.start() - 4):m.start()].rstrip(" ：:")
    is_identifier = (
        (len(s) >= _ID_MIN_LEN and after not in _UNITS_AFTER_QUANTITY)
        or (len(s) >= 2 and s.startswith("0"))
        or before.endswith(_ID_WORDS_BEFORE)
    )
    return digits_zh(s) if is_identifier else integer_zh(int(s))


# -- sentences -----------------------------------------------------------------------------

_SENTENCE_END = "。！？；!?;…"
_CLOSERS = "”’」』）)\"'"
_SPLIT = re.compile(rf"[^{_SENTENCE_END}\n]*(?:[{_SENTENCE_END}]+[{_CLOSERS}]*|\n|$)")


def sentences(body: str) -> list[str]:
    """Split a lesson body into sentences for reading one at a time (* goes back one).

    Splits after 。！？；(and their ASCII forms, and ……) and at newlines; a closing quote or
    bracket stays with its sentence; blank pieces are dropped.
    """
    out = []
    for piece in _SPLIT.findall(body):
        piece = piece.strip()
        if piece and piece.strip(_SENTENCE_END + _CLOSERS):
            out.append(piece)
        elif piece and out:
            out[-1] += piece  # stray punctuation on its own line belongs to the last sentence
    return out
