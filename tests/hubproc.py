"""A real hub process for tests: ``python -m sync.hub.server`` on 127.0.0.1 and a free port.

    with HubProcess(tmp_path / "hub.db") as hub:
        requests.get(hub.url + "/health")

Start waits until ``/health`` answers; stop sends SIGTERM, then SIGKILL if it lingers; start
again after a stop serves the same database on the same port. ``cli=True`` starts it the
way an operator does, ``lianxin hub --db DB serve``; ``env`` adds environment variables
(settings such as ``LIANXIN_HUB_MAX_CONNECTIONS``). The server's output goes to
``<db>.log`` so a failed start can say why. Tests use it through tests/hub_fixtures.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubProcess:
    def __init__(self, db_path, port: int | None = None, start_timeout: float = 20.0, *,
                 certfile=None, keyfile=None, cli: bool = False, env: dict | None = None,
                 log_path=None):
        # A file, or a PostgreSQL URL (kept as it is: a Path would fold its "//").
        self.db_path = db_path if str(db_path).startswith("postgres") else Path(db_path)
        self.port = port or free_port()
        self.tls = (str(certfile), str(keyfile)) if certfile else None
        self.url = f"{'https' if certfile else 'http'}://127.0.0.1:{self.port}"
        self.log_path = Path(log_path or str(self.db_path) + ".log")
        self.start_timeout = start_timeout
        self.cli = cli
        self.env = env or {}
        self.proc: subprocess.Popen | None = None

    def start(self) -> HubProcess:
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        tls = ["--cert", self.tls[0], "--key", self.tls[1]] if self.tls else []
        listen = ["--listen", f"127.0.0.1:{self.port}", *tls]
        if self.cli:
            command = ["-c", "from cli.main import main; main()", "hub", "--db",
                       str(self.db_path), "serve", *listen]
        else:
            command = ["-m", "sync.hub.server", "--db", str(self.db_path), *listen]
        self.proc = subprocess.Popen([sys.executable, *command],
                                     cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited with {self.proc.returncode}: "
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                verify = self.tls[0] if self.tls else True
                if requests.get(self.url + "/health", timeout=1, verify=verify).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"hub did not answer /health within {self.start_timeout} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def __enter__(self) -> HubProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
