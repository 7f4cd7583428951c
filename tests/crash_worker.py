"""Crash-test worker: records cash payments in a loop until it is killed.

    python tests/crash_worker.py DB_PATH STAFF_NO STAFF_PIN

Imports everything, prints ``loaded`` and waits for a line on stdin (so the parent can start
the next worker while the current one runs; end of input means exit untouched). Then opens
the store, checks the staff PIN once, prints ``ready``, and alternates a one-month
dues payment for M001 and a voluntary payment for M002, printing ``paid ENTRY_ID AMOUNT``
after each commit. The parent (tests/test_crash.py) kills it with SIGKILL at a random moment.

The clock starts one second after the newest journal event and moves on a millisecond a
payment, so the terminal's clock never looks like it went backwards across restarts.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import branch, dues  # noqa: E402
from core.clock import FixedClock  # noqa: E402
from core.store import Store  # noqa: E402


def main(db_path: str, staff_no: str, pin: str) -> None:
    print("loaded", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    clock = FixedClock()
    store = Store.open(db_path, clock=clock)
    newest = store.one("SELECT max(at) AS at FROM journal")["at"]
    clock.at = datetime.fromisoformat(newest) + timedelta(seconds=1)
    confirmation = branch.confirm(store, staff_no, pin)
    print("ready", flush=True)
    i = 0
    while True:
        clock.advance(milliseconds=1)
        if i % 2 == 0:
            r = dues.pay(store, "M001", months=1, confirmation=confirmation)
        else:
            r = dues.pay_voluntary(store, "M002", amount_fen=100 + i % 1000,
                                   confirmation=confirmation)
        # One write per line: a kill can still cut it, and the reader skips a line
        # without its newline, so a cut amount is never taken for a reported one.
        sys.stdout.write(f"paid {r.entry_id} {r.amount_fen}\n")
        sys.stdout.flush()
        i += 1


if __name__ == "__main__":
    main(*sys.argv[1:4])
