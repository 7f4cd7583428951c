"""The hub's HTTP surface (protocol v1, docs/sync-protocol.md) as a FastAPI app.

Handlers are thin: read the raw body (bounded, gunzipped), hand it to one function of
:mod:`sync.hub.service` in a worker thread, and turn a :class:`ProtocolError` into its 4xx
JSON. Every response of the sync API, error or not, is JSON (media bytes aside) and
carries the hub's time. The operators' console (HTML pages) is mounted beside it from
:mod:`sync.hub.console`. Bad input of any kind is a 4xx, never a 5xx.

    create_app(storage, now_ms=..., max_body=..., enroll_per_minute=...)  -> FastAPI

Enrollment codes are short and typed by people, so enrollment attempts are limited per
source address (a token bucket in memory: ``enroll_per_minute`` at once, refilled at that
rate); beyond it, 429 ``too_many_requests`` with ``Retry-After``.
"""

from __future__ import annotations

import json
import math
import threading
import time
import zlib
from collections.abc import Callable, Iterator

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from .. import protocol
from ..protocol import ProtocolError
from . import service, voice
from .console import mount as mount_console
from .storage import HubStorage

_DRAIN_FACTOR = 4          # read (and drop) an oversized body up to this many times the limit
_CHUNK = 64 * 1024
_MAX_DIGITS = 18           # a number in a header: Content-Length, a Range's ends (< 10**18)

_ENROLL_SCHEMA = {
    "type": "object", "required": ["code", "terminal_id", "public_key"],
    "properties": {
        "code": {"type": "string"}, "terminal_id": {"type": "string"},
        "public_key": {"type": "string", "description": "base64 of the raw 32-byte key"},
        "label": {"type": "string"}, "branch_code": {"type": "string"},
    },
}
_SEQ_SCHEMA = {"type": "integer", "minimum": 1, "exclusiveMaximum": protocol.MAX_SEQ}
_PUSH_SCHEMA = {
    "type": "object",
    "properties": {
        "head_seq": {"type": "integer", "minimum": 0, "exclusiveMaximum": protocol.MAX_SEQ},
        "events": {"type": "array", "maxItems": protocol.PUSH_BATCH, "items": {
            "type": "object", "required": list(protocol.EVENT_FIELDS),
            "properties": {"seq": _SEQ_SCHEMA,
                           **{k: {"type": "string"} for k in protocol.EVENT_FIELDS[1:]}}}},
        "audit": {"type": "array", "maxItems": protocol.PUSH_BATCH, "items": {
            "type": "object", "required": list(protocol.AUDIT_FIELDS),
            "properties": {"seq": _SEQ_SCHEMA,
                           **{k: {"type": "string"} for k in protocol.AUDIT_FIELDS[1:]}}}},
        # Version 3 (sync.protocol_wire): rows instead of events and audit.
        "prev": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "rows": {"type": "array", "maxItems": protocol.PUSH_ROWS, "items": {
            "type": "array", "minItems": 7, "maxItems": 7,
            "description": "[audit_seq, at|null, actor, subject, action|null, detail|null, "
                           "[seq, event_id, type, payload, at]|null]"}},
    },
}


def _body_doc(schema: dict) -> dict:
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}}}


def _error(code: str, detail: str | None = None) -> JSONResponse:
    e = ProtocolError(code, detail)
    return JSONResponse(e.as_dict(), status_code=e.status)


def _json(request: Request, data, status: int = 200) -> Response:
    return _answer(data, request.headers.get("accept-encoding", ""), status)


