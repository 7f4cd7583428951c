"""Core benchmarks: member lookup on a large roster, and recording a cash payment.

    python -m bench.bench_core [--members N] [--queries Q] [--payments P] [--json] [--dir PATH]

Builds a real encrypted terminal store (SQLCipher, WAL, synchronous=FULL) in a temporary
directory, fills it with N members with realistic Chinese names, then times:

  * member lookup by exact member number, by a 1- and a 2-character piece of a name and by
    pinyin initials (median and p95 over Q queries each; target <= 5 ms median);
  * recording a cash payment, ``dues.pay(months=1)`` with one staff confirmation made up
    front: ledger + journal + audit in one fsynced transaction (target <= 20 ms median).

Benchmarks report; they do not gate: the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from core import branch, dues, members
from core.store import Store

LOOKUP_TARGET_MS = 5.0
PAYMENT_TARGET_MS = 20.0

# Common surnames (most frequent first, so the draw below is roughly realistic) and
# characters often used in given names, including a few polyphonic ones (单, 曾, 解, 查).
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
            "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江"
            "尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单解查")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国德文红梅玉珍凤琴云"
         "海波春燕兵辉林志宏福贵荣成金山水清正永胜利民安宁东升家庆祥瑞松柏玲淑贞惠莲"
         "忠诚信义仁礼智学进发财喜乐长生根宝元增光耀先佳富有")


def _weighted_surname(rng: random.Random) -> str:
    # Zipf-like: the first surnames are much more common than the last ones.
    i = int(len(SURNAMES) * rng.random() ** 2.2)
    return SURNAMES[min(i, len(SURNAMES) - 1)]


def make_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.25 else 2))
    return _weighted_surname(rng) + given


def build(path: Path, n: int, seed: int = 2026) -> tuple[Store, list[dict], float]:
    """A store with ``n`` members; returns (store, roster, seconds taken)."""
    rng = random.Random(seed)
    store = Store.create(path)
    branch.setup(store, code="BENCH", name="基准测试村党支部", actor="bench")
    branch.add_staff(store, staff_no="S01", name="王书记", role="collector", pin="2468",
                     actor="bench")
    roster = []
    t0 = time.perf_counter()
    with store.transaction():  # one outer transaction; each add nests as a savepoint
        for i in range(1, n + 1):
            name = make_name(rng)
            category = rng.choice(("farmer", "farmer", "farmer", "retired", "employed",
                                   "student", "unemployed", "relief", "subsistence"))
            kw: dict = {}
            if category == "farmer":
                kw["farmer_fen"] = rng.choice((20, 30, 50, 100))
            elif category in ("retired", "employed"):
                kw["income_fen"] = rng.randrange(150000, 1200000)
            phones = [f"139{i:08d}"] if rng.random() < 0.6 else []
            m = members.add(store, member_no=f"BM{i:05d}", name=name, category=category,
                            phones=phones, actor="bench", **kw)  # no PIN: argon2 per member is not what we time
            roster.append({"member_no": m["member_no"], "name": name, "initials": m["initials"]})
    return store, roster, time.perf_counter() - t0


def _time_ms(fn, args_list) -> list[float]:
    out = []
    for args in args_list:
        t = time.perf_counter()
        fn(*args)
        out.append((time.perf_counter() - t) * 1000)
    return out


def _summary(samples: list[float]) -> dict:
    s = sorted(samples)
    p95 = s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]
    return {"n": len(s), "median_ms": round(statistics.median(s), 3), "p95_ms": round(p95, 3),
            "max_ms": round(s[-1], 3)}


def bench_lookup(store, roster, queries: int, rng: random.Random) -> dict[str, dict]:
    picks = [rng.choice(roster) for _ in range(queries)]
    cases = {
        "lookup: member number (exact)": [(m["member_no"],) for m in picks],
        "lookup: name, 1 character": [(rng.choice(m["name"]),) for m in picks],
        "lookup: name, 2 characters": [(m["name"][j:j + 2],) for m in picks
                                       for j in [rng.randrange(len(m["name"]) - 1)]],
        "lookup: pinyin initials": [(m["initials"],) for m in picks],
        "lookup: pinyin prefix (2 letters)": [(m["initials"][:2],) for m in picks],
    }
    out = {}
    for label, args in cases.items():
        # Check every query finds its member (a fast wrong answer is no answer).
        samples = []
        for (q,), m in zip(args, picks, strict=True):
            t = time.perf_counter()
            found = members.lookup(store, q)
            samples.append((time.perf_counter() - t) * 1000)
            if "prefix" not in label and "1 character" not in label and \
                    not any(r["member_no"] == m["member_no"] for r in found) and \
                    len(found) < members.LOOKUP_LIMIT:
                raise AssertionError(f"{label}: {q!r} did not find {m['member_no']} {m['name']}")
            if not found:
                raise AssertionError(f"{label}: {q!r} found nothing")
        out[label] = {**_summary(samples), "target_ms": LOOKUP_TARGET_MS}
    return out


def bench_payment(store, roster, payments: int) -> dict:
    confirmation = branch.confirm(store, "S01", "2468")  # once: argon2 is not what we time
    who = [m["member_no"] for m in roster[:payments]]
    if len(who) < payments:
        raise SystemExit(f"--payments {payments} needs at least as many members")
    before = store.one("SELECT COUNT(*) AS n FROM ledger")["n"]
    samples = _time_ms(lambda no: dues.pay(store, no, months=1, confirmation=confirmation),
                       [(no,) for no in who])
    after = store.one("SELECT COUNT(*) AS n FROM ledger")["n"]
    if after - before != payments:
        raise AssertionError(f"{payments} payments recorded {after - before} ledger rows")
    return {**_summary(samples), "target_ms": PAYMENT_TARGET_MS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_core", description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=10_000, help="roster size (default 10000)")
    ap.add_argument("--queries", type=int, default=300, help="queries per lookup kind (>=200)")
    ap.add_argument("--payments", type=int, default=300, help="payments to record (>=200)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--dir", help="directory for the store (default: a temporary directory)")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="lianxin-bench-", dir=args.dir) as tmp:
        store, roster, build_s = build(Path(tmp) / "terminal.db", args.members, args.seed)
        try:
            pragmas = {p: store.db.execute(f"PRAGMA {p}").fetchone()[0]
                       for p in ("journal_mode", "synchronous", "cipher_version")}
            results = bench_lookup(store, roster, args.queries, rng)
            results["cash payment (dues.pay, 1 month, fsynced)"] = bench_payment(
                store, roster, min(args.payments, len(roster)))
        finally:
            store.close()

    for r in results.values():
        r["ratio"] = round(r["median_ms"] / r["target_ms"], 3)
        r["pass"] = r["median_ms"] <= r["target_ms"]
    lookup_ok = all(r["pass"] for k, r in results.items() if k.startswith("lookup"))
    payment_ok = all(r["pass"] for k, r in results.items() if not k.startswith("lookup"))
    summary = {"members": args.members, "build_seconds": round(build_s, 1),
               "python": sys.version.split()[0], "pragmas": pragmas, "results": results,
               "verdict": {"lookup <= 5 ms median": lookup_ok,
                           "cash payment <= 20 ms median": payment_ok}}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0

    sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(pragmas["synchronous"])
    print(f"Lianxin core benchmarks: {args.members} members (built in {build_s:.1f} s); "
          f"SQLCipher {pragmas['cipher_version']}, journal_mode={pragmas['journal_mode']}, "
          f"synchronous={sync}")
    head = f"{'figure':<44} {'n':>5} {'median ms':>10} {'p95 ms':>9} {'target ms':>10} {'ratio':>7}"
    print(head)
    print("-" * len(head))
    for label, r in results.items():
        print(f"{label:<44} {r['n']:>5} {r['median_ms']:>10.3f} {r['p95_ms']:>9.3f} "
              f"{r['target_ms']:>10.1f} {r['ratio']:>7.3f}")
    print()
    print(f"{'PASS' if lookup_ok else 'FAIL'}  member lookup median <= {LOOKUP_TARGET_MS:g} ms")
    print(f"{'PASS' if payment_ok else 'FAIL'}  cash payment median <= {PAYMENT_TARGET_MS:g} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
