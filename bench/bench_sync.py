"""Sync benchmarks: hub ingest rate, a night's sync over a village link, 1,000 terminals.

    python -m bench.bench_sync [--quick | --full] [--only ingest,night,fleet] [--json]
                               [--via URL --hub-port PORT] [--repeat N]

The hub is a real process (``python -m sync.hub.server``) on 127.0.0.1, pinned to one core
for the ingest figure; terminals sign every request as in production.

  * ingest: journal events a second the hub stores durably on one core, over real HTTP
    (gzipped batches of 500 from several terminals at once; target >= 20,000 events/s),
    and the same work in-process (service.push, no HTTP) for comparison: the median of
    ``--repeat`` runs (3), each on a fresh hub, with the hub's CPU time per event.
  * night: one branch's night (40 members, ~2,000 events made on a real encrypted terminal,
    plus new lesson audio: 20 MB with --full, 2 MB by default, 0.5 MB with --quick) through
    sync.relay at 256 kbit/s, 300 ms round trip, 2% loss. Time against payload bytes / link
    rate (target within 1.3x) and bytes on the wire per event. ``--via URL`` sends the
    night through an emulator already listening at URL in front of ``--hub-port`` instead
    (to check sync.relay against a reference emulator by hand).
  * fleet: 1,000 simulated terminals (100 branches of 10) each enroll, push 20 events and
    pull, 32 at a time, against one hub: completion time and errors.

Benchmarks report; they do not gate: the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import requests

from core import branch, demo, dues, members, study
from core.audit import GENESIS, digest, entry_hash
from core.clock import CST, FixedClock, iso
from core.ids import uuid_v7
from core.store import Store
from sync import client as sc
from sync import protocol
from sync.hub import admin, open_hub, service
from sync.relay import Relay

ROOT = Path(__file__).resolve().parent.parent
INGEST_TARGET = 20_000      # events/s
NIGHT_TARGET = 1.3          # time / (payload bytes / link rate)
LINK = {"rate": "256kbit", "rtt_ms": 300, "loss": 0.02}


# -- a hub process ---------------------------------------------------------------------

class Hub:
    """``python -m sync.hub.server`` on 127.0.0.1, optionally pinned to one CPU."""

    def __init__(self, db: Path, port: int = 0, cpu: int | None = None):
        self.db, self.cpu = db, cpu
        if not port:
            import socket
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port, self.url = port, f"http://127.0.0.1:{port}"

    def __enter__(self) -> Hub:
        cpu = self.cpu
        pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
        self.log = open(str(self.db) + ".log", "ab")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sync.hub.server", "--db", str(self.db),
             "--listen", f"127.0.0.1:{self.port}"], cwd=ROOT, stdout=self.log,
            stderr=subprocess.STDOUT, preexec_fn=pin,
            # A fleet of simulated terminals enrolls from one address: no per-address limit.
            env={**os.environ, "PYTHONPATH": str(ROOT), "LIANXIN_HUB_ENROLL_PER_MINUTE": "0"})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("the hub did not start")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the hub process used so far (None where /proc is not)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


# -- synthetic terminals (an in-memory journal and audit chain, as a terminal writes) ----

class FakeTerminal:
    """A terminal's key and a valid journal + audit chain, made without a store."""

    def __init__(self, rng: random.Random, label: str = ""):
        self.terminal_id = str(uuid.UUID(int=rng.getrandbits(128)))
        self.key = protocol.new_private_key()
        self.rng, self.label = rng, label
        self.seq, self.head = 0, GENESIS
        self.at = datetime(2026, 11, 1, 8, 0, tzinfo=CST)

    def events(self, n: int) -> tuple[list[dict], list[dict]]:
        """``n`` study sittings, 37 s apart."""
        events, entries = [], []
        for _ in range(n):
            self.at += timedelta(seconds=37)
            member = f"M{self.rng.randrange(1, 41):03d}"
            ev, entry = self.event("study.session", {
                "session_id": self.new_id(),
                "member_no": member, "lesson_id": f"L{self.rng.randrange(1, 20):02d}",
                "started_at": iso(self.at), "seconds": self.rng.randrange(60, 1800),
                "completed": True, "answers": [1, 0, 2], "correct": 3, "questions": 3,
                "channel": "kiosk", "terminal_id": self.terminal_id}, f"member:{member}",
                f"member:{member}")
            events.append(ev)
            entries.append(entry)
        return events, entries

    def event(self, type_: str, payload: dict, actor: str, subject: str) -> tuple[dict, dict]:
        """The next journal event and its audit entry, at this terminal's current time."""
        self.seq += 1
        at, body = iso(self.at), protocol.canonical_json(payload)
        event_id = self.new_id()
        detail = protocol.canonical_json({"event_id": event_id, "sha256": digest(body)})
        h = entry_hash(self.head, self.seq, at, actor, type_, subject, detail)
        entry = {"seq": self.seq, "at": at, "actor": actor, "action": type_,
                 "subject": subject, "detail": detail, "prev_hash": self.head, "hash": h}
        self.head = h
        return ({"seq": self.seq, "event_id": event_id, "type": type_, "payload": body,
                 "at": at}, entry)

    def new_id(self) -> str:
        """A record id as a terminal makes them (core.ids: version 7, time-ordered), at
        this terminal's current time, from its seeded generator."""
        ms = int(self.at.timestamp() * 1000)
        return str(uuid_v7(ms, self.rng.getrandbits(12), self.rng.getrandbits(62)))

    def client(self, url: str, session=None) -> sc.HubClient:
        return sc.HubClient(url, terminal_id=self.terminal_id, key=self.key, session=session)

    def enroll(self, client: sc.HubClient, code: str) -> None:
        client.request("POST", "/v1/enroll", body={
            "code": code, "terminal_id": self.terminal_id,
            "public_key": protocol.public_key_b64(self.key), "label": self.label})


