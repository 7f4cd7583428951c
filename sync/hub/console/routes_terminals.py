"""The 终端 page's routes (logic in :mod:`sync.hub.console.views_terminals`).

    GET  /terminals                       terminals in scope; the enrollment-code form
    GET  /terminals/rows                  the table body, refetched every 30 s
    POST /terminals/enroll-code           a one-time code for a branch, shown large (once)
    GET  /terminals/{id}/revoke           the confirmation: which terminal, what follows
    POST /terminals/{id}/revoke           revoke it; back to /terminals
    GET  /queues/events                   被拒或隔离的记录 (linked from 待处理); ?check=1 also
                                          checks every stored event (lianxin hub check)
    POST /queues/events/{id}/quarantine   quarantine an event, with a reason
    POST /queues/events/{id}/release      pass it on again, with a reason

Forms carry the session's CSRF token and need write scope (403 otherwise).
"""

from __future__ import annotations

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool

from core.errors import InvalidInput, LianxinError

from . import sessions, views_events, views_terminals
from .web import Console, read_form

_DONE = {"revoked": "已停用这台终端。它下次联系服务中心时会被拒绝。"}
_EVENTS_DONE = {"quarantined": "已隔离这条记录：终端以后不会再收到它，记录本身保留。",
                "released": "已解除隔离：还没收到这条记录的终端下次同步时会收到。"}


def hub_url(request: Request) -> str:
    """The address the operator reached the hub at: the one a terminal in the same
    network is given (the hub serves sync and console on the same port)."""
    return str(request.base_url).rstrip("/")


def add(app: FastAPI, console: Console) -> None:
    storage = console.storage

    @app.get("/terminals", include_in_schema=False)
    async def terminals(request: Request, every: int = Query(30, ge=2, le=600),
                        done: str = ""):
        return await console.show(request, "terminals.html",
                                  lambda op: views_terminals.page(storage, op),
                                  nav="terminals", every=every, done=_DONE.get(done))

    @app.get("/terminals/rows", include_in_schema=False)
    async def terminal_rows(request: Request):
        return await console.show(request, "terminal_rows.html",
                                  lambda op: views_terminals.page(storage, op))

    @app.post("/terminals/enroll-code", include_in_schema=False)
    async def enroll_code(request: Request):
        form = await read_form(request)
        try:
            session = await console.signed_in(request)
            sessions.check_csrf(session, form.get("csrf"))
        except LianxinError as e:
            return console.refused(request, e, back="/terminals")
        try:
            issued = await run_in_threadpool(
                views_terminals.issue_code, storage, session.operator, session.actor,
                form.get("branch", ""), hub_url=hub_url(request), now_ms=console.now_ms)
        except InvalidInput as e:   # no branch chosen: the page again, the message beside it
            context = await run_in_threadpool(views_terminals.page, storage,
                                              session.operator)
            return console.page(request, "terminals.html", status=400, session=session,
                                nav="terminals", every=30, branch_error=e.zh, **context)
        except LianxinError as e:
            return console.refused(request, e, back="/terminals")
        return console.page(request, "enroll_code.html", session=session, nav="terminals",
                            issued=issued)

    @app.get("/terminals/{terminal_id}/revoke", include_in_schema=False)
    async def revoke_confirm(request: Request, terminal_id: str):
        return await console.show(
            request, "terminal_revoke.html",
            lambda op: views_terminals.revoke_target(storage, op, terminal_id[:64]),
            nav="terminals")

    @app.post("/terminals/{terminal_id}/revoke", include_in_schema=False)
    async def revoke(request: Request, terminal_id: str):
        def work(session, form):
            views_terminals.revoke(storage, session.operator, session.actor,
                                   terminal_id[:64])
            return "/terminals?done=revoked"
        return await console.act(request, work, back="/terminals")

    @app.get("/queues/events", include_in_schema=False)
    async def events(request: Request, check: int = 0, done: str = ""):
        return await console.show(
            request, "queue_events.html",
            lambda op: views_events.queue(storage, op, check=bool(check)), nav="queues",
            done=_EVENTS_DONE.get(done))

    @app.post("/queues/events/{event_id}/{action}", include_in_schema=False)
    async def event_action(request: Request, event_id: str, action: str):
        decide, done = {"quarantine": (views_events.quarantine, "quarantined"),
                        "release": (views_events.release, "released")}.get(action, (None, ""))
        if decide is None:
            return console.page(request, "error.html", status=404, message="没有这个操作。",
                                back="/queues/events")

        def work(session, form):
            decide(storage, session.operator, session.actor, event_id[:64],
                   reason=form.get("reason", "")[:500])
            return f"/queues/events?done={done}"
        return await console.act(request, work, back="/queues/events")
