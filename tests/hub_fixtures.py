"""The hub test family (a pytest plugin, registered in tests/conftest.py).

* ``new_hub_storage(folder)`` — the one place a test hub storage is made: an empty hub in
  ``folder`` (the caller closes it). Session-scoped, so module-scoped hubs use it too.
  Parametrized by back end: every test of a hub made here runs on SQLite and again on
  PostgreSQL (a database of its own on the session's throwaway server, bench/pgserver.py,
  its files in ``folder``). ``LIANXIN_TEST_BACKENDS=sqlite`` runs one back end only (the
  calendar runs: they test clocks, not storage).
* ``hub_storage`` — an empty hub storage under ``tmp_path / "hub"``, closed at teardown.
  A test module fills it (branches, the demo) in its own ``hub`` fixture.
* ``hub_server(storage, **options)`` — a real hub process serving ``storage``
  (tests/hubproc.py; options as for :class:`HubProcess`): a :class:`Hub`. Stopped at
  teardown, and its log then checked once for tracebacks and exceptions.
* :func:`serve` — the same as a context manager, for hubs of a wider scope.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hubproc import HubProcess

from bench.pgserver import Cluster, NoPostgres
from sync.hub import HubStorage, open_hub


@dataclass
class Hub:
    """A running hub process and the storage it serves."""

    storage: HubStorage
    proc: HubProcess

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def port(self) -> int:
        return self.proc.port

    def stop(self) -> None:
        self.proc.stop()

    def start(self) -> None:
        """Serve again (same database, same port) after a stop or a kill."""
        self.proc.start()

    restart = start

    def kill(self) -> None:
        """SIGKILL: the hub dies mid-whatever, as on a power cut."""
        self.proc.proc.send_signal(signal.SIGKILL)
        self.proc.proc.wait(10)


def check_log(proc: HubProcess) -> None:
    log = proc.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "Exception" not in log, log[-3000:]


@contextmanager
def serve(storage: HubStorage, **options) -> Iterator[Hub]:
    """A hub process serving ``storage`` for the block; then stopped and its log checked."""
    if storage.postgres:  # the same files and a log beside them
        options["env"] = {"LIANXIN_HUB_FILES": str(storage.files), **options.get("env", {})}
        options.setdefault("log_path", storage.files / "hub.log")
    proc = HubProcess(storage.path, **options)
    hub = Hub(storage, proc.start())
    try:
        yield hub
    finally:
        proc.stop()
    check_log(proc)


BACKENDS = os.environ.get("LIANXIN_TEST_BACKENDS", "sqlite,postgresql").split(",")


@pytest.fixture(scope="session")
def pg_cluster():
    if "postgresql" not in BACKENDS:
        pytest.skip("LIANXIN_TEST_BACKENDS leaves PostgreSQL out")
    cluster = Cluster()
    try:
        cluster.start()
    except NoPostgres as e:
        if os.environ.get("CI"):
            raise  # CI installs PostgreSQL: its absence is a failure there, not a skip
        pytest.skip(str(e))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def new_hub_storage(request):
    if request.param == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")

        def make(folder: Path) -> HubStorage:
            folder.mkdir(parents=True, exist_ok=True)
            return open_hub(cluster.new_database(), files=folder / "files")
    else:
        def make(folder: Path) -> HubStorage:
            folder.mkdir(parents=True, exist_ok=True)
            return open_hub(folder / "hub.db")

    return make


@pytest.fixture
def hub_storage(tmp_path, new_hub_storage):
    storage = new_hub_storage(tmp_path / "hub")
    yield storage
    storage.close()


@pytest.fixture
def hub_server():
    with ExitStack() as running:
        def start(storage: HubStorage, **options) -> Hub:
            return running.enter_context(serve(storage, **options))

        yield start
