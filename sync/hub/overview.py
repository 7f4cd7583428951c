"""The branches at a glance (the console's 总览): each branch's collection rate this month
and this year, members 3+ and 6+ months behind, study hours this month, its terminals, and
what waits for an operator; and the 12-month trend of them all together.

A county hub holds hundreds of branches and a million events, and an operator opens the
overview many times a day. A branch's dues and study figures change only when its log grows
(every derived table follows the log: ``conflicts.catch_up``) or one of its proposals is
decided, so they are kept per (branch, month) under that version and worked out again only
for the branches that changed. What waits and the terminals are read fresh each time, for
all branches at once, in a few grouped queries. The kept figures live in the hub process's
memory (each process of a hub keeps its own); nothing is written. A served hub keeps them
fresh in the background (:class:`Refresher`, every minute), so the first operator of the
morning does not wait while a night's pushes are added up; it works while the hub is quiet
(no push for QUIET_S seconds) and gives way between branches when pushes come, so a busy
night is not slowed down by figures nobody reads until morning.

Months behind are counted one way everywhere: the months a member still owes, the current
month included (what they would pay to be up to date).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from datetime import datetime, timedelta

from core.clock import default_clock, month_of

from . import admin, conflicts, report, voice
from .storage import HubStorage

log = logging.getLogger("lianxin.hub.overview")
QUIET_AFTER = timedelta(hours=48)   # a terminal not seen for two nights needs a look
QUIET_S = 10.0                      # the refresher waits for this long without a push
_kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # storage -> {(code, month): …}
_kept_lock = threading.Lock()


def rate(collected: int, expected: int) -> int | None:
    """Per cent, rounded down (100 only when nothing is missing); None when nothing is due."""
    return None if expected <= 0 else min(100, collected * 100 // expected)


def quiet(last_seen: str | None, now: datetime) -> bool:
    return last_seen is None or now - datetime.fromisoformat(last_seen) > QUIET_AFTER


def branch_figures(storage: HubStorage, code: str, month: str) -> dict:
    """One branch's dues and study figures for ``month`` and its 12-month trend, from the
    derived tables (call after ``conflicts.catch_up``)."""
    members = storage.report_members(code)
    due = report.rate_lookup(storage.report_rates(code))
    paid_rows = storage.report_paid(code, month)
    paid = {(r["member_no"], r["month"]): r["fen"] for r in paid_rows}
    expected, behind = report.position(members, due, paid, month)
    trend = report.trend_of(storage, code, members, due, paid_rows, month)
    year = [t for t in trend if t["month"][:4] == month[:4]]
    owed = [len(m["months_owed"]) for m in behind]
    return {
        "month_rate": rate(sum(f for (_, mo), f in paid.items() if mo == month), expected),
        "year_rate": rate(sum(t["collected_fen"] for t in year),
                          sum(t["expected_fen"] for t in year)),
        "behind_3": sum(1 for n in owed if n >= 3),
        "behind_6": sum(1 for n in owed if n >= 6),
        "study_hours": round(trend[-1]["study_seconds"] / 3600, 2),
        "trend": trend,
    }


_working = threading.Lock()   # one thread works figures out at a time: no branch twice


def _kept_figures(storage: HubStorage, code: str, month: str, version: tuple) -> dict:
    def kept():
        with _kept_lock:
            hit = _kept.setdefault(storage, {}).get((code, month))
        return hit[1] if hit is not None and hit[0] == version else None

    figures = kept()
    if figures is None:
        with _working:      # the refresher and a page both missing it: the second waits
            figures = kept()
            if figures is None:
                figures = branch_figures(storage, code, month)
                with _kept_lock:
                    _kept.setdefault(storage, {})[(code, month)] = (version, figures)
    return figures


def overview(storage: HubStorage, codes: list[str], *, clock=None) -> dict:
    """The branches ``codes`` (an operator's scope) at a glance, and their 12-month trend."""
    now = (clock or default_clock()).now()
    month = month_of(now)
    conflicts.catch_up(storage)
    voice.catch_up(storage)
    versions = storage.branch_versions()
    waiting_of = storage.waiting_counts()
    names = {b["code"]: b for b in storage.branch_names()}
    terminals: dict[str, list[dict]] = {}
    for t in admin.list_terminals(storage):
        if not t["revoked"]:
            terminals.setdefault(t["branch"], []).append(t)
    rows, totals = [], {}
    for code in codes:
        figures = _kept_figures(storage, code, month, versions.get(code))
        mine = terminals.get(code, [])
        counts = waiting_of.get(code, {})
        waiting = {
            "proposals": counts.get("proposals", 0),
            "double_payments": counts.get("double_payments", 0),
            "payment_checks": counts.get("payment_checks", 0),
            "refused_terminals": sum(1 for t in mine if t["chain"] != "ok"),
            "quarantined": counts.get("quarantined", 0),
            "voice_messages": counts.get("voice_messages", 0),
        }
        rows.append({
            "code": code, "name": names[code]["name"], "township": names[code]["township"],
            **{k: v for k, v in figures.items() if k != "trend"},
            "terminals": len(mine),
            "quiet_terminals": sum(1 for t in mine if quiet(t["last_seen"], now)),
            "clock_wrong": sum(1 for t in mine if t["clock"] != "ok"),
            "waiting": waiting, "waiting_total": sum(waiting.values()),
        })
        for t in figures["trend"]:
            acc = totals.setdefault(t["month"], {"month": t["month"], "expected_fen": 0,
                                                 "collected_fen": 0, "study_seconds": 0})
            acc["expected_fen"] += t["expected_fen"]
            acc["collected_fen"] += t["collected_fen"]
            acc["study_seconds"] += t["study_seconds"]
    trend = [{**totals[k], "study_hours": round(totals[k]["study_seconds"] / 3600, 1)}
             for k in sorted(totals)]
    return {"month": month, "branches": rows, "trend": trend}


def refresh(storage: HubStorage, *, clock=None, stop: threading.Event | None = None,
            busy=None) -> int:
    """Work out the figures of every branch that changed since they were kept (until
    ``stop`` is set, or ``busy()`` says the hub has pushes to serve); returns how many
    were."""
    month = month_of((clock or default_clock()).now())
    conflicts.catch_up(storage)
    done = 0
    for code, version in storage.branch_versions().items():
        if (stop is not None and stop.is_set()) or (busy is not None and busy()):
            break
        with _kept_lock:
            hit = _kept.get(storage, {}).get((code, month))
        if hit is None or hit[0] != version:
            _kept_figures(storage, code, month, version)
            done += 1
    return done


class Refresher(threading.Thread):
    """Keeps a served hub's overview figures fresh: :func:`refresh` at start, then every
    ``every_s`` seconds, until :meth:`stop`."""

    def __init__(self, storage: HubStorage, every_s: float = 60.0):
        super().__init__(name="overview-refresher", daemon=True)
        self.storage, self.every_s = storage, every_s
        self._stopped = threading.Event()

    def busy(self) -> bool:
        """A push began within the last QUIET_S seconds."""
        return time.monotonic() - self.storage.last_push < QUIET_S

    def run(self) -> None:
        while not self._stopped.is_set():
            if self.busy():  # a night's pushes come first; the figures wait for a pause
                self._stopped.wait(QUIET_S / 2)
                continue
            try:
                refresh(self.storage, stop=self._stopped, busy=self.busy)
            except Exception:   # a bad moment (a closing store): the next round tries again
                log.exception("overview refresh failed")
            self._stopped.wait(self.every_s)

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=30)
