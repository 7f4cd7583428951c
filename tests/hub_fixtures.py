"""The hub test family (a pytest plugin, registered in tests/conftest.py).

* ``new_hub_storage(folder)`` — the one place a test hub storage is made: an empty hub in
  ``folder`` (the caller closes it). Session-scoped, so module-scoped hubs use it too; to
  run every hub test on another backend, parametrize this fixture.
* ``hub_storage`` — an empty hub storage under ``tmp_path / "hub"``, closed at teardown.
  A test module fills it (branches, the demo) in its own ``hub`` fixture.
* ``hub_server(storage, **options)`` — a real hub process serving ``storage``
  (tests/hubproc.py; options as for :class:`HubProcess`): a :class:`Hub`. Stopped at
  teardown, and its log then checked once for tracebacks and exceptions.
* :func:`serve` — the same as a context manager, for hubs of a wider scope.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hubproc import HubProcess

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
    proc = HubProcess(storage.path, **options)
    hub = Hub(storage, proc.start())
    try:
        yield hub
    finally:
        proc.stop()
    check_log(proc)


@pytest.fixture(scope="session")
def new_hub_storage():
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
