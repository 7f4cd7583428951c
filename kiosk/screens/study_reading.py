"""Reading a text aloud, sentence by sentence, on a screen that shows it in large type.

Shared by the lesson reader and the branch notices. The text is split with
``voice.speech_text.sentences``; the screen shows as many sentences as fit its text area
(a *page*, measured with the real font at the current text size, so 字大 never pushes text
off the screen) and marks the one being read with ▶ and an underline — never colour alone.

The screen's own prompt is short (the title); once it has been said, the first sentence
is read, then each next one. While *playing*, each sentence is said through the app's
``speak`` and the next one follows after the time it takes to say it. ``speak`` gives no "finished" signal, so that
time is estimated from the sentence's length (``seconds_per_char``, ``gap_seconds``; a
screen or a test may set its own). Each advance also counts as activity for the idle
watch: a member listening to a lesson is not idle. The page turns only when the sentence
that starts it is said, so nothing changes on screen without being said.

A screen using :class:`ReadAloud` has ``ids.area`` (the space the text may take) holding
``ids.para`` (a :class:`Paragraph`), and may override the hooks ``leaving(index, said)``
(the current sentence is left: ``said`` when it was read aloud to its end), ``moved()``
(the current sentence changed) and ``reached_end()`` (the last sentence was read while
playing).

Also here: :class:`WrapButton`, a choice button whose label wraps (lesson titles, quiz
answers) and grows to fit it.
"""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text.markup import MarkupLabel
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.label import Label
from kivy.utils import escape_markup

from .. import textwrap_zh
from ..textwrap_zh import NO_END, NO_START  # noqa: F401  (re-exported for callers)
from ..widgets import ChoiceButton, measurer

MARKER = "▶"
# WCAG 1.4.8: lines at least 1.5 font sizes apart. Kivy multiplies the font's own line
# (1.18 font sizes for WenQuanYi): 1.3 gives 1.53 (1.25 gave 1.45, short of it).
LINE_HEIGHT = 1.3

Builder.load_string("""
#:import theme kiosk.theme

<Paragraph>:
    font_size: sp(theme.LARGE_SP) * (app.text_scale if app else 1)
    color: theme.rgba(theme.TEXT)
    markup: True
    line_height: 1.3                  # LINE_HEIGHT
    halign: 'left'
    valign: 'top'
    text_size: self.width, None
    size_hint_y: None
    height: self.texture_size[1] if self.text else 0

<WrapButton>:
    markup: True
    text_size: self.width - dp(32), None
    height: max(dp(self.min_height_dp), self.texture_size[1] + dp(28))
""")


class Paragraph(Label):
    """Running text in the larger step (40 sp × the text size), left-aligned, with markup."""


class WrapButton(ChoiceButton):
    """A choice whose label may wrap onto more lines; the button grows to hold it."""


_line_px: dict[float, tuple[float, float]] = {}


def text_height(lines: int, font_px: float) -> float:
    """Height of ``lines`` lines of the paragraph, measured once per size with the font."""
    if font_px not in _line_px:
        one, two = (MarkupLabel(text=t, font_size=font_px, line_height=LINE_HEIGHT)
                    for t in ("国", "国\n国"))
        one.refresh()
        two.refresh()
        _line_px[font_px] = (one.texture.height, two.texture.height - one.texture.height)
    first, step = _line_px[font_px]
    return 0 if lines <= 0 else first + (lines - 1) * step


def break_lines(text: str, font_px: float, width: float) -> list[int]:
    """Where each line starts, by the kiosk's Chinese line breaking
    (:mod:`kiosk.textwrap_zh`: Kivy's own wrapping breaks at markup tags and puts "，" at
    the start of a line), measured with the real font at ``font_px``."""
    return textwrap_zh.break_lines(text, measurer(font_px), width)


def _chars(sentences: list[str], start: int, end: int, marked) -> list[tuple[str, bool]]:
    out = []
    for i in range(start, end):
        if marked(i):
            out.append((MARKER, False))
        out.extend((c, i == marked.current) for c in sentences[i])
    return out


