"""The main menu: the steps of ``Dialog`` once the caller is identified, and the staff offer.

A mixin of ``voice.dialog.Dialog``. Right after the PIN the caller hears their name and
then their dues, unasked (most calls are about the dues), then the menu: four choices
including repeat, under 8 s at the default speaking rate —

    听课按2，通知按3，留言按0，重听按9。

1 (or "党费") still reads the dues again; the keys are those the line always had.
"""

from __future__ import annotations

from core import dues, members, notices
from core.clock import month_zh
from core.errors import LianxinError
from core.money import fen_zh

from .dialog_types import State


def dues_sentence(status) -> str:
    """The phone's dues sentence: what is owed, the amount last (what the caller waits for)."""
    if status.exempt and not status.months_owed:
        return status.say_zh()
    if status.months_owed:
        return f"党费还差{len(status.months_owed)}个月，共{fen_zh(status.amount_owed_fen)}。"
    if status.paid_through:
        return f"党费交到{month_zh(status.paid_through)}，已经交齐了。"
    return "党费已经交齐了。"


class MenuSteps:
    """Steps of ``Dialog`` in MENU and OFFER_STAFF."""

    def _welcome_member(self) -> None:
        """The name, once the PIN was right; then the dues and the menu."""
        self._say("phone.hello_name", name=members.get(self.store, self.member_no)["name"])
        self._dues()

    def _key_menu(self, key: str) -> None:
        self._stop()
        if key == "1":
            self._dues()
        elif key == "2":
            self._choose_lesson()
        elif key == "3":
            self._notices()
        elif key == "0":
            self._message()
        elif key == "9":
            self._mark("repeat")
            self._enter(State.MENU)
        else:
            self._fail("key.invalid")

    def _dues(self) -> None:
        self._mark("dues")
        try:
            status = dues.status(self.store, self.member_no)
        except LianxinError as e:
            self._text(e.zh, "dues")
        else:
            self._text(dues_sentence(status), "dues")
            if status.months_owed:
                self._say("phone.pay_at_kiosk")
        self._enter(State.MENU)

    def _notices(self) -> None:
        self._mark("notices")
        found = notices.recent(self.store, limit=3)
        if not found:
            self._say("notices.none")
        else:
            self._say("notices.intro", count=len(found))
            for n in found:
                self._text(f"{n['posted'][:10]}，{n['title']}。{n['body']}", "notice")
        self._enter(State.MENU)

    def _key_offer_staff(self, key: str) -> None:
        self._stop()
        if key == "0":
            self._message()
        elif key == "1":
            back = self._offer_from
            if back in (State.LESSON, State.LESSON_PAUSED) or back is None:
                back = State.MENU if self.member_no else State.ASK_NUMBER
            self._enter(back)
        elif key == "9":
            self._ask()
        else:
            self._fail("key.invalid")
