"""PINs: 4–6 digits, hashed with argon2id, five wrong tries lock the account for 15 minutes.

Used for both members (``member`` table) and staff (``staff`` table). Every try is audited;
the failure counter is committed before the error is raised, so killing the process right
after a wrong PIN does not give the guesser a fresh count.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import audit
from .clock import iso
from .errors import AuthError, InvalidInput, Locked, NotFound

MAX_TRIES = 5
LOCK_MINUTES = 15
_PIN = re.compile(r"^\d{4,6}$")
_hasher = PasswordHasher()  # argon2id, 64 MiB, t=3: slow enough to make guessing a stolen hash costly

_TABLES = {"member": "member_no", "staff": "staff_no"}


def check_format(pin: str) -> str:
    if not isinstance(pin, str) or not _PIN.match(pin):
        raise InvalidInput("a PIN is 4 to 6 digits", "密码是4到6位数字。")
    return pin


def hash_pin(pin: str) -> str:
    return _hasher.hash(check_format(pin))


def verify(store, kind: str, number: str, pin: str, *, actor: str | None = None) -> None:
    """Check a member's or staff PIN; raise :class:`AuthError` or :class:`Locked`."""
    table, key = kind, _TABLES[kind]
    actor = actor or f"{kind}:{number}"
    who = "党员" if kind == "member" else "工作人员"
    row = store.one(f"SELECT pin_hash, failed_pins, locked_until FROM {table} WHERE {key} = ?",
                    [number])
    if row is None:
        raise NotFound(f"no {kind} {number}", f"没有找到这个{who}编号。")
    now = store.now()
    if row["locked_until"] and datetime.fromisoformat(row["locked_until"]) > now:
        with store.transaction():
            audit.append(store, actor=actor, action="pin.refused_locked", subject=f"{kind}:{number}",
                         detail={"until": row["locked_until"]})
        raise Locked(f"{kind} {number} is locked until {row['locked_until']}", row["locked_until"])
    ok = False
    if row["pin_hash"]:
        try:
            ok = _hasher.verify(row["pin_hash"], pin if isinstance(pin, str) else "")
        except (VerificationError, InvalidHashError):
            ok = False
    with store.transaction():
        if ok:
            store.db.execute(f"UPDATE {table} SET failed_pins = 0, locked_until = NULL "
                             f"WHERE {key} = ?", [number])
            audit.append(store, actor=actor, action="pin.ok", subject=f"{kind}:{number}", detail={})
            return
        failed = row["failed_pins"] + 1
        until = None
        if failed >= MAX_TRIES:
            until = iso(now + timedelta(minutes=LOCK_MINUTES))
            failed = 0
        store.db.execute(f"UPDATE {table} SET failed_pins = ?, locked_until = ? WHERE {key} = ?",
                         [failed, until, number])
        audit.append(store, actor=actor, action="pin.locked" if until else "pin.wrong",
                     subject=f"{kind}:{number}", detail={"until": until} if until else {})
    if until:
        raise Locked(f"{kind} {number}: {MAX_TRIES} wrong PINs, locked until {until}", until)
    left = MAX_TRIES - failed
    raise AuthError(f"{kind} {number}: wrong PIN ({left} tries left)",
                    f"密码不对，还可以再试{left}次。", tries_left=left)


def set_pin(store, kind: str, number: str, pin: str, *, actor: str) -> None:
    table, key = kind, _TABLES[kind]
    hashed = hash_pin(pin)
    with store.transaction():
        cur = store.db.execute(
            f"UPDATE {table} SET pin_hash = ?, failed_pins = 0, locked_until = NULL, "
            f"updated_at = ? WHERE {key} = ?", [hashed, iso(store.now()), number])
        if cur.rowcount != 1:
            raise NotFound(f"no {kind} {number}")
        # The argon2 hash travels (so the PIN works on the branch's other terminals); the PIN never does.
        store.record(f"{kind}.pin_set", {key: number, "pin_hash": hashed}, actor=actor,
                     subject=f"{kind}:{number}")
