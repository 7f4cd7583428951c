"""The kiosk's few widgets: text, a big button, a keypad, and the always-present bar.

Every widget that paints a background exposes ``bg_color`` (and ``bg_down`` for a pressed
button), so :mod:`kiosk.usability` can check each text against what it is drawn on. Sizes and
colours come from :mod:`kiosk.theme`; the rules live in ``widgets.kv`` beside this file.

A pressed button says its label (or its ``spoken`` text, e.g. a PIN key says how many
digits are in, never the digit) through the app, then acts on release.
"""

from __future__ import annotations

import re

from kivy.app import App
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    NumericProperty,
    OptionProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.utils import get_hex_from_color

from . import textwrap_zh, theme

KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "删除", "0", "确定")
SPOKEN_KEYS = {"删除": "删除一位", "确定": "确定"}


_widths: dict[tuple, float] = {}
_TAG = re.compile(r"\[/?[a-z_]+(?:=[^\]]*)?\]|&bl;|&br;|&amp;|.", re.S)
_ENTITY = {"&bl;": "[", "&br;": "]", "&amp;": "&"}
_SIZE = re.compile(r"\[size=([0-9.]+)(sp|dp|px)?\]")


def measurer(font_px: float, bold: bool = False, font_name: str | None = None):
    """``measure(ch)``: a character's width in px with the kiosk font at ``font_px``."""
    def measure(ch: str) -> float:
        key = (font_px, bold, font_name, ch)
        if key not in _widths:
            from kivy.core.text import Label as CoreLabel

            opts = {"font_size": font_px, "bold": bold}
            if font_name:
                opts["font_name"] = font_name
            _widths[key] = CoreLabel(**opts).get_extents(ch)[0]
        return _widths[key]
    return measure


def wrap_markup(text: str, font_px: float, width: float, bold: bool = False,
                font_name: str | None = None) -> str:
    """Kivy markup with newlines put in by :mod:`kiosk.textwrap_zh`, tags left alone; each
    paragraph measured at the ``[size=...]`` it starts with (a lesson button's reason)."""
    out = []
    for para in text.split("\n"):
        size = _SIZE.search(para)
        px = float(size.group(1)) if size and not size.group(2) else font_px
        tokens = _TAG.findall(para)
        plain = "".join(_ENTITY.get(t, t) if len(t) == 1 or t in _ENTITY else "" for t in tokens)
        starts = set(textwrap_zh.break_lines(plain, measurer(px, bold, font_name), width)[1:])
        at, pieces = 0, []
        for t in tokens:
            visible = len(t) == 1 or t in _ENTITY
            if visible and at in starts:
                pieces.append("\n")
            pieces.append(t)
            at += visible
        out.append("".join(pieces))
    return "\n".join(out)


class ZhLabel(Label):
    """A Label whose wrapped lines are broken the Chinese way (:mod:`kiosk.textwrap_zh`):
    "，" never starts a line, "48元" is never split. ``text`` stays what the screen set;
    only what is drawn gets the line breaks. Wraps only when ``text_size`` has a width."""

    wrap_slack = 0.25        # of the font size: room for kerning, so Kivy never re-wraps

    def drawn_text(self) -> str:
        width = self.text_size[0] if self.text_size else None
        if not self.text or not width or width <= 0:
            return self.text
        px = self.font_size
        usable = width - px * self.wrap_slack
        if self.markup:
            return wrap_markup(self.text, px, usable, self.bold, self.font_name)
        return textwrap_zh.wrap(self.text, measurer(px, self.bold, self.font_name), usable)

    def texture_update(self, *largs):
        label = self._label
        if label is None or not self.text.strip():
            super().texture_update(*largs)
        elif not self.markup:
            label.text = self.drawn_text()
            super().texture_update(*largs)
        else:
            # Label.texture_update rebuilds markup from self.text: the same steps, wrapped
            self.texture = None
            colour = self.disabled_color if self.disabled else self.color
            label.text = f"[color={get_hex_from_color(colour)}]{self.drawn_text()}[/color]"
            label.refresh()
            if label.texture:
                label.texture.bind()
            self.refs, self.anchors = label.refs, label.anchors
            if label.texture is not None:
                self.texture = label.texture
                self.texture_size = list(label.texture.size)
            self.is_shortened = label.is_shortened


class Text(ZhLabel):
    """A line or paragraph of text; ``role`` picks its size and colour from the theme."""

    role = OptionProperty("body", options=["body", "title", "error", "digits", "large"])


