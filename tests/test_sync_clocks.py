"""Terminals whose clocks are an hour, a day and a year fast or slow (DESIGN §3, §8).

Each terminal is the real `lianxin` command under libfaketime, its wall clock set to the
hub's time plus the skew (so the test holds under `make test-calendar`'s own faketime too),
against a real hub process at the true time. For every skew:

* enrollment and sync work (requests are signed in the hub's time, learnt from its answers);
* the terminal knows its clock is wrong after a sync, and cash then needs staff to confirm
  the date;
* its events reach the hub: a fast terminal's are kept and it is flagged ``clock: ahead``
  for the operator, a slow one's are kept unflagged;
* the branch's other terminal keeps the hub's staff PIN and policy, whatever the clock did.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from core import branch
from core.clock import CST, FixedClock
from core.store import Store
from sync import client as sc
from sync.hub import admin

ROOT = Path(__file__).resolve().parent.parent
DEMO = "DEMO-QSC"
SKEWS = {"1h fast": timedelta(hours=1), "1d fast": timedelta(days=1),
         "1y fast": timedelta(days=365), "1h slow": -timedelta(hours=1),
         "1d slow": -timedelta(days=1), "1y slow": -timedelta(days=365)}


@pytest.fixture(scope="module")
def faketime():
    path = "/usr/bin/faketime"
    if not os.path.exists(path):
        pytest.fail("faketime is missing: `make setup` installs it")
    return path


@pytest.fixture
def hub(hub_storage, hub_server):
    admin.load_demo(hub_storage, people=True)
    return hub_server(hub_storage)


def _lianxin(faketime, hub, skew: timedelta, db: Path, *args, pin: str | None = None):
    """Run `lianxin --db DB ARGS` with its wall clock at the hub's time + ``skew``."""
    hub_ms = requests.get(hub.url + "/v1/info", timeout=10).json()["hub_time"]
    at = datetime.fromtimestamp(hub_ms / 1000, tz=UTC) + skew
    env = {k: v for k, v in os.environ.items()
           if k not in ("LIANXIN_NOW", "FAKETIME", "LD_PRELOAD", "FAKETIME_DONT_FAKE_MONOTONIC")}
    env.update(TZ="UTC", PYTHONPATH=str(ROOT))
    if pin:
        env["LIANXIN_STAFF_PIN"] = pin
    return subprocess.run([faketime, "-f", at.strftime("@%Y-%m-%d %H:%M:%S"), sys.executable,
                           "-m", "cli", "--db", str(db), *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("name", list(SKEWS))
def test_a_terminal_with_a_wrong_clock_syncs_is_flagged_and_cannot_subvert(
        name, faketime, hub, tmp_path):
    skew = SKEWS[name]
    db = tmp_path / "skewed" / "terminal.db"
    code = admin.issue_enroll_code(hub.storage, DEMO)["code"]
    r = _lianxin(faketime, hub, skew, db, "enroll", "--hub", hub.url, "--code", code)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _lianxin(faketime, hub, skew, db, "sync")
    assert r.returncode == 0, r.stdout + r.stderr
    r = _lianxin(faketime, hub, skew, db, "consent", "set", "QS001", "voice_messages", "grant",
                 "--witness", "S01")
    assert r.returncode == 0, r.stdout + r.stderr
    # The last sync showed the clock wrong: cash waits for staff to confirm the date.
    r = _lianxin(faketime, hub, skew, db, "dues", "pay", "QS004", "--months", "1",
                 "--staff", "S01", pin="2468")
    assert r.returncode == 1 and "终端的时间可能不准" in r.stdout + r.stderr, r.stdout + r.stderr
    r = _lianxin(faketime, hub, skew, db, "sync")
    assert r.returncode == 0, r.stdout + r.stderr

    [row] = [t for t in admin.list_terminals(hub.storage, DEMO) if t["label"] == ""
             and t["stored_seq"] > 0]
    sent = [e for e in hub.storage.log_for_branch(DEMO) if e["origin"] == row["terminal_id"]]
    assert [e["type"] for e in sent] == ["consent.granted"]
    if skew > timedelta(0):
        assert (row["clock"], row["future_events"]) == ("ahead", 1)
    else:
        assert row["clock"] == "ok"
    assert abs(row["clock_offset_ms"] - skew / timedelta(milliseconds=1)) < 120_000

    # The branch's other terminal: the hub's staff and policy stand.
    honest = Store.create(tmp_path / "honest" / "terminal.db",
                          clock=FixedClock(datetime.now(CST)))
    try:
        sc.enroll(honest.path, hub.url, admin.issue_enroll_code(hub.storage, DEMO)["code"])
        sc.sync_once(honest)
        assert branch.confirm(honest, "S01", "2468").staff_no == "S01"
        hub_branch = hub.storage.get_branch(DEMO)
        got = branch.get(honest)
        assert (got.back_pay_limit, got.pay_ahead_limit) == (hub_branch["back_pay_limit"],
                                                             hub_branch["pay_ahead_limit"])
        assert honest.one("SELECT count(*) AS n FROM consent WHERE member_no = 'QS001'")["n"] >= 1
    finally:
        honest.close()
