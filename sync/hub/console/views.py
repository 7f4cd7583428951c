"""What the console's pages show, assembled from the hub's service functions (the same ones
the CLI calls: report, admin, conflicts, log_admin) for one signed-in operator's scope.
Plain dicts, no HTTP and no HTML: the pages render them, and tests read them directly.

Months behind are counted one way everywhere: the months a member still owes, the current
month included (what they would pay to be up to date).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.clock import default_clock, month_of
from core.dues_rules import CATEGORIES
from core.errors import NotFound
from core.money import fen_to_yuan

from .. import admin, conflicts, operators, report
from ..storage import HubStorage
from . import views_voice

QUIET_AFTER = timedelta(hours=48)   # a terminal not seen for two nights needs a look


def _rate(collected: int, expected: int) -> int | None:
    """Per cent, rounded down (100 only when nothing is missing); None when nothing is due."""
    return None if expected <= 0 else min(100, collected * 100 // expected)


def _quiet(last_seen: str | None, now: datetime) -> bool:
    return last_seen is None or now - datetime.fromisoformat(last_seen) > QUIET_AFTER


def this_month(clock=None) -> str:
    return month_of((clock or default_clock()).now())


def overview(storage: HubStorage, operator: dict, *, clock=None) -> dict:
    """Every branch in the operator's scope with what needs attention, and the 12-month
    trend of all of them together."""
    now = (clock or default_clock()).now()
    month = this_month(clock)
    rows, totals = [], {}
    codes = operators.branches_in_scope(storage, operator)
    unheard = views_voice.waiting(storage, codes)
    for code in codes:
        rep = report.build(storage, code, month, clock=clock)
        trend = report.trend(storage, code, month)
        year = [t for t in trend if t["month"][:4] == month[:4]]
        terminals = [t for t in admin.list_terminals(storage, code) if not t["revoked"]]
        behind = [len(m["months_owed"]) for m in rep["members_behind"]]
        waiting = {
            "proposals": rep["members"]["proposals_pending"],
            "double_payments": len(rep["double_payments"]),
            "payment_checks": len(rep["payment_checks"]),
            "refused_terminals": sum(1 for t in terminals if t["chain"] != "ok"),
            "quarantined": len(admin.list_events(storage, code, quarantined=True,
                                                 skipped=False, limit=1000)),
            "voice_messages": unheard[code],
        }
        rows.append({
            **rep["branch"],
            "month_rate": _rate(rep["dues"]["collected_fen"], rep["dues"]["expected_fen"]),
            "year_rate": _rate(sum(t["collected_fen"] for t in year),
                               sum(t["expected_fen"] for t in year)),
            "behind_3": sum(1 for n in behind if n >= 3),
            "behind_6": sum(1 for n in behind if n >= 6),
            "study_hours": rep["study"]["hours"],
            "terminals": len(terminals),
            "quiet_terminals": sum(1 for t in terminals if _quiet(t["last_seen"], now)),
            "clock_wrong": sum(1 for t in terminals if t["clock"] != "ok"),
            "waiting": waiting, "waiting_total": sum(waiting.values()),
        })
        for t in trend:
            acc = totals.setdefault(t["month"], {"month": t["month"], "expected_fen": 0,
                                                 "collected_fen": 0, "study_hours": 0.0})
            acc["expected_fen"] += t["expected_fen"]
            acc["collected_fen"] += t["collected_fen"]
            acc["study_hours"] = round(acc["study_hours"] + t["study_hours"], 1)
    return {"month": month, "branches": rows, "trend": [totals[k] for k in sorted(totals)]}


def branch(storage: HubStorage, operator: dict, code: str, *, query: str = "",
           clock=None) -> dict:
    """One branch: dues and study by month, members behind, the member list (searched by
    name, number or pinyin initials)."""
    operators.require_branch(storage, operator, code)
    month = this_month(clock)
    rep = report.build(storage, code, month, clock=clock)
    trend = report.trend(storage, code, month)
    behind = sorted(({"member_no": m["member_no"], "name": m["name"],
                      "months": len(m["months_owed"]),
                      "amount_yuan": fen_to_yuan(m["amount_owed_fen"])}
                     for m in rep["members_behind"]), key=lambda m: (-m["months"],
                                                                     m["member_no"]))
    return {"branch": rep["branch"], "month": month, "dues": rep["dues"],
            "study": rep["study"], "trend": trend, "behind": behind,
            "members": _members(storage, code, query), "query": query}


def _members(storage: HubStorage, code: str, query: str) -> list[dict]:
    from pypinyin import Style, lazy_pinyin

    rows = storage.report_members(code)
    q = query.strip().lower()
    if not q:
        return rows
    out = []
    for m in rows:
        initials = "".join(p[0] for p in lazy_pinyin(m["name"], style=Style.FIRST_LETTER) if p)
        if q in m["name"] or q in m["member_no"].lower() or initials.lower().startswith(q):
            out.append(m)
    return out


def terminals(storage: HubStorage, operator: dict, *, clock=None) -> dict:
    """The terminals of every branch in scope: last seen, waiting events, chain, clock."""
    now = (clock or default_clock()).now()
    rows = []
    for code in operators.branches_in_scope(storage, operator):
        for t in admin.list_terminals(storage, code):
            rows.append({**t, "quiet": not t["revoked"] and _quiet(t["last_seen"], now)})
    return {"terminals": rows}


def trail(storage: HubStorage, operator: dict, *, limit: int = 200) -> dict:
    """The operators' action trail: a county admin sees everyone's, others their own."""
    who = None if operator["role"] == "county_admin" else operator["username"]
    return operators.trail(storage, limit=limit, operator=who)


_FIELDS = {"member_no": "编号", "name": "姓名", "category": "类别", "joined": "入党日期",
           "probation": "预备党员", "dues_from": "从哪个月交党费", "phones": "电话",
           "status": "状态", "pin_set": "设了新密码", "staff_no": "工作人员编号"}


def proposal_fields(payload) -> list[tuple[str, str]]:
    """A proposal's payload as an operator reads it: Chinese labels, Chinese values, empty
    fields left out (a PIN hash is never in it: conflicts._shown)."""
    if not isinstance(payload, dict):
        return [("内容", str(payload)[:200])]
    out = []
    for key, label in _FIELDS.items():
        value = payload.get(key)
        if value in (None, "", [], False) and key != "probation":
            continue
        if key == "category":
            value = CATEGORIES.get(value, value)
        elif isinstance(value, bool):
            value = "是" if value else "否"
        elif isinstance(value, list):
            value = "、".join(map(str, value))
        out.append((label, str(value)))
    return out


def queues(storage: HubStorage, operator: dict) -> dict:
    """What waits for the operator in every branch in scope: roster proposals, member-months
    paid twice, payments that do not match the hub's record. ``can_act``: not read-only."""
    out = {"proposals": [], "double_payments": [], "payment_checks": [],
           "can_act": operator["role"] != "branch_secretary"}
    names = {b["code"]: b["name"] for b in storage.branch_names()}
    for code in operators.branches_in_scope(storage, operator):
        for p in conflicts.proposals(storage, code):
            out["proposals"].append({**p, "branch_name": names[code],
                                     "fields": proposal_fields(p["payload"])})
        for f in conflicts.flags(storage, code):
            out["double_payments"].append({**f, "branch": code, "branch_name": names[code]})
        for c in conflicts.payment_checks(storage, code):
            out["payment_checks"].append({**c, "branch_name": names[code]})
    return out


