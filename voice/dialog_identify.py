"""Identifying the caller: the steps of ``Dialog`` for ASK_NUMBER, CONFIRM_PIN and ASK_PIN.

A mixin of ``voice.dialog.Dialog`` (split out to keep each file one concept); it uses the
dialog's playing and state helpers (``_say``, ``_stop``, ``_enter``, ``_fail``, ``_goodbye``).

Nothing personal before the PIN: not a name, not whether a number is a member's. A typed
number always leads to the PIN question; a number that names nobody and a wrong PIN get
the same answer ("编号或者密码不对"), take as long and count the same (``core.phone_guard``:
budgets per number typed, per caller number and for the line, over 24 hours; and
``ID_TRIES`` here, per call). A wrong PIN on the phone never counts toward the kiosk's
lockout. The member's name is said only once the PIN was right ("刘桂兰同志，您好").

A caller's number (SIP ``From``, which anyone can claim) skips the member number only for
a member with ``phone_recognition`` consent who alone has that phone; the caller is then
asked for the PIN ("不是本人请按星号"), nothing more. A keypad has no letters, so "001" or
"1" stands for QS001 (``calls.member_for_keypad``, inside ``phone_guard``).

The PIN is 4 digits: the 4th submits it; a ``#`` right after it (callers learn to end
input with # from the member number) ends the input and is not a key of its own.
"""

from __future__ import annotations

from core import members, phone_guard

from .dialog_types import State

PIN_DIGITS = 4            # the prompt says "four digits": the 4th digit submits
MAX_NUMBER_DIGITS = 12
ID_TRIES = 3              # wrong number-or-PIN tries in one call, then goodbye
HASH_AFTER_PIN_S = 3.0    # a # this soon after the 4th PIN digit only ends the input


class IdentifySteps:
    """Steps of ``Dialog`` that find out who is calling."""

    def _identify(self) -> None:
        found = members.by_phone(self.store, self.caller) if self.caller else []
        if len(found) == 1:
            self._candidate = {"member_no": found[0]["member_no"]}
            self._enter(State.CONFIRM_PIN)
        else:  # nobody, or a phone shared by several members: ask which one
            self._candidate = None
            self._enter(State.ASK_NUMBER)

    def _ask_identify(self, state: State) -> None:
        first = not self._greeted
        self._greeted = True
        if state is State.ASK_NUMBER:
            self._say("phone.hello" if first else "phone.ask_number")
        elif state is State.CONFIRM_PIN:
            self._say("phone.hello_pin" if first else "phone.pin_or_not_me")
        else:
            self._say("phone.pin")

    def _key_ask_number(self, key: str) -> None:
        self._stop()
        if key == "#":
            self._submit_number()
        elif key == "*":
            self._digits = ""
            self._ask()
        else:
            self._digits += key
            if len(self._digits) >= MAX_NUMBER_DIGITS:
                self._submit_number()

    def _submit_number(self) -> None:
        digits, self._digits = self._digits, ""
        if not digits:
            self._fail(None)
            return
        # Known or not, the PIN is asked: the answer comes after it, the same either way.
        self._candidate = {"digits": digits}
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
        self._hash_ends_pin_until = self._t + HASH_AFTER_PIN_S
        result, member_no = phone_guard.try_pin(
            self.store, call_id=self.call_id, caller=self.caller, pin=pin,
            digits=self._candidate.get("digits"), member_no=self._candidate.get("member_no"))
        self._candidate = None
        if result == "ok":
            self.member_no = member_no
            self._mark("pin_ok")
            self._welcome_member()
            return
        self._wrong_ids += 1
        if result == "spent":
            self._mark("tries_spent")
            self._say("id.spent")
            self._goodbye("locked")
        elif self._wrong_ids >= ID_TRIES:
            self._mark("id_wrong")
            self._say("id.too_many")
            self._goodbye("locked")
        else:
            self._mark("id_wrong")
            self._say("id.wrong")
            self._enter(State.ASK_NUMBER)

    def _hash_ends_pin(self, key: str) -> bool:
        """True for the # that ends a PIN just submitted (the dialog then ignores it)."""
        until, self._hash_ends_pin_until = self._hash_ends_pin_until, None
        return key == "#" and until is not None and self._t <= until