class _Mark:
    def __init__(self, current, every=False):
        self.current, self.every = current, every

    def __call__(self, i):
        return self.every or i == self.current


def page_markup(sentences: list[str], start: int, end: int, current: int | None,
                font_px: float | None = None, width: float | None = None) -> str:
    """The page as Kivy markup, lines broken here when the size is known."""
    chars = _chars(sentences, start, end, _Mark(current))
    text = "".join(c for c, _ in chars)
    starts = break_lines(text, font_px, width) if font_px and width else [0]
    out, underlined = [], False
    for n, a in enumerate(starts):
        b = starts[n + 1] if n + 1 < len(starts) else len(chars)
        if n:
            out.append("[/u]\n[u]" if underlined else "\n")
        for c, u in chars[a:b]:
            if u != underlined:
                out.append("[u]" if u else "[/u]")
                underlined = u
            out.append(escape_markup(c))
    if underlined:
        out.append("[/u]")
    return "".join(out)


def wrap_width(area_width: float, font_px: float) -> float:
    return area_width - font_px * 0.25        # slack for kerning: Kivy must not re-wrap


def paginate(sentences: list[str], font_px: float, width: float,
             height: float) -> list[tuple[int, int]]:
    """[(start, end)] pages of whole sentences that fit ``width``×``height`` at ``font_px``.

    Measured as if every sentence on the page carried the marker (only one does), so a
    page never overflows whichever sentence is current. A sentence too long for the area
    on its own still gets its own page.
    """
    pages, start, n = [], 0, len(sentences)
    mark_all = _Mark(None, every=True)

    def height_of(a, b):
        text = "".join(c for c, _ in _chars(sentences, a, b, mark_all))
        return text_height(len(break_lines(text, font_px, width)), font_px)

    while start < n:
        end = start + 1
        while end < n and height_of(start, end + 1) <= height:
            end += 1
        pages.append((start, end))
        start = end
    return pages


