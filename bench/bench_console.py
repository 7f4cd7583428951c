"""Console benchmark: the operators' pages on a generated county.

    python -m bench.bench_console [--quick] [--json] [--keep DIR]

A county of 500 branches in 25 townships, 40 members each (20,000), and a year of a
terminal's facts per branch: every paid member-month as a ``dues.dues`` payment and study
sittings for the rest, 2,000 events a branch (1,000,000). The roster is the hub's own
events (a roster import's, made once on a scratch terminal and appended to every branch);
the facts go through ``service.push`` in signed-chain batches, as a terminal's would, so
the hub's reconciliation tables are what a real county's would be. ``--quick``: 50 branches.

Then a real hub process serves the console, and signed-in clients time each page over
HTTP (what an operator waits for, less the browser's drawing): the overview as the county
admin (every branch) and as a township operator (20 branches), a branch page, a branch's
export when the hub has one; and, apart, the very first overview after the hub starts
(its figures not yet kept: sync.hub.overview). Targets (issue 11): overview and branch page ≤300 ms p95,
a branch export ≤2 s. Building the county takes a few minutes; ``--keep DIR`` keeps it
there and reuses it next time.

Benchmarks report; they do not gate: the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import requests

from core import members as core_members
from core.clock import CST, FixedClock, add_months, iso, month_of, month_range
from sync import protocol
from sync.hub import admin, conflicts, exports, open_hub, operators, roster, service
from sync.hub.operators import Actor

from .bench_sync import FakeTerminal, Hub

PAGE_TARGET_MS = 300
EXPORT_TARGET_S = 2.0
TOWNSHIPS = 25
PASSWORD = "bench-county-pass"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国秀英桂兰志强玉珍海涛春生明华丽娟德福淑芬"


def _roster_events(storage, code: str, n: int, first_month: str) -> list[dict]:
    """``n`` farmers' ``member.added`` / ``member.rate_fixed`` events, made by the core
    functions on a scratch terminal (no PINs: none is needed to read pages)."""
    rng = random.Random(5)
    with roster.scratch_terminal(roster.branch_row(storage, code),
                                 FixedClock(datetime(2026, 1, 1, 9, tzinfo=CST))) as scratch:
        for i in range(1, n + 1):
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            core_members.add(scratch, member_no=f"M{i:03d}", name=name, category="farmer",
                             farmer_fen=rng.choice((20, 50, 100)), dues_from=first_month, actor="bench")
        return roster.journaled(scratch)


def _monthly_fen(events: list[dict]) -> dict[str, int]:
    out = {}
    for ev in events:
        p = json.loads(ev["payload"])
        if ev["type"] == "member.added":
            out[p["member_no"]] = p["rate"]["monthly_fen"]
    return out


def _facts(t: FakeTerminal, rng: random.Random, rates: dict[str, int], months: list[str],
           total: int, now: datetime) -> list[tuple[dict, dict]]:
    """A year of one branch's terminal: 85 % of member-months paid in their month (one
    payment each, a receipt number each), study sittings for the rest of ``total``."""
    paid = [(mo, no) for mo in months for no in rates if rng.random() < 0.85]
    study_per_month = max(0, total - len(paid)) // len(months)
    out, receipt = [], 0
    for mo in months:
        start = datetime.fromisoformat(mo + "-01T08:00:00").replace(tzinfo=CST)
        todo = [no for m, no in paid if m == mo]
        n = len(todo) + study_per_month
        span = min(timedelta(days=20), now - start - timedelta(hours=1))
        step = max(timedelta(seconds=1), span / max(1, n))
        t.at = start
        for i in range(n):
            t.at += step
            if i < len(todo):
                receipt += 1
                no, fen = todo[i], rates[todo[i]]
                out.append(t.event("dues.dues", {
                    "entry_id": t.new_id(), "member_no": no, "kind": "dues",
                    "amount_fen": fen, "month_amounts": [[mo, fen]], "method": "cash",
                    "collected_by": "S01", "receipt_no": f"R{receipt:06d}",
                    "recorded_at": iso(t.at),
                    "terminal_id": t.terminal_id}, "staff:S01", f"member:{no}"))
            else:
                no = rng.choice(list(rates))
                out.append(t.event("study.session", {
                    "session_id": t.new_id(), "member_no": no,
                    "lesson_id": f"L{rng.randrange(1, 20):02d}",
                    "started_at": iso(t.at),
                    "seconds": rng.randrange(300, 1800), "completed": rng.random() < 0.7,
                    "channel": "kiosk", "terminal_id": t.terminal_id},
                    f"member:{no}", f"member:{no}"))
    return out


def build_county(db: Path, *, branches: int, members: int, events: int, now: datetime,
                 say=print) -> dict:
    """The generated county in a new hub database ``db``; returns its size and how long it
    took to build."""
    started = time.perf_counter()
    storage = open_hub(db)
    this_month = month_of(now)
    first = add_months(this_month, -11)
    months = month_range(first, this_month)
    rng = random.Random(11)
    for b in range(branches):
        code, town = f"C{b:03d}", f"第{b % TOWNSHIPS + 1:02d}镇"
        admin.create_branch(storage, code=code, name=f"{town}第{b // TOWNSHIPS + 1}村党支部",
                            township=town)
        if b == 0:
            template = _roster_events(storage, code, members, first)
            rates = _monthly_fen(template)
        with storage.transaction():
            roster.append_events(storage, code, template)
        t = FakeTerminal(rng, label="村活动室")
        storage.insert_terminal(terminal_id=t.terminal_id, branch=code,
                                public_key=protocol.public_key_b64(t.key), label=t.label,
                                at=f"{first}-01T08:00:00+08:00")
        facts = _facts(t, rng, rates, months, events, now)
        caller = service.Caller(t.terminal_id, code)
        for i in range(0, len(facts), protocol.PUSH_BATCH):
            chunk = facts[i:i + protocol.PUSH_BATCH]
            service.push(storage, caller, {"events": [e for e, _ in chunk],
                                           "audit": [a for _, a in chunk]},
                         int(now.timestamp() * 1000))
        if (b + 1) % 50 == 0:
            say(f"  {b + 1} branches, {time.perf_counter() - started:.0f} s")
    conflicts.catch_up(storage)
    operators.add(storage, Actor("bench"), username="county", name="县委组织部",
                  role="county_admin", password=PASSWORD)
    operators.add(storage, Actor("bench"), username="town", name="第01镇组织委员",
                  role="township_operator", township="第01镇", password=PASSWORD)
    held = storage._one("SELECT count(*) AS n FROM branch_log")["n"]
    storage.close()
    return {"branches": branches, "members": branches * members, "events_held": held,
            "build_s": round(time.perf_counter() - started, 1)}


def _sign_in(url: str, username: str) -> requests.Session:
    s = requests.Session()
    token = re.search(r'name="login_token" value="([^"]+)"', s.get(url + "/login").text)
    r = s.post(url + "/login", data={"login_token": token.group(1), "username": username,
                                     "password": PASSWORD}, allow_redirects=False)
    if r.status_code != 303:
        raise RuntimeError(f"sign-in as {username} failed: {r.status_code}")
    return s


def _time(s: requests.Session, url: str, n: int) -> dict:
    """``n`` GETs of one page (after one to warm up): p50 and p95 in ms."""
    s.get(url).raise_for_status()
    ms = []
    for _ in range(n):
        started = time.perf_counter()
        r = s.get(url)
        ms.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
    ms.sort()
    return {"p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ms[max(0, int(len(ms) * 0.95) - 1)], 1), "bytes": len(r.content)}


def measure(db: Path, *, branches: int, n: int = 20) -> dict:
    out = {}
    with Hub(db) as hub:
        county, town = _sign_in(hub.url, "county"), _sign_in(hub.url, "town")
        # The first view after the hub starts, while its refresher adds the county up.
        started = time.perf_counter()
        county.get(hub.url + "/").raise_for_status()
        out["first_overview_after_start_ms"] = round((time.perf_counter() - started) * 1000)
        out["overview_county"] = _time(county, hub.url + "/", n)
        out["overview_township"] = _time(town, hub.url + "/", n)
        out["branch_page"] = _time(county, hub.url + f"/branch/C{branches // 2:03d}", n)
        mid = f"C{branches // 2:03d}"
        for table in exports.BRANCH_TABLES:
            out[f"export_{table}_xlsx"] = _time(county, f"{hub.url}/exports/{mid}/{table}.xlsx", 5)
        slowest = max(out[f"export_{t}_xlsx"]["p95_ms"] for t in exports.BRANCH_TABLES)
        out["export_target_ms"] = EXPORT_TARGET_S * 1000
        out["meets_export_target"] = slowest <= EXPORT_TARGET_S * 1000
    worst = max(out[k]["p95_ms"] for k in ("overview_county", "overview_township",
                                            "branch_page"))
    out["target_ms"] = PAGE_TARGET_MS
    out["meets_page_target"] = worst <= PAGE_TARGET_MS
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_console", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="50 branches instead of 500")
    p.add_argument("--json", action="store_true")
    p.add_argument("--keep", type=Path, help="build the county here (or reuse it)")
    p.add_argument("--branches", type=int, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    branches = a.branches or (50 if a.quick else 500)
    say = (lambda *_: None) if a.json else print
    with tempfile.TemporaryDirectory(prefix="lianxin-bench-console-") as tmp:
        folder = a.keep or Path(tmp)
        db = folder / f"county-{branches}.db"
        results = {}
        if not db.exists():
            folder.mkdir(parents=True, exist_ok=True)
            say(f"building a county of {branches} branches …")
            results["county"] = build_county(db, branches=branches, members=40,
                                             events=2000, now=datetime.now(CST), say=say)
        results["pages"] = measure(db, branches=branches)
    if a.json:
        json.dump(results, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        for name, figures in results.items():
            print(f"{name}:")
            for k, v in figures.items():
                print(f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
