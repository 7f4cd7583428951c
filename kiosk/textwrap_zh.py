"""Chinese line breaking (禁则) for the kiosk's wrapped text, without Kivy.

Kivy wraps at spaces, and Chinese has none, so on its own it breaks anywhere: "，" at the
start of a line, "48" on one line and "元" on the next. Here a text is cut into *pieces*
that must stay on one line, then laid out greedily:

* closing punctuation (，。！？；：、）」』》…) sticks to what is before it, so it never
  starts a line; opening brackets (（「『《“) stick to what follows, so they never end one;
* a number stays with its unit and a date stays whole ("48元", "3个月", "2026年8月",
  "1元5角", "80.6GB");
* a run of Latin letters and digits (QS004, espeak-ng, 074D8CD1-2026-00112) is one word;
* a space sticks to the word before it (it ends a line, invisibly);
* no orphan: a paragraph's last line is never one character alone (with its punctuation);
  the piece before it comes down too, when the line above keeps more than one piece.

Only a piece wider than the whole line is cut inside, character by character, and even
then not before closing punctuation. Widths come from a ``measure(ch) -> float`` callable
(the real font in the app; a plain table in the tests).

:func:`break_lines` gives where each line starts; :func:`wrap` the text with newlines put
in; :func:`bad_break` says why a break between two lines is wrong (the audit uses it on
what Kivy actually drew).
"""

from __future__ import annotations

import re
from collections.abc import Callable

NO_START = frozenset("，。！？；：、”’）》」』〉】〕…—·～,.!?;:)]}%‰℃")
NO_END = frozenset("“‘（《「『〈【〔([{▶")

# Units that follow a number (the longer spellings first, so "个月" wins over "个").
UNITS = ("个小时", "个季度", "个月", "小时", "分钟", "周岁", "个", "年", "月", "日", "号",
         "元", "角", "分", "位", "条", "笔", "句", "页", "岁", "次", "天", "点", "秒", "名",
         "人", "户", "期", "课", "题", "遍", "届", "档", "%", "GB", "MB", "KB")
_NUMBER = r"[0-9０-９]+(?:[.,:：][0-9０-９]+)*"
_UNIT = "|".join(re.escape(u) for u in UNITS)
# "2026年8月", "1元5角", "3个月", "80.6GB", "12:30" — a chain of number+unit is one piece.
NUMBER_UNIT = re.compile(rf"(?:{_NUMBER}\s?(?:{_UNIT}))+(?:{_NUMBER})?|{_NUMBER}")
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/:@#+]*[A-Za-z0-9]|[A-Za-z]")

Measure = Callable[[str], float]


def pieces(text: str) -> list[str]:
    """``text`` (one paragraph, no newline) cut where a line may break."""
    atoms: list[str] = []
    i = 0
    while i < len(text):
        m = NUMBER_UNIT.match(text, i)
        w = WORD.match(text, i)
        best = max((x for x in (m, w) if x is not None), key=lambda x: x.end(), default=None)
        end = best.end() if best is not None and best.end() > i else i + 1
        atoms.append(text[i:end])
        i = end
    out: list[str] = []
    glue_next = False
    for a in atoms:
        if out and (glue_next or a[0] in NO_START or a.isspace()):
            out[-1] += a
        else:
            out.append(a)
        glue_next = a[-1] in NO_END
    return out


def _soft_cuts(piece: str) -> set[int]:
    """Where an overlong piece is cut best: after a unit ("2026年 / 8月"), else between
    any two characters that are not both Latin letters or digits."""
    unit_ends = {i for i in range(1, len(piece))
                 if piece[i].isdigit() and not piece[i - 1].isdigit() and piece[i - 1] not in ".,:："}
    return unit_ends or {i for i in range(1, len(piece))
                         if not (piece[i - 1].isascii() and piece[i].isascii())}


