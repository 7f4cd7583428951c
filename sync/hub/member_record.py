"""One member's record as the hub holds it (the console's member page and ``lianxin hub
member-record``): who they are on the roster, their dues history (months, amounts, method,
receipt, who confirmed), their study (sittings, lessons, hours) and their consents (what,
granted or withdrawn, when, how).

Personal data: :func:`open_record` puts whoever opens it on the operators' trail
(``member.viewed``). Never a PIN hash: the roster fields are taken from a fixed list.
"""

from __future__ import annotations

import json
from decimal import Decimal

from core.clock import default_clock, month_of
from core.consent import SCOPES
from core.dues import METHODS
from core.dues_rules import CATEGORIES
from core.errors import NotFound
from core.money import fen_to_yuan

from . import conflicts, operators, report
from .storage import HubStorage

KINDS = {"dues": "党费", "voluntary": "自愿多交", "correction": "更正"}
CONSENT_SCOPES = {"terminal_records": "保存党费和学习记录", "phone_recognition": "用电话号码认人",
                  "voice_messages": "保存语音留言"}
CONSENT_METHODS = {"touch": "本人在终端上点选", "voice": "本人语音确认", "staff": "工作人员见证"}
STATUSES = {"active": "正常", "exempt": "免交"}
STATES = {"accepted": "已确认", "proposed": "待确认", "rejected": "未接受"}
_ROSTER_FIELDS = ("category", "joined", "probation")   # never pin_hash, never phones


def hours(seconds: int) -> Decimal:
    """Seconds as hours with two decimals, exactly (no float)."""
    return (Decimal(int(seconds)) / Decimal(3600)).quantize(Decimal("0.01"))


def roster_details(storage: HubStorage, branch: str) -> dict[str, dict]:
    """Member number -> category, date joined and probation, as the hub's roster events
    (imported, or accepted from a terminal) last said."""
    out: dict[str, dict] = {}
    for ev in storage.hub_roster_events(branch):
        if ev["type"] not in ("member.added", "member.updated"):
            continue
        p = json.loads(ev["payload"])
        row = out.setdefault(p.get("member_no", ""), {})
        row.update({k: p[k] for k in _ROSTER_FIELDS if k in p})
    return out


def payment_row(p: dict, names: dict[str, str] | None = None) -> dict:
    """A ledger row for people: kind, months, method and who confirmed in Chinese."""
    who = p["collector_name"] or ""
    if p["collected_by"]:
        who = f"{who}（{p['collected_by']}）" if who else p["collected_by"]
    return {**p, "name": (names or {}).get(p["member_no"], ""),
            "kind_zh": KINDS.get(p["kind"], p["kind"]),
            "amount_yuan": fen_to_yuan(p["amount_fen"]),
            "months": [m for m in (p["months"] or "").split(",") if m],
            "method_zh": METHODS.get(p["method"], p["method"] or ""),
            "confirmed_by": who}


def consent_row(c: dict, staff: dict[str, dict] | None = None) -> dict:
    witness = c["witness"]
    if witness and (staff or {}).get(witness):
        witness = f"{staff[witness]['name']}（{witness}）"
    return {**c, "granted": bool(c["granted"]), "witness": witness,
            "scope_zh": CONSENT_SCOPES.get(c["scope"], c["scope"]),
            "scope_text": SCOPES.get(c["scope"], ""),
            "method_zh": CONSENT_METHODS.get(c["method"], c["method"] or "")}


def months_owed(storage: HubStorage, branch: str, member: dict, month: str) -> dict | None:
    """The member's row of :func:`sync.hub.report.position` (months still owed up to and
    including ``month``, the amount), or None when nothing is owed: the report's own rule,
    fed with this member's rows alone (a big branch's member page need not count them
    all)."""
    no = member["member_no"]
    due = report.rate_lookup([r for r in storage.report_rates(branch)
                               if r["member_no"] == no])
    paid = {(no, r["month"]): r["fen"] for r in storage.member_paid(branch, no, month)}
    _, behind = report.position([member], due, paid, month)
    return behind[0] if behind else None


def record(storage: HubStorage, branch: str, member_no: str, *, clock=None) -> dict:
    """The member's record; :class:`NotFound` when the branch has no such member."""
    info = storage.get_branch(branch)
    if info is None:
        raise NotFound(f"no branch {branch!r} at this hub", "服务中心没有这个支部。")
    conflicts.catch_up(storage)       # what the last pushes brought, as the report reads it
    member = next((m for m in storage.report_members(branch)
                   if m["member_no"] == member_no), None)
    if member is None:
        raise NotFound(f"no member {member_no!r} in branch {branch!r}", "这个支部没有这位党员。")
    month = month_of((clock or default_clock()).now())
    owed = months_owed(storage, branch, member, month)
    details = roster_details(storage, branch).get(member_no, {})
    rate = [r for r in storage.report_rates(branch) if r["member_no"] == member_no]
    titles = storage.lesson_titles(branch)
    staff = storage.hub_staff(branch)
    sittings = [{**s, "title": titles.get(s["lesson_id"], s["lesson_id"]),
                 "minutes": (s["seconds"] + 59) // 60, "completed": bool(s["completed"])}
                for s in storage.export_study(branch, member_no)]
    finished = sorted({s["title"] for s in sittings if s["completed"]})
    seconds = sum(s["seconds"] for s in sittings)
    return {
        "branch": {k: info[k] for k in ("code", "name", "township")}, "month": month,
        "member": {**member, "status_zh": STATUSES.get(member["status"], member["status"]),
                   "state_zh": STATES.get(member["state"], member["state"]),
                   "category_zh": CATEGORIES.get(details.get("category"), ""),
                   "joined": details.get("joined", ""),
                   "probation": bool(details.get("probation")),
                   "rates": [{"year": r["year"], "monthly_fen": r["monthly_fen"],
                              "monthly_yuan": fen_to_yuan(r["monthly_fen"])}
                             for r in rate]},
        "dues": {"entries": [payment_row(p) for p in storage.export_payments(branch,
                                                                             member_no)],
                 "months_owed": owed["months_owed"] if owed else [],
                 "amount_owed_fen": owed["amount_owed_fen"] if owed else 0,
                 "amount_owed_yuan": fen_to_yuan(owed["amount_owed_fen"] if owed else 0)},
        "study": {"sittings": sittings, "seconds": seconds, "hours": str(hours(seconds)),
                  "lessons_finished": finished},
        "consents": [consent_row(c, staff) for c in storage.export_consents(branch,
                                                                              member_no)],
    }


def open_record(storage: HubStorage, actor: operators.Actor, branch: str, member_no: str, *,
                clock=None) -> dict:
    """:func:`record`, with the opening on the operators' trail (``member.viewed``: who,
    which member, from where) once the member is found. The console's member page and
    ``lianxin hub member-record`` both open it this way; scope is the caller's."""
    out = record(storage, branch, member_no, clock=clock)
    operators.record(storage, actor, "member.viewed", f"member:{branch}/{member_no}",
                     {"branch": branch}, clock=clock)
    return out