class BigButton(ButtonBehavior, ZhLabel):
    """A touch target of at least 96×60 dp with its own painted background."""

    bg_color = ColorProperty(theme.rgba(theme.CHOICE_BG))
    bg_down = ColorProperty(theme.rgba(theme.CHOICE_DOWN))
    fg_color = ColorProperty(theme.rgba(theme.CHOICE_TEXT))
    edge_color = ColorProperty((0, 0, 0, 0))
    scales = BooleanProperty(True)       # follows 字大/字小
    spoken = StringProperty("")          # what is said when pressed; the label when empty
    base_sp = NumericProperty(theme.LARGE_SP)
    min_height_dp = NumericProperty(theme.CHOICE_H_DP)

    def on_press(self):
        app = App.get_running_app()
        if app is not None and hasattr(app, "button_pressed"):
            app.button_pressed(self)


class ChoiceButton(BigButton):
    """A screen's own choice (counted by the audit)."""


class HelpButton(ChoiceButton):
    bg_color = ColorProperty(theme.rgba(theme.HELP_BG))
    bg_down = ColorProperty(theme.rgba(theme.HELP_DOWN))


class KeyButton(BigButton):
    bg_color = ColorProperty(theme.rgba(theme.KEY_BG))
    bg_down = ColorProperty(theme.rgba(theme.KEY_DOWN))
    fg_color = ColorProperty(theme.rgba(theme.KEY_TEXT))
    edge_color = ColorProperty(theme.rgba("#5A5345"))
    base_sp = NumericProperty(theme.KEY_SP)
    min_height_dp = NumericProperty(theme.TARGET_H_DP)
    scales = BooleanProperty(False)      # already larger than the largest text step


class BarButton(BigButton):
    """The bar's buttons follow 字大/字小 like everything else; a label too wide for its
    button at the larger steps wraps onto a second line and the bar grows to hold it."""

    bg_color = ColorProperty(theme.rgba(theme.BAR_BUTTON_BG))
    bg_down = ColorProperty(theme.rgba(theme.BAR_BUTTON_DOWN))
    base_sp = NumericProperty(theme.BODY_SP)
    min_height_dp = NumericProperty(theme.BAR_H_DP)


class Keypad(GridLayout):
    """Digits, 删除 and 确定 on a 3×4 grid: one choice however many keys it has.

    Dispatches ``on_key(key)``; with ``secret`` set, a digit key is spoken as the count of
    digits entered so far (``entered`` is kept by the owner), never as the digit itself.
    """

    secret = BooleanProperty(False)
    entered = NumericProperty(0)
    key_dp = NumericProperty(theme.TARGET_H_DP)   # each key's height (taller in portrait)

    def __init__(self, **kwargs):
        self.register_event_type("on_key")
        super().__init__(**kwargs)
        for key in KEYS:
            b = KeyButton(text=key)
            b.spoken = SPOKEN_KEYS.get(key, key)
            b.bind(on_release=lambda btn: self.dispatch("on_key", btn.text))
            self.add_widget(b)
        self.bind(secret=self._respeak, entered=self._respeak, key_dp=self._resize,
                  children=self._resize)

    def _resize(self, *_):
        for b in self.children:
            b.min_height_dp = self.key_dp

    def _respeak(self, *_):
        for b in self.children:
            if b.text.isdigit():
                b.spoken = f"已输入{self.entered + 1}位" if self.secret else b.text

    def on_key(self, key):
        pass


class Bar(BoxLayout):
    """再听一遍 · 音量− · 音量+ · 字小 · 字大 · 返回上页 · 回首页 — on every screen, never
    counted; as tall as its tallest button (two lines at the larger text steps)."""

    bg_color = ColorProperty(theme.rgba(theme.BAR_BG))

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bind(children=self._watch)
        self._watch()

    def _watch(self, *_):
        for c in self.children:
            c.unbind(texture_size=self.fit)
            c.bind(texture_size=self.fit)
        self.fit()

    def fit(self, *_):
        """Every button as tall as the tallest label needs, and the bar around them."""
        from kivy.metrics import dp

        tallest = max([c.texture_size[1] + dp(16) for c in self.children]
                      + [dp(theme.BAR_H_DP)])
        for c in self.children:
            c.min_height_dp = tallest / dp(1)
        self.height = tallest + dp(theme.PAD_DP)
