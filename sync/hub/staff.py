"""Staff accounts made at the hub (``lianxin hub staff add|list|pin``, the console's 内容 page).

The account is made by ``core.branch.add_staff`` on a scratch terminal (``sync.hub.roster``):
the same checks (role, name, PIN format) and the same ``staff.added`` payload, carrying the
argon2 hash of the PIN (``core.pins.hash_pin``). Appended to the branch log as the hub's own
event, it reaches every terminal of the branch on its next pull, and the PIN works there
(``core.branch.confirm``). The plain PIN never leaves these functions.

Staff accounts and PINs are the hub's (core.events, docs/security.md): a new PIN set here
(:func:`reset_pin`) is a hub ``staff.pin_set`` event — the same event a terminal's PIN
change becomes once the operator accepts it — and wins on every terminal of the branch at
its next sync, the one where the staff member last changed it included.
"""

from __future__ import annotations

import json
import re

from core import branch as core_branch
from core import pins
from core.clock import default_clock, iso
from core.errors import InvalidInput, NotFound

from ..protocol import canonical_json
from . import conflicts
from .roster import append_events, branch_row, journaled, scratch_terminal
from .storage import HubStorage

MAX_STAFF_NO = 32


_STAFF_NO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")   # MAX_STAFF_NO in all


def check_staff_no(staff_no: str) -> str:
    """A new account's number: letters, digits, ``-`` and ``_`` (it is typed at a kiosk and
    names the account in the console's addresses)."""
    staff_no = (staff_no or "").strip()
    if not _STAFF_NO.fullmatch(staff_no):
        raise InvalidInput(f"bad staff number {staff_no!r}",
                           f"工作人员编号只能用字母、数字、横线和下划线，最多{MAX_STAFF_NO}个字符。")
    return staff_no


def add_staff(storage: HubStorage, branch: str, *, staff_no: str, name: str, role: str,
              pin: str, actor: str = "hub", clock=None) -> dict:
    """Create a staff account for ``branch``; returns it without the PIN hash."""
    staff_no = check_staff_no(staff_no)
    row = branch_row(storage, branch)
    if staff_no in storage.staff_numbers(branch):
        raise InvalidInput(f"staff {staff_no} already exists in branch {branch}",
                           "这个工作人员编号已经有了。")
    with scratch_terminal(row, clock or default_clock()) as scratch:
        core_branch.add_staff(scratch, staff_no=staff_no, name=name, role=role, pin=pin,
                              actor=actor)
        events = journaled(scratch, ("staff.added",))
    with storage.transaction():
        if staff_no in storage.staff_numbers(branch):  # added meanwhile, by a terminal
            raise InvalidInput(f"staff {staff_no} already exists in branch {branch}",
                               "这个工作人员编号已经有了。")
        [event_id] = append_events(storage, branch, events)
    payload = json.loads(events[0]["payload"])
    return {"event_id": event_id, "branch": branch, "staff_no": payload["staff_no"],
            "name": payload["name"], "role": payload["role"]}


def list_staff(storage: HubStorage, branch: str) -> list[dict]:
    """The hub's staff accounts of ``branch`` (those every terminal of it holds): number,
    name, role, when made, and when the hub last set its PIN (None: only when made)."""
    branch_row(storage, branch)
    out: dict[str, dict] = {}
    for ev in storage.hub_staff_history(branch):
        no = ev["staff_no"]
        if ev["type"] == "staff.added":
            out[no] = {"staff_no": no, "name": ev["name"], "role": ev["role"],
                       "role_zh": core_branch.STAFF_ROLES.get(ev["role"], ev["role"]),
                       "added_at": out.get(no, {}).get("added_at", ev["at"]),
                       "pin_set_at": ev["at"] if no in out else None}
        elif no in out:
            out[no]["pin_set_at"] = ev["at"]
    return [out[k] for k in sorted(out)]


SUPERSEDED_ZH = "服务中心已经为这个工作人员重设了密码，这条改密码申请不再需要。"


def reset_pin(storage: HubStorage, branch: str, staff_no: str, pin: str, *, by: str = "hub",
              clock=None) -> dict:
    """Give a staff account of ``branch`` a new PIN (4 to 6 digits): a hub ``staff.pin_set``
    with its argon2 hash, taken by every terminal of the branch at its next sync (failed
    tries and a lock there are cleared). A terminal's PIN change for that account still
    waiting for the operator is closed as rejected (``by``), so accepting it later cannot
    bring the old PIN back by mistake. Returns the account, never the PIN or its hash."""
    staff_no = (staff_no or "").strip()
    held = {s["staff_no"]: s for s in list_staff(storage, branch)}
    if staff_no not in held:
        raise NotFound(f"no hub staff account {staff_no!r} in branch {branch}",
                       "服务中心没有这个工作人员账号。")
    pin_hash = pins.hash_pin(pin, "staff")          # 4-6 digits, or InvalidInput
    at = iso((clock or default_clock()).now())
    event = {"type": "staff.pin_set", "at": at,
             "payload": canonical_json({"staff_no": staff_no, "pin_hash": pin_hash})}
    with storage.transaction():
        [event_id] = append_events(storage, branch, [event])
        for p in conflicts.proposals(storage, branch):
            if p["type"] == "staff.pin_set" and p["member_no"] == staff_no:
                storage.decide_proposal(p["event_id"], "rejected", at, by, SUPERSEDED_ZH, None)
    account = held[staff_no]
    return {"event_id": event_id, "branch": branch, "staff_no": staff_no,
            "name": account["name"], "role": account["role"]}
