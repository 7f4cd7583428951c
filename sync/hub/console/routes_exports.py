"""The console's exports, printable yearly summary and member page (handlers only; the
logic is in views_exports.py and views_member.py).

    GET /exports                          导出: the tables of a branch in scope (?branch=CODE)
    GET /exports/{code}/{table}.{xlsx|csv}  one table as a file (403 outside the scope)
    GET /exports/trail.{xlsx|csv}         the operators' action trail (county admin only)
    GET /branch/{code}/summary[/{year}]   the yearly collection summary, printable (A4)
    GET /branch/{code}/member/{no}        a member's dues, study and consents (on the trail)

Downloads are plain GET links behind the session and the scope, with a Content-Disposition
naming the file in ASCII and in UTF-8 (``filename*``); each export is on the trail.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from core.errors import LianxinError

from .. import operators
from . import views_exports, views_member
from .views import this_month
from .web import HEADERS, Console, wants_json_answer


def add(app: FastAPI, console: Console) -> None:
    storage, show = console.storage, console.show

    @app.get("/exports", include_in_schema=False)
    async def exports_page(request: Request, branch: str = ""):
        return await show(request, "exports.html",
                          lambda op: views_exports.page(storage, op, branch[:64]),
                          nav="exports")

    async def download(request: Request, code: str | None, filename: str) -> Response:
        try:
            session = await console.signed_in(request)
            out = await run_in_threadpool(views_exports.download, storage, session.operator,
                                          session.actor, code, filename[:64])
        except LianxinError as e:
            if wants_json_answer(request):
                return console.refused_json(e)
            return console.refused(request, e)
        return Response(out.body, media_type=out.media_type,
                        headers={**HEADERS, "Content-Disposition": out.disposition})

    @app.get("/exports/{code}/{filename}", include_in_schema=False)
    async def branch_file(request: Request, code: str, filename: str):
        return await download(request, code, filename)

    @app.get("/exports/{filename}", include_in_schema=False)
    async def hub_file(request: Request, filename: str):
        if not filename.startswith("trail."):
            return Response(status_code=404)
        return await download(request, None, filename)

    @app.get("/branch/{code}/summary", include_in_schema=False)
    async def summary_now(code: str):
        return RedirectResponse(f"/branch/{code}/summary/{this_month()[:4]}", status_code=303)

    @app.get("/branch/{code}/summary/{year}", include_in_schema=False)
    async def summary(request: Request, code: str, year: str):
        return await show(request, "summary.html",
                          lambda op: views_exports.summary(storage, op, code, year[:8]),
                          nav="overview")

    @app.get("/branch/{code}/member/{member_no}", include_in_schema=False)
    async def member(request: Request, code: str, member_no: str):
        source = console.source(request)
        return await show(request, "member.html",
                          lambda op: views_member.member(
                              storage, op, operators.Actor(op["username"], source), code,
                              member_no[:32]), nav="overview")
