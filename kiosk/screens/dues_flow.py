"""What the dues, confirmation, receipt and staff screens share.

* :class:`DuesJob` — a payment being put together: whose, how many months, and (once a
  staff member entered a PIN) the staff confirmation, an override reason, a confirmed date.
* :func:`settle` — try ``core.dues.pay`` and go where the outcome leads: the receipt; the
  override-reason screen when the branch's back-pay/pay-ahead limit is exceeded; the
  date screen when the terminal clock looks wrong; or the Chinese error, shown and spoken.
* :class:`PanelScreen` — the common layout (title, message, text on the left; a big figure
  and up to six choices on the right; in portrait stacked, the choices tall and low) and
  :class:`Figure`, big digits that do not grow with 字大 (64 sp is already above the
  largest text step, and growing them would push the choices off a 1280×800 screen).

The layout rules are loaded here, once, when this module is first imported; the screens
that subclass ``PanelScreen`` have small ``.kv`` files of their own for anything extra.
"""

from __future__ import annotations

from dataclasses import dataclass

from kivy.lang import Builder
from kivy.properties import NumericProperty, StringProperty

from core import dues
from core.errors import ClockSuspect, LianxinError, LimitExceeded

from .. import theme
from ..widgets import ChoiceButton, HelpButton, ZhLabel
from .base import KioskScreen


@dataclass
class DuesJob:
    member_no: str
    name: str
    months: int
    confirmation: object = None          # core.branch.StaffConfirmation once a PIN was entered
    override_reason: str | None = None
    date_confirmed: bool = False
    by_staff: bool = False               # staff mode: recorded on the member's behalf


def settle(app, job: DuesJob) -> None:
    """Record the payment of ``job`` and show what comes next (see the module docstring)."""
    screen = app.current
    try:
        r = dues.pay(app.store, job.member_no, months=job.months, confirmation=job.confirmation,
                     override_reason=job.override_reason, date_confirmed=job.date_confirmed)
    except ClockSuspect:
        app.show("clockdate", job=job)
        return
    except LimitExceeded as err:
        if job.override_reason:
            screen.tell(err.zh)
        else:
            app.show("override", job=job)
        return
    except LianxinError as err:
        screen.tell(err.zh)
        return
    app.show("receipt", entry_id=r.entry_id, by_staff=job.by_staff, print_now=True)


class Figure(ZhLabel):
    """Big digits (amounts, months, counts): 64 sp, not scaled by 字大/字小."""


class PanelScreen(KioskScreen):
    body = StringProperty("")            # the text on the left, one line per fact
    figure = StringProperty("")          # big digits above the choices ('' hides it)
    choice_cols = NumericProperty(1)
    left_share = NumericProperty(1.0)    # landscape: the left column's width against the right's 1

    def set_choices(self, buttons: list[tuple]) -> None:
        """``(text, spoken, action)`` or ``(text, spoken, action, 'help')`` per button."""
        grid = self.ids.choices
        grid.clear_widgets()
        for text, spoken, action, *kind in buttons:
            cls = HelpButton if kind == ["help"] else ChoiceButton
            b = cls(text=text, spoken=spoken)
            b.bind(on_release=lambda _b, act=action: act())
            grid.add_widget(b)
        self._size_choices()

    def on_size(self, *_):
        self._size_choices()

    def _size_choices(self) -> None:
        """Taller choices on a tall screen (portrait has the room; the targets grow)."""
        tall = self.height > self.width
        for b in self.ids.choices.children if "choices" in self.ids else ():
            b.min_height_dp = theme.PORTRAIT_CHOICE_H_DP if tall else theme.CHOICE_H_DP

    def choice_labels(self) -> list[str]:
        return [b.text for b in reversed(self.ids.choices.children)]


Builder.load_string("""
#:import theme kiosk.theme

<Figure>:
    font_size: sp(theme.DIGITS_SP)
    color: theme.rgba(theme.TEXT)
    bold: True
    halign: 'center'
    valign: 'middle'
    text_size: self.width, None
    size_hint_y: None
    height: max(self.texture_size[1], self.font_size * 1.3) if self.text else 0

<PanelScreen>:
    # Landscape: text on the left, the figure and the choices on the right, both columns
    # wide enough that a line holds a whole phrase. Portrait (a tall screen): one column,
    # the text in the larger step, then room, then tall choices in the lower half, where
    # a standing member's hand is.
    BoxLayout:
        orientation: 'horizontal' if root.width > root.height else 'vertical'
        padding: dp(32), dp(24)
        spacing: dp(32)
        BoxLayout:
            orientation: 'vertical'
            spacing: dp(16)
            size_hint_x: root.left_share if root.width > root.height else 1
            size_hint_y: 1 if root.width > root.height else None
            height: self.minimum_height
            Text:
                role: 'title'
                text: root.title
                halign: 'left'
            Text:
                role: 'error'
                text: root.message
                halign: 'left'
            Text:
                id: body
                text: root.body
                role: 'body' if root.width > root.height else 'large'
                halign: 'left'
                line_height: 1.15
            Widget:
                size_hint_y: 1 if root.width > root.height else None
                height: 0
        BoxLayout:
            orientation: 'vertical'
            spacing: dp(16)
            Widget:
                size_hint_y: 0.001 if root.width > root.height else 1
            Figure:
                text: root.figure
            GridLayout:
                id: choices
                cols: root.choice_cols
                spacing: dp(16) if root.width > root.height else dp(24)
                size_hint_y: None
                height: self.minimum_height
            Widget:
                size_hint_y: 1 if root.width > root.height else 0.35
""")
