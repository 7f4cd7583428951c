"""Operators: the people who run a hub, their roles, passwords and scope, and the trail of
what they did.

    county_admin       every branch of the hub
    township_operator  the branches of one township (``branch.township``)
    branch_secretary   one branch, read-only

The CLI (``lianxin hub operator …``) and the browser console call these same functions:
nothing is possible in only one of them. Every change is written to the action trail
(``operator_action``, hash-chained) with who did it and from where: an operator's username
and the browser's address, or ``cli:<os user>`` and ``local`` for the command line.

Passwords: at least 8 characters, not only digits, not the username; argon2id with
argon2-cffi's defaults (a hub is a server: ~50 ms a try is affordable, unlike a kiosk's PIN
check). Five wrong passwords in a row lock the account for 15 minutes; a right password
while locked is refused too (a guesser learns nothing from it). An unknown username costs
the same hash as a known one and gets the same answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.clock import default_clock, iso
from core.errors import AuthError, InvalidInput, Locked, NotFound

from ..protocol import wall_ms
from .storage import HubStorage

ROLES = {"county_admin": "县级管理员", "township_operator": "乡镇操作员",
         "branch_secretary": "支部书记（只读）"}
MAX_TRIES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 8

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password of anyone")  # unknown users cost the same


class Forbidden(AuthError):
    """An operator acting outside their scope (HTTP 403)."""

    zh_default = "您没有权限查看或修改这个支部的数据。"


@dataclass(frozen=True)
class Actor:
    """Who does something, for the trail: ``operator`` (a username or ``cli:<user>``) and
    ``source`` (an address, or ``local``)."""

    operator: str
    source: str = "local"


def record(storage: HubStorage, actor: Actor, action: str, subject: str = "",
           detail: dict | None = None, *, clock=None) -> int:
    """Write one row of the action trail; its seq."""
    text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return storage.append_action(at=iso((clock or default_clock()).now()),
                                 operator=actor.operator, source=actor.source,
                                 action=action, subject=subject, detail=text)


def trail(storage: HubStorage, *, limit: int = 100, operator: str | None = None) -> dict:
    """The newest ``limit`` rows of the trail (of one ``operator``), and the seq of the
    first row whose chain is broken (None: the whole trail holds)."""
    return {"actions": storage.list_actions(limit=limit, operator=operator),
            "chain_broken_at": storage.verify_actions()}


# -- accounts ------------------------------------------------------------------------

def check_password(username: str, password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD} characters",
                           f"密码至少要{MIN_PASSWORD}个字符。")
    if password.isdigit():
        raise InvalidInput("a password must not be only digits",
                           "密码不能只有数字，请加上字母。")
    if password.strip().lower() == username.strip().lower():
        raise InvalidInput("a password must not be the username", "密码不能和用户名一样。")
    return password


def add(storage: HubStorage, actor: Actor, *, username: str, name: str, role: str,
        password: str, township: str | None = None, branch: str | None = None,
        clock=None) -> dict:
    """A new operator account."""
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise InvalidInput(f"bad username {username!r}",
                           "用户名不能为空，不能有空格，最多64个字符。")
    if not name.strip():
        raise InvalidInput("an operator needs a name", "请填写姓名。")
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r} (one of {', '.join(ROLES)})",
                           "角色只能是县级管理员、乡镇操作员或支部书记。")
    township = (township or "").strip() or None
    branch = (branch or "").strip() or None
    if role == "township_operator":
        if not township or not any(b["township"] == township
                                   for b in storage.branch_names()):
            raise InvalidInput(f"a township operator needs the township of a branch here "
                               f"(got {township!r})", "乡镇操作员要填写本中心已有支部所在的乡镇。")
        branch = None
    elif role == "branch_secretary":
        if not branch or storage.get_branch(branch) is None:
            raise InvalidInput(f"a branch secretary needs a branch of this hub (got "
                               f"{branch!r})", "支部书记要填写本中心已有的支部代码。")
        township = None
    else:
        township = branch = None
    check_password(username, password)
    at = iso((clock or default_clock()).now())
    with storage.transaction():
        if not storage.insert_operator(username=username, name=name.strip(), role=role,
                                       township=township, branch=branch,
                                       pw_hash=_hasher.hash(password), at=at):
            raise InvalidInput(f"operator {username!r} exists", "这个用户名已经有人用了。")
        record(storage, actor, "operator.added", f"operator:{username}",
               {"role": role, "township": township, "branch": branch}, clock=clock)
    return storage.get_operator(username)


def list_all(storage: HubStorage) -> list[dict]:
    """Every account, without password hashes."""
    return storage.list_operators()


def _get(storage: HubStorage, username: str) -> dict:
    row = storage.get_operator(username)
    if row is None:
        raise NotFound(f"no operator {username!r}", "没有这个操作员。")
    return row


def disable(storage: HubStorage, actor: Actor, username: str, *, clock=None) -> dict:
    """The account can no longer sign in; its trail stays."""
    _get(storage, username)
    at = iso((clock or default_clock()).now())
    with storage.transaction():
        if storage.disable_operator(username, at):
            storage.end_sessions_of(username, wall_ms())
            record(storage, actor, "operator.disabled", f"operator:{username}", clock=clock)
    return storage.get_operator(username)


def set_password(storage: HubStorage, actor: Actor, username: str, password: str, *,
                 clock=None) -> None:
    """A new password (an admin's reset, or the operator's own change); clears a lock."""
    _get(storage, username)
    check_password(username, password)
    at = iso((clock or default_clock()).now())
    with storage.transaction():
        storage.set_operator_password(username, _hasher.hash(password), at)
        storage.end_sessions_of(username, wall_ms())   # signed in elsewhere: no longer
        record(storage, actor, "operator.password_set", f"operator:{username}", clock=clock)


def authenticate(storage: HubStorage, username: str, password: str, *, source: str,
                 clock=None) -> dict:
    """The account for a right password; :class:`AuthError` (same answer for an unknown
    name, a wrong password and a disabled account) or :class:`Locked`. Every try goes
    into the trail."""
    now = (clock or default_clock()).now()
    row = storage.get_operator(username)
    pw_hash = storage.operator_pw_hash(username) if row else None
    try:
        ok = _hasher.verify(pw_hash or _DUMMY_HASH, password) and pw_hash is not None
    except (VerificationError, InvalidHashError):
        ok = False
    actor = Actor(username if row else f"unknown:{username[:64]}", source)
    if row and row["locked_until"] and datetime.fromisoformat(row["locked_until"]) > now:
        record(storage, actor, "login.locked", f"operator:{username}", clock=clock)
        raise Locked(f"operator {username} is locked until {row['locked_until']}",
                     row["locked_until"],
                     f"密码错误次数太多，账号已暂时锁定，请{LOCK_MINUTES}分钟后再试。")
    if not ok or row["disabled_at"]:
        tries = 0
        if row and not row["disabled_at"]:
            lock = row["failed"] + 1 >= MAX_TRIES
            tries = storage.note_login_failure(
                username, iso(now + timedelta(minutes=LOCK_MINUTES)) if lock else None)
        record(storage, actor, "login.failed", f"operator:{username}", clock=clock)
        raise AuthError(f"login failed for {username!r}" + (" (disabled)" if row and
                                                             row["disabled_at"] else ""),
                        "用户名或密码不对。", tries_left=max(0, MAX_TRIES - tries))
    if row["failed"]:
        storage.clear_login_failures(username)
    if _hasher.check_needs_rehash(pw_hash):
        storage.set_operator_password(username, _hasher.hash(password), row["password_set_at"])
    record(storage, actor, "login", f"operator:{username}", clock=clock)
    return storage.get_operator(username)


# -- scope ---------------------------------------------------------------------------

def branches_in_scope(storage: HubStorage, operator: dict) -> list[str]:
    """The codes of the branches ``operator`` may see."""
    codes = storage.branch_names()
    if operator["role"] == "county_admin":
        return [b["code"] for b in codes]
    if operator["role"] == "township_operator":
        return [b["code"] for b in codes if b["township"] == operator["township"]]
    return [b["code"] for b in codes if b["code"] == operator["branch"]]


def require_branch(storage: HubStorage, operator: dict, branch: str, *,
                   write: bool = False) -> None:
    """Raise :class:`Forbidden` unless ``operator`` may see (``write``: change) ``branch``."""
    if operator.get("disabled_at"):
        raise Forbidden(f"operator {operator['username']} is disabled")
    if branch not in branches_in_scope(storage, operator):
        raise Forbidden(f"operator {operator['username']} ({operator['role']}) may not open "
                        f"branch {branch!r}")
    if write and operator["role"] == "branch_secretary":
        raise Forbidden(f"operator {operator['username']} is read-only",
                        "支部书记账号只能查看，不能修改。")