def _answer(data, accept: str, status: int = 200) -> Response:
    """``data`` as a JSON answer, compressed as ``accept`` allows (gzip; xz from
    protocol.XZ_ANSWER_FROM). Large answers (pull pages) are made in a worker thread
    (:func:`_answered`): compressing one on the event loop stalls every other request,
    ``/health`` included, and a load balancer then takes the process out."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    body, encoding = protocol.compress(body, accept, xz_from=protocol.XZ_ANSWER_FROM)
    headers = {"Content-Encoding": encoding} if encoding else {}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _answer_lines(answer: tuple[str | None, Iterator[bytes]]) -> Response:
    """Lines of JSON (a v4 pull, ``service.pull_lines``); an xz answer is sent as it is
    made (StreamingResponse runs the generator in worker threads)."""
    encoding, chunks = answer
    headers = {"Content-Encoding": encoding} if encoding else {}
    if encoding == "xz":
        return StreamingResponse(chunks, media_type="application/x-ndjson", headers=headers)
    return Response(b"".join(chunks), media_type="application/x-ndjson", headers=headers)


async def _answered(request: Request, fn, *args, **kw) -> Response:
    """``fn(*args, **kw)``'s result as a JSON answer, worked out and encoded in one hop to
    a worker thread."""
    accept = request.headers.get("accept-encoding", "")
    return await run_in_threadpool(lambda: _answer(fn(*args, **kw), accept))


def _signed_path(request: Request) -> str:
    """The path and query exactly as the client sent them (what it signed)."""
    raw = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    query = request.scope.get("query_string") or b""
    return (raw + (b"?" + query if query else b"")).decode("latin-1")


async def _raw_body(request: Request, max_body: int) -> bytes:
    """The body as sent, at most ``max_body`` bytes; a larger one is drained and refused."""
    length = request.headers.get("content-length")
    if length is not None and (not _number(length)
                               or int(length) > max_body * _DRAIN_FACTOR):
        raise ProtocolError("body_too_large")
    chunks, total = [], 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_body * _DRAIN_FACTOR:
                raise ProtocolError("body_too_large")
            if total <= max_body:
                chunks.append(chunk)
    except ClientDisconnect as e:
        raise ProtocolError("bad_request", "the client went away mid-body") from e
    if total > max_body:
        raise ProtocolError("body_too_large")
    return b"".join(chunks)


def _decode(request: Request, raw: bytes, max_body: int) -> dict:
    """Gunzip or unxz (if so encoded) within the size limit and parse a JSON object."""
    ctype = request.headers.get("content-type", "application/json")
    if ctype.split(";")[0].strip().lower() not in ("application/json", ""):
        raise ProtocolError("unsupported_media_type")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = d.decompress(raw, max_body + 1)
        except zlib.error as e:
            raise ProtocolError("bad_encoding", str(e)) from e
        if len(body) > max_body:
            raise ProtocolError("body_too_large")
        if not d.eof:
            raise ProtocolError("bad_encoding", "the gzip stream is truncated")
    elif encoding == "xz":
        body = protocol.xz_decompress(raw, max_body)
    elif encoding == "identity":
        body = raw
    else:
        raise ProtocolError("bad_encoding", f"unsupported Content-Encoding {encoding!r}")
    return protocol.parse_json_object(body)


ENROLL_PER_MINUTE = 10     # enrollment attempts per source address (burst and rate)
CONSOLE_LOGINS_PER_MINUTE = 20   # console sign-in tries per source address


def create_app(storage: HubStorage, *, now_ms: Callable[[], int] | None = None,
               max_body: int = protocol.MAX_BODY,
               enroll_per_minute: int = ENROLL_PER_MINUTE,
               console_logins_per_minute: int = CONSOLE_LOGINS_PER_MINUTE,
               console_idle_s: float = 30 * 60,
               pull_line: int = protocol.PULL_LINE,
               monotonic: Callable[[], float] = time.monotonic) -> FastAPI:
    """The hub app over an open :class:`HubStorage`; ``now_ms`` is the hub's protocol clock
    (default: the wall clock, :func:`sync.protocol.wall_ms`); ``enroll_per_minute`` bounds
    enrollment attempts per source address (0: no bound), timed by ``monotonic``;
    ``pull_line``: events in one line of a v4 pull answer."""
    clock = now_ms or protocol.wall_ms
    enroll_attempts = _Attempts(enroll_per_minute, 60.0, monotonic)
    app = FastAPI(title="Lianxin hub", version=f"protocol {protocol.PROTOCOL_VERSION}",
                  docs_url=None, redoc_url=None)

    app.add_middleware(_HubTime, clock=clock)

    @app.exception_handler(ProtocolError)
    async def protocol_error(request: Request, e: ProtocolError):
        headers = {}
        if e.code == "range_not_satisfiable":
            headers["Content-Range"] = f"bytes */{e.extra.get('size', 0)}"
        return JSONResponse(e.as_dict(), status_code=e.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, e: RequestValidationError):
        where = "; ".join(f"{'.'.join(map(str, err.get('loc', ())))}: {err.get('msg')}"
                          for err in e.errors())
        return _error("bad_request", where[:500])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "bad_request")
        return _error(code)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, e: Exception):
        return _error("internal", type(e).__name__)

    async def _signed(request: Request) -> tuple[bytes, service.Caller]:
        raw = await _raw_body(request, max_body)
        caller = await run_in_threadpool(service.authenticate, storage, request.headers,
                                         request.method, _signed_path(request), raw, clock())
        return raw, caller

    mount_console(app, storage, now_ms=clock, idle_ms=int(console_idle_s * 1000),
                  attempts=_Attempts(console_logins_per_minute, 60.0, monotonic))

    @app.get("/health")
    async def health():
        return {"ok": True}

    @app.get("/v1/info")
    async def info():
        return {"protocol": protocol.PROTOCOL_VERSION, "hub_id": storage.meta("hub_id"),
                "hub_time": clock()}

    @app.post("/v1/enroll", openapi_extra=_body_doc(_ENROLL_SCHEMA))
    async def enroll(request: Request):
        protocol.check_version(request.headers)
        wait = enroll_attempts.take(request.client.host if request.client else "")
        if wait:
            e = ProtocolError("too_many_requests", retry_after=wait)
            return JSONResponse(e.as_dict(), status_code=e.status,
                                headers={"Retry-After": str(wait)})
        raw = await _raw_body(request, max_body)
        data = _decode(request, raw, max_body)
        result = await run_in_threadpool(service.enroll, storage, data, request.headers,
                                         request.method, _signed_path(request), raw, clock())
        return _json(request, result)

    @app.post("/v1/push", openapi_extra=_body_doc(_PUSH_SCHEMA))
    async def push(request: Request):
        protocol.check_version(request.headers)
        raw = await _raw_body(request, max_body)
        return await _answered(  # authenticate, decode, apply and answer in one hop
            request, service.signed_push, storage, request.headers, request.method,
            _signed_path(request), raw, lambda body: _decode(request, body, max_body), clock())

    @app.get("/v1/pull")
    async def pull(request: Request, cursor: int = Query(0, ge=0, lt=protocol.MAX_SEQ),
                   limit: int | None = Query(None, ge=1, le=protocol.PULL_ROWS),
                   form: str = Query("objects", pattern="^(objects|rows|cols)$")):
        protocol.check_version(request.headers)
        _, caller = await _signed(request)
        most = protocol.PULL_PAGE if form == "objects" else protocol.PULL_ROWS
        if limit is not None and limit > most:
            raise ProtocolError("bad_request", f"limit must be 1 to {most} for form={form}")
        limit = limit or most
        if form == "cols":
            accept = request.headers.get("accept-encoding", "")
            return _answer_lines(await run_in_threadpool(
                service.pull_lines, storage, caller, cursor, limit, accept, pull_line))
        return await _answered(request, service.pull, storage, caller, cursor, limit,
                               rows=form == "rows")

    @app.get("/v1/media/{sha256}")
    async def media(request: Request, sha256: str):
        protocol.check_version(request.headers)
        _, caller = await _signed(request)
        row = await run_in_threadpool(service.media, storage, caller, sha256)
        size = row["size"]
        start, end = _range(request.headers.get("range"), size)
        headers = {"Accept-Ranges": "bytes", "ETag": f'"{sha256}"',
                   "Content-Length": str(end - start)}
        status = 200
        if request.headers.get("range"):
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        return StreamingResponse(_file_chunks(row["file"], start, end), status_code=status,
                                 media_type="application/octet-stream", headers=headers)

    @app.get("/v1/voice/missing")
    async def voice_missing(request: Request,
                            after: int = Query(0, ge=0, lt=protocol.MAX_SEQ),
                            limit: int = Query(voice.MISSING_PAGE, ge=1,
                                               le=voice.MISSING_PAGE)):
        protocol.check_version(request.headers)
        _, caller = await _signed(request)
        result = await run_in_threadpool(voice.missing, storage, caller.terminal_id, after,
                                         limit)
        return _json(request, result)

    @app.put("/v1/voice/{message_id}",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "audio/wav": {"schema": {"type": "string", "format": "binary"}}}}})
    async def voice_upload(request: Request, message_id: str):
        protocol.check_version(request.headers)
        # A recording may be large: nobody but an enrolled terminal gets it read.
        auth = protocol.parse_auth_headers(request.headers)
        if await run_in_threadpool(storage.get_terminal, auth.terminal_id) is None:
            raise ProtocolError("unknown_terminal")
        raw = await _raw_body(request, protocol.MAX_VOICE_BYTES)
        caller = await run_in_threadpool(service.authenticate, storage, request.headers,
                                         request.method, _signed_path(request), raw, clock())
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in ("audio/wav", "audio/x-wav"):
            raise ProtocolError("unsupported_media_type", "voice audio is audio/wav")
        if request.headers.get("content-encoding", "identity").strip().lower() != "identity":
            raise ProtocolError("bad_encoding", "voice audio is sent as it is")
        result = await run_in_threadpool(voice.upload, storage, caller.terminal_id,
                                         caller.branch, message_id, raw, clock())
        return _json(request, result)

    return app


class _HubTime:
    """Every answer carries the hub's time and protocol version. A plain ASGI middleware: the decorator kind
    (BaseHTTPMiddleware) costs a task group and a stream per request."""

    def __init__(self, app, clock: Callable[[], int]):
        self.app, self.clock = app, clock

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_time(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != _HUB_TIME_KEY]
                headers.append((_HUB_TIME_KEY, str(self.clock()).encode("ascii")))
                headers.append((_PROTOCOL_KEY, _PROTOCOL_VALUE))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_time)


_HUB_TIME_KEY = protocol.H_HUB_TIME.lower().encode("ascii")
# And the hub's protocol version: a terminal sends v3 bodies once it has seen a hub say 3.
_PROTOCOL_KEY = protocol.H_PROTOCOL.lower().encode("ascii")
_PROTOCOL_VALUE = str(protocol.PROTOCOL_VERSION).encode("ascii")


class _Attempts:
    """A token bucket per key (a source address): ``per`` attempts at once, refilled at
    ``per`` every ``window`` seconds. Memory stays bounded: buckets that refilled are
    forgotten once there are many."""

    _PRUNE_FROM = 4096

    def __init__(self, per: int, window: float, monotonic: Callable[[], float]):
        self.per, self.rate, self.monotonic = per, per / window, monotonic
        self.buckets: dict[str, tuple[float, float]] = {}   # key -> (tokens, at)
        self.lock = threading.Lock()

    def take(self, key: str) -> int:
        """0 if an attempt may go ahead (and count it); else whole seconds to wait."""
        if self.per <= 0:
            return 0
        with self.lock:
            now = self.monotonic()
            tokens, at = self.buckets.get(key, (self.per, now))
            tokens = min(self.per, tokens + (now - at) * self.rate)
            if tokens < 1:
                self.buckets[key] = (tokens, now)
                return max(1, math.ceil((1 - tokens) / self.rate))
            self.buckets[key] = (tokens - 1, now)
            if len(self.buckets) > self._PRUNE_FROM:
                self.buckets = {k: (t, a) for k, (t, a) in self.buckets.items()
                                if t + (now - a) * self.rate < self.per}
            return 0


def _range(header: str | None, size: int) -> tuple[int, int]:
    """``bytes=N-`` or ``bytes=N-M`` (one range) -> [start, end); no header -> the whole file."""
    if not header:
        return 0, size
    unit, _, spec = header.partition("=")
    first, dash, last = spec.strip().partition("-")
    if (unit.strip().lower() != "bytes" or not dash or "," in spec
            or not _number(first) or (last and not _number(last))):
        raise ProtocolError("range_not_satisfiable", f"unsupported Range {header[:80]!r}",
                            size=size)
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if start >= size or end <= start:
        raise ProtocolError("range_not_satisfiable", size=size)
    return start, end


def _number(text: str) -> bool:
    """ASCII digits, short enough for int() and SQLite (``"²".isdigit()`` is true, and
    int() refuses more than 4300 digits: either would be a 500)."""
    return text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS


def _file_chunks(path, start: int, end: int):
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            chunk = f.read(min(_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
