"""The console's pages on the hub's own app (same port and TLS as sync; the sync API stays
under ``/v1``). Handlers are thin: the signed-in operator, one function of
:mod:`sync.hub.console.views` in a worker thread, a template.

    GET  /login, POST /login, POST /logout
    GET  /                  overview of the branches in scope
    GET  /branch/{code}     one branch (403 outside the operator's scope)
    GET  /terminals         terminals, enrollment codes, revoking (routes_terminals)
    GET  /queues            what waits (待处理): roster proposals, double payments, payment
                            checks; POST /queues/… decides one (CSRF, write scope)
    GET  /voice             voice messages, played and marked (routes_voice.py)
    GET  /log               the operators' action trail (操作记录)
    GET  /content/…         lessons, notices, dues policy, staff (routes_content.py)
    GET  /exports, /branch/{code}/summary/{year}, /branch/{code}/member/{no}
                            exports, the printable yearly summary, a member's page
                            (routes_exports.py)
    GET  /static/{file}     the stylesheet and the one small script, served by the hub

Sign-in tries are limited per source address as well as per account (sync.hub.operators).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from core.errors import AuthError, LianxinError, Locked

from ..storage import HubStorage
from . import routes_content, routes_exports, routes_terminals, routes_voice, sessions, views
from .web import HERE, Console, read_form

LOGIN_COOKIE = "lianxin_login"          # double-submit token of the sign-in form
_STATIC = {"console.css": "text/css", "console.js": "text/javascript",
           "content.js": "text/javascript", "exports.css": "text/css"}
_DONE = {"accepted": "已接受这条修改申请，各终端下次同步时会收到。",
         "rejected": "已不接受这条修改申请。", "resolved": "已记下处理结果。"}


def mount(app: FastAPI, storage: HubStorage, *, now_ms: Callable[[], int], attempts,
          idle_ms: int = sessions.IDLE_MS) -> None:
    """Add the console's routes to the hub app. ``now_ms`` is the protocol clock (session
    times); ``attempts`` a per-address token bucket with ``take(key) -> seconds to wait``;
    ``idle_ms`` signs an idle operator out."""
    console = Console(storage, now_ms=now_ms, idle_ms=idle_ms)
    page, source, signed_in = console.page, console.source, console.signed_in
    refused, show = console.refused, console.show
    routes_terminals.add(app, console)
    routes_voice.add(app, console)
    routes_exports.add(app, console)

    @app.get("/login", include_in_schema=False)
    async def login_form(request: Request, idle: int = 0):
        try:
            await signed_in(request)
            return RedirectResponse("/", status_code=303)
        except sessions.SignedOut:
            return _login_page(request, page, sessions.IDLE_ZH if idle else None)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        form = await read_form(request)
        cookie = request.cookies.get(LOGIN_COOKIE) or ""
        if not cookie or not secrets.compare_digest(str(form.get("login_token", "")), cookie):
            return _login_page(request, page, "页面已过期，请再登录一次。", status=403)
        wait = attempts.take(source(request))
        if wait:
            return _login_page(request, page, f"登录太频繁，请{wait}秒后再试。", status=429)
        username = str(form.get("username", "")).strip()[:64]
        try:
            token, _ = await run_in_threadpool(
                sessions.sign_in, storage, username, str(form.get("password", ""))[:200],
                source=source(request), now_ms=now_ms())
        except Locked as e:
            return _login_page(request, page, e.zh, status=429, username=username)
        except AuthError as e:
            return _login_page(request, page, e.zh, status=401, username=username)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(sessions.COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request):
        form = await read_form(request)
        try:
            session = await signed_in(request)
            sessions.check_csrf(session, form.get("csrf"))
            await run_in_threadpool(sessions.sign_out, storage, session, now_ms=now_ms())
        except LianxinError as e:
            return refused(request, e)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response

    @app.get("/", include_in_schema=False)
    async def overview(request: Request):
        return await show(request, "overview.html",
                          lambda op: views.overview(storage, op), nav="overview")

    @app.get("/branch/{code}", include_in_schema=False)
    async def branch(request: Request, code: str, q: str = ""):
        return await show(request, "branch.html",
                          lambda op: views.branch(storage, op, code, query=q[:40]),
                          nav="overview")

    @app.get("/queues", include_in_schema=False)
    async def queues(request: Request, done: str = ""):
        return await show(request, "queues.html", lambda op: views.queues(storage, op),
                          nav="queues", done=_DONE.get(done))

    async def act(request: Request, work) -> Response:
        """A decision on 待处理: back there with what was done."""
        return await console.act(request, lambda session, form: "/queues?done="
                                 + work(session, form), back="/queues")

    @app.post("/queues/proposal/{event_id}", include_in_schema=False)
    async def proposal(request: Request, event_id: str):
        def work(session, form):
            accept = form.get("decision") == "accept"
            views.decide_proposal(storage, session.operator, session.actor, event_id,
                                  accept=accept, note=form.get("note", "")[:500])
            return "accepted" if accept else "rejected"
        return await act(request, work)

    @app.post("/queues/double-payment", include_in_schema=False)
    async def double_payment(request: Request):
        def work(session, form):
            views.resolve_double_payment(storage, session.operator, session.actor,
                                         form.get("branch", ""), form.get("member_no", ""),
                                         form.get("month", ""), note=form.get("note", "")[:500])
            return "resolved"
        return await act(request, work)

    @app.post("/queues/payment-check", include_in_schema=False)
    async def payment_check(request: Request):
        def work(session, form):
            views.resolve_payment_check(storage, session.operator, session.actor,
                                        form.get("branch", ""), form.get("entry_id", ""),
                                        note=form.get("note", "")[:500])
            return "resolved"
        return await act(request, work)

    @app.get("/log", include_in_schema=False)
    async def trail(request: Request):
        return await show(request, "log.html", lambda op: views.trail(storage, op), nav="log")

    routes_content.add(app, console)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str):
        if name not in _STATIC:
            return Response(status_code=404)
        return FileResponse(HERE / "static" / name, media_type=_STATIC[name],
                            headers={"Cache-Control": "max-age=3600",
                                     "X-Content-Type-Options": "nosniff"})


def _login_page(request: Request, page, message: str | None, status: int = 200,
                username: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", status=status, message=message,
                    login_token=token, username=username)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/login")
    return response
