"""``lianxin kiosk --audit``: measure every screen against the elder-usability rules.

For each registered screen, shown with realistic content (``sample``) at each layout size
and at the smallest and largest text step, the audit walks the widget tree and records:

* ``min_font_sp``: the smallest text on screen, bar included (rule: >= 28 sp);
* ``min_target_dp``: the smallest touch-target height (rule: >= 96 dp; widths >= 60 dp
  are checked too and reported under ``problems``);
* ``min_contrast``: the lowest WCAG ratio of a text colour against the background it is
  drawn on — the nearest ``bg_color`` at or above it, a button's pressed colour too
  (rule: >= 7);
* ``choices``: the screen's own buttons, a keypad counting as one, the bar not counted
  (rule: <= 6);
* ``has_prompt``: the screen says something when it opens;
* ``prompt`` and ``prompt_s``: what it says, and how long that lasts when said by the real
  speech engine (espeak-ng through ``voice.tts`` at the kiosk's default rate, sentence by
  sentence as the kiosk's speaker says it; rule: <= 8 s — details belong on 再听一遍 or a
  button of their own). The longest over the sizes and text steps is kept;
* ``problems``: every broken rule in words, including text that does not fit its widget,
  widgets pushed outside their screen (a layout that does not hold at that size), and
  Chinese line breaking as drawn: a line starting with closing punctuation (，。）…), a
  line ending with an opening bracket, a number split from its unit ("48 / 元"), a word
  split mid-way ("espe / ak-ng") — read from the lines Kivy actually laid out, checked
  with :func:`kiosk.textwrap_zh.bad_break`.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from kivy.core.window import Window
from kivy.metrics import dp, sp
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label

from . import drive, textwrap_zh, theme
from .screens import REGISTRY, screen_class
from .widgets import Keypad

SIZES = ((1280, 800), (1920, 1080), (1080, 1920))
KEYS = ("screen", "min_font_sp", "min_target_dp", "min_contrast", "choices", "has_prompt",
        "prompt", "prompt_s")
PROMPT_MAX_S = 8.0
SPEECH_RATE_HZ = 16000


class PromptTimer:
    """``timer(text)``: seconds the text lasts when said by the real engine (memoised)."""

    def __init__(self, engine=None):
        self._engine = engine
        self._seen: dict[str, float] = {}

    def __call__(self, text: str) -> float:
        if text not in self._seen:
            from voice.speech_text import sentences

            if self._engine is None:
                from voice.tts import Pyttsx3Engine

                self._engine = Pyttsx3Engine()
            pcm = b"".join(self._engine.synthesize(piece, SPEECH_RATE_HZ)
                           for piece in (sentences(text) or [text]) if piece.strip())
            self._seen[text] = round(len(pcm) / 2 / SPEECH_RATE_HZ, 2)
        return self._seen[text]


def _visible(w) -> bool:
    while w is not None:
        if getattr(w, "opacity", 1) == 0 or getattr(w, "disabled", False):
            return False
        w = w.parent if w.parent is not w else None
    return True


def _backgrounds(w) -> list:
    node = w
    while node is not None and not hasattr(node, "bg_color"):
        node = node.parent if node.parent is not node else None
    if node is None:
        return [Window.clearcolor]
    found = [node.bg_color]
    if isinstance(node, ButtonBehavior) and hasattr(node, "bg_down"):
        found.append(node.bg_down)
    return found


def drawn_lines(label) -> list[str]:
    """The lines of ``label`` as Kivy laid them out (markup removed), top to bottom."""
    core = getattr(label, "_label", None)
    lines = getattr(core, "_cached_lines", None) or []
    return ["".join(word.text for word in line.words) for line in lines]


def line_break_problems(label) -> list[str]:
    """Each wrong line break in ``label`` as drawn, in words."""
    lines = drawn_lines(label)
    out = []
    for before, after in pairwise(lines):
        why = textwrap_zh.bad_break(before, after)
        if why:
            out.append(f"line break in {label.text[:12]!r}: {why}")
    plain = textwrap_zh.plain(label.text) if getattr(label, "markup", False) else label.text
    for orphan in _orphans(plain, lines):
        out.append(f"line break in {label.text[:12]!r}: a one-character last line {orphan!r}")
    return out


def _orphans(plain: str, lines: list[str]) -> list[str]:
    """Paragraphs (of ``plain``) whose last drawn line is one character alone."""
    found, i = [], 0
    for para in plain.split("\n"):
        want = len(para.replace(" ", ""))
        got, mine = 0, []
        while i < len(lines) and (got < want or not mine):
            mine.append(lines[i].strip())
            got += len(lines[i].replace(" ", ""))
            i += 1
        if len(mine) > 1 and textwrap_zh.is_orphan(mine[-1]):
            found.append(mine[-1])
    return found


def count_choices(widget) -> int:
    if getattr(widget, "opacity", 1) == 0 or getattr(widget, "disabled", False):
        return 0                       # hidden (e.g. home's 完成 outside a visit)
    if isinstance(widget, Keypad):
        return 1
    if isinstance(widget, ButtonBehavior):
        return 1
    return sum(count_choices(c) for c in widget.children)


def _rect(w):
    x, y = drive.window_pos(w)
    return x, y, x + w.width, y + w.height


def measure(app, timer: Callable[[str], float] | None = None) -> dict:
    """Measure what the window shows now (the current screen and the bar); with ``timer``
    (e.g. :class:`PromptTimer`), the prompt's spoken length too."""
    screen = app.current
    problems: list[str] = []
    fonts, targets, contrasts = [], [], []
    sx0, sy0, sx1, sy1 = _rect(screen)
    for w in drive.walk(app.root):
        if not _visible(w):
            continue
        if isinstance(w, Label) and w.text.strip():
            fonts.append(w.font_size / sp(1))
            for bg in _backgrounds(w):
                contrasts.append(theme.contrast(w.color, bg))
            tw, th = w.texture_size
            if tw > w.width + 1 or th > w.height + 1:
                problems.append(f"text {w.text[:12]!r} does not fit its widget")
            problems += line_break_problems(w)
        if isinstance(w, ButtonBehavior):
            targets.append(w.height / dp(1))
            if w.width / dp(1) < theme.TARGET_W_DP:
                problems.append(f"button {getattr(w, 'text', '')!r} is {w.width / dp(1):.0f} dp wide")
        in_screen = w is not screen and screen in _ancestors(w)
        if in_screen and (w.width or w.height):
            x0, y0, x1, y1 = _rect(w)
            if x0 < sx0 - 1 or y0 < sy0 - 1 or x1 > sx1 + 1 or y1 > sy1 + 1:
                problems.append(f"{type(w).__name__} {getattr(w, 'text', '')[:12]!r} "
                                "is outside its screen")
    row = {"screen": screen.name,
           "min_font_sp": round(min(fonts), 1) if fonts else None,
           "min_target_dp": round(min(targets), 1) if targets else None,
           "min_contrast": round(min(contrasts), 2) if contrasts else None,
           "choices": count_choices(screen),
           "has_prompt": bool(screen.prompt_text().strip()),
           "prompt": screen.prompt_text(), "prompt_s": None}
    if timer is not None and row["prompt"].strip():
        row["prompt_s"] = timer(row["prompt"])
    problems += rule_problems(row)
    row["problems"] = sorted(set(problems))
    return row


