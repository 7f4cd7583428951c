"""The PIN: a 4-digit code (staff: 4–6) on a big keypad, checked by ``core.pins.verify``.

Digits are never shown or spoken: the screen shows ●●○○ and a key says how many digits
are in. A member's PIN is taken as soon as its 4th digit is in (as on the phone line):
no 确定 to find. A wrong PIN or a lockout shows and says the core's Chinese message (``err.zh``).
"""

from __future__ import annotations

from core import pins
from core.errors import LianxinError

from .base import KioskScreen

PIN_MIN, PIN_MAX = 4, 6


class PinEntry:
    """The PIN keypad's behaviour, shared by the member's and the staff's PIN screens: digits
    shown as ●○, 删除 and 确定; the screen defines ``submit``."""

    pin = ""
    auto_digits = 0          # submit as soon as this many digits are in (0: wait for 确定)

    def _show_dots(self) -> None:
        shown = max(PIN_MIN, len(self.pin))
        self.ids.dots.text = "●" * len(self.pin) + "○" * (shown - len(self.pin))
        self.ids.keypad.entered = len(self.pin)

    def on_key(self, key: str) -> None:
        if key == "删除":
            self.pin = self.pin[:-1]
        elif key == "确定":
            self.submit()
            return
        elif len(self.pin) < PIN_MAX:
            self.pin += key
            if self.auto_digits and len(self.pin) == self.auto_digits:
                self.submit()
                return
        self._show_dots()


class PinScreen(PinEntry, KioskScreen):
    auto_digits = PIN_MIN

    def setup(self, member: dict | None = None, **kwargs) -> None:
        super().setup(**kwargs)
        self.member = member or {}
        self.pin = ""
        self.title = f"{self.member['name']}，请输入密码" if self.member else ""
        self._show_dots()

    def prompt_text(self) -> str:
        if not self.member:
            return ""
        return f"{self.member['name']}，请输入{PIN_MIN}位密码。"

    @classmethod
    def sample(cls, app) -> dict:
        return {"member": cls.sample_member(app)}

    def submit(self) -> None:
        pin, self.pin = self.pin, ""
        self._show_dots()
        if len(pin) < PIN_MIN:
            self.tell(f"密码是{PIN_MIN}位数字，请输完。")
            return
        try:
            pins.verify(self.app.store, "member", self.member["member_no"], pin)
        except LianxinError as err:   # AuthError (wrong PIN), Locked, NotFound
            self.tell(err.zh)
            return
        self.app.logged_in(self.member)
