"""The kiosk's few widgets: text, a big button, a keypad, and the always-present bar.

Every widget that paints a background exposes ``bg_color`` (and ``bg_down`` for a pressed
button), so :mod:`kiosk.audit` can check each text against what it is drawn on. Sizes and
colours come from :mod:`kiosk.theme`; the rules live in ``widgets.kv`` beside this file.

A pressed button says its label (or its ``spoken`` text, e.g. a PIN key says how many
digits are in, never the digit) through the app, then acts on release.
"""

from __future__ import annotations

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

from . import theme

KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "删除", "0", "确定")
SPOKEN_KEYS = {"删除": "删除一位", "确定": "确定"}


class Text(Label):
    """A line or paragraph of text; ``role`` picks its size and colour from the theme."""

    role = OptionProperty("body", options=["body", "title", "error", "digits", "large"])


class BigButton(ButtonBehavior, Label):
    """A touch target of at least 96×60 dp with its own painted background."""

    bg_color = ColorProperty(theme.rgba(theme.CHOICE_BG))
    bg_down = ColorProperty(theme.rgba(theme.CHOICE_DOWN))
    fg_color = ColorProperty(theme.rgba(theme.CHOICE_TEXT))
    edge_color = ColorProperty((0, 0, 0, 0))
    scales = BooleanProperty(True)       # follows 字大/字小 (the bar does not: it stays put)
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
    bg_color = ColorProperty(theme.rgba(theme.BAR_BUTTON_BG))
    bg_down = ColorProperty(theme.rgba(theme.BAR_BUTTON_DOWN))
    base_sp = NumericProperty(theme.BODY_SP)
    min_height_dp = NumericProperty(theme.BAR_H_DP)
    scales = BooleanProperty(False)


class Keypad(GridLayout):
    """Digits, 删除 and 确定 on a 3×4 grid: one choice however many keys it has.

    Dispatches ``on_key(key)``; with ``secret`` set, a digit key is spoken as the count of
    digits entered so far (``entered`` is kept by the owner), never as the digit itself.
    """

    secret = BooleanProperty(False)
    entered = NumericProperty(0)

    def __init__(self, **kwargs):
        self.register_event_type("on_key")
        super().__init__(**kwargs)
        for key in KEYS:
            b = KeyButton(text=key)
            b.spoken = SPOKEN_KEYS.get(key, key)
            b.bind(on_release=lambda btn: self.dispatch("on_key", btn.text))
            self.add_widget(b)
        self.bind(secret=self._respeak, entered=self._respeak)

    def _respeak(self, *_):
        for b in self.children:
            if b.text.isdigit():
                b.spoken = f"已输入{self.entered + 1}位" if self.secret else b.text

    def on_key(self, key):
        pass


class Bar(BoxLayout):
    """再听一遍 · 音量− · 音量+ · 字小 · 字大 · 返回上页 · 回首页 (+ the app's 工作人员) — on
    every screen, never counted."""

    bg_color = ColorProperty(theme.rgba(theme.BAR_BG))
