"""Run the hub: ``python -m sync.hub.server --db HUB.db --listen 127.0.0.1:8000``.

``lianxin hub --db HUB.db serve --listen HOST:PORT`` calls :func:`serve`. With a
certificate and key the hub speaks HTTPS; without, plain HTTP (loopback and tests only).

The server's limits are settings (core/config.py, docs/deploy.md): idle time after an
answer (uvicorn's keep-alive), time to send a request's headers (ours: uvicorn has no such
timeout, so a socket that connects and says nothing would hold a connection slot for
good), open connections at most (beyond: 503) and the size of a request's headers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from core import config

from . import open_hub, overview
from .app import create_app


@dataclass(frozen=True)
class Limits:
    keep_alive: int = 5            # s idle after an answer
    header_timeout: float = 10.0   # s to send a request line and headers
    max_connections: int = 200     # open connections; a request beyond gets 503
    max_header_bytes: int = 16384  # request line + headers
    enroll_per_minute: int = 10    # enrollment attempts per source address
    pull_line: int = 250           # events in one line of a v4 pull answer
    console_idle_minutes: float = 30.0   # the console signs an idle operator out

    @classmethod
    def from_settings(cls) -> Limits:
        def number(name: str, kind=int):
            value = config.get(name)
            try:
                n = kind(value)
            except (TypeError, ValueError):
                n = -1
            if n < 0 or (n == 0 and name != "hub_enroll_per_minute"):
                raise ValueError(f"{config.SETTINGS[name].env} wants a positive number, "
                                 f"got {value!r}")
            return n

        return cls(keep_alive=number("hub_keep_alive"),
                   header_timeout=number("hub_header_timeout", float),
                   max_connections=number("hub_max_connections"),
                   max_header_bytes=number("hub_max_header_bytes"),
                   enroll_per_minute=number("hub_enroll_per_minute"),
                   pull_line=number("hub_pull_line"),
                   console_idle_minutes=number("hub_console_idle_minutes", float))


def _header_timeout_protocol(seconds: float):
    """uvicorn's h11 protocol, closing a connection that has not sent a whole request line
    and headers within ``seconds`` of connecting or of its last answer."""
    from uvicorn.protocols.http.h11_impl import H11Protocol, h11

    class HeaderTimeoutH11(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(seconds, self._header_timeout)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _awaiting_headers(self) -> bool:
            http = self.conn   # uvicorn's h11.Connection (no database here)
            return http.their_state is h11.IDLE

        def _header_timeout(self) -> None:
            self._header_timer = None
            if self._awaiting_headers() and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if not self._awaiting_headers():  # the headers are in
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self._awaiting_headers():
                self._arm()

    return HeaderTimeoutH11


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise ValueError(f"--listen wants HOST:PORT, got {listen!r}")
    return host.strip("[]"), int(port)


def serve(db_path, host: str, port: int, *, certfile: str | None = None,
          keyfile: str | None = None, log_level: str = "warning",
          limits: Limits | None = None) -> None:
    """Open (or create) the hub database and serve it until stopped; ``limits`` default to
    the settings (:meth:`Limits.from_settings`)."""
    import uvicorn

    limits = limits or Limits.from_settings()
    storage = open_hub(db_path)
    refresher = overview.Refresher(storage)
    refresher.start()
    try:
        app = create_app(storage, enroll_per_minute=limits.enroll_per_minute,
                         console_idle_s=limits.console_idle_minutes * 60,
                         pull_line=limits.pull_line)
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                    ssl_certfile=certfile, ssl_keyfile=keyfile, server_header=False,
                    timeout_graceful_shutdown=5,
                    http=_header_timeout_protocol(limits.header_timeout),
                    timeout_keep_alive=limits.keep_alive,
                    limit_concurrency=limits.max_connections,
                    h11_max_incomplete_event_size=limits.max_header_bytes)
    finally:
        refresher.stop()
        storage.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync.hub.server", description=__doc__)
    parser.add_argument("--db", required=True, help="the hub database file (created if missing)")
    parser.add_argument("--listen", default="127.0.0.1:8700", help="HOST:PORT")
    parser.add_argument("--cert", help="TLS certificate (PEM)")
    parser.add_argument("--key", help="TLS private key (PEM)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    if bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")
    try:
        host, port = parse_listen(args.listen)
    except ValueError as e:
        parser.error(str(e))
    serve(args.db, host, port, certfile=args.cert, keyfile=args.key, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
