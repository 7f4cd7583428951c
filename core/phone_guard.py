"""PIN tries on the phone line, and the budgets that bound them (docs/security.md).

Anyone can call the line and claim any caller number, so a wrong PIN on the phone does not
count toward the kiosk's lockout (``pins.verify(lockout=False)``): an anonymous caller
cannot lock a member out of the terminal. Guessing is bounded here instead, over 24 hours
(rolling), by three budgets of wrong tries, each checked before the PIN is:

* per member number typed (``number_key``: the digits' value, so "5", "005" and a caller
  recognised as QS005 are one number) — the same for a number that names nobody, so the
  answer never tells a member's number from an unknown one;
* per caller number (all callers without a number share one);
* for the whole line.

A try is written (as wrong) before the PIN is checked and marked right afterwards, so
killing the process mid-check hands the guesser nothing. When a budget is spent the PIN is
not checked at all, right or wrong. The dialog adds a budget per call (``ID_TRIES``).
"""

from __future__ import annotations

import re
from datetime import timedelta

from . import audit, calls, pins
from .clock import iso
from .errors import AuthError, Locked, NotFound

__all__ = ["PER_CALLER", "PER_LINE", "PER_NUMBER", "WINDOW", "number_key", "spent", "try_pin"]

PER_NUMBER = 5       # wrong tries for one member number, 24 h
PER_CALLER = 6       # wrong tries from one caller number (two calls' worth), 24 h
PER_LINE = 30        # wrong tries on the whole line, 24 h
WINDOW = timedelta(hours=24)
KEEP = timedelta(days=7)   # tries older than this are deleted


def number_key(typed: str) -> str:
    """The member number as a keypad says it: the value of its digits ("QS005", "005",
    "5" -> "5"); a number without digits stays as it is."""
    digits = re.sub(r"\D", "", str(typed or ""))[:18]
    return str(int(digits)) if digits else str(typed or "")


def spent(store, *, caller: str, key: str) -> str | None:
    """Which budget is spent for this number and caller ("number", "caller", "line"), or
    None when a try is still allowed."""
    since = iso(store.now() - WINDOW)

    def wrong(where: str = "", params=()) -> int:
        return store.one("SELECT COUNT(*) AS n FROM phone_pin_try WHERE ok = 0 AND at > ? "
                         + where, [since, *params])["n"]

    if wrong("AND number_key = ?", [key]) >= PER_NUMBER:
        return "number"
    if wrong("AND caller = ?", [caller]) >= PER_CALLER:
        return "caller"
    if wrong() >= PER_LINE:
        return "line"
    return None


def try_pin(store, *, call_id: str, caller: str, pin: str, digits: str | None = None,
            member_no: str | None = None) -> tuple[str, str | None]:
    """One PIN try on the phone for the member number typed (``digits``) or recognised
    from the caller's number (``member_no``). Returns ("ok", member_no), ("wrong", None) —
    the same for a number that names nobody, a wrong PIN and a member locked at the
    kiosk, and taking as long — or ("spent", None) when a budget is used up (the PIN was
    not checked)."""
    caller = str(caller or "")
    key = number_key(member_no if member_no is not None else digits)
    actor = f"phone:{call_id}"
    budget = spent(store, caller=caller, key=key)
    if budget is not None:
        with store.transaction():
            audit.append(store, actor=actor, action="phone.pin_refused",
                         subject=f"number:{key}", detail={"budget": budget, "caller": caller})
        return "spent", None
    if member_no is None:
        member_no = calls.member_for_keypad(store, digits or "")
    now = store.now()
    with store.transaction():
        # what no budget looks at any more goes (the audit keeps every try)
        store.db.execute("DELETE FROM phone_pin_try WHERE at < ?", [iso(now - KEEP)])
        try_id = store.db.execute(
            "INSERT INTO phone_pin_try(at, call_id, caller, number_key) VALUES (?, ?, ?, ?)",
            [iso(now), call_id, caller, key]).lastrowid
        if member_no is None:
            audit.append(store, actor=actor, action="pin.wrong", subject=f"number:{key}",
                         detail={"unknown_number": True})
    if member_no is None:
        pins.burn(pin)
        return "wrong", None
    try:
        pins.verify(store, "member", member_no, pin, actor=actor, lockout=False)
    except Locked:              # at the kiosk: no check was made; spend its time
        pins.burn(pin)
        return "wrong", None
    except AuthError:
        return "wrong", None
    except NotFound:
        pins.burn(pin)
        return "wrong", None
    with store.transaction():
        store.db.execute("UPDATE phone_pin_try SET ok = 1 WHERE try_id = ?", [try_id])
    return "ok", member_no
