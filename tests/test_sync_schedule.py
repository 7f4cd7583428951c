"""Automatic sync (sync/schedule.py): the pure rules without sleeping, then the scheduler on a
real terminal store against a real hub process.

Pins: the nightly run falls inside the window (also one that crosses midnight), at a
seeded random moment, the rest of the current window when started inside it and the next
night after a success; back-off doubles from 1 minute, is capped at an hour, and its jitter
stays within +/-25%; a probe that finds the link back after it was down makes a sync due at
once when something waits, and not otherwise; a due sync waits for a down link instead of
failing; the state survives in the store's meta; a refused sync backs off; the daemon loop
stops when told.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta
from datetime import time as dtime

import pytest

from core import assist
from core.clock import CST
from sync import client as sc
from sync import schedule as sch
from sync.hub import admin

P = sch.Policy()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=CST)


# -- pure rules ------------------------------------------------------------------------

def test_night_run_is_a_random_moment_inside_the_window():
    runs = [sch.night_run(at(15, 10), P, random.Random(seed)) for seed in range(200)]
    assert all(at(16, 1) <= r < at(16, 5) for r in runs)
    assert len({r for r in runs}) == 200
    assert min(runs) < at(16, 1, 30) and max(runs) > at(16, 4, 30)  # spread over the window
    # Seeded: the same seed gives the same moment.
    assert sch.night_run(at(15, 10), P, random.Random(3)) == runs[3]


def test_inside_the_window_first_run_uses_the_rest_and_success_moves_to_next_night():
    rng = random.Random(1)
    now = at(16, 3)
    first = sch.initial(sch.State(), now, P, rng).next_run
    assert now <= first < at(16, 5)
    done = sch.after_success(sch.State(next_run=first, failures=3), at(16, 3, 10), P, rng)
    assert at(17, 1) <= done.next_run < at(17, 5)
    assert (done.failures, done.link_up, done.last_attempt) == (0, True, at(16, 3, 10))


def test_window_across_midnight():
    policy = sch.Policy.parse_window("23:00-03:00")
    for seed in range(50):
        r = sch.night_run(at(15, 12), policy, random.Random(seed))
        assert at(15, 23) <= r < at(16, 3)
    inside = sch.night_run(at(16, 1), policy, random.Random(0))  # after midnight, inside
    assert at(16, 1) <= inside < at(16, 3)
    with pytest.raises(ValueError):
        sch.Policy.parse_window("01:00-01:00")
    with pytest.raises(ValueError):
        sch.Policy.parse_window("1am-5am")


def test_backoff_doubles_with_bounded_jitter_and_a_cap():
    rng = random.Random(5)
    for failures, base in [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (40, 3600)]:
        waits = [sch.backoff_s(failures, P, rng) for _ in range(100)]
        assert all(0.75 * base <= w <= 1.25 * base for w in waits), failures
        assert max(waits) - min(waits) > 0.2 * base  # jittered, not fixed
    state = sch.State(next_run=at(16, 2))
    for n in range(1, 4):
        state = sch.after_failure(state, at(16, 2), P, random.Random(n), network=True)
        assert state.failures == n and state.link_up is False
        assert timedelta(seconds=45 * 2 ** (n - 1)) <= state.next_run - at(16, 2) \
            <= timedelta(seconds=75 * 2 ** (n - 1))


def test_link_coming_back_makes_a_waiting_sync_due_now():
    night = sch.State(next_run=at(17, 2), link_up=False)
    back = sch.after_probe(night, at(16, 14), True, waiting=3)
    assert back.next_run == at(16, 14) and sch.due(back, at(16, 14))
    nothing = sch.after_probe(night, at(16, 14), True, waiting=0)  # nothing to send: wait
    assert nothing.next_run == at(17, 2) and nothing.link_up is True
    failed = sch.after_probe(sch.State(next_run=at(16, 15), failures=2, link_up=False),
                             at(16, 14), True, waiting=0)
    assert failed.next_run == at(16, 14)  # a failed sync is retried when the link returns
    steady = sch.after_probe(sch.State(next_run=at(17, 2), link_up=True), at(16, 14), True,
                             waiting=9)
    assert steady.next_run == at(17, 2)  # up all along: the night's run stands
    down = sch.after_probe(steady, at(16, 14), False, waiting=9)
    assert down.link_up is False and down.next_run == at(17, 2)


def test_sleep_never_passes_the_next_probe_or_the_next_run():
    assert sch.sleep_s(sch.State(next_run=at(17, 2)), at(16, 14), P) == P.probe_every_s
    assert sch.sleep_s(sch.State(next_run=at(16, 14, 1)), at(16, 14), P) == 60
    assert sch.sleep_s(sch.State(next_run=at(16, 13)), at(16, 14), P) == 1.0
    assert not sch.due(sch.State(), at(16, 14))


# -- on a real store and hub -----------------------------------------------------------

@pytest.fixture
def hub(hub_storage, hub_server):
    admin.create_branch(hub_storage, code="TEST", name="测试村党支部", township="青石镇")
    return hub_server(hub_storage)


def test_scheduler_runs_at_night_waits_for_the_link_and_syncs_when_it_returns(
        hub, store, clock):
    storage, proc = hub.storage, hub.proc
    sc.enroll(store.path, proc.url, admin.issue_enroll_code(storage, "TEST")["code"])
    s = sch.Scheduler(store, rng=random.Random(7))

    first = s.step()  # 10:00: tonight's run is set, nothing happens now
    assert first["ran"] is False and first["sleep_s"] == P.probe_every_s
    state = sch.load_state(store)
    assert at(16, 1) <= state.next_run < at(16, 5) and state.link_up is True

    clock.at = state.next_run
    night = s.step()
    assert night["ran"] and night["ok"] and night["report"]["pushed"] > 0
    state = sch.load_state(store)
    assert at(17, 1) <= state.next_run < at(17, 5) and state.failures == 0
    assert sc.status(store)["waiting_events"] == 0

    # By day the link goes down; staff record something; the probe notices.
    proc.stop()
    assist.request_help(store, where="home")
    clock.advance(hours=8)
    down = s.step()
    assert (down["ran"], down["link_up"]) == (False, False)
    assert sch.load_state(store).link_up is False
    # The link returns: the waiting event goes at once, not at night.
    proc.start()
    clock.advance(minutes=5)
    back = s.step()
    assert back["ran"] and back["ok"] and back["report"]["pushed"] == 1
    assert at(17, 1) <= sch.load_state(store).next_run < at(17, 5)


def test_due_sync_waits_for_a_down_link_and_refusals_back_off(hub, store, clock):
    storage, proc = hub.storage, hub.proc
    sc.enroll(store.path, proc.url, admin.issue_enroll_code(storage, "TEST")["code"])
    s = sch.Scheduler(store, rng=random.Random(2))
    s.step()
    clock.at = sch.load_state(store).next_run
    proc.stop()
    waited = s.step()
    assert (waited["ran"], waited["reason"], waited["failures"]) == (False, "link_down", 0)
    proc.start()
    admin.revoke_terminal(storage, store.terminal_id)
    refused = s.step()
    assert (refused["ran"], refused["ok"], refused["error"]) == (True, False, "terminal_revoked")
    state = sch.load_state(store)
    assert state.failures == 1
    assert timedelta(seconds=45) <= state.next_run - clock.now() <= timedelta(seconds=75)
    clock.at = state.next_run
    s.step()
    state = sch.load_state(store)
    assert state.failures == 2
    assert timedelta(seconds=90) <= state.next_run - clock.now() <= timedelta(seconds=150)
    assert sch.status(store)["failures"] == 2


def test_daemon_loop_stops_when_told(store):
    stop = threading.Event()
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        stop.set()

    worker = threading.Thread(target=sch.run_daemon, args=(store.path,),
                              kwargs={"stop": stop, "log": log})
    worker.start()
    worker.join(30)
    assert not worker.is_alive()
    assert '"not_enrolled"' in lines[0]


def test_policy_window_is_cst_by_default():
    assert (P.window_start, P.window_end) == (dtime(1, 0), dtime(5, 0))
    start, end = sch.window_at(datetime(2026, 11, 15, 20, 0, tzinfo=CST), P)
    assert start.utcoffset() == timedelta(hours=8) and end - start == timedelta(hours=4)


# -- deploy/ ---------------------------------------------------------------------------

DEPLOY = __import__("pathlib").Path(__file__).resolve().parent.parent / "deploy"


def _unit(name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            k, _, v = line.partition("=")
            out.setdefault(k.strip(), []).append(v.strip())
    return out


@pytest.mark.parametrize("name", ["lianxin-kiosk.service", "lianxin-phone.service",
                                  "lianxin-hub.service", "lianxin-hub@.service",
                                  "lianxin-sync.service"])
def test_units_are_hardened(name):
    u = _unit(name)
    assert u["User"][0].startswith("lianxin") and u["NoNewPrivileges"] == ["yes"]
    assert u["ProtectSystem"] == ["strict"] and u["ReadWritePaths"][0].startswith("/var/lib/")
    assert u["Type"] == ["oneshot"] or u["Restart"] == ["always"]


def test_sync_unit_runs_a_tick_our_cli_accepts(store):
    from click.testing import CliRunner

    from cli.main import cli

    u = _unit("lianxin-sync.service")
    env = dict(line.split("=", 1) for line in
               (DEPLOY / "terminal.env.sample").read_text(encoding="utf-8").splitlines()
               if line and not line.startswith("#"))
    env["LIANXIN_DB"] = str(store.path)
    argv = u["ExecStart"][0].split()
    assert argv[0].endswith("/lianxin")
    args = [env[a[2:-1]] if a.startswith("${") else a for a in argv[1:]]
    store.close()  # the tick opens the store itself, as the timer's process would
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert '"not_enrolled"' in result.output
    assert _unit("lianxin-sync.timer")["OnUnitInactiveSec"] == ["5min"]
