"""Informed consent: what the terminal keeps about a member, agreed and withdrawable.

Each grant or withdrawal is a row (what, when, how: touch, voice or witnessed by staff) and
a journal event. Withdrawal is honoured at once: withdrawing ``phone_recognition`` deletes
the member's phone numbers from the terminal.
"""

from __future__ import annotations

import uuid

from .clock import iso
from .errors import InvalidInput, NotFound

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
    row = {"consent_id": str(uuid.uuid4()), "member_no": member_no, "scope": scope,
           "granted": granted, "method": method, "witness": witness, "at": iso(store.now())}
    with store.transaction():
        store.db.execute(
            "INSERT INTO consent(consent_id, member_no, scope, granted, method, witness, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [row["consent_id"], member_no, scope, int(granted), method, witness, row["at"]])
        removed = []
        if not granted and scope == "phone_recognition":
            removed = [r[0] for r in store.db.execute(
                "SELECT phone FROM member_phone WHERE member_no = ?", [member_no])]
            store.db.execute("DELETE FROM member_phone WHERE member_no = ?", [member_no])
        store.record("consent.granted" if granted else "consent.withdrawn",
                     {**row, "phones_removed": len(removed)}, actor=actor,
                     subject=f"member:{member_no}")
    return row


def grant(store, member_no: str, scope: str, *, method: str, witness: str | None = None,
          actor: str | None = None) -> dict:
    return _write(store, member_no, scope, True, method, witness,
                  actor or (f"staff:{witness}" if witness else f"member:{member_no}"))


def withdraw(store, member_no: str, scope: str, *, method: str, witness: str | None = None,
             actor: str | None = None) -> dict:
    return _write(store, member_no, scope, False, method, witness,
                  actor or (f"staff:{witness}" if witness else f"member:{member_no}"))


def current(store, member_no: str) -> dict[str, bool]:
    """The latest answer per scope; a scope never asked is False (no consent assumed)."""
    state = {scope: False for scope in SCOPES}
    for row in store.all("SELECT scope, granted FROM consent WHERE member_no = ? "
                         "ORDER BY at, rowid", [member_no]):
        state[row["scope"]] = bool(row["granted"])
    return state


def has(store, member_no: str, scope: str) -> bool:
    return current(store, member_no).get(scope, False)