def _signed_post(session: requests.Session, url: str, t: FakeTerminal, body: bytes) -> dict:
    """One push with a body gzipped in advance (so the client side costs little)."""
    ts, nonce = str(int(time.time() * 1000)), secrets.token_hex(16)
    headers = {protocol.H_TERMINAL: t.terminal_id, protocol.H_TIME: ts, protocol.H_NONCE: nonce,
               protocol.H_SIGNATURE: protocol.sign(t.key, "POST", "/v1/push", ts, nonce, body),
               "Content-Type": "application/json", "Content-Encoding": "gzip",
               protocol.H_PROTOCOL: str(protocol.PROTOCOL_VERSION)}
    r = session.post(url + "/v1/push", data=body, headers=headers, timeout=120)
    r.raise_for_status()
    return r.json()


# -- ingest ----------------------------------------------------------------------------

def _body(events: list[dict], entries: list[dict], wire: str) -> dict:
    """A push body in the v3 rows form (what terminals send today) or the v2 objects one."""
    if wire == "v3":
        return protocol.push_rows(events, entries)
    return {"events": events, "audit": entries}


def bench_ingest(work: Path, *, terminals: int, batches: int, repeat: int = 3,
                 wire: str = "v3") -> dict:
    """Events applied durably per second of wall time, over real HTTP from real clients,
    hub on one core; then the same work in-process. Each figure is the median of
    ``repeat`` runs, each on a fresh hub (the machine is shared: one run says little)."""
    total = terminals * batches * protocol.PUSH_BATCH
    out = {"events": total, "batch": protocol.PUSH_BATCH, "terminals": terminals,
           "runs": repeat, "wire": wire}
    http = [_ingest_http(work / f"http{i}", terminals=terminals, batches=batches, seed=i + 1,
                         wire=wire) for i in range(repeat)]
    inproc = [_ingest_inproc(work / f"inproc{i}", terminals=terminals, batches=batches,
                             wire=wire) for i in range(repeat)]
    seconds = statistics.median(r["seconds"] for r in http)
    out.update(http_seconds=round(seconds, 2), http_events_per_s=round(total / seconds),
               http_runs_events_per_s=[round(total / r["seconds"]) for r in http],
               stored_ok=all(r["stored_ok"] for r in http))
    if all(r["cpu_s"] is not None for r in http):
        # CPU the hub process spent (user + system) per event: less sensitive to other
        # load on the machine than wall time, so it shows what a change did.
        out["hub_cpu_us_per_event"] = round(
            statistics.median(r["cpu_s"] for r in http) / total * 1e6, 1)
    seconds = statistics.median(inproc)
    out.update(inproc_seconds=round(seconds, 2), inproc_events_per_s=round(total / seconds))
    out["target_events_per_s"] = INGEST_TARGET
    out["meets_target"] = out["http_events_per_s"] >= INGEST_TARGET
    return out


