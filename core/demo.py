"""The demo branch (assets/demo): a fictional village branch to try every part with.

History is written through the same domain functions as real use, with the store's clock
moved back to when each thing happened, so the demo's journal and audit chain are as real
as a terminal's. Demo credentials (assets/demo/README.md): members 1234, staff 2468.
"""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path

from . import branch, consent, dues, members, notices, pins, study
from .clock import CST, FixedClock, add_months, month_of, months_between
from .money import yuan_to_fen

DEMO_DIR = Path(__file__).resolve().parent.parent / "assets" / "demo"
MEMBER_PIN, STAFF_PIN = "1234", "2468"
ACTOR = "demo"


def demo_notice_id(i: int) -> str:
    """Fixed ids, the same at the hub's demo branch, so a synced demo shows each notice once."""
    return f"demo-notice-{i}"


def _at(month: str, day: int = 10, hour: int = 9) -> datetime:
    return datetime(int(month[:4]), int(month[5:]), day, hour, 0, tzinfo=CST)


def _add_member(store, m: dict, dues_from: str, member_hash: str, this_year: int) -> None:
    income = yuan_to_fen(m["income_yuan"]) if "income_yuan" in m else None
    members.add(store, member_no=m["member_no"], name=m["name"], category=m["category"],
                income_fen=income, farmer_fen=m.get("farmer_fen"), joined=m["joined"],
                probation=bool(m.get("probation")), phones=m.get("phones", []),
                dues_from=dues_from, pin_hash=member_hash, actor=ACTOR)
    # The amount is fixed per year: the first year's by members.add, later ones here.
    for year in range(int(dues_from[:4]), this_year + 1):
        if m.get("hardship_reason"):
            members.fix_rate(store, m["member_no"], year, income_fen=income,
                             farmer_fen=m.get("farmer_fen"), hardship_fen=m.get("hardship_fen", 0),
                             approval_ref=m.get("hardship_ref", "demo"),
                             reason=m["hardship_reason"], actor=ACTOR)
        elif year != int(dues_from[:4]):
            members.fix_rate(store, m["member_no"], year, income_fen=income,
                             farmer_fen=m.get("farmer_fen"), actor=ACTOR)


def load(store, demo_dir: Path = DEMO_DIR) -> dict:
    """Fill an empty store with the demo branch. Returns counts of what it wrote."""
    spec = tomllib.loads((demo_dir / "branch.toml").read_text(encoding="utf-8"))
    real_clock = store.clock
    now = real_clock.now()
    this_month = month_of(now)
    history_start = add_months(this_month, -12)
    clock = FixedClock(_at(history_start, 1, 8))
    store.clock = clock
    try:
        b = spec["branch"]
        branch.setup(store, code=b["code"], name=b["name"], township=b.get("township", ""),
                     back_pay_limit=b.get("back_pay_limit_months", 6),
                     pay_ahead_limit=b.get("pay_ahead_limit_months", 6), actor=ACTOR)
        for s in spec["staff"]:
            branch.add_staff(store, staff_no=s["staff_no"], name=s["name"], role=s["role"],
                             pin=STAFF_PIN, actor=ACTOR)
        member_hash = pins.hash_pin(MEMBER_PIN)  # one hash: every demo member has the same PIN
        collector = spec["staff"][-1]["staff_no"]
        confirmation = branch.confirm(store, collector, STAFF_PIN)
        # One timeline, replayed in time order, so the journal never runs backwards:
        # each member is added when they joined (or when the history starts) and then pays
        # quarter by quarter on the collector's monthly collection day.
        timeline = []
        for m in spec["members"]:
            probation = bool(m.get("probation"))
            dues_from = m["joined"][:7] if probation else history_start
            joined_at = datetime.fromisoformat(m["joined"]).replace(hour=8, tzinfo=CST)
            added_at = min(max(joined_at, _at(history_start, 1, 8)), now)
            timeline.append((added_at, 0, m["member_no"], ("add", m, dues_from)))
            owes = int(m.get("owes_months", 0))
            paid_through = this_month if owes == 0 else add_months(this_month, -owes - 1)
            month = dues_from
            exempt = m.get("hardship_reason") and not m.get("hardship_fen", 0)
            while month <= paid_through and not exempt:
                n = min(3, months_between(month, paid_through) + 1)
                at = min(max(_at(min(month, this_month), 10, 9), added_at + timedelta(hours=1)), now)
                timeline.append((at, 1, m["member_no"], ("pay", n)))
                month = add_months(month, n)
        payments = 0
        for at, _, member_no, (kind, *args) in sorted(timeline, key=lambda t: t[:3]):
            clock.at = at
            if kind == "add":
                _add_member(store, args[0], args[1], member_hash, now.year)
            else:
                dues.pay(store, member_no, months=args[0], confirmation=confirmation)
                payments += 1
        clock.at = now
        # Demo members agreed, with the secretary as witness, to what the terminal keeps.
        witness = spec["staff"][0]["staff_no"]
        for m in spec["members"]:
            consent.grant(store, m["member_no"], "terminal_records", method="staff", witness=witness)
            if m.get("phones"):
                consent.grant(store, m["member_no"], "phone_recognition", method="staff",
                              witness=witness)
        lesson_files = sorted((demo_dir / "lessons").glob("*.toml"))
        for f in lesson_files:
            lesson = tomllib.loads(f.read_text(encoding="utf-8"))
            study.publish_lesson(store, lesson_id=f.stem, title=lesson["title"],
                                 category=lesson["category"], minutes=lesson["minutes"],
                                 body=lesson["body"], quiz=lesson.get("quiz", []),
                                 assigned=lesson.get("assigned", False), actor=ACTOR)
        for i, n in enumerate(spec.get("notices", []), 1):
            notices.post(store, title=n["title"], body=n["body"], posted=n["posted"], actor=ACTOR,
                         notice_id=demo_notice_id(i))
    finally:
        store.clock = real_clock
    return {"branch": b["name"], "staff": len(spec["staff"]), "members": len(spec["members"]),
            "payments": payments, "lessons": len(lesson_files),
            "notices": len(spec.get("notices", []))}
