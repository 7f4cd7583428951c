"""When a terminal syncs by itself: a nightly window, back-off after failures, and a sync as
soon as the link comes back.

The rules are pure functions of (state, time, random source) so they are tested without
sleeping; :class:`Scheduler` applies them to a store, and :func:`run_daemon` /
:func:`run_due` are the loops behind ``lianxin sync --daemon`` and the systemd timer.

* Nightly: one sync at a random moment inside the window (default 01:00-05:00 China
  Standard Time, when the kiosk is idle and the village link is free), so the terminals of
  a county do not all call the hub at the same second.
* Failures: the next try comes after an exponential back-off (1, 2, 4 … minutes, at most an
  hour) with +/-25% jitter, at any hour: data waiting to leave the village should leave.
* The link: every tick probes the hub's ``/health`` (no signature, a few hundred bytes).
  A probe that fails marks the link down and a due sync waits for it rather than failing
  again; when a probe succeeds after the link was down and something waits (a failed sync
  or unsent events) the sync runs at once.

State lives in the store's meta table, written in one transaction:
``sync.next_run``, ``sync.last_attempt``, ``sync.failures``, ``sync.link_up``
(``sync.last_success`` and ``sync.last_error`` are the client's).
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from datetime import time as dtime

from core import outbox
from core.clock import CST, iso

DEFAULT_WINDOW = (dtime(1, 0), dtime(5, 0))


@dataclass(frozen=True)
class Policy:
    window_start: dtime = DEFAULT_WINDOW[0]
    window_end: dtime = DEFAULT_WINDOW[1]     # may be earlier than start: crosses midnight
    retry_base_s: float = 60.0
    retry_max_s: float = 3600.0
    jitter: float = 0.25                      # back-off is multiplied by 1 +/- this
    probe_every_s: float = 300.0

    @classmethod
    def parse_window(cls, text: str, **kw) -> Policy:
        """``"01:00-05:00"`` -> a policy with that window."""
        try:
            a, b = (dtime.fromisoformat(p.strip()) for p in text.split("-"))
        except ValueError as e:
            raise ValueError(f"window is HH:MM-HH:MM, got {text!r}") from e
        if a == b:
            raise ValueError("the window must not be empty")
        return cls(window_start=a, window_end=b, **kw)


@dataclass(frozen=True)
class State:
    next_run: datetime | None = None
    last_attempt: datetime | None = None
    failures: int = 0
    link_up: bool | None = None   # None: not probed yet


# -- pure rules ------------------------------------------------------------------------

def window_at(day: datetime, policy: Policy) -> tuple[datetime, datetime]:
    """The window that starts on ``day``'s date (CST)."""
    d = day.astimezone(CST).date()
    start = datetime.combine(d, policy.window_start, tzinfo=CST)
    end = datetime.combine(d, policy.window_end, tzinfo=CST)
    if end <= start:
        end += timedelta(days=1)
    return start, end


def night_run(now: datetime, policy: Policy, rng: random.Random, *,
              this_window: bool = True) -> datetime:
    """A random moment in the next window: the rest of the current one if ``now`` is inside
    it and ``this_window``; otherwise the next one that starts after ``now``."""
    for days in (-1, 0, 1, 2):
        start, end = window_at(now + timedelta(days=days), policy)
        if this_window and start <= now < end:
            return now + (end - now) * rng.random()
        if start > now:
            return start + (end - start) * rng.random()
    raise AssertionError("a window starts within two days")


def backoff_s(failures: int, policy: Policy, rng: random.Random) -> float:
    """Seconds to wait after ``failures`` failures in a row (1 or more)."""
    base = min(policy.retry_max_s, policy.retry_base_s * 2 ** min(max(failures - 1, 0), 30))
    return base * (1 + policy.jitter * rng.uniform(-1, 1))


def initial(state: State, now: datetime, policy: Policy, rng: random.Random) -> State:
    """A state with a next run: tonight's (or the current window's) random moment."""
    if state.next_run is not None:
        return state
    return replace(state, next_run=night_run(now, policy, rng))


def after_success(state: State, now: datetime, policy: Policy, rng: random.Random) -> State:
    return replace(state, next_run=night_run(now, policy, rng, this_window=False),
                   last_attempt=now, failures=0, link_up=True)


def after_failure(state: State, now: datetime, policy: Policy, rng: random.Random, *,
                  network: bool) -> State:
    failures = state.failures + 1
    return replace(state, next_run=now + timedelta(seconds=backoff_s(failures, policy, rng)),
                   last_attempt=now, failures=failures,
                   link_up=False if network else state.link_up)


def after_probe(state: State, now: datetime, reachable: bool, *, waiting: int) -> State:
    """Note the probe; the link coming back with something to do makes a sync due now."""
    came_back = reachable and state.link_up is False
    if came_back and (state.failures > 0 or waiting > 0):
        return replace(state, link_up=True, next_run=min(state.next_run or now, now))
    return replace(state, link_up=reachable)


def due(state: State, now: datetime) -> bool:
    return state.next_run is not None and now >= state.next_run


