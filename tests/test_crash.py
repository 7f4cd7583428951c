"""Crash safety: a process killed at any moment leaves ledger, journal and audit consistent.

A worker process (tests/crash_worker.py) records cash payments in a loop on a real encrypted
store; the test kills it with SIGKILL at a random moment, 50 times, on the same store. After
every kill: the store opens, ``PRAGMA integrity_check`` is ok, the audit chain verifies, every
ledger row has exactly one ``dues.*`` journal event with the same amount (and every such event
its ledger row, its months adding up), and every payment the worker reported as committed is
there. Nothing half-written, nothing lost after the commit.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import audit, branch, members
from core.store import Store

KILLS = 50
WORKER = Path(__file__).with_name("crash_worker.py")


@pytest.fixture
def crash_store(store):
    """The test store with two members and no practical limit on paying ahead."""
    branch.set_policy(store, back_pay_limit=6, pay_ahead_limit=100000, actor="test")
    members.add(store, member_no="M001", name="张三", category="retired", income_fen=200000,
                actor="test")
    members.add(store, member_no="M002", name="李四", category="farmer", farmer_fen=50,
                actor="test")
    path = store.path
    store.close()
    return path


PAID_LINE = re.compile(r"paid (?P<entry>\S+) (?P<amount>\d+)")


class Worker:
    """A crash_worker.py process, started ahead of time so its imports overlap the run before."""

    def __init__(self, path: Path):
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(path), "S01", "2468"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=WORKER.parent.parent)

    def _expect(self, word: str) -> None:
        line = self.proc.stdout.readline()
        if line.strip() != word:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            pytest.fail(f"worker said {line!r}, not {word!r}\n{err}")

    def run_and_kill(self, delay: float) -> tuple[list[tuple[str, int]], str]:
        """Let it pay, SIGKILL it ``delay`` s after it is ready; the payments it committed."""
        self._expect("loaded")
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        self._expect("ready")
        time.sleep(delay)
        os.kill(self.proc.pid, signal.SIGKILL)
        out, err = self.proc.communicate(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL, f"worker ended by itself: {err}"
        paid = []
        for line in out.split("\n")[:-1]:  # the last piece has no newline: cut short or empty
            m = PAID_LINE.fullmatch(line)
            if m:
                paid.append((m["entry"], int(m["amount"])))
        return paid, err

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=10)


def _check_consistent(s: Store, reported: dict[str, int], note: str) -> int:
    assert s.one("PRAGMA integrity_check")["integrity_check"] == "ok", note
    verdict = audit.verify(s)
    assert verdict.ok, f"{note}: {verdict.problems[:5]}"

    ledger = {r["entry_id"]: r for r in s.all(
        "SELECT entry_id, member_no, kind, amount_fen FROM ledger")}
    events: dict[str, list[dict]] = {}
    for e in s.all("SELECT seq, type, payload FROM journal WHERE type LIKE 'dues.%'"):
        p = json.loads(e["payload"])
        events.setdefault(p["entry_id"], []).append({"type": e["type"], **p})
    assert set(ledger) == set(events), f"{note}: ledger and journal differ"
    for entry_id, row in ledger.items():
        assert len(events[entry_id]) == 1, f"{note}: {entry_id} journaled twice"
        ev = events[entry_id][0]
        assert ev["type"] == f"dues.{row['kind']}", note
        assert (ev["amount_fen"], ev["member_no"]) == (row["amount_fen"], row["member_no"]), note
    sums = dict(s.db.execute("SELECT l.entry_id, COALESCE(SUM(m.amount_fen), 0) FROM ledger l "
                             "LEFT JOIN ledger_month m USING(entry_id) WHERE l.kind = 'dues' "
                             "GROUP BY l.entry_id").fetchall())
    assert all(sums[e] == ledger[e]["amount_fen"] for e in sums), f"{note}: months do not add up"

    for entry_id, amount in reported.items():  # committed before it was printed
        assert entry_id in ledger, f"{note}: committed payment {entry_id} lost"
        assert ledger[entry_id]["amount_fen"] == amount, note
    receipts = [r["receipt_no"] for r in s.all("SELECT receipt_no FROM ledger")]
    assert len(set(receipts)) == len(receipts), note
    return len(ledger)


def test_sigkill_at_random_moments_leaves_a_consistent_store(crash_store, clock):
    seed = int.from_bytes(os.urandom(4), "big")
    rnd = random.Random(seed)
    reported: dict[str, int] = {}
    counts, wal_left = [], 0
    started = time.monotonic()
    spare = Worker(crash_store)
    try:
        for kill in range(1, KILLS + 1):
            worker, spare = spare, Worker(crash_store)
            delay = rnd.uniform(0.02, 0.30)
            try:
                paid, err = worker.run_and_kill(delay)
            finally:
                worker.stop()
            reported.update(paid)
            note = f"seed {seed}, kill {kill} after {delay * 1000:.0f} ms"
            assert "Traceback" not in err, f"{note}: {err}"
            wal = Path(str(crash_store) + "-wal")
            wal_left += wal.exists() and wal.stat().st_size > 0
            with Store.open(crash_store, clock=clock) as s:
                n = _check_consistent(s, reported, note)
            assert not counts or n >= counts[-1], f"{note}: ledger shrank"
            counts.append(n)
    finally:
        spare.stop()
    elapsed = time.monotonic() - started
    # The kills really landed on a busy writer: payments kept coming, the WAL was left behind
    # un-checkpointed (an unclean stop), and the run stayed inside its time budget.
    assert counts[-1] >= KILLS, f"only {counts[-1]} payments in {KILLS} runs (seed {seed})"
    assert sum(1 for a, b in zip([0, *counts], counts, strict=False) if b > a) >= KILLS // 2
    assert wal_left >= KILLS // 2
    assert len(reported) <= counts[-1]
    assert elapsed < 90, f"{KILLS} kills took {elapsed:.0f} s"
