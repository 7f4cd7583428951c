"""A throwaway PostgreSQL server for the tests: Debian's ``initdb`` and ``pg_ctl`` in a
temporary folder, on a free port, listening on 127.0.0.1 only, trusting local connections
(nothing else can reach it), stopped and removed at the end.

PostgreSQL refuses to run as root: as root (CI), the server runs as the ``postgres`` user
Debian's package creates, through ``runuser``. With ``LIANXIN_TEST_PG`` set to a server's
URL (``postgresql://user@host:port/postgres``), that server is used instead and nothing
is started.

    python tests/pgcluster.py     starts one and prints its URL until Ctrl-C (for a shell)
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


class NoPostgres(RuntimeError):
    """No PostgreSQL server programs on this machine (Debian: apt install postgresql)."""


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise NoPostgres("no initdb: install Debian's postgresql package (make setup does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL server; :meth:`new_database` gives each hub its own database."""

    def __init__(self):
        self.url_base = os.environ.get("LIANXIN_TEST_PG", "").rstrip("/")
        self.folder: Path | None = None
        self._count = 0

    def start(self) -> Cluster:
        if self.url_base:
            self.url_base = self.url_base.rsplit("/", 1)[0]
            self._wait()
            return self
        bindir = _bindir()
        self.folder = Path(tempfile.mkdtemp(prefix="lianxin-pg-"))
        data = self.folder / "data"
        run_as: list[str] = []
        if os.geteuid() == 0:
            run_as = ["runuser", "-u", "postgres", "--"]
            os.chmod(self.folder, 0o755)
            data.mkdir()
            shutil.chown(data, "postgres", "postgres")
        port = _free_port()
        # C collation: text sorts by code point, as in SQLite (ISO times, ids, months).
        subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "lianxin",
                        "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
                       check=True, capture_output=True, cwd=self.folder)
        # A test server: no fsync (the tests kill hubs, not machines); small and quiet.
        options = (f"-c listen_addresses=127.0.0.1 -c port={port} "
                   "-c unix_socket_directories='' -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200 -c shared_buffers=64MB")
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l",
                        str(data / "server.log"), "-o", options, "-w", "-t", "60", "start"],
                       check=True, capture_output=True, cwd=self.folder)
        self._bindir, self._run_as, self._data = bindir, run_as, data
        self.url_base = f"postgresql://lianxin@127.0.0.1:{port}"
        self._wait()
        return self

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url_base + "/postgres", connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def new_database(self) -> str:
        """An empty database of its own; its URL."""
        self._count += 1
        name = f"hub_{os.getpid()}_{self._count}"
        with psycopg.connect(self.url_base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
                         "LC_COLLATE 'C' LC_CTYPE 'C'")
        return f"{self.url_base}/{name}"

    def stop(self) -> None:
        if self.folder is None:
            return
        subprocess.run([*self._run_as, str(self._bindir / "pg_ctl"), "-D", str(self._data),
                        "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None


if __name__ == "__main__":
    c = Cluster().start()
    print(c.url_base + "/postgres", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        c.stop()
