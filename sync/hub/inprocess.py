"""A hub app served inside this process to a ``requests.Session``: the terminal's own sync
client (sync.client) talks to it exactly as over the network — same signing, same routes,
same checks and storage path for pushed events — with no port opened. The demo hub uses it
to let a demo terminal push its history (sync.hub.demo_township).

    with in_process(storage) as (session, url):
        sync.client.enroll(path, url, code, session=session)
"""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from .storage import HubStorage

URL = "http://hub.in-process"


class AsgiAdapter(BaseAdapter):
    """Answers each request by calling an ASGI app on an event loop of its own, in a
    thread of its own."""

    def __init__(self, app):
        super().__init__()
        self.app, self.loop = app, asyncio.new_event_loop()
        # A thread of its own: the caller may be running an event loop already.
        self.thread = threading.Thread(target=self.loop.run_forever, name="hub-in-process",
                                       daemon=True)
        self.thread.start()

    def send(self, request, stream=False, timeout=None, verify=True, cert=None,
             proxies=None) -> requests.Response:
        url = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": request.method, "scheme": url.scheme, "root_path": "",
                 "path": unquote(url.path), "raw_path": url.path.encode("latin-1"),
                 "query_string": url.query.encode("latin-1"),
                 "headers": [(k.lower().encode("latin-1"), str(v).encode("latin-1"))
                             for k, v in request.headers.items()],
                 "client": ("127.0.0.1", 0), "server": (url.hostname, url.port or 80)}
        status, headers, content = asyncio.run_coroutine_threadsafe(
            self._call(scope, body), self.loop).result()
        if headers.get("content-encoding") == "gzip":   # what urllib3 undoes over the network
            content = gzip.decompress(content)
            del headers["content-encoding"]
        response = requests.Response()
        response.status_code, response._content = status, content
        response.headers = CaseInsensitiveDict(headers)
        response.url, response.request, response.encoding = request.url, request, "utf-8"
        return response

    async def _call(self, scope: dict, body: bytes) -> tuple[int, dict, bytes]:
        given = False
        answer = {"status": 500, "headers": {}, "body": b""}

        async def receive():
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()   # the client never goes away mid-answer

        async def send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = {k.decode("latin-1"): v.decode("latin-1")
                                     for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")

        await self.app(scope, receive, send)
        return answer["status"], answer["headers"], answer["body"]

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()


@contextmanager
def in_process(storage: HubStorage) -> Iterator[tuple[requests.Session, str]]:
    """A session whose requests to :data:`URL` the hub app over ``storage`` answers."""
    from .app import create_app

    adapter = AsgiAdapter(create_app(storage, enroll_per_minute=0))
    session = requests.Session()
    session.mount(URL, adapter)
    try:
        yield session, URL
    finally:
        session.close()
        adapter.close()
