"""A throwaway PostgreSQL server for tests and benchmarks: Debian's ``initdb`` and
``pg_ctl`` in a temporary folder, on a free port, listening on 127.0.0.1 only, trusting
local connections (nothing else can reach it), stopped and removed at the end.

The tests' server skips fsync (they kill hubs, not machines); ``Cluster(durable=True)``
keeps fsync, synchronous_commit and full_page_writes on, as a real server does, for
benchmarks that measure one (bench/bench_night_load.py). :meth:`Cluster.cpu_seconds` is
the CPU time its server processes used so far.

PostgreSQL refuses to run as root: as root (CI), the server runs as the ``postgres`` user
Debian's package creates, through ``runuser``. With ``LIANXIN_TEST_PG`` set to a server's
URL (``postgresql://user@host:port/postgres``), that server is used instead and nothing
is started (its settings are its own, durable or not).

    python bench/pgserver.py [--durable]    starts one and prints its URL until Ctrl-C
                                            (or SIGTERM)
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
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

    def __init__(self, durable: bool = False):
        self.url_base = os.environ.get("LIANXIN_TEST_PG", "").rstrip("/")
        self.durable = durable
        self.folder: Path | None = None
        self._data: Path | None = None
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
                        "--auth=trust", "--encoding=UTF8", "--locale=C",
                        *([] if self.durable else ["--no-sync"])],
                       check=True, capture_output=True, cwd=self.folder)
        options = (f"-c listen_addresses=127.0.0.1 -c port={port} "
                   "-c unix_socket_directories='' -c max_connections=200 ")
        if self.durable:
            # A real server: every commit on disk before it is answered; a server's
            # memory rather than a test's.
            options += ("-c fsync=on -c synchronous_commit=on -c full_page_writes=on "
                        "-c shared_buffers=256MB")
        else:
            # A test server: no fsync (the tests kill hubs, not machines); small and quiet.
            options += ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                        "-c shared_buffers=64MB")
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

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server's processes used so far: the postmaster, its
        live children (backends, checkpointer, WAL writer, autovacuum, …) and the children
        it has reaped. None for a server this class did not start, or without /proc."""
        if self._data is None or self.folder is None:
            return None
        try:
            postmaster = int((self._data / "postmaster.pid").read_text().split()[0])
            total = _proc_times(postmaster, children_too=True)
        except (OSError, ValueError, IndexError):
            return None
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile: its time is in the postmaster's children's now
            if int(fields[1]) == postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.folder is None:
            return
        subprocess.run([*self._run_as, str(self._bindir / "pg_ctl"), "-D", str(self._data),
                        "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None


def _proc_times(pid: int, *, children_too: bool = False) -> int:
    """A process's user + system time in clock ticks (and its reaped children's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the name: state ppid … utime(11) stime(12) cutime(13) cstime(14).
    return sum(int(f) for f in fields[11:15 if children_too else 13])


def _stop_on_signal(signum, frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    # Ctrl-C or a plain kill stops the server too (a job started with & ignores Ctrl-C).
    signal.signal(signal.SIGINT, _stop_on_signal)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    c = Cluster(durable="--durable" in sys.argv[1:]).start()
    print(c.url_base + "/postgres", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        c.stop()
