"""What every console page handler shares: the templates, the signed-in operator of a
request, the answer to a refused request, a page, and a form that changes something (CSRF
checked). Each area of the console adds its routes in a module of its own
(``routes*.py``) with a :class:`Console`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from core.errors import LianxinError, NotFound

from .. import operators
from ..storage import HubStorage
from . import charts, sessions

HERE = Path(__file__).parent
MAX_FORM = 16 * 1024
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; media-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

env = Environment(loader=FileSystemLoader(HERE / "templates"),
                  autoescape=select_autoescape(["html"]), trim_blocks=True,
                  lstrip_blocks=True)
env.globals.update(roles=operators.ROLES, dues_bars=charts.dues_bars)
env.filters["yuan"] = lambda fen: f"{fen / 100:,.2f}"
env.filters["pct"] = lambda rate: "—" if rate is None else f"{rate}%"
env.filters["when"] = lambda ts: (ts or "从未")[:16].replace("T", " ")


def _clock_offset(ms: int | None) -> str:
    """A terminal's clock against the hub's, as an operator says it (within two minutes is
    right; unknown before its first sync)."""
    if ms is None:
        return "—"
    minutes = round(abs(ms) / 60000)
    if minutes <= 2:
        return "准"
    amount = f"{minutes}分钟" if minutes < 120 else f"{minutes // 60}小时"
    return ("快" if ms > 0 else "慢") + amount


env.filters["clock_offset"] = _clock_offset


class Console:
    """The hub's storage and clocks, and the helpers every handler uses. ``now_ms`` is the
    protocol clock (session times); ``idle_ms`` signs an idle operator out."""

    def __init__(self, storage: HubStorage, *, now_ms: Callable[[], int],
                 idle_ms: int = sessions.IDLE_MS):
        self.storage, self.now_ms, self.idle_ms = storage, now_ms, idle_ms

    def page(self, request: Request, name: str, status: int = 200,
             **context) -> HTMLResponse:
        html = env.get_template(name).render(request=request, **context)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    @staticmethod
    def source(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    async def signed_in(self, request: Request) -> sessions.Session:
        return await run_in_threadpool(sessions.current, self.storage,
                                       request.cookies.get(sessions.COOKIE),
                                       source=self.source(request), now_ms=self.now_ms(),
                                       idle_ms=self.idle_ms)

    def refused(self, request: Request, e: LianxinError, back: str = "/") -> Response:
        """A refused request: to the sign-in page when signed out, else a page saying why
        (403 out of scope or a bad form, 404, 409 already decided, 400)."""
        if isinstance(e, sessions.SignedOut):
            return RedirectResponse("/login?idle=1" if e.idle else "/login", status_code=303)
        status = 403 if isinstance(e, operators.Forbidden | sessions.BadForm) else (
            404 if isinstance(e, NotFound) else 409 if "处理过了" in e.zh else 400)
        return self.page(request, "error.html", status=status, message=e.zh, back=back)

    async def show(self, request: Request, template: str, build, **kw) -> Response:
        """A page for the signed-in operator: ``build(operator) -> context`` in a worker
        thread. Asked for JSON (``Accept: application/json``), the same page answers with
        its context as JSON, behind the same session and scope: anything the console shows,
        a program can read (refusals as ``{"error", "message"}`` with the same status)."""
        wants_json = wants_json_answer(request)
        try:
            session = await self.signed_in(request)
            context = await run_in_threadpool(build, session.operator)
        except LianxinError as e:
            if wants_json:
                return self.refused_json(e)
            return self.refused(request, e)
        if wants_json:
            return JSONResponse(jsonable_encoder(context), headers=HEADERS)
        return self.page(request, template, session=session, **context, **kw)

    def refused_json(self, e: LianxinError) -> JSONResponse:
        status = 401 if isinstance(e, sessions.SignedOut) else 403 if isinstance(
            e, operators.Forbidden | sessions.BadForm) else 404 if isinstance(
            e, NotFound) else 409 if "处理过了" in e.zh else 400
        return JSONResponse({"error": type(e).__name__, "message": e.zh},
                            status_code=status, headers=HEADERS)

    async def act(self, request: Request, work, *, back: str) -> Response:
        """A form that changes something: signed in, this session's CSRF token, then
        ``work(session, form) -> address`` in a worker thread, and the browser goes there.
        A refusal shows why, with a way ``back``."""
        form = await read_form(request)
        try:
            session = await self.signed_in(request)
            sessions.check_csrf(session, form.get("csrf"))
            where = await run_in_threadpool(work, session, form)
        except LianxinError as e:
            return self.refused(request, e, back=back)
        return RedirectResponse(where, status_code=303)


def wants_json_answer(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def read_form(request: Request, *, max_bytes: int = MAX_FORM,
                    max_fields: int = 20) -> dict[str, str]:
    """A url-encoded form (what the console's pages send, uploads aside), at most 16 KB
    and 20 fields unless a page needs more (a lesson); anything else reads as an empty
    form, which every handler refuses."""
    if request.headers.get("content-type", "").split(";")[0].strip() != \
            "application/x-www-form-urlencoded":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=max_fields)
    except (UnicodeDecodeError, ValueError):
        return {}
    return dict(pairs)
