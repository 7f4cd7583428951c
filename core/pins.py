"""PINs: a member's 4 digits, staff 4–6; argon2id; five wrong tries lock for 15 minutes.

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
from .events import NotHereYet, Unusable

MAX_TRIES = 5
LOCK_MINUTES = 15
_PIN = re.compile(r"[0-9]{4,6}")  # ASCII only: \d takes "１２３４", $ takes "1234\n"
# argon2id with OWASP's recommended floor (46 MiB, t=1, p=1). A 4-digit PIN has only 10,000
# values, so what protects it is the lockout and the encrypted store, not a costlier hash;
# a heavier setting (argon2-cffi's default is ~3x slower here) only delayed the phone
# line's answer to the fourth PIN digit past its 200 ms target. Old hashes still verify:
# their parameters are stored in the hash.
_hasher = PasswordHasher(time_cost=1, memory_cost=47104, parallelism=1)

_TABLES = {"member": "member_no", "staff": "staff_no"}


MEMBER_PIN = re.compile(r"[0-9]{4}")
# A member's PIN is exactly 4 digits: the kiosk and the phone line take it at its 4th digit
# (no 确定, no #), so a longer one could never be entered. Staff PINs may be 4 to 6.


def check_format(pin: str, kind: str = "staff") -> str:
    if kind == "member":
        if not isinstance(pin, str) or not MEMBER_PIN.fullmatch(pin):
            raise InvalidInput("a member's PIN is 4 digits", "党员密码是4位数字。")
        return pin
    if not isinstance(pin, str) or not _PIN.fullmatch(pin):
        raise InvalidInput("a PIN is 4 to 6 digits", "密码是4到6位数字。")
    return pin


def hash_pin(pin: str, kind: str = "staff") -> str:
    return _hasher.hash(check_format(pin, kind))


def verify(store, kind: str, number: str, pin: str, *, actor: str | None = None,
           lockout: bool = True) -> None:
    """Check a member's or staff PIN; raise :class:`AuthError` or :class:`Locked`.

    Must not run inside a caller's transaction: the failure count is committed before the
    error is raised, and an outer rollback would hand the guesser a fresh count.

    ``lockout=False`` (the phone line, which anyone can call): a wrong PIN is audited but
    does not count toward the lockout, so an anonymous caller cannot lock a member out of
    the kiosk; the caller keeps its own budget (``core.phone_guard``). A lock set at the
    kiosk still refuses it.
    """
    table, key = kind, _TABLES[kind]
    if store.db.conn.in_transaction:
        raise RuntimeError("pins.verify must not run inside a transaction")
    actor = actor or f"{kind}:{number}"
    subject = f"{kind}:{number}"
    who = "党员" if kind == "member" else "工作人员"
    select = f"SELECT pin_hash, failed_pins, locked_until FROM {table} WHERE {key} = ?"
    row = store.one(select, [number])
    if row is None:
        raise NotFound(f"no {kind} {number}", f"没有找到这个{who}编号。")
    now = store.now()
    ok = False
    if not _locked(row, now):
        # argon2 takes ~0.1 s: outside the write lock. The outcome is applied to the row as
        # it stands once the lock is held, so two tries at once (kiosk and phone line)
        # each count.
        ok = _matches(row["pin_hash"], pin)
    until = None
    with store.transaction():
        row = store.one(select, [number])
        if _locked(row, now):
            audit.append(store, actor=actor, action="pin.refused_locked", subject=subject,
                         detail={"until": row["locked_until"]})
            until = row["locked_until"]
        elif ok:
            store.db.execute(f"UPDATE {table} SET failed_pins = 0, locked_until = NULL "
                             f"WHERE {key} = ?", [number])
            audit.append(store, actor=actor, action="pin.ok", subject=subject, detail={})
            return
        elif not lockout:
            audit.append(store, actor=actor, action="pin.wrong", subject=subject,
                         detail={"counted": False})
            failed = row["failed_pins"]
        else:
            failed = row["failed_pins"] + 1
            if failed >= MAX_TRIES:
                until, failed = iso(now + timedelta(minutes=LOCK_MINUTES)), 0
            store.db.execute(f"UPDATE {table} SET failed_pins = ?, locked_until = ? WHERE {key} = ?",
                             [failed, until, number])
            audit.append(store, actor=actor, action="pin.locked" if until else "pin.wrong",
                         subject=subject, detail={"until": until} if until else {})
    if until:
        raise Locked(f"{kind} {number} is locked until {until}", until)
    left = MAX_TRIES - failed
    raise AuthError(f"{kind} {number}: wrong PIN ({left} tries left)",
                    f"密码不对，还可以再试{left}次。", tries_left=left)


def burn(pin: str) -> None:
    """Spend the time of one PIN check on nothing (argon2 against a throwaway hash made
    with ``_hasher``'s parameters), so a number that names nobody takes as long to refuse
    as a wrong PIN."""
    _matches(_BURN_HASH, pin)  # the answer is thrown away: only the time is spent


# The hash of a random secret nobody kept (same parameters as ``_hasher``; a test checks).
_BURN_HASH = ("$argon2id$v=19$m=47104,t=1,p=1$zBZw8JG0PuFBJMNtturV2w$"
              "3S6ktOLCILDS+l/fT9pOuA1W/Mip0d9Xv+3+0Je/ycE")


def apply_pin_set(store, p: dict, at: str) -> None:
    """``member.pin_set`` / ``staff.pin_set``, set here or by the hub: the one writer of a
    PIN hash. A new PIN clears the failed tries and the lock."""
    table, key = ("member", "member_no") if "member_no" in p else ("staff", "staff_no")
    if not p.get("pin_hash"):
        raise Unusable(f"{table}.pin_set without a PIN hash")
    cur = store.db.execute(f"UPDATE {table} SET pin_hash = ?, failed_pins = 0, "
                           f"locked_until = NULL, updated_at = ? WHERE {key} = ?",
                           [p["pin_hash"], at, p[key]])
    if cur.rowcount != 1:
        if table == "member":
            raise NotHereYet(f"member {p[key]} not here yet")
        raise Unusable(f"no staff {p[key]}")


def _locked(row: dict, now: datetime) -> bool:
    return bool(row["locked_until"]) and datetime.fromisoformat(row["locked_until"]) > now


def _matches(pin_hash: str | None, pin: str) -> bool:
    if not pin_hash or not isinstance(pin, str):
        return False
    try:
        return _hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def set_pin(store, kind: str, number: str, pin: str, *, actor: str) -> None:
    key = _TABLES[kind]
    hashed = hash_pin(pin, kind)
    with store.transaction():
        if not store.one(f"SELECT 1 FROM {kind} WHERE {key} = ?", [number]):
            raise NotFound(f"no {kind} {number}")
        apply_pin_set(store, {key: number, "pin_hash": hashed}, iso(store.now()))
        # The argon2 hash travels, the PIN never does. Once enrolled it is a proposal at the
        # hub (core.events): it holds here at once, elsewhere when the operator accepts.
        store.record(f"{kind}.pin_set", {key: number, "pin_hash": hashed}, actor=actor,
                     subject=f"{kind}:{number}")
