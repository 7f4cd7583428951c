"""CLI start-up: wall time of ``lianxin --help`` and a few sub-command helps.

    python -m bench.bench_cli [--runs N] [--json]

Runs the installed ``lianxin`` script (``python -m cli`` where it is not installed) as a new
process N times per command line (default 10, after one warm-up run so the figures are of a
warm file cache), with no LIANXIN_* settings, and reports the median and p90 wall time.
Target: ``lianxin --help`` <= 0.3 s median — the root help imports only click and
``cli.shared``, never a part (core, sync, voice, kiosk) or its packages. The other lines are
reported against the same figure for comparison: ``hub … --help`` loads only the hub's
command module; ``dues pay --help`` loads core (the encrypted store, pinyin lookup).

Benchmarks report; they do not gate: the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.3
LINES = (["--help"], ["hub", "--help"], ["hub", "report", "--help"], ["dues", "pay", "--help"])


def entry_point() -> list[str]:
    script = Path(sys.executable).with_name("lianxin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


def time_once(args: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run([*entry_point(), *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def measure(args: list[str], runs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")}
    time_once(args, env)  # warm-up
    times = sorted(time_once(args, env) for _ in range(runs))
    median = statistics.median(times)
    p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
    return {"runs": runs, "median_s": round(median, 4), "p90_s": round(p90, 4),
            "min_s": round(times[0], 4), "target_s": TARGET_S,
            "ratio": round(median / TARGET_S, 3), "pass": median <= TARGET_S}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_cli",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="runs per command line (default 10)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)

    results = {"lianxin " + " ".join(line): measure(line, args.runs) for line in LINES}
    root_ok = results["lianxin --help"]["pass"]
    if args.json:
        print(json.dumps({"entry_point": entry_point(), "python": sys.version.split()[0],
                          "results": results,
                          "verdict": {"lianxin --help <= 0.3 s median": root_ok}},
                         ensure_ascii=False, indent=2))
        return 0

    print(f"Lianxin CLI start-up: {' '.join(entry_point())}, {args.runs} runs each "
          f"(after one warm-up), Python {sys.version.split()[0]}")
    head = f"{'command line':<32} {'median s':>9} {'p90 s':>7} {'min s':>7} {'target s':>9} {'ratio':>7}"
    print(head)
    print("-" * len(head))
    for label, r in results.items():
        print(f"{label:<32} {r['median_s']:>9.3f} {r['p90_s']:>7.3f} {r['min_s']:>7.3f} "
              f"{r['target_s']:>9.1f} {r['ratio']:>7.3f}")
    print()
    print(f"{'PASS' if root_ok else 'FAIL'}  lianxin --help median <= {TARGET_S:g} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
