"""Debian's haproxy in front of several hub processes, for tests and benchmarks
(tests/test_hub_processes.py, bench/bench_night_load.py): the shape of deploy/haproxy.cfg
(round robin, health checks on ``/health``, a dead process taken out within a second), on
127.0.0.1 and a free port.

    with HAProxy(folder, [hub1.port, hub2.port]) as proxy:
        requests.get(proxy.url + "/health")
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import requests

CONFIG = """\
global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    retries 2
    option redispatch
frontend hub
    bind 127.0.0.1:{port}
    default_backend hubs
backend hubs
    balance {balance}
    option httpchk GET /health
{servers}
"""
# Tests: a dead process is out within a second. deploy/haproxy.cfg checks less eagerly.
TEST_CHECK = "inter 300ms fall 1 rise 2"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HAProxy:
    """``balance`` and ``check`` (each server's check options) as in haproxy.cfg; the
    defaults are the tests' (round robin, a dead process out within a second)."""

    def __init__(self, folder: Path, ports: list[int], *, balance: str = "roundrobin",
                 check: str = TEST_CHECK):
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        servers = "\n".join(f"    server hub{i} 127.0.0.1:{p} check {check}"
                            for i, p in enumerate(ports))
        self.config = folder / "haproxy.cfg"
        self.config.write_text(CONFIG.format(port=self.port, servers=servers, balance=balance))
        self.proc: subprocess.Popen | None = None
        self.log = None

    def start(self) -> HAProxy:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        subprocess.run([binary, "-c", "-q", "-f", str(self.config)], check=True)
        self.log = (self.folder / "haproxy.log").open("ab")
        self.proc = subprocess.Popen([binary, "-db", "-f", str(self.config)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("haproxy did not start: "
                           + (self.folder / "haproxy.log").read_text(errors="replace")[-2000:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.log is not None:
            self.log.close()
            self.log = None

    def __enter__(self) -> HAProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
