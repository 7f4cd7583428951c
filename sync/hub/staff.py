"""Staff accounts made at the hub (``lianxin hub staff add``).

The account is made by ``core.branch.add_staff`` on a scratch terminal (``sync.hub.roster``):
the same checks (role, name, PIN format) and the same ``staff.added`` payload, carrying the
argon2 hash of the PIN (``core.pins.hash_pin``). Appended to the branch log as the hub's own
event, it reaches every terminal of the branch on its next pull, and the PIN works there
(``core.branch.confirm``). The plain PIN never leaves this function.
"""

from __future__ import annotations

import json

from core import branch as core_branch
from core.clock import default_clock
from core.errors import InvalidInput

from .roster import append_events, branch_row, journaled, scratch_terminal
from .storage import HubStorage


def add_staff(storage: HubStorage, branch: str, *, staff_no: str, name: str, role: str,
              pin: str, actor: str = "hub", clock=None) -> dict:
    """Create a staff account for ``branch``; returns it without the PIN hash."""
    staff_no = (staff_no or "").strip()
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
