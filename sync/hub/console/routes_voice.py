"""The console's 语音留言 (voice messages) routes, linked from 待处理:

    GET  /voice                       the messages of the branches in scope not followed up
                                      yet (``?all=1``: every one), each with a player
    GET  /voice/{message_id}.wav      the recording (audio/wav; ranges for seeking) behind the
                                      session and scope: 403 outside it, 404 when its audio
                                      has not arrived or retention removed it; opening it is
                                      on the operators' trail
    POST /voice/{message_id}/heard        已听 (CSRF, write scope)
    POST /voice/{message_id}/followed-up  已跟进, with a note (CSRF, write scope)

A follow-up without a note shows the page again with the message next to the field.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from core.errors import InvalidInput, LianxinError

from . import sessions, views_voice
from .web import HEADERS, Console, read_form

_DONE = {"heard": "已记下：这条留言听过了。", "followed": "已记下跟进情况。"}


def add(app: FastAPI, console: Console) -> None:
    storage = console.storage

    @app.get("/voice", include_in_schema=False)
    async def voice_page(request: Request, all: int = 0, done: str = ""):
        return await console.show(
            request, "voice.html",
            lambda op: views_voice.messages(storage, op, everything=bool(all)),
            nav="voice", done=_DONE.get(done), errors={}, notes={})

    @app.get("/voice/{message_id}.wav", include_in_schema=False)
    async def voice_audio(request: Request, message_id: str):
        header = request.headers.get("range")
        try:
            session = await console.signed_in(request)
            start = _range_start(header)
            wav = await run_in_threadpool(views_voice.audio, storage, session.operator,
                                          session.actor, message_id, first=start == 0)
        except LianxinError as e:
            return console.refused_json(e)
        return _ranged(wav, header)

    @app.post("/voice/{message_id}/heard", include_in_schema=False)
    async def heard(request: Request, message_id: str):
        def work(session, form):
            views_voice.mark_heard(storage, session.operator, session.actor, message_id)
            return "/voice?done=heard"
        return await console.act(request, work, back="/voice")

    @app.post("/voice/{message_id}/followed-up", include_in_schema=False)
    async def followed_up(request: Request, message_id: str):
        form = await read_form(request)
        note = form.get("note", "")[:500]
        try:
            session = await console.signed_in(request)
            sessions.check_csrf(session, form.get("csrf"))
            await run_in_threadpool(views_voice.follow_up, storage, session.operator,
                                    session.actor, message_id, note)
        except InvalidInput as e:
            if "处理过了" in e.zh:           # someone followed it up first: 409, by whom
                return console.refused(request, e, back="/voice")
            return await _with_error(request, session, message_id, note, e.zh)
        except LianxinError as e:
            return console.refused(request, e, back="/voice")
        return Response(status_code=303, headers={"Location": "/voice?done=followed"})

    async def _with_error(request: Request, session, message_id: str, note: str,
                          message: str) -> Response:
        """The page again, the message next to the note field that needs it (400)."""
        context = await run_in_threadpool(views_voice.messages, storage, session.operator)
        return console.page(request, "voice.html", status=400, session=session, nav="voice",
                            done=None, errors={message_id: message},
                            notes={message_id: note}, **context)


def _range_start(header: str | None) -> int:
    """Where a ``Range: bytes=N-[M]`` header starts (0 without one)."""
    if not header:
        return 0
    spec = header.partition("=")[2]
    first = spec.partition("-")[0].strip()
    return int(first) if first.isascii() and first.isdigit() and len(first) < 12 else 0


def _ranged(wav: bytes, header: str | None) -> Response:
    """The whole WAV, or the one range asked for (206; 416 past the end)."""
    size = len(wav)
    headers = {**HEADERS, "Accept-Ranges": "bytes"}
    if not header:
        return Response(wav, media_type="audio/wav", headers=headers)
    unit, _, spec = header.partition("=")
    first, dash, last = spec.strip().partition("-")
    ok = (unit.strip().lower() == "bytes" and dash and "," not in spec
          and first.isascii() and first.isdigit() and len(first) < 12
          and (not last or (last.isascii() and last.isdigit() and len(last) < 12)))
    start = int(first) if ok else size
    end = min(int(last) + 1, size) if ok and last else size
    if not ok or start >= size or end <= start:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    return Response(wav[start:end], status_code=206, media_type="audio/wav",
                    headers={**headers, "Content-Range": f"bytes {start}-{end - 1}/{size}"})