def _ancestors(w):
    node = w.parent
    while node is not None and node is not w:
        yield node
        w, node = node, node.parent


def rule_problems(row: dict) -> list[str]:
    out = []
    if row["min_font_sp"] is not None and row["min_font_sp"] < theme.BODY_SP:
        out.append(f"text of {row['min_font_sp']} sp (< {theme.BODY_SP})")
    if row["min_target_dp"] is not None and row["min_target_dp"] < theme.TARGET_H_DP:
        out.append(f"touch target of {row['min_target_dp']} dp (< {theme.TARGET_H_DP})")
    if row["min_contrast"] is not None and row["min_contrast"] < theme.MIN_CONTRAST:
        out.append(f"contrast {row['min_contrast']}:1 (< {theme.MIN_CONTRAST})")
    if row["choices"] > theme.MAX_CHOICES:
        out.append(f"{row['choices']} choices (> {theme.MAX_CHOICES})")
    if not row["has_prompt"]:
        out.append("no spoken prompt")
    if row.get("prompt_s") is not None and row["prompt_s"] > PROMPT_MAX_S:
        out.append(f"prompt lasts {row['prompt_s']} s (> {PROMPT_MAX_S:g}): {row['prompt']}")
    return out


def _merge(a: dict | None, b: dict, where: str) -> dict:
    b = dict(b, problems=[f"{where}: {p}" for p in b["problems"]])
    if a is None:
        return b
    def low(k):
        vals = [v for v in (a[k], b[k]) if v is not None]
        return min(vals) if vals else None
    longer = b if (b["prompt_s"] or 0) > (a["prompt_s"] or 0) else a
    return {"screen": a["screen"], "min_font_sp": low("min_font_sp"),
            "min_target_dp": low("min_target_dp"), "min_contrast": low("min_contrast"),
            "choices": max(a["choices"], b["choices"]),
            "has_prompt": a["has_prompt"] and b["has_prompt"],
            "prompt": longer["prompt"], "prompt_s": longer["prompt_s"],
            "problems": a["problems"] + b["problems"]}


def run(app, sizes=SIZES, scales=(theme.TEXT_SCALES[0], theme.TEXT_SCALES[-1]),
        timer: Callable[[str], float] | None = None) -> list[dict]:
    """Audit every registered screen; the app must be attached (see ``KioskApp.attach``).
    ``timer`` measures each prompt (default: a :class:`PromptTimer` on the real engine)."""
    timer = timer or PromptTimer()
    before, scale_before = tuple(Window.size), app.text_scale
    results: dict[str, dict] = {}
    try:
        for size in sizes:
            drive.set_size(*size)
            for scale in scales:
                app.text_scale = scale
                for name in REGISTRY:
                    app.show(name, **screen_class(name).sample(app))
                    drive.pump(3)
                    where = f"{size[0]}x{size[1]} text x{scale:g}"
                    results[name] = _merge(results.get(name), measure(app, timer), where)
    finally:
        app.text_scale = scale_before
        drive.set_size(*before)
        app.go_home()
    return list(results.values())


def passed(rows: list[dict]) -> bool:
    return all(not r["problems"] for r in rows)


def format_rows(rows: list[dict]) -> str:
    lines = [f"{'screen':<14} {'font sp':>8} {'target dp':>10} {'contrast':>9} {'choices':>8} "
             "prompt s"]
    for r in rows:
        said = f"{r['prompt_s']:.1f}" if r.get("prompt_s") is not None else "-"
        lines.append(f"{r['screen']:<14} {r['min_font_sp']!s:>8} {r['min_target_dp']!s:>10} "
                     f"{r['min_contrast']!s:>9} {r['choices']:>8} "
                     f"{said if r['has_prompt'] else 'NO':>8}")
        lines += [f"    ✗ {p}" for p in r["problems"]]
    lines.append("audit passed" if passed(rows) else "audit FAILED")
    return "\n".join(lines)
