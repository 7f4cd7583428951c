"""What the console's pages show, assembled from the hub's service functions (the same ones
the CLI calls: report, admin, conflicts, log_admin) for one signed-in operator's scope.
Plain dicts, no HTTP and no HTML: the pages render them, and tests read them directly.

Months behind are counted one way everywhere: the months a member still owes, the current
month included (what they would pay to be up to date).
"""

from __future__ import annotations

from core.clock import default_clock, month_of
from core.dues_rules import CATEGORIES
from core.errors import NotFound
from core.money import fen_to_yuan

from .. import admin, conflicts, operators, report
from .. import overview as hub_overview
from ..storage import HubStorage


def this_month(clock=None) -> str:
    return month_of((clock or default_clock()).now())


def overview(storage: HubStorage, operator: dict, *, clock=None) -> dict:
    """Every branch in the operator's scope with what needs attention, and the 12-month
    trend of all of them together (:mod:`sync.hub.overview`)."""
    return hub_overview.overview(storage, operators.branches_in_scope(storage, operator),
                                 clock=clock)


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
            rows.append({**t, "quiet": not t["revoked"] and hub_overview.quiet(t["last_seen"], now)})
    return {"terminals": rows}


ACTIONS_ZH = {
    "login": "登录", "logout": "退出", "login.failed": "登录失败", "login.locked": "登录被锁定",
    "operator.added": "添加操作员", "operator.disabled": "停用操作员",
    "operator.password_set": "设置操作员密码", "branch.created": "建立支部",
    "terminal.enroll_code": "生成终端登记码", "terminal.revoked": "停用终端",
    "proposal.accepted": "接受名册申请", "proposal.rejected": "不接受名册申请",
    "double_payment.resolved": "处理重复交费", "payment_check.resolved": "处理交费核对",
    "roster.imported": "导入名册", "staff.added": "添加工作人员",
    "staff.pin_reset": "重设工作人员密码", "policy.set": "设置党费规定",
    "lesson.published": "发布课程", "notice.posted": "发布通知",
    "event.quarantined": "隔离记录", "event.released": "解除隔离",
    "export.downloaded": "导出表格", "member.viewed": "查看党员信息",
    "voice_message.played": "听语音留言", "voice_message.heard": "语音留言已听",
    "voice_message.followed_up": "语音留言已跟进",
    "voice_message.audio_removed": "语音留言到期删除",
}


def trail(storage: HubStorage, operator: dict, *, limit: int = 200) -> dict:
    """The operators' action trail: a county admin sees everyone's, others their own.
    Each action also in operators' words (``action_zh``; the code itself when unknown)."""
    who = None if operator["role"] == "county_admin" else operator["username"]
    out = operators.trail(storage, limit=limit, operator=who)
    for a in out["actions"]:
        a["action_zh"] = ACTIONS_ZH.get(a["action"], a["action"])
    return out


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