def sleep_s(state: State, now: datetime, policy: Policy) -> float:
    """How long the loop may sleep: until the next run, but never past the next probe."""
    if state.next_run is None:
        return policy.probe_every_s
    return max(1.0, min(policy.probe_every_s, (state.next_run - now).total_seconds()))


# -- the state in the store ------------------------------------------------------------

def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def load_state(store) -> State:
    link = store.meta("sync.link_up")
    return State(next_run=_dt(store.meta("sync.next_run")),
                 last_attempt=_dt(store.meta("sync.last_attempt")),
                 failures=int(store.meta("sync.failures", "0") or 0),
                 link_up=None if not link else link == "1")


def save_state(store, state: State) -> None:
    with store.transaction():
        store.set_meta("sync.next_run", iso(state.next_run) if state.next_run else "")
        store.set_meta("sync.last_attempt", iso(state.last_attempt) if state.last_attempt else "")
        store.set_meta("sync.failures", str(state.failures))
        store.set_meta("sync.link_up", "" if state.link_up is None else str(int(state.link_up)))


# -- applying the rules ----------------------------------------------------------------

def probe_health(url: str, timeout: float = 5.0) -> bool:
    """Is the hub reachable? ``GET /health``, no signature."""
    import requests

    try:
        return requests.get(url.rstrip("/") + "/health", timeout=timeout).ok
    except requests.RequestException:
        return False


class Scheduler:
    """One terminal's automatic sync. ``step()`` does one tick and says how long to sleep;
    the sync, the probe, the clock and the random source can be replaced (tests)."""

    def __init__(self, store, *, policy: Policy | None = None, rng: random.Random | None = None,
                 now: Callable[[], datetime] | None = None,
                 sync: Callable | None = None, probe: Callable[[str], bool] | None = None):
        from . import client

        self.store, self.policy = store, policy or Policy()
        self.rng = rng or random.Random()
        self.now = now or store.now
        self.sync = sync or client.sync_once
        self.probe = probe or probe_health

    def step(self) -> dict:
        from .client import SyncError

        now = self.now()
        state = initial(load_state(self.store), now, self.policy, self.rng)
        url = self.store.meta("sync.hub_url")
        if not url:
            save_state(self.store, state)
            return {"ran": False, "reason": "not_enrolled", "sleep_s": self.policy.probe_every_s}
        reachable = self.probe(url)
        state = after_probe(state, now, reachable, waiting=outbox.waiting(self.store))
        out: dict = {"ran": False, "link_up": reachable}
        if due(state, now) and reachable:
            try:
                out["report"] = self.sync(self.store)
                state = after_success(state, self.now(), self.policy, self.rng)
                out.update(ran=True, ok=True)
            except Exception as e:  # noqa: BLE001 - any failure backs off; the loop lives on
                code = e.code if isinstance(e, SyncError) else type(e).__name__
                state = after_failure(state, self.now(), self.policy, self.rng,
                                      network=code == "network")
                out.update(ran=True, ok=False, error=code)
        elif due(state, now):
            out["reason"] = "link_down"
        save_state(self.store, state)
        out.update(next_run=iso(state.next_run), failures=state.failures,
                   sleep_s=sleep_s(state, self.now(), self.policy))
        return out


def status(store) -> dict:
    """What the staff screen shows about automatic sync."""
    s = load_state(store)
    return {"next_run": iso(s.next_run) if s.next_run else None,
            "last_attempt": iso(s.last_attempt) if s.last_attempt else None,
            "failures": s.failures, "link_up": s.link_up}


def run_due(db_path, *, policy: Policy | None = None) -> dict:
    """One tick (what the systemd timer runs every few minutes)."""
    from core.store import Store

    with Store.open(db_path) as store:
        return Scheduler(store, policy=policy).step()


def run_daemon(db_path, *, policy: Policy | None = None, stop: threading.Event | None = None,
               log: Callable[[str], None] = print) -> int:
    """Tick until ``stop`` is set (SIGTERM/SIGINT set it when run from the main thread)."""
    import json

    from core.store import Store

    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    with Store.open(db_path) as store:
        scheduler = Scheduler(store, policy=policy)
        while not stop.is_set():
            result = scheduler.step()
            if result["ran"] or result.get("reason"):
                log(json.dumps({k: v for k, v in result.items() if k != "report"},
                               ensure_ascii=False))
            stop.wait(result["sleep_s"])
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sync.schedule", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", required=True, help="the terminal database")
    p.add_argument("--window", default="01:00-05:00", help="nightly window, HH:MM-HH:MM (CST)")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--daemon", action="store_true", help="run until stopped")
    mode.add_argument("--due", action="store_true", help="one tick (for a systemd timer)")
    a = p.parse_args(argv)
    policy = Policy.parse_window(a.window)
    if a.daemon:
        return run_daemon(a.db, policy=policy)
    import json

    result = run_due(a.db, policy=policy)
    print(json.dumps({k: v for k, v in result.items() if k != "report"}, ensure_ascii=False))
    return 0 if result.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
