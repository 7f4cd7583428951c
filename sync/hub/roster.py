"""A branch's roster at the hub: import from CSV/XLSX, and the demo branch's people.

The hub does not re-implement the terminal's rules. It runs them: each change is first
made on a **scratch terminal** — a real, empty terminal store in a temporary folder, set up
with the hub's branch and policy — through the same core functions a terminal uses
(``core.roster_import``, ``core.members``, ``core.branch``). The events that store journals
(``member.added`` with the year's fixed amount, ``staff.added`` with the argon2 PIN hash,
``member.rate_fixed``) are then appended to the branch log as the hub's own events, which
every terminal of the branch applies on its next pull (``core.replica``). So a row the hub
accepts is one a terminal accepts, and the payload is exactly the one a terminal writes.

The hub's current roster (``hub_member``, derived from the branch log by
``sync.hub.conflicts``) is checked too: a number already accepted, or proposed by a
terminal and not yet decided, is a row problem. With any problem nothing is imported
unless ``skip_bad_rows`` (same rule as the terminal's ``lianxin member import``).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from core import branch as core_branch
from core import members, outbox, pins, roster_import
from core.clock import CST, FixedClock, add_months, default_clock, iso, month_of
from core.errors import InvalidInput, NotFound
from core.ids import new_id
from core.money import yuan_to_fen
from core.store import Store

from ..protocol import canonical_json
from . import conflicts
from .storage import HubStorage

ROSTER_TYPES = ("member.added", "member.rate_fixed", "staff.added")


def branch_row(storage: HubStorage, code: str) -> dict:
    row = storage.get_branch(code)
    if row is None:
        raise NotFound(f"no branch {code!r} at this hub", "服务中心没有这个支部。")
    return row


@contextlib.contextmanager
def scratch_terminal(branch: dict, clock) -> Iterator[Store]:
    """An empty terminal store holding ``branch`` (a hub branch row), deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="lianxin-hub-scratch-") as folder:
        store = Store.create(Path(folder) / "scratch.db", clock=clock)
        try:
            core_branch.setup(store, code=branch["code"], name=branch["name"],
                              township=branch["township"],
                              back_pay_limit=branch["back_pay_limit"],
                              pay_ahead_limit=branch["pay_ahead_limit"], actor="hub")
            yield store
        finally:
            store.close()


def journaled(store: Store, types=ROSTER_TYPES) -> list[dict]:
    """The scratch terminal's journal events of ``types``, in the order they were made."""
    return outbox.journaled(store, types)


def append_events(storage: HubStorage, branch: str, events: list[dict]) -> list[str]:
    """Append scratch-terminal events to the branch log as the hub's own (their own times
    kept for display; terminals apply them in the log's order). Call inside a transaction."""
    ids = []
    for ev in events:
        event_id = new_id()
        storage.append_log(branch=branch, origin="hub", event_id=event_id, type=ev["type"],
                           payload=canonical_json(json.loads(ev["payload"])), at=ev["at"])
        ids.append(event_id)
    return ids


# -- import ------------------------------------------------------------------------------

def _hub_roster_check(storage: HubStorage, branch: str):
    """``taken(member_no)`` for core.roster_import: the error for a number the branch's
    roster at the hub already has (accepted, or proposed by a terminal and undecided)."""
    conflicts.catch_up(storage)
    held = {m["member_no"].upper(): m for m in storage.report_members(branch)
            if m["state"] != "rejected"}

    def taken(member_no: str) -> InvalidInput | None:
        m = held.get(member_no.upper())
        if m is None:
            return None
        no = m["member_no"]
        if m["state"] == "accepted":
            return InvalidInput(f"member {no} is already on the branch's roster at the hub",
                                f"党员编号{no}在服务中心的名册里已经有了，不能重复导入。")
        return InvalidInput(f"member {no} was proposed by a terminal; accept or reject that "
                            "proposal (lianxin hub proposals) instead of importing it",
                            f"党员编号{no}已经由终端提交，请先在服务中心处理这条名册申请。")
    return taken


