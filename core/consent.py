"""Informed consent: what the terminal keeps about a member, agreed and withdrawable.

Each grant or withdrawal is a row (what, when, how: touch, voice or witnessed by staff) and
a journal event. Withdrawal is honoured at once: withdrawing ``phone_recognition`` deletes
the member's phone numbers from the terminal. The latest answer is computed once, by
:func:`latest`; :func:`has` and :func:`withdrawn` are the two questions asked of it.
"""

from __future__ import annotations

from .clock import iso
from .errors import InvalidInput, NotFound
from .events import NotHereYet
from .ids import new_id

SCOPES = {
    "terminal_records": "在本机保存我的党费和学习记录，并同步到镇里的服务站",
    "phone_recognition": "打电话时，用我的电话号码认出我",
    "voice_messages": "保存我给支部的语音留言",
}
METHODS = ("touch", "voice", "staff")


def _write(store, member_no: str, scope: str, granted: bool, method: str,
           witness: str | None, actor: str) -> dict:
    if scope not in SCOPES:
        raise InvalidInput(f"unknown consent scope {scope!r}; one of {', '.join(SCOPES)}")
    if method not in METHODS:
        raise InvalidInput(f"consent method must be one of {METHODS}")
    if method == "staff":
        if not (witness or "").strip():
            raise InvalidInput("consent witnessed by staff names the staff member",
                               "请填写见证的工作人员编号。")
        if not store.one("SELECT 1 FROM staff WHERE staff_no = ? AND active", [witness]):
            raise InvalidInput(f"witness {witness!r} is not an active staff member of this branch",
                               "见证人必须是本支部的工作人员。")
    elif witness:
        raise InvalidInput("only consent given through staff has a witness")
    if not store.one("SELECT 1 FROM member WHERE member_no = ?", [member_no]):
        raise NotFound(f"no member {member_no}", "没有找到这位党员。")
    row = {"consent_id": new_id(), "member_no": member_no, "scope": scope,
           "granted": granted, "method": method, "witness": witness, "at": iso(store.now())}
    with store.transaction():
        removed = apply_answer(store, row, row["at"])
        store.record("consent.granted" if granted else "consent.withdrawn",
                     {**row, "phones_removed": removed}, actor=actor,
                     subject=f"member:{member_no}")
    return row


def apply_answer(store, p: dict, at: str) -> int:
    """``consent.granted`` / ``consent.withdrawn``, given here or pulled: the one writer of
    ``consent``. When the member's latest answer on phone recognition is a withdrawal, their
    phone numbers go (a later roster edit does not bring them back: core.members asks
    here). Returns how many phone numbers were removed."""
    no = p["member_no"]
    if not store.one("SELECT 1 FROM member WHERE member_no = ?", [no]):
        raise NotHereYet(f"member {no} not here yet")
    store.db.execute(
        "INSERT INTO consent(consent_id, member_no, scope, granted, method, witness, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(consent_id) DO NOTHING",
        [p["consent_id"], no, p["scope"], int(bool(p["granted"])), p["method"],
         p.get("witness"), p["at"]])
    if p["scope"] != "phone_recognition" or not withdrawn(store, no, "phone_recognition"):
        return 0
    return store.db.execute("DELETE FROM member_phone WHERE member_no = ?", [no]).rowcount


def grant(store, member_no: str, scope: str, *, method: str, witness: str | None = None,
          actor: str | None = None) -> dict:
    return _write(store, member_no, scope, True, method, witness,
                  actor or (f"staff:{witness}" if witness else f"member:{member_no}"))


def withdraw(store, member_no: str, scope: str, *, method: str, witness: str | None = None,
             actor: str | None = None) -> dict:
    return _write(store, member_no, scope, False, method, witness,
                  actor or (f"staff:{witness}" if witness else f"member:{member_no}"))


def latest(store, member_no: str, scope: str) -> bool | None:
    """The member's latest answer on ``scope``: True (granted), False (withdrawn) or None
    (never asked). The one place the answer is computed: the newest row by time, a tie
    broken by the order rows were written here.

    Callers ask one of two questions of it, and never asked answers both with "no":

    * :func:`has` — did the member agree? Needed before the terminal *uses* something
      (recognising a caller by phone number, the consent screens' ticks).
    * :func:`withdrawn` — did the member say no? Honoured by what the member does or
      already gave (a voice message they choose to leave, phone numbers the branch keeps).
    """
    row = store.one("SELECT granted FROM consent WHERE member_no = ? AND scope = ? "
                    "ORDER BY at DESC, rowid DESC LIMIT 1", [member_no, scope])
    return None if row is None else bool(row["granted"])


def has(store, member_no: str, scope: str) -> bool:
    """The latest answer is a grant (never asked: False)."""
    return latest(store, member_no, scope) is True


def withdrawn(store, member_no: str, scope: str) -> bool:
    """The latest answer is a withdrawal (never asked: False)."""
    return latest(store, member_no, scope) is False


def current(store, member_no: str) -> dict[str, bool]:
    """:func:`has` for every scope."""
    return {scope: has(store, member_no, scope) for scope in SCOPES}