def _ingest_http(work: Path, *, terminals: int, batches: int, seed: int, wire: str) -> dict:
    """One run: ``terminals`` senders (threads, on another core than the hub) each push
    ``batches`` gzipped batches of 500, signed, one after the other."""
    rng = random.Random(seed)
    db = work / "hub.db"
    db.parent.mkdir(parents=True)
    storage = open_hub(db)
    admin.create_branch(storage, code="B", name="基准支部")
    fakes = [FakeTerminal(rng) for _ in range(terminals)]
    codes = [admin.issue_enroll_code(storage, "B")["code"] for _ in fakes]
    bodies = {}
    for t in fakes:
        bodies[t.terminal_id] = []
        for _ in range(batches):
            events, entries = t.events(protocol.PUSH_BATCH)
            raw = json.dumps(_body(events, entries, wire), ensure_ascii=False,
                             separators=(",", ":")).encode()
            bodies[t.terminal_id].append(gzip.compress(raw, 6))
    with Hub(db, cpu=0) as hub:
        for t, code in zip(fakes, codes, strict=True):
            t.enroll(t.client(hub.url), code)

        def run(t: FakeTerminal) -> None:
            with requests.Session() as s:
                for body in bodies[t.terminal_id]:
                    _signed_post(s, hub.url, t, body)

        os.sched_setaffinity(0, {1})  # the senders stay off the hub's core
        try:
            cpu = hub.cpu_seconds()
            started = time.perf_counter()
            with ThreadPoolExecutor(terminals) as pool:
                list(pool.map(run, fakes))
            seconds = time.perf_counter() - started
            cpu = hub.cpu_seconds() - cpu if cpu is not None else None
        finally:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    stored = sum(storage.get_terminal(t.terminal_id)["stored_seq"] for t in fakes)
    storage.close()
    return {"seconds": seconds, "cpu_s": cpu,
            "stored_ok": stored == terminals * batches * protocol.PUSH_BATCH}


def _ingest_inproc(work: Path, *, terminals: int, batches: int, wire: str) -> float:
    """The same work in-process: service.push on decoded batches, no HTTP, gzip or
    signature. Returns seconds."""
    work.mkdir(parents=True)
    storage = open_hub(work / "hub.db")
    admin.create_branch(storage, code="B", name="基准支部")
    fresh = [FakeTerminal(random.Random(i)) for i in range(terminals)]
    for t in fresh:
        storage.insert_terminal(terminal_id=t.terminal_id, branch="B",
                                public_key=protocol.public_key_b64(t.key), label="", at="x")
    work_items = [(t, _body(*t.events(protocol.PUSH_BATCH), wire))
                  for _ in range(batches) for t in fresh]
    started = time.perf_counter()
    for t, body in work_items:
        service.push(storage, service.Caller(t.terminal_id, "B"), body, int(time.time() * 1000))
    seconds = time.perf_counter() - started
    storage.close()
    return seconds


# -- a night's sync --------------------------------------------------------------------

def make_branch_terminal(path: Path, *, events: int, seed: int = 7) -> Store:
    """The demo branch plus members up to 40 and a month of payments and study sessions,
    through the real domain functions, until the journal holds ``events`` events."""
    clock = FixedClock(datetime(2026, 11, 15, 10, 0, tzinfo=CST))
    store = Store.create(path, clock=clock)
    demo.load(store)
    rng = random.Random(seed)
    for i, name in zip(range(35, 41), ("赵新民", "钱立华", "孙桂芝", "李春生", "周玉兰", "吴建军"),
                       strict=True):
        members.add(store, member_no=f"QS{i:03d}", name=name, category="farmer", farmer_fen=50,
                    actor="bench")
    roster = [m["member_no"] for m in members.list_all(store)]
    lessons = [row["lesson_id"] for row in study.lessons(store)]
    confirmation = branch.confirm(store, "S02", demo.STAFF_PIN)
    have = store.one("SELECT count(*) AS n FROM journal")["n"]
    with store.transaction():
        for _ in range(max(0, events - have)):
            clock.advance(minutes=20)
            member = rng.choice(roster)
            if rng.random() < 0.3:
                dues.pay_voluntary(store, member, amount_fen=rng.choice([500, 1000, 2000]),
                                   confirmation=confirmation)
            else:
                study.record_session(store, member_no=member, lesson_id=rng.choice(lessons),
                                     seconds=rng.randrange(120, 1800), completed=True)
    return store


