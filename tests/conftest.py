"""Shared fixtures: real encrypted store files under tmp_path, a pinned clock.

The suite does not depend on today's date: every "now" is :data:`PINNED_NOW`. Tests that
build a store pass a :class:`FixedClock`; everything else that reads the time through
``core.clock.default_clock`` (the CLI under CliRunner, ``lianxin`` and hub subprocesses,
which inherit the environment) gets it from ``LIANXIN_NOW``, set here for the whole run.
Only the sync protocol's request timestamps use the real clock, on both sides alike.

The demo branch is built once per session (it hashes PINs with argon2 and writes ~150
payments) and each test gets its own copy of the files.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime

import pytest

from core import branch
from core.clock import CST, ENV_NOW, FixedClock, iso
from core.store import Store, key_path

pytest_plugins = ["kiosk_fixtures", "hub_fixtures", "console_fixtures"]   # shared fixtures: tests/*_fixtures.py

PINNED_NOW = datetime(2026, 11, 15, 10, 0, tzinfo=CST)
os.environ[ENV_NOW] = iso(PINNED_NOW)


@pytest.fixture
def clock():
    return FixedClock(PINNED_NOW)


@pytest.fixture
def store(tmp_path, clock):
    """An empty terminal holding a small test branch with one staff member (S01 / 2468)."""
    s = Store.create(tmp_path / "terminal.db", clock=clock)
    branch.setup(s, code="TEST", name="测试村党支部", actor="test")
    branch.add_staff(s, staff_no="S01", name="王书记", role="secretary", pin="2468", actor="test")
    yield s
    s.close()


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory):
    from core import demo

    path = tmp_path_factory.mktemp("demo") / "terminal.db"
    s = Store.create(path, clock=FixedClock(PINNED_NOW))
    demo.load(s)
    s.close()
    return path


@pytest.fixture
def demo_store(tmp_path, clock, _demo_template):
    """A terminal holding the demo branch (copied from a session-wide template)."""
    path = tmp_path / "terminal.db"
    shutil.copy(_demo_template, path)
    shutil.copy(key_path(_demo_template), key_path(path))
    s = Store.open(path, clock=clock)
    yield s
    s.close()


@pytest.fixture
def staff_ok(store):
    return branch.confirm(store, "S01", "2468")
