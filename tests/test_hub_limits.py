"""The hub's limits against abuse: numbers from the terminal bounded (400/416, never 500),
idle and header-read timeouts and a connection cap on a real hub process, and enrollment
attempts limited per source address (in-process app)."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
import requests
from test_hub_sync import DEMO, _code, _enroll, _send

from sync import protocol
from sync.hub import admin
from sync.hub.app import create_app


@pytest.fixture
def hub(hub_storage, hub_server):
    admin.load_demo(hub_storage)
    return hub_server(hub_storage)


def test_huge_numbers_are_400_or_416_never_500(hub, demo_store, tmp_path):
    client = _enroll(hub, demo_store)
    for head in (2**62, 2**63, 10**30, -1, 1.5):
        body = json.dumps({"events": [], "audit": [], "head_seq": head}).encode()
        r = _send(client, "POST", "/v1/push", body)
        assert (r.status_code, _code(r)) == (400, "bad_batch"), (head, r.text[:200])
    r = _send(client, "POST", "/v1/push", json.dumps({"head_seq": 2**62 - 1}).encode())
    assert r.status_code == 200, r.text[:200]
    for seq in (2**63, 10**30):
        body = json.dumps({"events": [{"seq": seq, "event_id": "e", "type": "t",
                                       "payload": "{}", "at": "x"}]}).encode()
        r = _send(client, "POST", "/v1/push", body)
        assert (r.status_code, _code(r)) == (400, "bad_batch")
    for path in (f"/v1/pull?cursor={2**63}", f"/v1/pull?cursor={'9' * 4301}",
                 f"/v1/pull?limit={'9' * 4301}"):
        r = _send(client, "GET", path)
        assert (r.status_code, _code(r)) == (400, "bad_request"), path

    audio = tmp_path / "lesson.wav"
    audio.write_bytes(b"\x01" * 1000)
    sha = admin.publish_lesson(hub.storage, DEMO, lesson_id="09-audio", title="有声课",
                               category="健康生活", minutes=3, body="听一听。",
                               audio=audio)["audio_sha256"]
    for spec in ("9" * 4301 + "-", "0-" + "9" * 4301, "²-", "0-²", str(2**63) + "-"):
        r = _send(client, "GET", f"/v1/media/{sha}", headers={"Range": "bytes=" + spec})
        assert (r.status_code, _code(r)) == (416, "range_not_satisfiable"), spec[:20]
        assert r.headers["Content-Range"] == "bytes */1000"
    r = _send(client, "GET", f"/v1/media/{sha}", headers={"Range": "bytes=0-" + "9" * 18})
    assert r.status_code == 206 and len(r.content) == 1000
    with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as s:
        s.sendall(b"POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: "
                  + b"9" * 4301 + b"\r\n\r\n{}")
        status = s.recv(4096).split(b"\r\n")[0]
    assert status.startswith(b"HTTP/1.1 4"), status


def _idle(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        socks.append(s)
    return socks


def _closed(s: socket.socket, within: float) -> bool:
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:  # reset
        return True


def test_idle_sockets_are_closed_and_the_cap_answers_503(hub_storage, hub_server):
    hub = hub_server(hub_storage, env={"LIANXIN_HUB_HEADER_TIMEOUT": "1.5",
                                       "LIANXIN_HUB_KEEP_ALIVE": "1",
                                       "LIANXIN_HUB_MAX_CONNECTIONS": "8",
                                       "LIANXIN_HUB_MAX_HEADER_BYTES": "4096"})
    # Beyond the cap of open connections a request gets 503, not a hang.
    socks = _idle(hub.port, 12)
    r = requests.get(hub.url + "/health", timeout=5)
    assert r.status_code == 503
    # A socket that sends half a request line counts as idle too.
    socks[0].sendall(b"GET /health HTTP/1.1\r\nHost: x")
    assert all(_closed(s, 4) for s in socks), "idle sockets outlived the header timeout"
    for s in socks:
        s.close()
    assert requests.get(hub.url + "/health", timeout=5).json() == {"ok": True}

    # After an answer, a kept-alive connection is closed after the keep-alive time.
    s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b'{"ok":true}'):   # the whole answer (it may come in parts)
        answer += s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200")
    t0 = time.monotonic()
    assert _closed(s, 4)
    assert time.monotonic() - t0 < 3
    s.close()

    # Headers that keep coming past the size limit are refused (400) and the socket closed.
    with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 3000)
        time.sleep(0.1)
        s.sendall(b"a" * 3000)
        answer = b""
        while chunk := s.recv(4096):   # until the hub closes (the socket's 5 s timeout)
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 400"), answer[:100]


def _post(app, path: str, body: bytes, client: tuple[str, int]) -> tuple[int, dict, dict]:
    """One request to the in-process ASGI app from ``client``: (status, headers, JSON)."""
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": client,
             "server": ("127.0.0.1", 8440),
             "headers": [(b"content-type", b"application/json"), (b"host", b"hub"),
                         (protocol.H_PROTOCOL.lower().encode(),
                          str(protocol.PROTOCOL_VERSION).encode())]}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    text = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, json.loads(text)


def test_enrollment_attempts_are_limited_per_address(hub_storage):
    now = [1000.0]
    app = create_app(hub_storage, enroll_per_minute=3, monotonic=lambda: now[0])

    def attempt(ip: str):
        return _post(app, "/v1/enroll", b'{"code": "NOPE"}', (ip, 50000))

    for _ in range(3):
        assert attempt("10.0.0.1")[0] == 400                # a bad request, counted
    status, headers, body = attempt("10.0.0.1")
    assert status == 429
    error = body["error"]
    assert error["code"] == "too_many_requests" and "频繁" in error["message_zh"]
    assert headers["retry-after"] == "20" and error["retry_after"] == 20
    assert protocol.H_HUB_TIME.lower() in headers
    assert attempt("10.0.0.2")[0] == 400                    # another address is not held
    now[0] += 20                                            # one attempt refilled
    assert attempt("10.0.0.1")[0] == 400
    assert attempt("10.0.0.1")[0] == 429
    unlimited = create_app(hub_storage, enroll_per_minute=0)
    assert all(_post(unlimited, "/v1/enroll", b"{}", ("10.0.0.3", 1))[0] == 400
               for _ in range(20))
