"""Exports of one branch: wall time of each table as XLSX and CSV, the member page and the
yearly summary, for a branch of a given size and history.

    python -m bench.bench_exports [--sizes 40x12,1000x36] [--runs 3] [--json]

Each size ``MxN`` is a hub holding one branch of M members with N months of history up to
the pinned month (2026-11): every member pays each month (through a fake terminal's
ledger events), studies once a month, and gave two consents; all written to the branch log
and read into the hub's derived tables (sync.hub.conflicts), as a real hub holds them.
Then :func:`sync.hub.exports.export` (what the console's download and ``lianxin hub
export`` call) runs for every table in both formats; the figure per table is the median of
``--runs``. Target (issue 11): a branch export in <= 2 s — the slowest table of the
slowest format is compared. Also reported: the member page (member_record.open_record)
and the yearly summary (yearly.summary), which the console answers per request.

Benchmarks report; they do not gate: the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from core.clock import CST, FixedClock, add_months, iso, month_range
from core.ids import new_id
from sync.hub import admin, conflicts, exports, member_record, open_hub, yearly
from sync.hub.operators import Actor

TARGET_S = 2.0
NOW = datetime(2026, 11, 15, 10, 0, tzinfo=CST)
LAST = "2026-11"
ACTOR = Actor("bench", "local")
TERMINAL = "T-bench-0001"


def _event(storage, branch: str, type_: str, payload: dict, at: str) -> None:
    storage.append_log(branch=branch, origin="hub", event_id=new_id(), type=type_,
                       payload=json.dumps(payload, ensure_ascii=False), at=at)


def fill_branch(storage, code: str, members: int, months: int) -> dict:
    """One branch of ``members`` members and ``months`` months of history up to LAST."""
    admin.create_branch(storage, code=code, name="基准测试党支部", township="基准镇")
    first = add_months(LAST, -(months - 1))
    history = list(month_range(first, LAST))
    counts = {"payments": 0, "sittings": 0, "consents": 0}
    with storage.transaction():
        for i in range(members):
            no, fen = f"B{i:05d}", 20 + (i % 9) * 10
            start = f"{first}-01T08:00:00+08:00"
            _event(storage, code, "member.added",
                   {"member_no": no, "name": f"党员{i:05d}", "category": "farmer",
                    "dues_from": first, "joined": "1990-07-01", "probation": False,
                    "rate": {"year": int(first[:4]), "monthly_fen": fen}}, start)
            for year in range(int(first[:4]) + 1, int(LAST[:4]) + 1):
                _event(storage, code, "member.rate_fixed",
                       {"member_no": no, "year": year, "monthly_fen": fen, "rule": "farmer"},
                       f"{year}-01-02T08:00:00+08:00")
            for scope in ("terminal_records", "phone_recognition"):
                _event(storage, code, "consent.granted",
                       {"consent_id": new_id(), "member_no": no, "scope": scope,
                        "granted": True, "method": "staff", "witness": "S01", "at": start},
                       start)
                counts["consents"] += 1
            for n, month in enumerate(history):
                if i % 10 == 0 and n >= len(history) - 4:
                    continue        # one member in ten is four months behind
                at = f"{month}-10T09:{i % 60:02d}:00+08:00"
                _event(storage, code, "dues.dues",
                       {"entry_id": new_id(), "member_no": no, "kind": "dues",
                        "amount_fen": fen, "method": "cash", "collected_by": "S01",
                        "collector_name": "王书记", "receipt_no": f"R{i:05d}-{n:03d}",
                        "recorded_at": at, "terminal_id": TERMINAL,
                        "month_amounts": [[month, fen]]}, at)
                _event(storage, code, "study.session",
                       {"session_id": new_id(), "member_no": no, "lesson_id": "L1",
                        "started_at": at, "seconds": 1200, "completed": n % 2 == 0,
                        "channel": "kiosk", "terminal_id": TERMINAL}, at)
                counts["payments"] += 1
                counts["sittings"] += 1
    conflicts.catch_up(storage, at=iso(NOW))
    return counts


def _median(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_size(work: Path, members: int, months: int, runs: int) -> dict:
    folder = work / f"{members}x{months}"
    folder.mkdir(parents=True)
    storage = open_hub(folder / "hub.db")
    clock = FixedClock(NOW)
    try:
        t0 = time.perf_counter()
        counts = fill_branch(storage, "BENCH", members, months)
        fill_s = time.perf_counter() - t0
        tables = {}
        for name in exports.BRANCH_TABLES:
            for fmt in exports.FORMATS:
                tables[f"{name}.{fmt}"] = round(_median(
                    lambda n=name, f=fmt: exports.export(storage, ACTOR, "BENCH", n, f,
                                                         clock=clock), runs), 3)
        slowest = max(tables, key=tables.get)
        member = _median(lambda: member_record.open_record(storage, ACTOR, "BENCH", "B00000",
                                                           clock=clock), runs)
        summary = _median(lambda: yearly.summary(storage, "BENCH", 2026, clock=clock), runs)
        return {"members": members, "months": months, **counts,
                "fill_s": round(fill_s, 1), "export_s": tables, "slowest": slowest,
                "slowest_s": tables[slowest], "target_s": TARGET_S,
                "pass": tables[slowest] <= TARGET_S, "member_page_s": round(member, 3),
                "summary_s": round(summary, 3)}
    finally:
        storage.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_exports",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="40x12,1000x36",
                    help="MEMBERSxMONTHS, comma-separated (default 40x12,1000x36)")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="lianxin-bench-exports-"))
    results = []
    try:
        for size in args.sizes.split(","):
            members, months = (int(x) for x in size.lower().split("x"))
            r = bench_size(work, members, months, args.runs)
            results.append(r)
            if not args.json:
                print(f"[{members} members x {months} months: {r['payments']} payments, "
                      f"{r['sittings']} sittings; filled in {r['fill_s']} s]")
                for k, v in r["export_s"].items():
                    print(f"  export {k:<22} {v:>7.3f} s")
                print(f"  slowest {r['slowest']}: {r['slowest_s']} s (target <= {TARGET_S} s: "
                      f"{'pass' if r['pass'] else 'FAIL'})")
                print(f"  member page {r['member_page_s']} s, yearly summary "
                      f"{r['summary_s']} s")
                sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
