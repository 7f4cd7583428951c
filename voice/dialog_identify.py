"""Identifying the caller: the steps of ``Dialog`` for CONFIRM_PIN, ASK_NUMBER and ASK_PIN.

A mixin of ``voice.dialog.Dialog`` (split out to keep each file one concept); it uses the
dialog's playing and state helpers (``_say``, ``_stop``, ``_enter``, ``_fail``, ``_goodbye``).

A caller's number names a member only with that member's ``phone_recognition`` consent and
only when exactly one member has it (a household phone shared by two asks the number). A
keypad has no letters, so "001" or "1" stands for QS001 (``calls.member_for_keypad``). The
member counts as identified only once the PIN was right; wrong PINs are counted and locked
by ``core.pins`` (5 tries), shared with the kiosk, so the phone cannot be used to guess.
"""

from __future__ import annotations

from core import calls, members, pins
from core.errors import AuthError, Locked, NotFound

from .dialog_types import State

PIN_DIGITS = 4            # the prompt says "four digits": the 4th digit submits
MAX_NUMBER_DIGITS = 12


class IdentifySteps:
    """Steps of ``Dialog`` that find out who is calling."""

    def _identify(self, *, announce: bool = True) -> None:
        found = members.by_phone(self.store, self.caller) if self.caller else []
        if len(found) == 1:
            self._candidate = found[0]
            self._enter(State.CONFIRM_PIN, announce=announce)
        else:  # nobody, or a phone shared by several members: ask which one
            self._enter(State.ASK_NUMBER, announce=announce)

    def _key_greeting(self, key: str) -> None:
        self._stop()
        if key.isdigit():  # typing the number over the welcome: take it as typed
            self._identify(announce=False)
            self._on_key(key)
        else:
            self._identify()

    def _key_ask_number(self, key: str) -> None:
        self._stop()
        if key == "#":
            self._submit_number()
        elif key == "*":
            self._digits = ""
            self._ask()
        elif len(self._digits) >= MAX_NUMBER_DIGITS:
            self._digits = ""
            self._fail("member.unknown")
        else:
            self._digits += key

    def _submit_number(self) -> None:
        digits, self._digits = self._digits, ""
        member_no = calls.member_for_keypad(self.store, digits) if digits else None
        if member_no is None:
            self._fail("member.unknown" if digits else None)
            return
        self._candidate = {"member_no": member_no, "name": ""}
        self._enter(State.ASK_PIN)

    def _key_confirm_pin(self, key: str) -> None:
        if key == "*":
            self._stop()
            self._candidate = None
            self._enter(State.ASK_NUMBER)
        else:
            self._pin_key(key)

    def _key_ask_pin(self, key: str) -> None:
        if key == "*":
            self._stop()
            self._digits = ""
            self._ask()
        else:
            self._pin_key(key)

    def _pin_key(self, key: str) -> None:
        self._stop()
        if key == "#":
            self._digits = ""
            self._fail("pin.short")
            return
        self._digits += key
        if len(self._digits) < PIN_DIGITS:
            return
        pin, self._digits = self._digits, ""
        number = self._candidate["member_no"]
        try:
            pins.verify(self.store, "member", number, pin, actor=f"phone:{self.call_id}")
        except Locked:
            self._mark("locked")
            self._say("pin.locked")
            self._goodbye("locked")
        except AuthError as e:
            self._mark("pin_wrong")
            self._say("pin.wrong_left", left=e.tries_left)
            self._say("ask.pin")
        except NotFound:
            self._candidate = None
            self._say("member.unknown")
            self._enter(State.ASK_NUMBER)
        else:
            self.member_no = number
            self._mark("pin_ok")
            self._enter(State.MENU)