class ReadAloud:
    """Mixin for a ``KioskScreen``: sentences on pages, read aloud one at a time."""

    sentences = ListProperty([])
    index = NumericProperty(0)
    playing = BooleanProperty(False)
    where = StringProperty("")            # e.g. "第3句，共33句 · 正在朗读"
    seconds_per_char = 0.42               # espeak-ng cmn at the kiosk's slow default rate
    gap_seconds = 0.8

    _pages: list[tuple[int, int]] | None = None
    _intro = False                        # the prompt is being said; sentence 1 comes next
    _timer = None
    _owner = None
    _layout_trigger = None

    def on_kv_post(self, base_widget):
        super().on_kv_post(base_widget)
        self._layout_trigger = Clock.create_trigger(self._repaginate, 0)
        self.ids.area.bind(size=self._layout_trigger)
        self.ids.para.bind(font_size=self._layout_trigger)

    # -- state ----------------------------------------------------------------------------
    def begin_reading(self, sentences: list[str], *, playing: bool = True) -> None:
        """New text from its first sentence (the screen's prompt says that sentence)."""
        self.stop_reading()
        self.sentences = list(sentences)
        self.index = 0
        self.playing = playing and bool(self.sentences)
        self._intro = self.playing
        self._pages = None
        if self._layout_trigger is not None:
            self._layout_trigger()
        self._render()

    def stop_reading(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def current_sentence(self) -> str:
        return self.sentences[self.index] if self.sentences else ""

    def at_end(self) -> bool:
        return bool(self.sentences) and self.index == len(self.sentences) - 1

    def on_pre_leave(self, *args):
        self.stop_reading()

    # -- what the member does ----------------------------------------------------------------
    def toggle(self) -> None:
        """暂停 / 继续."""
        if not self.sentences:
            return
        if self.playing:
            self.playing = False
            self.stop_reading()
            self._render()
        else:
            self.playing = True
            self._say_current()

    def next_sentence(self) -> None:
        if not self.sentences:
            return
        if self.at_end():
            self.tell_end()
            return
        self._go(self.index + 1)

    def previous_sentence(self) -> None:
        if not self.sentences:
            return
        self._go(max(0, self.index - 1))

    def replay(self) -> str:
        """The current sentence again (再听一遍); returns what to say."""
        self._intro = False
        if self.playing:
            self._schedule(self.current_sentence())
        return self.current_sentence()

    def repeat_text(self) -> str:
        return self.replay() if self.sentences else super().repeat_text()

    # -- hooks ----------------------------------------------------------------------------
    def moved(self) -> None:
        """The current sentence changed (the lesson saves progress here)."""

    def reached_end(self) -> None:
        """The last sentence has been read while playing."""

    def leaving(self, index: int, said: bool) -> None:
        """Sentence ``index`` is being left; ``said``: it was read aloud to its end."""

    def tell_end(self) -> None:
        self.reached_end()

    # -- inner workings ---------------------------------------------------------------------
    def _go(self, index: int, *, said: bool = False) -> None:
        self.leaving(self.index, said)
        self.index = index
        self.message = ""              # an old notice line (e.g. 读完了) no longer applies
        self.moved()
        self._say_current()

    def _say_current(self) -> None:
        self._intro = False
        self._render()
        text = self.current_sentence()
        self.app.say(text)
        idle = getattr(self.app, "idle", None)
        if idle is not None:
            idle.poke()
        if self.playing:
            self._schedule(text)
        else:
            self.stop_reading()

    def start_timer_for(self, spoken: str) -> None:
        """Call after ``setup`` when the screen's prompt is being said: the first
        sentence follows once the prompt has been said."""
        if self.playing:
            self._schedule(spoken)

    def _schedule(self, spoken: str) -> None:
        self.stop_reading()
        self._owner = App.get_running_app()
        seconds = len(spoken) * self.seconds_per_char + self.gap_seconds
        self._timer = Clock.schedule_once(self._advance, seconds)

    def _live(self) -> bool:
        """Still this app's current screen (a timer must not outlive its app or screen)."""
        app = App.get_running_app()
        return (app is not None and app is self._owner and self.manager is not None
                and self.manager.current_screen is self)

    def _advance(self, _dt) -> None:
        self._timer = None
        if not (self.playing and self._live()):
            return
        # The estimate is a floor: with a real speaker, wait until the sentence has been said.
        speaking = getattr(getattr(self._owner, "speak", None), "speaking", None)
        if speaking is not None and speaking():
            self._timer = Clock.schedule_once(self._advance, 0.2)
            return
        if self._intro:
            self._say_current()
            return
        if self.at_end():
            self.playing = False
            self._render()
            self.leaving(self.index, True)
            self.reached_end()
            return
        self._go(self.index + 1, said=True)

    def _repaginate(self, *_):
        area, para = self.ids.area, self.ids.para
        if not self.sentences or area.width < 10 or area.height < 10:
            self._pages = None
        else:
            self._pages = paginate(self.sentences, para.font_size,
                                   wrap_width(area.width, para.font_size), area.height)
        self._render()

    def page(self) -> tuple[int, int]:
        for start, end in self._pages or ():
            if start <= self.index < end:
                return start, end
        return self.index, min(self.index + 1, len(self.sentences))

    def _render(self) -> None:
        if "para" not in self.ids:
            return
        if not self.sentences:
            self.ids.para.text = ""
            self.where = ""
            return
        start, end = self.page()
        para, area = self.ids.para, self.ids.area
        width = wrap_width(area.width, para.font_size) if self._pages else None
        self.ids.para.text = page_markup(self.sentences, start, end, self.index,
                                         para.font_size, width)
        state = ("正在朗读" if self.playing
                 else "读到最后一句了" if self.at_end() else "已暂停")
        self.where = f"第{self.index + 1}句，共{len(self.sentences)}句 · {state}"
