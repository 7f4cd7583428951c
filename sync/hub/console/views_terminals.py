"""What the 终端 page shows and does, for one signed-in operator: the terminals in scope,
a one-time enrollment code for a branch (shown once, large, to be read over the phone), and
revoking a terminal after a confirmation. Plain dicts, no HTTP; the same hub service
functions as ``lianxin hub enroll-code`` and ``lianxin hub revoke`` (sync.hub.admin), each
change on the operators' action trail.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from core.clock import CST
from core.errors import InvalidInput, NotFound

from .. import admin, operators
from ..storage import HubStorage
from . import views

WEEKDAYS = "一二三四五六日"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def can_change(operator: dict) -> bool:
    return operator["role"] != "branch_secretary"


def page(storage: HubStorage, operator: dict, *, clock=None) -> dict:
    """The terminals in scope (``views.terminals``), with the branches the operator may
    issue an enrollment code for (none for a read-only account)."""
    names = {b["code"]: b for b in storage.branch_names()}
    out = views.terminals(storage, operator, clock=clock)
    for t in out["terminals"]:
        t["branch_name"] = names[t["branch"]]["name"]
    out["can_act"] = can_change(operator)
    out["code_hours"] = admin.CODE_TTL_HOURS
    out["branches"] = ([{"code": c, "name": names[c]["name"]}
                        for c in operators.branches_in_scope(storage, operator)]
                       if out["can_act"] else [])
    return out


def when_zh(ms: int) -> str:
    """A moment as an operator says it: 12月10日（星期四）下午3点05分."""
    t = datetime.fromtimestamp(ms / 1000, CST)
    part = "上午" if t.hour < 12 else "下午" if t.hour < 18 else "晚上"
    hour = t.hour if t.hour <= 12 else t.hour - 12
    return (f"{t.year}年{t.month}月{t.day}日（星期{WEEKDAYS[t.weekday()]}）"
            f"{part}{hour}点{t.minute:02d}分")


def issue_code(storage: HubStorage, operator: dict, actor: operators.Actor, branch: str,
               *, hub_url: str, now_ms=None) -> dict:
    """A one-time enrollment code for ``branch`` (write scope): the code in groups, its
    expiry in plain Chinese, and the hub address the terminal is to be given. The trail
    keeps who made one for which branch, never the code."""
    branch = (branch or "").strip()
    if not branch:
        raise InvalidInput("no branch chosen", "请选择支部。")
    operators.require_branch(storage, operator, branch, write=True)
    issued = admin.issue_enroll_code(storage, branch, now_ms=now_ms)
    operators.record(storage, actor, "terminal.enroll_code", f"branch:{branch}",
                     {"expires_ms": issued["expires_ms"]})
    name = storage.get_branch(branch)["name"]
    return {"code": issued["code"], "groups": issued["code"].split("-"),
            "branch": branch, "branch_name": name, "expires_ms": issued["expires_ms"],
            "expires_zh": when_zh(issued["expires_ms"]),
            "hours": admin.CODE_TTL_HOURS, "hub_url": hub_url,
            "hub_url_local": urlsplit(hub_url).hostname in LOOPBACK}


def _terminal(storage: HubStorage, operator: dict, terminal_id: str, *,
              write: bool) -> dict:
    row = next((t for t in admin.list_terminals(storage)
                if t["terminal_id"] == terminal_id), None)
    if row is None:
        raise NotFound(f"no terminal {terminal_id!r} at this hub", "服务中心没有这台终端。")
    operators.require_branch(storage, operator, row["branch"], write=write)
    row["branch_name"] = storage.get_branch(row["branch"])["name"]
    return row


def revoke_target(storage: HubStorage, operator: dict, terminal_id: str) -> dict:
    """The terminal a confirmation page names (write scope: a read-only account is refused
    here already)."""
    return {"terminal": _terminal(storage, operator, terminal_id, write=True)}


def revoke(storage: HubStorage, operator: dict, actor: operators.Actor,
           terminal_id: str, *, clock=None) -> dict:
    """Revoke the terminal (``admin.revoke_terminal``, as ``lianxin hub revoke``): from its
    next request on, the hub refuses it. On the trail, with its branch and name."""
    t = _terminal(storage, operator, terminal_id, write=True)
    row = admin.revoke_terminal(storage, terminal_id, clock=clock)
    if not t["revoked"]:
        operators.record(storage, actor, "terminal.revoked", f"terminal:{terminal_id}",
                         {"branch": t["branch"], "label": t["label"]})
    return {**row, "branch_name": t["branch_name"]}
