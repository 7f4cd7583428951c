"""被拒或隔离的记录 (a queue linked from 待处理): terminals whose pushes the hub refuses,
events in the branch log a terminal could not apply, events quarantined, and (on request)
stored events that break today's push rules — in operators' words, for the branches in
scope. Quarantine and release call ``sync.hub.log_admin`` as ``lianxin hub events
quarantine|release`` and ``lianxin hub check`` do; each on the operators' trail.
"""

from __future__ import annotations

import json

from core.errors import NotFound

from ...protocol import ERRORS
from .. import admin, log_admin, operators
from ..storage import HubStorage

LIMIT = 200   # per branch and list: the newest ones

EVENT_ZH = {
    "branch.created": "建立支部", "branch.policy_set": "补交预交规定",
    "staff.added": "新增工作人员", "lesson.published": "发布课程", "notice.posted": "发布通知",
    "member.added": "新增党员", "member.updated": "修改党员信息",
    "member.rate_fixed": "核定党费标准", "member.pin_set": "党员改密码",
    "staff.pin_set": "工作人员改密码", "dues.dues": "交党费", "dues.voluntary": "自愿多交党费",
    "dues.correction": "更正交费记录", "study.session": "学习记录",
    "consent.granted": "同意授权", "consent.withdrawn": "撤回授权",
}
WHY_ZH = {
    "bad_payload": "记录的内容不完整，终端用不了。",
    "unknown_terminal": "发出这条记录的终端在服务中心查不到。",
}


def event_zh(type_: str) -> str:
    return EVENT_ZH.get(type_, f"其他记录（{type_}）")


def why_zh(code: str) -> str:
    """A refusal code (sync.protocol_errors, or log_admin.check's) in plain Chinese."""
    return WHY_ZH.get(code) or (ERRORS[code][2] if code in ERRORS else f"不符合规则（{code}）")


def _member(payload: str) -> str:
    try:
        p = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(p, dict):
        return ""
    who = p.get("member_no") or p.get("staff_no") or ""
    return f"{who} {p.get('name', '')}".strip() if isinstance(who, str) else ""


def _event_row(e: dict, branch_name: str, labels: dict) -> dict:
    origin = "服务中心" if e["origin"] == "hub" else labels.get(e["origin"], e["origin"][:8])
    return {"event_id": e["event_id"], "branch": e["branch"], "branch_name": branch_name,
            "type": e["type"], "type_zh": event_zh(e["type"]), "who": _member(e["payload"]),
            "origin": origin, "at": e["at"], "quarantined": e["quarantined"],
            "quarantined_by": e.get("quarantined_by"),
            "quarantine_reason": e.get("quarantine_reason"),
            "skipped_by": [{"terminal": labels.get(s["terminal_id"], s["terminal_id"][:8]),
                            "reason": s["reason"], "at": s["reported_at"]}
                           for s in e.get("skipped_by", [])]}


def queue(storage: HubStorage, operator: dict, *, check: bool = False) -> dict:
    """What is refused or held back in every branch in scope. ``check``: also run
    ``log_admin.check`` (every stored terminal event against today's rules: slower)."""
    out = {"refused_terminals": [], "skipped": [], "quarantined": [], "checked": None,
           "can_act": operator["role"] != "branch_secretary"}
    names = {b["code"]: b["name"] for b in storage.branch_names()}
    if check:
        out["checked"] = []
    for code in operators.branches_in_scope(storage, operator):
        terminals = admin.list_terminals(storage, code)
        labels = {t["terminal_id"]: t["label"] or t["terminal_id"][:8] for t in terminals}
        for t in terminals:
            if t["chain"] != "ok" and not t["revoked"]:
                why = t["chain"].removeprefix("refused: ")
                out["refused_terminals"].append({
                    "terminal_id": t["terminal_id"], "label": labels[t["terminal_id"]],
                    "branch": code, "branch_name": names[code], "code": why,
                    "why": why_zh(why), "at": t["last_refusal_at"]})
        for e in admin.list_events(storage, code, skipped=True, limit=LIMIT):
            if not e["quarantined"]:
                out["skipped"].append(_event_row(e, names[code], labels))
        for e in admin.list_events(storage, code, quarantined=True, limit=LIMIT):
            out["quarantined"].append(_event_row(e, names[code], labels))
        if check:
            for p in admin.check_log(storage, code):
                if not p["quarantined"]:
                    out["checked"].append({
                        "event_id": p["event_id"], "branch": code, "branch_name": names[code],
                        "type_zh": event_zh(p["type"]), "at": p["at"],
                        "origin": labels.get(p["origin"], p["origin"][:8]),
                        "why": why_zh(p["code"]), "code": p["code"]})
    return out


def _event_branch(storage: HubStorage, operator: dict, event_id: str) -> str:
    row = storage.log_event(event_id)
    if row is None:
        raise NotFound(f"no event {event_id!r} in the branch log", "没有这条记录。")
    operators.require_branch(storage, operator, row["branch"], write=True)
    return row["branch"]


def quarantine(storage: HubStorage, operator: dict, actor: operators.Actor, event_id: str,
               *, reason: str) -> dict:
    """Stop passing the event to terminals (``log_admin.quarantine``), with a reason."""
    branch = _event_branch(storage, operator, event_id)
    row = log_admin.quarantine(storage, event_id, by=operator["username"], reason=reason)
    operators.record(storage, actor, "event.quarantined", f"event:{event_id}",
                     {"branch": branch, "reason": reason.strip()})
    return row


def release(storage: HubStorage, operator: dict, actor: operators.Actor, event_id: str,
            *, reason: str) -> dict:
    """Pass a quarantined event on again (``log_admin.release``); the reason goes on the
    trail."""
    branch = _event_branch(storage, operator, event_id)
    row = log_admin.release(storage, event_id, by=operator["username"], reason=reason)
    operators.record(storage, actor, "event.released", f"event:{event_id}",
                     {"branch": branch, "reason": reason.strip()})
    return row