def decide_proposal(storage: HubStorage, operator: dict, actor, event_id: str, *,
                    accept: bool, note: str) -> dict:
    """Accept or reject a roster proposal (``conflicts.accept``/``reject``, as the CLI),
    in the operator's scope; on the trail."""
    prop = storage.get_proposal(event_id)
    if prop is None:
        raise NotFound(f"no proposal {event_id}", "没有这条修改申请。")
    operators.require_branch(storage, operator, prop["branch"], write=True)
    decide = conflicts.accept if accept else conflicts.reject
    row = decide(storage, event_id, by=operator["username"], note=note.strip() or None)
    operators.record(storage, actor, "proposal.accepted" if accept else "proposal.rejected",
                     f"proposal:{event_id}", {"branch": prop["branch"], "note": note.strip()})
    return row


def resolve_double_payment(storage: HubStorage, operator: dict, actor, branch: str,
                           member_no: str, month: str, *, note: str) -> dict:
    operators.require_branch(storage, operator, branch, write=True)
    row = conflicts.resolve_flag(storage, branch, member_no, month, note=note,
                                 by=operator["username"])
    operators.record(storage, actor, "double_payment.resolved",
                     f"member:{branch}/{member_no}", {"month": month, "note": note.strip()})
    return row


def resolve_payment_check(storage: HubStorage, operator: dict, actor, branch: str,
                          entry_id: str, *, note: str) -> list[dict]:
    operators.require_branch(storage, operator, branch, write=True)
    rows = conflicts.resolve_payment_check(storage, branch, entry_id, note=note,
                                           by=operator["username"])
    operators.record(storage, actor, "payment_check.resolved", f"entry:{entry_id}",
                     {"branch": branch, "note": note.strip()})
    return rows
