"""The hub's report for one branch and one month (``lianxin hub report --branch ID --month
YYYY-MM --json``): dues collected vs expected, members behind, study hours, and double
payments awaiting reconciliation.

Built from the hub's view of the branch log (``sync.hub.conflicts``), so it covers what the
terminals have pushed so far — ``terminals`` says when each was last seen.

    dues.expected_fen      what the branch's active members owe for the month (their fixed
                           monthly amount for its year; exempt members owe 0)
    dues.collected_fen     what has been paid for the month (net of corrections), whenever
    dues.received          cash recorded during the month, per terminal and kind
    dues.ledger            every payment held, all time, per terminal (equals the sum of the
                           terminals' own ledgers once they have all synced)
    members_behind         members with unpaid months up to and including the month; a
                           member's ``overdue_months`` are those before it
    study                  hours, sittings, members and finished lessons started in the month
    double_payments        member-months paid twice, still open
    members                roster counts, with edits made at terminals awaiting the operator

Money is integer fen; ``*_yuan`` companions are strings for people.
"""

from __future__ import annotations

from collections import defaultdict

from core.clock import add_months, default_clock, iso, month_range, parse_month
from core.errors import NotFound
from core.money import fen_to_yuan

from . import conflicts
from .storage import HubStorage


def rate_lookup(rates: list[dict]):
    """``due(member_no, year)``: that year's amount, else the nearest earlier year's (until
    the new one is fixed), else the nearest later one — as on the terminal."""
    by_member: dict[str, dict[int, int]] = defaultdict(dict)
    for r in rates:
        by_member[r["member_no"]][r["year"]] = r["monthly_fen"]

    def due(member_no: str, year: int) -> int | None:
        years = by_member.get(member_no)
        if not years:
            return None
        earlier = [y for y in years if y <= year]
        return years[max(earlier)] if earlier else years[min(years)]

    return due


def position(members: list[dict], due, paid: dict[tuple[str, str], int],
             month: str) -> tuple[int, list[dict]]:
    """What the active members owe for ``month`` (fen), and who is behind up to it:
    ``paid`` maps (member_no, month) to the net fen paid; ``due`` is :func:`rate_lookup`'s."""
    expected = 0
    behind = []
    for m in members:
        if m["state"] == "rejected" or m["status"] != "active" or m["dues_from"] > month:
            continue
        owed = []
        for mo in month_range(m["dues_from"], month):
            d = due(m["member_no"], int(mo[:4]))
            if d is None:
                continue
            if mo == month:
                expected += d
            short = d - paid.get((m["member_no"], mo), 0)
            if short > 0:
                owed.append((mo, short))
        if owed:
            behind.append({"member_no": m["member_no"], "name": m["name"],
                           "months_owed": [mo for mo, _ in owed],
                           "overdue_months": sum(1 for mo, _ in owed if mo < month),
                           "amount_owed_fen": sum(a for _, a in owed)})
    return expected, behind


def build(storage: HubStorage, branch: str, month: str, *, clock=None) -> dict:
    parse_month(month)
    info = storage.get_branch(branch)
    if info is None:
        raise NotFound(f"no branch {branch!r} at this hub", "服务中心没有这个支部。")
    conflicts.catch_up(storage)
    members = storage.report_members(branch)
    due = rate_lookup(storage.report_rates(branch))
    paid: dict[tuple[str, str], int] = {(r["member_no"], r["month"]): r["fen"]
                                        for r in storage.report_paid(branch, month)}
    expected, behind = position(members, due, paid, month)
    collected = sum(fen for (_, mo), fen in paid.items() if mo == month)
    received = storage.report_received(branch, month)
    ledger = storage.ledger_totals(branch)
    study = storage.report_study(branch, month)
    doubles = conflicts.flags(storage, branch)
    checks = conflicts.payment_checks(storage, branch)
    states = defaultdict(int)
    for m in members:
        states[m["state"]] += 1
    return {
        "branch": {k: info[k] for k in ("code", "name", "township")},
        "month": month,
        "generated_at": iso((clock or default_clock()).now()),
        "members": {"known": len(members), "accepted": states["accepted"],
                    "awaiting_acceptance": states["proposed"], "rejected": states["rejected"],
                    "active": sum(1 for m in members if m["status"] == "active"
                                  and m["state"] != "rejected"),
                    "proposals_pending": len(storage.list_proposals(branch, "pending"))},
        "dues": {
            "expected_fen": expected, "expected_yuan": fen_to_yuan(expected),
            "collected_fen": collected, "collected_yuan": fen_to_yuan(collected),
            "received": received,
            "received_fen": sum(r["fen"] for r in received),
            "ledger": ledger,
            "ledger_fen": sum(r["fen"] for r in ledger),
        },
        "members_behind": behind,
        "study": {"hours": round(study["seconds"] / 3600, 2), **study},
        "double_payments": [
            {"member_no": f["member_no"], "month": f["month"], "terminals": f["terminals"],
             "amount_fen": f["amount_fen"], "flagged_at": f["flagged_at"],
             "entries": f["entries"]} for f in doubles],
        "payment_checks": [{k: c[k] for k in ("entry_id", "reason", "member_no", "terminal_id",
                                               "detail", "flagged_at")} for c in checks],
        "terminals": [{k: t[k] for k in ("terminal_id", "label", "last_seen", "pending",
                                         "revoked")}
                      for t in _terminals(storage, branch)],
    }


def _terminals(storage: HubStorage, branch: str) -> list[dict]:
    from .admin import list_terminals

    return list_terminals(storage, branch)


def trend(storage: HubStorage, branch: str, last: str, months: int = 12) -> list[dict]:
    """Dues expected and collected for each of the ``months`` months up to ``last``, and
    the study hours started in each (the console's charts). Expected is counted over the
    branch's members as the hub knows them now (active, accepted or proposed, owing from
    their first dues month), at each year's monthly amount."""
    parse_month(last)
    conflicts.catch_up(storage)
    return trend_of(storage, branch, storage.report_members(branch),
                    rate_lookup(storage.report_rates(branch)),
                    storage.report_paid(branch, last), last, months)


def trend_of(storage: HubStorage, branch: str, members: list[dict], due, paid: list[dict],
             last: str, months: int = 12) -> list[dict]:
    """:func:`trend` from the branch's members, rates and ``report_paid`` rows already
    read (the overview reads them once for both its figures)."""
    first = add_months(last, -(months - 1))
    members = [m for m in members if m["state"] != "rejected" and m["status"] == "active"]
    collected: dict[str, int] = defaultdict(int)
    for r in paid:
        if first <= r["month"] <= last:
            collected[r["month"]] += r["fen"]
    studied = storage.report_study_by_month(branch, first, last)
    out = []
    for mo in month_range(first, last):
        expected = sum(d for m in members if m["dues_from"] <= mo
                       if (d := due(m["member_no"], int(mo[:4]))) is not None)
        study = studied.get(mo, {"seconds": 0, "sessions": 0, "completed": 0})
        out.append({"month": mo, "expected_fen": expected, "collected_fen": collected[mo],
                    "study_hours": round(study["seconds"] / 3600, 1),
                    "study_seconds": study["seconds"], "study_sessions": study["sessions"],
                    "lessons_completed": study["completed"]})
    return out
