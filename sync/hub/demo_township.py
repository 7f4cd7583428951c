"""The demo hub's second township (assets/demo/baisha): 白沙镇 with 白沙社区党支部
(``DEMO-BSC``), its own made-up staff and members, and a few months of history.

Branch, staff and roster are the hub's (as ``roster.load_demo_people`` makes the first demo
branch's, dues starting at the beginning of the history). The history — dues payments and
study sessions — is what terminals author (core.events: facts), so it comes in the way real
history does: a demo terminal (label ``[terminal] label``) is enrolled at this hub with a
one-time code, pulls the branch, records each payment and study session through the core
functions with its clock at the moment it happened, and pushes its journal and audit chain
through the hub's own sync app (served in-process, sync.hub.inprocess). The hub checks and
stores them as any push, so the chain is valid and ``lianxin hub check`` finds nothing. The
demo terminal's store is thrown away afterwards; its row stays at the hub (it is seen then,
and goes quiet like any terminal that stops syncing).
"""

from __future__ import annotations

import tempfile
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

from core import branch as core_branch
from core import dues, study
from core.clock import CST, FixedClock, add_months, default_clock, month_of, months_between
from core.demo import STAFF_PIN
from core.store import Store

from .. import client as sync_client
from .. import protocol
from . import admin, roster
from .inprocess import in_process
from .storage import HubStorage

DIR_NAME = "baisha"


def _at(month: str, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(int(month[:4]), int(month[5:]), day, hour, minute, tzinfo=CST)


def _timeline(spec: dict, lessons: list[dict], start: str, now: datetime) -> list[tuple]:
    """(when, kind, member_no, detail) of every payment and study session, in time order:
    payments on the collector's day (the 10th), monthly or three months at a time, up to
    the months the member still owes; study sessions in the evenings, a lesson a sitting."""
    this_month = month_of(now)
    # Never after the hub's own (wall) clock: a push of events from the future is flagged.
    latest = min(now, datetime.fromtimestamp(protocol.wall_ms() / 1000, CST)) - timedelta(
        minutes=5)
    out = []
    for i, m in enumerate(spec["members"]):
        owes = int(m.get("owes_months", 0))
        paid_through = this_month if owes == 0 else add_months(this_month, -owes)
        step = 3 if m.get("pays") == "quarterly" else 1
        month = start
        while month <= paid_through:
            n = min(step, months_between(month, paid_through) + 1)
            at = min(_at(month, 10, 9, i), latest)
            out.append((at, "pay", m["member_no"], n))
            month = add_months(month, n)
        for k in range(min(int(m.get("lessons", 0)), len(lessons))):
            month = add_months(start, k % (months_between(start, this_month) + 1))
            at = min(_at(month, 15 + k % 10, 19, 30 + i), latest)
            out.append((at, "study", m["member_no"], lessons[k]))
    return sorted(out, key=lambda t: (t[0], t[2]))


def load(storage: HubStorage, demo_dir: Path, clock=None) -> dict:
    """Load the second township from ``demo_dir / baisha`` (the branch must not exist
    yet). Lessons are the demo's (``demo_dir / lessons``)."""
    folder = demo_dir / DIR_NAME
    spec = tomllib.loads((folder / "branch.toml").read_text(encoding="utf-8"))
    b, terminal = spec["branch"], spec["terminal"]
    now = (clock or default_clock()).now()
    start = add_months(month_of(now), -int(terminal["history_months"]))
    admin.create_branch(storage, code=b["code"], name=b["name"], township=b["township"],
                        back_pay_limit=b.get("back_pay_limit_months", 6),
                        pay_ahead_limit=b.get("pay_ahead_limit_months", 6), clock=clock)
    # Dues start with the history for everyone (a probationary member: when they joined).
    owed = months_between(start, month_of(now))
    roster.load_demo_people(storage, b["code"], {**spec, "members": [
        {**m, "owes_months": owed} for m in spec["members"]]}, clock)
    lessons = []
    for f in sorted((demo_dir / "lessons").glob("*.toml")):
        lesson = tomllib.loads(f.read_text(encoding="utf-8"))
        admin.publish_lesson(storage, b["code"], lesson_id=f.stem, title=lesson["title"],
                             category=lesson["category"], minutes=lesson["minutes"],
                             body=lesson["body"], quiz=lesson.get("quiz", []),
                             assigned=lesson.get("assigned", False), clock=clock)
        lessons.append({"lesson_id": f.stem, "minutes": lesson["minutes"],
                        "answers": [q["answer"] for q in lesson.get("quiz", [])]})
    for i, n in enumerate(spec.get("notices", []), 1):
        admin.post_notice(storage, b["code"], title=n["title"], body=n["body"],
                          posted=n["posted"], notice_id=f"demo-bsc-notice-{i}", clock=clock)
    history = _push_history(storage, b["code"], terminal["label"], spec,
                            _timeline(spec, lessons, start, now), _at(start, 1, 8))
    return {"branch": b["code"], "township": b["township"], "staff": len(spec["staff"]),
            "members": len(spec["members"]), **history}


def _push_history(storage: HubStorage, branch: str, label: str, spec: dict,
                  timeline: list[tuple], first: datetime) -> dict:
    """Enroll a demo terminal, let it record ``timeline`` at the times it says, push."""
    code = admin.issue_enroll_code(storage, branch)["code"]
    collector = spec["staff"][-1]["staff_no"]
    clock = FixedClock(first)
    payments = sessions = 0
    with tempfile.TemporaryDirectory(prefix="lianxin-demo-terminal-") as tmp, \
            in_process(storage) as (session, url):
        path = Path(tmp) / "terminal.db"
        sync_client.enroll(path, url, code, label=label, session=session, clock=clock)
        store = Store.open(path, clock=clock)
        try:
            client = sync_client.open_client(store, session=session)
            sync_client.pull(store, client)
            confirmation = None   # the collector's PIN, entered once (argon2 is slow)
            for at, kind, member_no, detail in timeline:
                clock.at = at
                if kind == "pay":
                    confirmation = confirmation or core_branch.confirm(store, collector,
                                                                        STAFF_PIN)
                    dues.pay(store, member_no, months=detail, confirmation=confirmation)
                    payments += 1
                else:
                    study.record_session(store, member_no=member_no,
                                         lesson_id=detail["lesson_id"],
                                         seconds=detail["minutes"] * 60, completed=True,
                                         answers=detail["answers"])
                    sessions += 1
            pushed = sync_client.push(store, client)
        finally:
            store.close()
    return {"terminal": label, "payments": payments, "study_sessions": sessions,
            "events_pushed": pushed["applied"]}