def _cut_long(piece: str, measure: Measure, width: float) -> list[str]:
    """A piece wider than a line, cut as late as fits: at a soft cut if there is one in
    the line, else at a character; never before closing punctuation or after an opening
    bracket (the cut moves back a character)."""
    parts, start, x = [], 0, 0.0
    soft = _soft_cuts(piece)
    for i, ch in enumerate(piece):
        w = measure(ch)
        if x + w > width and i > start:
            cut = max((j for j in soft if start < j <= i), default=i)
            while cut > start + 1 and (piece[cut] in NO_START or piece[cut - 1] in NO_END):
                cut -= 1
            parts.append(piece[start:cut])
            start = cut
            x = sum(measure(c) for c in piece[cut:i])
        x += w
    parts.append(piece[start:])
    return parts


def _visible(s: str) -> str:
    return "".join(c for c in s if not c.isspace() and c not in NO_START and c not in NO_END)


def is_orphan(line: str) -> bool:
    """A last line holding one character alone (punctuation aside)."""
    return len(_visible(line)) == 1


def _no_orphan(starts: list[int], first: int, bounds: list[int], text: str, end: int,
               measure: Measure, width: float) -> None:
    """Move a paragraph's last line start back by one piece when that line is an orphan
    (``bounds``: where the paragraph's pieces start; ``first``: its first line's index)."""
    if len(starts) - first < 2 or not is_orphan(text[starts[-1]:end]):
        return
    earlier = [b for b in bounds if starts[-2] < b < starts[-1]]
    if not earlier:
        return                                 # the line above is one piece: leave it
    moved = earlier[-1]
    if sum(measure(c) for c in text[moved:end].rstrip()) <= width:
        starts[-1] = moved


def break_lines(text: str, measure: Measure, width: float) -> list[int]:
    """Where each line of ``text`` starts (0 first), laid out greedily in ``width``.
    A newline in ``text`` always starts a line (the index after it)."""
    starts: list[int] = []
    offset = 0
    for para in text.split("\n"):
        starts.append(offset)
        first, bounds = len(starts) - 1, []
        x, at = 0.0, offset
        for piece in pieces(para):
            bounds.append(at)
            w = sum(measure(c) for c in piece.rstrip())
            full = sum(measure(c) for c in piece)
            if x > 0 and x + w > width:
                starts.append(at)
                x = 0.0
            if w > width:
                parts = _cut_long(piece, measure, width)
                for part in parts[:-1]:
                    at += len(part)
                    starts.append(at)
                x = sum(measure(c) for c in parts[-1])
                at += len(parts[-1])
                continue
            x += full
            at += len(piece)
        _no_orphan(starts, first, bounds, text, offset + len(para), measure, width)
        offset += len(para) + 1
    return starts


_TAGS = re.compile(r"\[/?[a-z_]+(?:=[^\]]*)?\]")


def plain(markup: str) -> str:
    """Kivy markup without its tags (and its escapes read back)."""
    return _TAGS.sub("", markup).replace("&bl;", "[").replace("&br;", "]").replace("&amp;", "&")


def wrap(text: str, measure: Measure, width: float) -> str:
    """``text`` with a newline wherever :func:`break_lines` starts a new line (a space
    left at the end of a line is dropped)."""
    if not text:
        return text
    starts = break_lines(text, measure, width)
    ends = starts[1:] + [len(text)]
    lines = [text[a:b].removesuffix("\n").rstrip(" ") for a, b in zip(starts, ends, strict=True)]
    return "\n".join(lines)


def bad_break(before: str, after: str) -> str | None:
    """Why the line break between line ``before`` and line ``after`` is wrong, or None."""
    before, after = before.rstrip(), after.lstrip()
    if not before or not after:
        return None
    if after[0] in NO_START:
        return f"a line starts with {after[0]!r}"
    if before[-1] in NO_END:
        return f"a line ends with {before[-1]!r}"
    joined = before + after
    at = len(before)
    for rx, what in ((WORD, "a word is split"),
                     (NUMBER_UNIT, "a number is split from its unit")):
        for m in rx.finditer(joined):
            if m.start() < at < m.end():
                return f"{what}: {joined[max(m.start(), at - 8):m.end()]!r}"
    return None
