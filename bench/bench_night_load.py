"""The night load (issue 12): a county's terminals sync at night through haproxy to hub
processes on PostgreSQL, and to one SQLite hub for reference.

    python -m bench.bench_night_load [--terminals 10000] [--events 50] [--concurrency 64]
                                     [--workers 4] [--window 3] [--only pg1,pg2,sqlite]
                                     [--quick] [--json] [--dir DIR] [--seed N]
                                     [--no-pull] [--accept ENCODINGS]

A night: every terminal of a county (1,000 branches of 10 terminals by default) sends its
day, about ``--events`` journal events (study sittings with their audit chain), in one
signed v3 push (rows, ``head_seq``, gzipped) that also asks for the first page of its
branch's log (``"pull"``): the one round trip a terminal's nightly sync costs. Terminals
go in a random (seeded) order, each at a random moment of a ``--window``-second start
window, at most ``--concurrency`` in flight: more than the hubs can take, so the figure is
the hubs' pace, not the terminals'.

Configurations, each on a fresh database and the same terminals and bodies:
  * pg1: haproxy -> 1 hub process on PostgreSQL;
  * pg2: haproxy -> 2 hub processes on one PostgreSQL database (writes take turns under
    its writer lock, so the second process adds parallel parsing, signature checks and
    HTTP, not a second writer);
  * sqlite: haproxy -> 1 hub process on SQLite, the reference.
PostgreSQL is a throwaway server (bench/pgserver.py) kept durable: fsync,
synchronous_commit and full_page_writes on. haproxy is bench/hubfarm.py's with
deploy/haproxy.cfg's balancing and health checks.

Off the clock: the server, the database, the branches, the terminals (registered straight
into storage: enrollment is not part of a night) and every terminal's body, built,
serialized and gzipped. On the clock: signing (it covers the time and a nonce), sending,
the hubs' work, reading and decoding the answer. The load generator is ``--workers``
processes of a few threads, one keep-alive connection per thread (http.client).
Answers are asked for as terminals ask (``Accept-Encoding: xz, gzip``). Two switches
take parts out, to see what they cost: ``--no-pull`` (no pull page with the push) and
``--accept gzip`` (answers not xz).

Reported per configuration: events stored (every terminal's stored_seq read back, against
the events sent), wall seconds (first push sent -> last answer read), events/s overall
and per hub process, p50/p95/p99 push latency (signed -> answer read), errors (count and
the first few), CPU seconds over the night of each hub process, of PostgreSQL's server
processes, of haproxy and of the load generator (everything shares the machine's cores:
the CPU figures say where the time went), and hub CPU µs per event; how often haproxy
took a hub process out (its health check unanswered in time) and the slowest ``/health``
seen, asked of each process directly every 0.25 s; then pg2 / pg1.

Targets: >= 20,000 events/s per hub process on PostgreSQL; 2 processes >= 1.6x one
(pg2 / pg1), on a 2-core machine. ``--quick``: 500 terminals, well under a minute.

Benchmarks report; they do not gate: the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import lzma
import multiprocessing as mp
import os
import queue
import random
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization

from bench.bench_sync import FakeTerminal, _show
from bench.hubfarm import HAProxy, free_port
from bench.pgserver import Cluster, NoPostgres
from core.clock import CST
from sync import protocol
from sync.client import ACCEPT_ENCODING, CLIENT_VERSION
from sync.hub import admin, open_hub

ROOT = Path(__file__).resolve().parent.parent
PER_BRANCH = 10
PULL = {"cursor": 0, "limit": 2000}      # the first pull page, brought back by the push
TARGET_PER_PROCESS = 20_000              # events/s per hub process, on PostgreSQL
TARGET_SCALING = 1.6                     # pg2 / pg1
CONFIGS = {"pg1": ("postgresql", 1), "pg2": ("postgresql", 2), "sqlite": ("sqlite", 1)}


# -- the fleet (built once, off the clock) ---------------------------------------------

@dataclass(frozen=True)
class Terminal:
    terminal_id: str
    branch: str
    public_key: str
    private_raw: bytes     # Ed25519 seed: what a worker process needs to sign
    events: int
    body: bytes            # the push body, serialized and compressed
    encoding: str | None   # its Content-Encoding


def build_fleet(terminals: int, events: int, seed: int, *, pull: bool = True) -> list[Terminal]:
    """``terminals`` terminals in branches of 10, each with yesterday's ~``events`` events
    (80-120 %) as a v3 push body asking for the first pull page (unless not ``pull``)."""
    rng = random.Random(seed)
    day = (datetime.now(CST) - timedelta(days=1)).replace(hour=8, minute=0, second=0,
                                                          microsecond=0)
    low, high = max(1, round(events * 0.8)), max(1, round(events * 1.2))
    fleet = []
    for i in range(terminals):
        t = FakeTerminal(rng, label=f"t{i}")
        t.at = day + timedelta(seconds=rng.randrange(12 * 3600))
        evs, entries = t.events(rng.randint(low, high))
        body = {**protocol.push_rows(evs, entries), "head_seq": t.seq}
        if pull:
            body["pull"] = PULL
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        data, encoding = protocol.compress(raw, ACCEPT_ENCODING)   # as sync.client does
        fleet.append(Terminal(
            terminal_id=t.terminal_id, branch=_branch(i // PER_BRANCH),
            public_key=protocol.public_key_b64(t.key),
            private_raw=t.key.private_bytes(serialization.Encoding.Raw,
                                            serialization.PrivateFormat.Raw,
                                            serialization.NoEncryption()),
            events=len(evs), body=data, encoding=encoding))
    return fleet


def _branch(n: int) -> str:
    return f"N{n:04d}"


def register(storage, fleet: list[Terminal]) -> None:
    """The branches and the terminals, straight into storage, in one transaction."""
    at = datetime.now(CST).isoformat(timespec="milliseconds")
    with storage.transaction():
        for b in range(-(-len(fleet) // PER_BRANCH)):
            admin.create_branch(storage, code=_branch(b), name=f"第{b + 1}支部")
        for i, t in enumerate(fleet):
            storage.insert_terminal(terminal_id=t.terminal_id, branch=t.branch,
                                    public_key=t.public_key, label=f"t{i}", at=at)


# -- processes and their CPU -----------------------------------------------------------

def proc_cpu(pid: int) -> float | None:
    """User + system CPU seconds a process used so far (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class HubProcess:
    """``python -m sync.hub.server`` on 127.0.0.1 and a free port. ``db``: a file path or a
    PostgreSQL URL, passed on as a string (a Path would fold the URL's "//")."""

    def __init__(self, db: str, log: Path, env: dict[str, str]):
        self.db, self.log_path, self.env = db, log, env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> HubProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sync.hub.server", "--db", self.db,
                 "--listen", f"127.0.0.1:{self.port}"], cwd=ROOT, stdout=log,
                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT), **self.env})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.proc.returncode}: "
                                   + self.log_path.read_text(errors="replace")[-1500:])
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("the hub did not answer /health within 60 s")

    def cpu_seconds(self) -> float | None:
        return proc_cpu(self.proc.pid) if self.proc else None

    def tracebacks(self) -> int:
        return self.log_path.read_text(errors="replace").count("Traceback")

    def __exit__(self, *exc) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


