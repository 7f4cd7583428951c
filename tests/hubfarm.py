"""Debian's haproxy in front of several hub processes, for tests: the shape of
deploy/haproxy.cfg (round robin, health checks on ``/health``, a dead process taken out
within a second), on 127.0.0.1 and a free port.

    with HAProxy(folder, [hub1.port, hub2.port]) as proxy:
        requests.get(proxy.url + "/health")
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import requests
from hubproc import free_port

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
    balance roundrobin
    option httpchk GET /health
{servers}
"""


class HAProxy:
    def __init__(self, folder: Path, ports: list[int]):
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        servers = "\n".join(f"    server hub{i} 127.0.0.1:{p} check inter 300ms fall 1 rise 2"
                            for i, p in enumerate(ports))
        self.config = folder / "haproxy.cfg"
        self.config.write_text(CONFIG.format(port=self.port, servers=servers))
        self.proc: subprocess.Popen | None = None

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
        self.log.close()

    def __enter__(self) -> HAProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
