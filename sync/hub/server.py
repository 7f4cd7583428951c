"""Run the hub: ``python -m sync.hub.server --db HUB.db --listen 127.0.0.1:8000``.

``lianxin hub --db HUB.db serve --listen HOST:PORT`` calls :func:`serve`. With a
certificate and key the hub speaks HTTPS; without, plain HTTP (loopback and tests only).
"""

from __future__ import annotations

import argparse
import sys

from . import open_hub
from .app import create_app


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise ValueError(f"--listen wants HOST:PORT, got {listen!r}")
    return host.strip("[]"), int(port)


def serve(db_path, host: str, port: int, *, certfile: str | None = None,
          keyfile: str | None = None, log_level: str = "warning") -> None:
    """Open (or create) the hub database and serve it until stopped."""
    import uvicorn

    storage = open_hub(db_path)
    try:
        app = create_app(storage)
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                    ssl_certfile=certfile, ssl_keyfile=keyfile, server_header=False,
                    timeout_graceful_shutdown=5)
    finally:
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