def bench_night(work: Path, *, events: int, audio_mb: float, via: str | None = None,
                hub_port: int = 0, seed: int = 11) -> dict:
    db = work / "night" / "hub.db"
    db.parent.mkdir(parents=True)
    storage = open_hub(db)
    admin.load_demo(storage)
    files, rng = [], random.Random(seed)
    per_file = int(audio_mb * 1_000_000 / 4)
    for i in range(4):  # four new lessons with audio (random bytes: audio does not compress)
        f = work / "night" / f"lesson{i}.mp3"
        f.write_bytes(rng.randbytes(per_file))
        lesson = admin.publish_lesson(storage, "DEMO-QSC", lesson_id=f"night-{i}",
                                      title=f"新课{i}", category="政策学习", minutes=10,
                                      body="请听录音。", audio=f)
        files.append(lesson["audio_sha256"])
    built = time.perf_counter()
    terminal = make_branch_terminal(work / "night" / "terminal" / "terminal.db", events=events)
    build_s = time.perf_counter() - built
    journal = terminal.one("SELECT count(*) AS n FROM journal")["n"]
    out = {"journal_events": journal, "audio_bytes": per_file * 4, "build_s": round(build_s, 1),
           "link": dict(LINK), "via": via or "sync.relay"}
    with Hub(db, port=hub_port) as hub:
        code = admin.issue_enroll_code(storage, "DEMO-QSC")["code"]
        sc.enroll(terminal.path, hub.url, code)  # enrollment happens by day, off the clock
        relay = None
        if via is None:
            relay = Relay(("127.0.0.1", hub.port), seed=seed, **LINK).start()
            link_url = relay.url
        else:
            link_url = via
        with terminal.transaction():
            terminal.set_meta("sync.hub_url", link_url)
        try:
            started = time.perf_counter()
            report = sc.sync_once(terminal)
            sync_s = time.perf_counter() - started
            wire_sync = relay.totals() if relay else None
            client = sc.open_client(terminal)
            media_dir = work / "night" / "terminal" / "media"
            media_dir.mkdir()
            m_started = time.perf_counter()
            if not report.get("media"):  # a client that does not fetch media by itself
                for sha in files:
                    sc.download_media(client, sha, media_dir / sha)
            media_s = time.perf_counter() - m_started
            wire_all = relay.totals() if relay else None
        finally:
            if relay:
                relay.stop()
    terminal.close()
    storage.close()
    rate = 256_000 / 8
    in_sync_media = report.get("media_bytes", 0)
    payload = (report["bytes_sent"] + report["bytes_received"]
               + client.bytes_sent + client.bytes_received)
    event_payload = report["bytes_sent"] + report["bytes_received"] - in_sync_media
    total_s = sync_s + media_s
    moved = report["pushed"] + report["pulled"]
    out.update({
        "events_pushed": report["pushed"], "events_pulled": report["pulled"],
        "media_bytes": in_sync_media + client.bytes_received,
        "round_trips": report["round_trips"] + client.round_trips,
        "sync_s": round(sync_s, 1), "media_s": round(media_s, 1), "total_s": round(total_s, 1),
        "payload_bytes": payload, "ideal_s": round(payload / rate, 1),
        "ratio": round(total_s / (payload / rate), 3),
        "payload_bytes_per_event": round(event_payload / max(moved, 1), 1),
    })
    if wire_sync is not None:
        # Media inside sync_once rides the same connection: its bytes are taken off.
        out["wire_bytes_per_event"] = round(
            (wire_sync["bytes_up"] + wire_sync["bytes_down"] - in_sync_media) / max(moved, 1), 1)
        out["wire_bytes"] = wire_all["bytes_up"] + wire_all["bytes_down"]
        out["segments_lost"] = wire_all["lost"]
        out["wire_ratio"] = round(total_s / (out["wire_bytes"] / rate), 3)
    out["meets_target"] = out["ratio"] <= NIGHT_TARGET
    return out


