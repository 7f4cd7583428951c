"""Browser sessions of operators: sign in, the signed-in operator of a request, CSRF,
sign out.

The cookie holds a random 256-bit token; the hub keeps only its SHA-256
(``operator_session``), so a copied database signs nobody in. The cookie is HttpOnly,
SameSite=Strict, and Secure when the hub serves TLS. A session ends after 30 idle minutes
or 12 hours in all, at sign-out, and when its operator is disabled or given a new password.
Every form carries the session's own CSRF token (checked in constant time); SameSite alone
would leave older browsers open. Times are the protocol clock (the wall clock), never the
business clock a hub may be pinned to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from core.errors import AuthError

from .. import operators
from ..storage import HubStorage

COOKIE = "lianxin_console"
IDLE_MS = 30 * 60 * 1000
MAX_AGE_MS = 12 * 3600 * 1000


IDLE_ZH = "您太久没有操作，已自动退出，请重新登录。"


class SignedOut(AuthError):
    """No session, or it ended (``idle``: it timed out): the browser goes to the sign-in
    page."""

    zh_default = "请先登录。"

    def __init__(self, detail: str, zh: str | None = None, *, idle: bool = False):
        super().__init__(detail, zh)
        self.idle = idle


class BadForm(AuthError):
    """A form without this session's CSRF token (HTTP 403)."""

    zh_default = "页面已过期，请刷新后再试。"


@dataclass(frozen=True)
class Session:
    token_sha256: str
    operator: dict
    csrf: str
    source: str

    @property
    def actor(self) -> operators.Actor:
        return operators.Actor(self.operator["username"], self.source)


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def sign_in(storage: HubStorage, username: str, password: str, *, source: str,
            now_ms: int) -> tuple[str, Session]:
    """(cookie token, session) for a right password; AuthError or Locked otherwise."""
    operator = operators.authenticate(storage, username, password, source=source)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    storage.forget_sessions(now_ms - MAX_AGE_MS)
    storage.insert_session(token_sha256=_sha(token), username=operator["username"],
                           csrf=csrf, source=source, now_ms=now_ms)
    return token, Session(_sha(token), operator, csrf, source)


def current(storage: HubStorage, token: str | None, *, source: str, now_ms: int,
            idle_ms: int = IDLE_MS) -> Session:
    """The live session of a cookie token (its idle time restarts), or :class:`SignedOut`."""
    if not token or len(token) > 200:
        raise SignedOut("no session cookie")
    row = storage.get_session(_sha(token))
    if row is None or row["ended_ms"] is not None:
        raise SignedOut("no such session, or it ended")
    if now_ms - row["seen_ms"] > idle_ms or now_ms - row["created_ms"] > MAX_AGE_MS:
        storage.end_session(row["token_sha256"], now_ms)
        raise SignedOut("session expired", IDLE_ZH, idle=True)
    operator = storage.get_operator(row["username"])
    if operator is None or operator["disabled_at"]:
        storage.end_session(row["token_sha256"], now_ms)
        raise SignedOut("operator disabled")
    storage.touch_session(row["token_sha256"], now_ms)
    return Session(row["token_sha256"], operator, row["csrf"], source)


def check_csrf(session: Session, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(sent.encode("utf-8"), session.csrf.encode("utf-8")):
        raise BadForm("form without this session's CSRF token")


def sign_out(storage: HubStorage, session: Session, *, now_ms: int) -> None:
    storage.end_session(session.token_sha256, now_ms)
    operators.record(storage, session.actor, "logout", f"operator:{session.operator['username']}")