# -- the load generator (worker processes) ---------------------------------------------

def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _push(conn: http.client.HTTPConnection, key, job: tuple, t0: float, accept: str) -> tuple:
    """One terminal's night: a signed push (with the pull page) and its answer read and
    decoded. Returns (began, seconds, error or None, events stored by it, pull rows)."""
    _offset, terminal_id, _raw, body, encoding, events = job
    began = time.monotonic()
    ts, nonce = str(int(time.time() * 1000)), secrets.token_hex(16)
    headers = {protocol.H_TERMINAL: terminal_id, protocol.H_TIME: ts, protocol.H_NONCE: nonce,
               protocol.H_LOCAL_TIME: ts, protocol.H_PROTOCOL: str(protocol.PROTOCOL_VERSION),
               protocol.H_SOFTWARE: CLIENT_VERSION, "Accept-Encoding": accept,
               protocol.H_SIGNATURE: protocol.sign(key, "POST", "/v1/push", ts, nonce, body),
               "Content-Type": "application/json"}
    if encoding:
        headers["Content-Encoding"] = encoding
    try:
        conn.request("POST", "/v1/push", body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    except (http.client.HTTPException, OSError) as e:
        conn.close()   # the next request connects again
        return began - t0, time.monotonic() - began, f"{type(e).__name__}: {e}"[:200], 0, 0
    seconds = time.monotonic() - began
    try:
        coding = (response.getheader("Content-Encoding") or "").lower()
        if coding == "gzip":
            data = gzip.decompress(data)
        elif coding == "xz":
            data = lzma.decompress(data)
        if response.status != 200:
            return (began - t0, seconds,
                    f"HTTP {response.status}: {data[:160].decode(errors='replace')}", 0, 0)
        answer = json.loads(data)
        rows = len(answer["pull"]["rows"]) if "pull" in answer else 0
        if answer["stored_seq"] != events:
            return (began - t0, seconds, f"stored_seq {answer['stored_seq']} after sending "
                    f"{events}", answer["applied"], rows)
        return began - t0, seconds, None, answer["applied"], rows
    except (ValueError, KeyError, TypeError, OSError, lzma.LZMAError) as e:
        return began - t0, seconds, f"bad answer: {type(e).__name__}: {e}"[:200], 0, 0


def _worker(port: int, jobs: list[tuple], threads: int, accept: str, go, start_at,
            out) -> None:
    """One load-generator process: ``threads`` threads, each with a keep-alive connection
    (made before the night), taking the next terminal in start order, waiting for its
    start moment, pushing. Reports its results and the CPU it spent on the night."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    keys = {job[1]: Ed25519PrivateKey.from_private_bytes(job[2]) for job in jobs}
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=600) for _ in range(threads)]
    for c in conns:
        c.connect()
    out.put(("ready", None))
    go.wait()
    t0 = start_at.value
    cpu = _own_cpu()
    results: list[tuple] = []
    taken = iter(range(len(jobs)))
    lock = threading.Lock()

    def run(conn: http.client.HTTPConnection) -> None:
        while True:
            with lock:
                i = next(taken, None)
            if i is None:
                return
            job = jobs[i]
            wait = t0 + job[0] - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                results.append(_push(conn, keys[job[1]], job, t0, accept))
            except Exception as e:  # noqa: BLE001 - counted as that terminal's error
                now = time.monotonic()
                results.append((now - t0, 0.0, f"{type(e).__name__}: {e}"[:200], 0, 0))

    running = [threading.Thread(target=run, args=(c,)) for c in conns]
    for t in running:
        t.start()
    for t in running:
        t.join()
    cpu = _own_cpu() - cpu
    for c in conns:
        c.close()
    out.put(("done", (results, cpu)))


def run_night(port: int, fleet: list[Terminal], *, concurrency: int, workers: int,
              window: float, seed: int, accept: str, meters: dict) -> dict:
    """The night through ``port`` (haproxy); ``meters``: name -> CPU seconds so far, read
    just before the first start and after the last answer."""
    rng = random.Random(seed)
    order = list(range(len(fleet)))
    rng.shuffle(order)
    starts = sorted(rng.uniform(0, window) for _ in order)
    jobs = [(offset, fleet[i].terminal_id, fleet[i].private_raw, fleet[i].body,
             fleet[i].encoding, fleet[i].events) for offset, i in zip(starts, order, strict=True)]
    workers = max(1, min(workers, concurrency))
    ctx = mp.get_context("spawn")   # a clean process: no inherited connections or threads
    go, start_at, out = ctx.Event(), ctx.Value("d", 0.0), ctx.Queue()
    procs = [ctx.Process(target=_worker, daemon=True, args=(
        port, jobs[w::workers], concurrency // workers + (w < concurrency % workers),
        accept, go, start_at, out)) for w in range(workers)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            _receive(out, procs, "ready")
        before = {name: read() for name, read in meters.items()}
        start_at.value = time.monotonic() + 0.3
        go.set()
        done = [_receive(out, procs, "done") for _ in procs]
        after = {name: read() for name, read in meters.items()}
    except BaseException:
        for p in procs:
            p.kill()
        raise
    finally:
        for p in procs:
            p.join(30)
    results = [r for rs, _ in done for r in rs]
    cpu = {name: (round(after[name] - before[name], 2)
                  if before[name] is not None and after[name] is not None else None)
           for name in meters}
    cpu["load_generator"] = round(sum(c for _, c in done), 2)
    first = min(r[0] for r in results)
    last = max(r[0] + r[1] for r in results)
    ok = sorted(r[1] for r in results if r[2] is None)
    errors = [r[2] for r in results if r[2] is not None]
    return {"pushes": len(results), "wall_s": last - first, "latencies": ok,
            "errors": errors, "pull_rows": sum(r[4] for r in results), "cpu_s": cpu}


def _receive(out, procs: list, kind: str):
    """The next message from a worker (``kind`` expected), or an error once a worker died."""
    while True:
        try:
            got, data = out.get(timeout=1)
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a load-generator process died (exit {dead[0]})") from None
            continue
        if got != kind:
            raise RuntimeError(f"a load-generator process said {got!r}, not {kind!r}")
        return data


# -- one configuration -----------------------------------------------------------------

def deploy_haproxy() -> dict[str, str]:
    """deploy/haproxy.cfg's ``balance`` and server check options: what production runs."""
    text = (ROOT / "deploy" / "haproxy.cfg").read_text()
    balance = re.search(r"^\s*balance\s+(\S+)", text, re.M)
    check = re.search(r"^\s*server\s+\S+\s+\S+\s+check\s+(.*?)\s*$", text, re.M)
    return {"balance": balance.group(1) if balance else "leastconn",
            "check": check.group(1) if check else "inter 1s fall 2 rise 2"}


class HealthWatch(threading.Thread):
    """``GET /health`` on each hub process directly, every 0.25 s, as haproxy checks it:
    how long a process took to answer while loaded."""

    def __init__(self, hubs: list[HubProcess]):
        super().__init__(daemon=True)
        self.hubs, self.stop, self.seconds = hubs, threading.Event(), []

    def run(self) -> None:
        conns = [http.client.HTTPConnection("127.0.0.1", h.port, timeout=30) for h in self.hubs]
        while not self.stop.wait(0.25):
            for c in conns:
                began = time.monotonic()
                try:
                    c.request("GET", "/health")
                    c.getresponse().read()
                except (http.client.HTTPException, OSError):
                    c.close()
                self.seconds.append(time.monotonic() - began)
        for c in conns:
            c.close()

    def __enter__(self) -> HealthWatch:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.join(60)


def bench_config(name: str, *, fleet: list[Terminal], cluster: Cluster | None, work: Path,
                 concurrency: int, workers: int, window: float, seed: int,
                 accept: str) -> dict:
    backend, processes = CONFIGS[name]
    folder = work / name
    folder.mkdir(parents=True)
    env = {"LIANXIN_HUB_ENROLL_PER_MINUTE": "0",
           "LIANXIN_HUB_MAX_CONNECTIONS": str(max(200, 2 * concurrency))}
    if backend == "postgresql":
        db = cluster.new_database()
        env["LIANXIN_HUB_FILES"] = str(folder / "files")
        storage = open_hub(db, files=folder / "files")
    else:
        db = str(folder / "hub.db")
        storage = open_hub(Path(db))
    started = time.perf_counter()
    try:
        register(storage, fleet)
    finally:
        storage.close()
    setup_s = time.perf_counter() - started
    with ExitStack() as stack:
        hubs = [stack.enter_context(HubProcess(db, folder / f"hub{i}.log", env))
                for i in range(processes)]
        proxy = stack.enter_context(HAProxy(folder, [h.port for h in hubs], **deploy_haproxy()))
        meters = {f"hub{i}": h.cpu_seconds for i, h in enumerate(hubs)}
        if backend == "postgresql":
            meters["postgresql"] = cluster.cpu_seconds
        meters["haproxy"] = lambda: proc_cpu(proxy.proc.pid)
        with HealthWatch(hubs) as health:
            night = run_night(proxy.port, fleet, concurrency=concurrency, workers=workers,
                              window=window, seed=seed, accept=accept, meters=meters)
        tracebacks = sum(h.tracebacks() for h in hubs)
    # haproxy's warnings (-db: on its output): a process it took out, failing checks.
    downs = (folder / "haproxy.log").read_text(errors="replace").count(" is DOWN")
    storage = (open_hub(db, files=folder / "files") if backend == "postgresql"
               else open_hub(Path(db)))
    try:
        stored = sum(t["stored_seq"] for t in storage.list_terminals())
    finally:
        storage.close()
    expected = sum(t.events for t in fleet)
    wall = night["wall_s"]
    cpu = night["cpu_s"]
    hub_cpu = [cpu[f"hub{i}"] for i in range(processes)]
    out = {
        "backend": backend, "hub_processes": processes, "terminals": len(fleet),
        "branches": -(-len(fleet) // PER_BRANCH), "events_expected": expected,
        "events_stored": stored, "stored_ok": stored == expected,
        "setup_s": round(setup_s, 1), "wall_s": round(wall, 2),
        "events_per_s": round(stored / wall), "events_per_s_per_process":
            round(stored / wall / processes),
        **_percentiles(night["latencies"]),
        "errors": len(night["errors"]),
        "first_errors": [f"{n} x {e[:140]}" for e, n in Counter(night["errors"]).most_common(3)],
        "hub_tracebacks": tracebacks, "haproxy_took_a_hub_out": downs,
        "health_max_ms": round(max(health.seconds, default=0) * 1000, 1),
        "pull_rows": night["pull_rows"],
        "cpu_s": cpu,
    }
    if stored and None not in hub_cpu:
        out["hub_cpu_us_per_event"] = round(sum(hub_cpu) / stored * 1e6, 1)
        if cpu.get("postgresql") is not None:
            out["postgresql_cpu_us_per_event"] = round(cpu["postgresql"] / stored * 1e6, 1)
    if backend == "postgresql":
        out["target_per_process"] = TARGET_PER_PROCESS
        out["meets_target"] = out["events_per_s_per_process"] >= TARGET_PER_PROCESS
    return out


def _percentiles(latencies: list[float]) -> dict:
    if not latencies:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    if len(latencies) == 1:
        latencies = latencies * 2
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1),
            "p99_ms": round(q[98] * 1000, 1)}