def import_roster(storage: HubStorage, branch: str, path, *, skip_bad_rows: bool = False,
                  dry_run: bool = False, actor: str = "hub",
                  clock=None) -> roster_import.ImportReport:
    """Import a CSV/XLSX roster into ``branch``: each good row becomes a hub
    ``member.added`` event (with the year's fixed monthly amount; no PIN, as on a
    terminal). Returns the row-by-row report of ``core.roster_import``."""
    clock = clock or default_clock()
    row = branch_row(storage, branch)
    with scratch_terminal(row, clock) as scratch:
        report = roster_import.import_file(
            scratch, path, skip_bad_rows=skip_bad_rows, dry_run=dry_run, actor=actor,
            taken=_hub_roster_check(storage, branch))
        events = journaled(scratch, ("member.added",)) if report.imported else []
    if events:
        with storage.transaction():
            # A terminal may have proposed one of these numbers while the file was checked.
            taken = _hub_roster_check(storage, branch)
            clash = [no for no in report.member_nos if taken(no) is not None]
            if clash:
                raise InvalidInput(f"the roster changed while importing ({', '.join(clash)}); "
                                   "run the import again",
                                   "导入时名册有了变化，请重新导入一次。")
            append_events(storage, branch, events)
            conflicts.catch_up(storage, at=iso(clock.now()))
    return report


# -- the demo branch's people --------------------------------------------------------------

def load_demo_people(storage: HubStorage, branch: str, spec: dict, clock=None) -> dict:
    """The demo's staff (PIN 2468) and members (PIN 1234) as hub events, made by the core
    functions on a scratch terminal, with each member's dues starting after the months the
    demo says they paid (like a roster imported with a 党费交至 column), so a terminal that
    receives them shows the same arrears as ``lianxin demo``.

    Their times are the first of January of last year, or the day a member joined if later,
    at midnight (for display: terminals apply the hub's events in its log's order). A
    ``lianxin demo`` terminal enrolled in this branch takes these records (the same names
    and PINs) over its own; its own roster arrives as proposals."""
    from core.demo import ACTOR, MEMBER_PIN, STAFF_PIN

    now = (clock or default_clock()).now()
    this_month, this_year = month_of(now), now.year
    as_of = datetime(this_year - 1, 1, 1, tzinfo=CST)
    scratch_clock = FixedClock(as_of)
    with scratch_terminal(branch_row(storage, branch), scratch_clock) as scratch:
        for s in spec["staff"]:
            core_branch.add_staff(scratch, staff_no=s["staff_no"], name=s["name"],
                                  role=s["role"], pin=STAFF_PIN, actor=ACTOR)
        member_hash = pins.hash_pin(MEMBER_PIN)
        for m in spec["members"]:
            joined = datetime.fromisoformat(m["joined"]).replace(tzinfo=CST)
            scratch_clock.at = max(as_of, joined)
            owes = int(m.get("owes_months", 0))
            paid_through = this_month if owes == 0 else add_months(this_month, -owes - 1)
            dues_from = add_months(paid_through, 1)
            if m.get("probation"):
                dues_from = max(dues_from, m["joined"][:7])
            income = yuan_to_fen(m["income_yuan"]) if "income_yuan" in m else None
            members.add(scratch, member_no=m["member_no"], name=m["name"],
                        category=m["category"], income_fen=income,
                        farmer_fen=m.get("farmer_fen"), joined=m["joined"],
                        probation=bool(m.get("probation")), phones=m.get("phones", []),
                        dues_from=dues_from, pin_hash=member_hash, actor=ACTOR)
            first_year = scratch_clock.at.year
            for year in range(first_year, this_year + 1):
                if m.get("hardship_reason"):
                    members.fix_rate(scratch, m["member_no"], year, income_fen=income,
                                     farmer_fen=m.get("farmer_fen"),
                                     hardship_fen=m.get("hardship_fen", 0),
                                     approval_ref=m.get("hardship_ref", "demo"),
                                     reason=m["hardship_reason"], actor=ACTOR)
                elif year != first_year:
                    members.fix_rate(scratch, m["member_no"], year, income_fen=income,
                                     farmer_fen=m.get("farmer_fen"), actor=ACTOR)
        events = journaled(scratch)
    with storage.transaction():
        append_events(storage, branch, events)
        conflicts.catch_up(storage, at=iso(now))
    return {"staff": len(spec["staff"]), "members": len(spec["members"])}