# -- 1,000 terminals -------------------------------------------------------------------

def bench_fleet(work: Path, *, terminals: int, per_branch: int, events: int,
                concurrency: int) -> dict:
    db = work / "fleet" / "hub.db"
    db.parent.mkdir(parents=True)
    storage = open_hub(db)
    rng = random.Random(3)
    fleet, codes = [], []
    branches = -(-terminals // per_branch)
    for b in range(branches):
        admin.create_branch(storage, code=f"F{b:03d}", name=f"第{b}支部")
    for i in range(terminals):
        t = FakeTerminal(rng, label=f"t{i}")
        fleet.append((t, t.events(events)))
        codes.append(admin.issue_enroll_code(storage, f"F{i // per_branch:03d}")["code"])
    errors: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        t, (evs, entries) = fleet[i]
        try:
            client = t.client(hub.url)
            t.enroll(client, codes[i])
            client.request("POST", "/v1/push", compress=True,
                           body={"events": evs, "audit": entries, "head_seq": len(evs)})
            cursor, more = 0, True
            while more:
                page = client.request("GET", "/v1/pull", params={"cursor": cursor}).json()
                cursor, more = page["next_cursor"], page["more"]
            client.session.close()
        except Exception as e:  # noqa: BLE001 - counted, not raised
            with lock:
                errors.append(f"{type(e).__name__}: {e}"[:200])

    with Hub(db) as hub:
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(terminals)))
        seconds = time.perf_counter() - started
    stored = sum(t["stored_seq"] for t in storage.list_terminals())
    storage.close()
    return {"terminals": terminals, "branches": branches, "events_each": events,
            "concurrency": concurrency, "seconds": round(seconds, 1),
            "terminals_per_s": round(terminals / seconds, 1), "errors": len(errors),
            "first_errors": errors[:3], "events_stored": stored,
            "events_expected": terminals * events}


# -- main ------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_sync", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small figures, about a minute")
    size.add_argument("--full", action="store_true", help="the full night: 20 MB of audio")
    p.add_argument("--only", default="ingest,night,fleet")
    p.add_argument("--via", help="night: an emulator URL already in front of --hub-port")
    p.add_argument("--hub-port", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--wire", choices=("v3", "v2"), default="v3",
                   help="ingest: the push body's form (default v3 rows)")
    p.add_argument("--repeat", type=int, help="ingest: runs to take the median of "
                   "(default 3, 1 with --quick)")
    p.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    a = p.parse_args(argv)
    if a.via and not a.hub_port:
        p.error("--via needs --hub-port (the port the emulator forwards to)")
    only = set(a.only.split(","))
    work = Path(a.dir or tempfile.mkdtemp(prefix="lianxin-bench-sync-"))
    audio_mb = 20 if a.full else 0.5 if a.quick else 2
    results: dict = {}
    try:
        if "ingest" in only:
            results["ingest"] = bench_ingest(work, terminals=4, batches=4 if a.quick else 10,
                                             repeat=a.repeat or (1 if a.quick else 3),
                                             wire=a.wire)
            _show("ingest", results["ingest"], a.json)
        if "night" in only:
            results["night"] = bench_night(work, events=600 if a.quick else 2000,
                                           audio_mb=audio_mb, via=a.via, hub_port=a.hub_port)
            _show("night", results["night"], a.json)
        if "fleet" in only:
            results["fleet"] = bench_fleet(work, terminals=200 if a.quick else 1000,
                                           per_branch=10, events=20, concurrency=32)
            _show("fleet", results["fleet"], a.json)
    finally:
        if a.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    if a.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


def _show(name: str, figures: dict, as_json: bool) -> None:
    if not as_json:
        print(f"[{name}]")
        for k, v in figures.items():
            print(f"  {k}: {v}")
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
