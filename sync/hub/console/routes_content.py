"""The console's 内容 (content) pages: lessons, notices, the dues policy and staff accounts of
a branch (views_content.py says what they show and do).

    GET  /content                       the branches in scope, to pick one
    GET  /content/{code}                its content: forms and what the hub published
    POST /content/{code}/audio          lesson audio, staged (the raw file as the body)
    POST /content/{code}/lesson         publish a lesson (with the staged audio, if any)
    POST /content/{code}/notice         post a notice
    POST /content/{code}/policy         set the dues policy
    POST /content/{code}/staff          add a staff account
    POST /content/{code}/staff/{no}/pin give a staff member a new PIN

The audio is sent as the raw request body by the page's script (XMLHttpRequest, whose
upload events drive the progress bar), with the session's CSRF token in the
``X-CSRF-Token`` header: no multipart parser (python-multipart) is needed, and the hub
reads the bytes as they come, stopping at the size limit. Forms are url-encoded as
elsewhere; a form with bad fields comes back (400) with a message next to each field.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.requests import ClientDisconnect

from core.errors import LianxinError

from .. import content
from . import sessions
from . import views_content as views
from .web import HEADERS, Console, read_form

LESSON_FORM_BYTES = 256 * 1024     # a long lesson, url-encoded (a Hanzi is 9 bytes)
LESSON_FORM_FIELDS = 80            # 5 questions of 7 fields, and the rest
_DRAIN = 2 * content.MAX_AUDIO_BYTES
_DONE = {"lesson": "课程已发布，各终端下次同步时会收到。",
         "notice": "通知已发布，各终端下次同步时会收到。",
         "policy": "交费规定已更新，各终端下次同步时生效。",
         "staff": "工作人员账号已添加，各终端下次同步后可以用它的密码确认收款。",
         "pin": "新密码已设置。各终端下次同步后生效，旧密码就不能用了。"}


def add(app: FastAPI, console: Console) -> None:
    storage = console.storage

    @app.get("/content", include_in_schema=False)
    async def content_branches(request: Request):
        return await console.show(request, "content.html",
                                  lambda op: views.branches(storage, op), nav="content")

    @app.get("/content/{code}", include_in_schema=False)
    async def content_page(request: Request, code: str, done: str = ""):
        return await console.show(request, "content_branch.html",
                                  lambda op: views.page(storage, op, code), nav="content",
                                  done=_DONE.get(done), errors={}, values={})

    @app.post("/content/{code}/audio", include_in_schema=False)
    async def audio(request: Request, code: str):
        try:
            session = await console.signed_in(request)
            sessions.check_csrf(session, request.headers.get("x-csrf-token"))
            token, path = await run_in_threadpool(views.new_upload, storage,
                                                  session.operator, code)
        except LianxinError as e:
            await _drain(request)
            return console.refused_json(e)
        length = request.headers.get("content-length") or "0"
        if not length.isdigit() or int(length) > content.MAX_AUDIO_BYTES:
            await _drain(request)
            return _refused_upload(views.too_large(), 413)
        total = 0
        try:
            with path.open("wb") as out:
                async for chunk in request.stream():   # written up to the limit, then drained
                    total += len(chunk)
                    if total <= content.MAX_AUDIO_BYTES:
                        out.write(chunk)
                    elif total > _DRAIN:
                        break
        except ClientDisconnect:
            path.unlink(missing_ok=True)
            return Response(status_code=400)
        if total > content.MAX_AUDIO_BYTES:
            path.unlink(missing_ok=True)
            return _refused_upload(views.too_large(), 413)
        try:
            info = await run_in_threadpool(views.finish_upload, path)
        except content.NotAudio as e:
            return _refused_upload(e, 400)
        return JSONResponse({"upload": token, **info}, headers=HEADERS)

    def form_route(path: str, section: str, work) -> None:
        """A form of the content page: ``work(session, code, form, **path params)``."""

        @app.post(path, include_in_schema=False, name=f"content_{section}")
        async def act(request: Request, code: str, staff_no: str = ""):
            form = await read_form(request, max_bytes=LESSON_FORM_BYTES,
                                   max_fields=LESSON_FORM_FIELDS)
            back = f"/content/{code}"
            try:
                session = await console.signed_in(request)
                sessions.check_csrf(session, form.get("csrf"))
                await run_in_threadpool(work, session, code, form, staff_no)
            except views.FormErrors as e:
                key = f"pin-{staff_no}" if staff_no else section
                context = await run_in_threadpool(views.page, storage, session.operator, code)
                return console.page(request, "content_branch.html", status=400,
                                    session=session, nav="content", done=None,
                                    errors={key: e.errors},
                                    values={key: views.form_values(form)}, **context)
            except LianxinError as e:
                return console.refused(request, e, back=back)
            anchor = "staff" if section == "pin" else section
            return RedirectResponse(f"{back}?done={section}#{anchor}", status_code=303)

    form_route("/content/{code}/lesson", "lesson", lambda s, code, form, _: views.publish_lesson(
        storage, s.operator, s.actor, code, form))
    form_route("/content/{code}/notice", "notice", lambda s, code, form, _: views.post_notice(
        storage, s.operator, s.actor, code, form))
    form_route("/content/{code}/policy", "policy", lambda s, code, form, _: views.set_policy(
        storage, s.operator, s.actor, code, form))
    form_route("/content/{code}/staff", "staff", lambda s, code, form, _: views.add_staff(
        storage, s.operator, s.actor, code, form))
    form_route("/content/{code}/staff/{staff_no}/pin", "pin",
               lambda s, code, form, no: views.reset_staff_pin(storage, s.operator, s.actor,
                                                               code, no, form))


def _refused_upload(e: content.NotAudio, status: int) -> JSONResponse:
    return JSONResponse({"error": type(e).__name__, "message": e.zh}, status_code=status,
                        headers=HEADERS)


async def _drain(request: Request) -> None:
    """Read what is left of a refused upload (up to twice the limit), so the browser gets
    the answer instead of a broken connection."""
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > _DRAIN:
                return
    except ClientDisconnect:
        return