# -- main ------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_night_load", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--terminals", type=int, help="default 10000 (500 with --quick)")
    p.add_argument("--events", type=int, default=50, help="events a terminal, about")
    p.add_argument("--concurrency", type=int, default=64, help="pushes in flight at most")
    p.add_argument("--workers", type=int, default=4, help="load-generator processes")
    p.add_argument("--window", type=float, help="start window, s (default 3, 1 with --quick)")
    p.add_argument("--only", default="pg1,pg2,sqlite")
    p.add_argument("--quick", action="store_true", help="500 terminals, well under a minute")
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--no-pull", action="store_true",
                   help="pushes without the piggybacked pull page (to see what it costs)")
    p.add_argument("--accept", default=ACCEPT_ENCODING,
                   help=f"Accept-Encoding for the answers (default {ACCEPT_ENCODING!r}, "
                        "as terminals send)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--dir", type=Path, help="work folder, kept (default: a temporary one)")
    a = p.parse_args(argv)
    only = [c for c in a.only.split(",") if c]
    unknown = set(only) - set(CONFIGS)
    if unknown:
        p.error(f"--only: unknown {', '.join(sorted(unknown))} (known: {', '.join(CONFIGS)})")
    terminals = a.terminals or (500 if a.quick else 10_000)
    window = a.window if a.window is not None else (1.0 if a.quick else 3.0)
    work = Path(a.dir or tempfile.mkdtemp(prefix="lianxin-bench-night-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": {"cpus": os.cpu_count(), "load_avg_before": os.getloadavg()}}
    started = time.perf_counter()
    fleet = build_fleet(terminals, a.events, a.seed, pull=not a.no_pull)
    results["fleet"] = {"terminals": terminals, "events": sum(t.events for t in fleet),
                        "concurrency": a.concurrency, "workers": a.workers,
                        "window_s": window, "pull": not a.no_pull, "accept": a.accept,
                        "haproxy": deploy_haproxy(), "bodies_bytes": sum(len(t.body) for t in fleet),
                        "build_s": round(time.perf_counter() - started, 1)}
    _show("fleet", results["fleet"], a.json)
    cluster: Cluster | None = None
    try:
        if any(CONFIGS[c][0] == "postgresql" for c in only):
            try:
                cluster = Cluster(durable=True).start()
            except (NoPostgres, subprocess.CalledProcessError, OSError) as e:
                results["postgresql"] = f"no PostgreSQL server: {e}"
                _show("postgresql", {"error": results["postgresql"]}, a.json)
        for name in only:
            if CONFIGS[name][0] == "postgresql" and cluster is None:
                continue
            try:
                results[name] = bench_config(name, fleet=fleet, cluster=cluster, work=work,
                                             concurrency=a.concurrency, workers=a.workers,
                                             window=window, seed=a.seed, accept=a.accept)
            except Exception as e:  # noqa: BLE001 - a benchmark reports, it does not fail
                results[name] = {"error": f"{type(e).__name__}: {e}"[:1000]}
            _show(name, results[name], a.json)
    finally:
        if cluster is not None:
            cluster.stop()
        if a.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    one, two = results.get("pg1", {}), results.get("pg2", {})
    if one.get("events_per_s") and two.get("events_per_s"):
        ratio = two["events_per_s"] / one["events_per_s"]
        results["scaling"] = {"pg2_over_pg1": round(ratio, 2), "target": TARGET_SCALING,
                              "meets_target": ratio >= TARGET_SCALING}
        _show("scaling", results["scaling"], a.json)
    if a.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
