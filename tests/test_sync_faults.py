"""Sync under faults and bad input: the hub is a real process, sync.relay sits between the
terminal and the hub, terminals are real encrypted stores.

Pins, for the relay: its link model (pacing at the rate, half a round trip each way, one
round trip's stall per lost segment), the same arithmetic as the reference emulator.

Pins, for faults: the link cut in the middle of a push (inside a request: nothing of that
batch applied, nothing re-sent; inside the answer: the batch applied and re-sent exactly
once, counted as duplicates), of a pull (the cut page is not applied; the resumed pull
brings the rest, each event once) and of a media download (resumed from the part file with
Range); the hub SIGKILLed while applying batches and restarted on the same database; the
terminal's ``lianxin sync`` process SIGKILLed mid-sync. After recovery, nothing is lost or
doubled (the hub's events from a terminal equal its journal, the audit chains are equal,
ledger totals equal) and at most one batch is re-sent: after every fault the hub is at most
one batch ahead of what the terminal knows it acknowledged.

Pins, for bad input not covered by test_hub_sync.py: a captured push replayed verbatim; a
request signed with another terminal's key; a terminal pushing another terminal's events; a
journal creating another branch; a revoked terminal's media and re-enrollment; a terminal
store whose audit chain or journal was edited behind the software's back (refused by sync
with a clear error, recorded as the last error); duplicate event ids in one batch; nesting
bombs in bodies, payloads and audit details; an oversized chunked body. Each is a 4xx with
its code, and nothing is applied.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
from hub_fixtures import Hub
from hubproc import ROOT

from core import branch, dues, study
from core.clock import CST, FixedClock
from core.store import Store, key_path
from sync import client as sc
from sync import protocol
from sync.hub import admin
from sync.relay import Relay

DEMO = "DEMO-QSC"
# Pushes here go in batches of the v2 size: a 1,300-event terminal then takes several
# requests (LIANXIN_SYNC_BATCH for the `lianxin sync` processes).
BATCH = protocol.PUSH_BATCH


@pytest.fixture
def hub(hub_storage, hub_server):
    admin.load_demo(hub_storage)
    admin.create_branch(hub_storage, code="TEST", name="测试村党支部", township="青石镇")
    return hub_server(hub_storage)


@pytest.fixture(scope="session")
def _busy_template(tmp_path_factory, _demo_template):
    """The demo terminal plus ~1,300 more events (payments and study sessions): several
    push batches of 500."""
    path = tmp_path_factory.mktemp("busy") / "terminal.db"
    shutil.copy(_demo_template, path)
    shutil.copy(key_path(_demo_template), key_path(path))
    clock = FixedClock(datetime(2026, 11, 15, 10, 0, tzinfo=CST))
    s = Store.open(path, clock=clock)
    confirmation = branch.confirm(s, "S02", "2468")
    lessons = [row["lesson_id"] for row in study.lessons(s)]
    rng = random.Random(4)
    with s.transaction():
        for i in range(1300):
            clock.advance(minutes=7)
            member = f"QS{rng.randrange(1, 35):03d}"
            if i % 2:
                dues.pay_voluntary(s, member, amount_fen=rng.choice([100, 500, 2000]),
                                   confirmation=confirmation)
            else:
                study.record_session(s, member_no=member, lesson_id=rng.choice(lessons),
                                     seconds=rng.randrange(60, 1800), completed=True)
    s.close()
    return path


@pytest.fixture
def busy(tmp_path, _busy_template):
    path = tmp_path / "busy" / "terminal.db"
    path.parent.mkdir()
    shutil.copy(_busy_template, path)
    shutil.copy(key_path(_busy_template), key_path(path))
    s = Store.open(path, clock=FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=CST)))
    yield s
    s.close()


def _enroll(hub: Hub, store: Store, branch_code: str = DEMO, via: str | None = None) -> None:
    code = admin.issue_enroll_code(hub.storage, branch_code)["code"]
    sc.enroll(store.path, hub.url, code)
    if via:
        with store.transaction():
            store.set_meta("sync.hub_url", via)


def _relay(hub: Hub, **kw) -> Relay:
    return Relay(("127.0.0.1", hub.port), **kw).start()


def _marks(store: Store) -> tuple[int, int]:
    return (int(store.meta("sync.pushed_seq", "0") or 0),
            int(store.meta("sync.pushed_audit_seq", "0") or 0))


def _hub_marks(hub: Hub, store: Store) -> tuple[int, int]:
    t = hub.storage.get_terminal(store.terminal_id)
    return t["stored_seq"], t["audit_seq"]


def _assert_at_most_one_batch_ahead(hub: Hub, store: Store) -> None:
    """What the next sync will re-send: the hub's entries beyond the terminal's mark."""
    hub_audit, mine = _hub_marks(hub, store)[1], _marks(store)[1]
    assert 0 <= hub_audit - mine <= BATCH, (hub_audit, mine)


def _ledger_total_at_hub(hub: Hub, terminal_id: str) -> int:
    return sum(json.loads(e["payload"])["amount_fen"] for e in hub.storage.log_for_branch(DEMO)
               if e["origin"] == terminal_id and e["type"].startswith("dues."))


def _assert_converged(hub: Hub, store: Store) -> None:
    """Nothing lost, nothing doubled: the hub holds exactly the terminal's journal and chain.

    Applying a pulled page writes an audit entry (``sync.applied``) after the push: one more
    push ships those, and must find nothing else to re-send."""
    assert sc.push(store, sc.HubClient(hub.url, terminal_id=store.terminal_id, key=_key(store)))[
        "duplicates"] == 0
    mine = [{k: e[k] for k in ("seq", "event_id", "type", "payload", "at")}
            for e in hub.storage.log_for_branch(DEMO) if e["origin"] == store.terminal_id]
    journal = store.all("SELECT seq, event_id, type, payload, at FROM journal ORDER BY seq")
    assert mine == journal
    assert hub.storage.audit_chain(store.terminal_id) == store.all(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq")
    own = store.one("SELECT coalesce(sum(amount_fen), 0) AS s FROM ledger WHERE terminal_id = ?",
                    [store.terminal_id])["s"]
    assert own > 0 and _ledger_total_at_hub(hub, store.terminal_id) == own


def _key(store: Store):
    return protocol.load_private_key(sc.key_path(store.path).read_bytes())


def _served(hub: Hub, store: Store) -> dict[str, int]:
    """Every event id the hub serves ``store``'s terminal (with its cursor), pulled straight
    from the hub, not through the relay."""
    client = sc.HubClient(hub.url, terminal_id=store.terminal_id,
                          key=_key(store))
    out, cursor, more = {}, 0, True
    while more:
        page = client.request("GET", "/v1/pull", params={"cursor": cursor}).json()
        out.update({e["event_id"]: e["cursor"] for e in page["events"]})
        cursor, more = page["next_cursor"], page["more"]
    return out


def _wire_len(store: Store, after: int, n: int) -> int:
    """The bytes of the v3 push body of the ``n`` audit entries after ``after``, as sent."""
    events, entries = sc._batch(store, after, n)
    body = {**protocol.push_rows(events, entries), "head_seq": sc.outbox.head_seq(store)}
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return len(protocol.compress(raw, sc.ACCEPT_ENCODING)[0])


# -- the relay's link model ------------------------------------------------------------

def test_relay_paces_delays_and_stalls_like_a_village_link():
    from sync.relay import _Direction, parse_rate

    assert parse_rate("256kbit") == 32_000 and parse_rate("2mbit") == 250_000
    assert parse_rate(8000) == 1000 and parse_rate(None) is None and parse_rate("0") is None
    link = Relay(("127.0.0.1", 1), rate="256kbit", rtt_ms=300, loss=0.0)
    d = _Direction(link, random.Random(1))
    # 1460 bytes take 45.6 ms on the wire and arrive half a round trip later; a second
    # segment queues behind the first.
    assert d.schedule(1460, 10.0) == pytest.approx(10.0 + 1460 / 32_000 + 0.15)
    assert d.schedule(1460, 10.0) == pytest.approx(10.0 + 2 * 1460 / 32_000 + 0.15)
    lossy = Relay(("127.0.0.1", 1), rate="256kbit", rtt_ms=300, loss=1.0)
    d = _Direction(lossy, random.Random(1))
    assert d.schedule(1460, 0.0) == pytest.approx(1460 / 32_000 + 0.3 + 0.15)  # one RTO stall
    assert (d.lost, d.segments, d.bytes) == (1, 1, 1460)
    with pytest.raises(ValueError):
        Relay(("127.0.0.1", 1), cut_direction="sideways")


# -- the link cut ----------------------------------------------------------------------

def test_cut_inside_a_push_request_applies_nothing_of_that_batch(hub, busy):
    _enroll(hub, busy)
    # Cut half-way through the second request's body (headers are well under 1,000 bytes).
    cut = _wire_len(busy, 0, 200) + 1000 + _wire_len(busy, 200, 200) // 2
    with _relay(hub, cut_after=cut, cut_direction="up") as link:
        client = sc.HubClient(link.url, terminal_id=busy.terminal_id,
                              key=_key(busy), hub_protocol=3)
        with pytest.raises(sc.SyncError) as e:
            sc.push(busy, client, batch=200)
        assert e.value.code == "network"
        assert link.totals()["cuts"] == 1
        # Batch 1 is acknowledged; nothing of batch 2 is at the hub.
        assert _hub_marks(hub, busy)[1] == _marks(busy)[1] == 200
        link.cut_after = 0
        result = sc.push(busy, client, batch=200)
    assert result["duplicates"] == 0  # nothing re-sent that the hub had
    _assert_converged(hub, busy)


def test_cut_inside_a_push_answer_resends_that_batch_once(hub, busy):
    _enroll(hub, busy)
    # A push answer is ~250 bytes: cutting the answers' direction after 400 bytes loses the
    # second answer after the hub committed its batch.
    with _relay(hub, cut_after=400, cut_direction="down") as link:
        client = sc.HubClient(link.url, terminal_id=busy.terminal_id,
                              key=_key(busy))
        with pytest.raises(sc.SyncError):
            sc.push(busy, client, batch=200)
        hub_seq, hub_audit = _hub_marks(hub, busy)
        my_seq, my_audit = _marks(busy)
        assert (my_audit, hub_audit) == (200, 400)  # the hub is one batch ahead
        _assert_at_most_one_batch_ahead(hub, busy)
        link.cut_after = 0
        result = sc.push(busy, client, batch=200)
    assert result["duplicates"] == hub_seq - my_seq > 0  # exactly that batch, once
    _assert_converged(hub, busy)


def test_cut_inside_a_pull_page_applies_nothing_of_it_and_resumes(hub, busy, tmp_path):
    _enroll(hub, busy)
    sc.push(busy, sc.open_client(busy))
    # A new, empty terminal of the same branch: its first sync brings the whole branch.
    fresh, probe = (Store.create(tmp_path / name / "terminal.db",
                                 clock=FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=CST)))
                    for name in ("fresh", "probe"))
    try:
        # Where to cut: halfway through what a whole first pull carries, measured on a
        # probe terminal (the size moves with the demo data and with compression).
        with _relay(hub) as link:
            _enroll(hub, probe, via=link.url)
            start = link.totals()["bytes_down"]
            sc.pull(probe, sc.open_client(probe), limit=400)
            whole = link.totals()["bytes_down"] - start
        with _relay(hub, cut_after=whole // 2, cut_direction="down") as link:
            _enroll(hub, fresh, via=link.url)
            client = sc.open_client(fresh)
            with pytest.raises(sc.SyncError) as e:
                sc.pull(fresh, client, limit=400)  # pages of 400: the cut falls in a later one
            assert e.value.code == "network"
            before = int(fresh.meta("sync.pull_cursor", "0") or 0)
            seen_before = fresh.one("SELECT count(*) AS n FROM replica_event")["n"]
            served = _served(hub, fresh)  # what the hub gives this terminal, read directly
            assert 0 < seen_before < len(served)  # whole pages were applied...
            assert seen_before == sum(1 for c in served.values() if c <= before)  # ...no more
            link.cut_after = 0
            resumed = sc.pull(fresh, sc.open_client(fresh), limit=400)
        # The rest came once: nothing of the first pages again, nothing missing.
        assert resumed["events"] == len(served) - seen_before
        assert resumed["duplicates"] == 0
        ids = [r["event_id"] for r in fresh.all("SELECT event_id FROM replica_event")]
        assert sorted(ids) == sorted(served)
    finally:
        fresh.close()
        probe.close()


def test_cut_inside_a_media_download_resumes_where_it_stopped(hub, demo_store, tmp_path):
    audio = tmp_path / "lesson.mp3"
    audio.write_bytes(random.Random(9).randbytes(400_000))
    sha = admin.publish_lesson(hub.storage, DEMO, lesson_id="09-audio", title="有声课",
                               category="健康生活", minutes=3, body="听一听。",
                               audio=audio)["audio_sha256"]
    with _relay(hub, cut_after=150_000) as link:
        _enroll(hub, demo_store, via=link.url)
        dest = tmp_path / "media" / sha
        dest.parent.mkdir()
        with pytest.raises((sc.SyncError, requests.RequestException)):
            sc.download_media(sc.open_client(demo_store), sha, dest)
        part = Path(str(dest) + ".part")
        have = part.stat().st_size
        assert 100_000 < have < 150_000 and not dest.exists()
        link.cut_after = 0
        result = sc.download_media(sc.open_client(demo_store), sha, dest)
    assert result == {"sha256": sha, "bytes": 400_000 - have, "resumed_from": have}
    assert dest.read_bytes() == audio.read_bytes() and not part.exists()


def test_sync_once_cut_in_media_records_the_error_and_the_next_sync_finishes(
        hub, demo_store, tmp_path):
    audio = tmp_path / "lesson.mp3"
    audio.write_bytes(random.Random(8).randbytes(300_000))
    admin.publish_lesson(hub.storage, DEMO, lesson_id="09-audio", title="有声课",
                         category="健康生活", minutes=3, body="听一听。", audio=audio)
    _enroll(hub, demo_store)
    first = sc.sync_once(demo_store)  # push and pull; media fetched too
    assert first["pushed"] > 0
    audio2 = tmp_path / "lesson2.mp3"
    audio2.write_bytes(random.Random(7).randbytes(300_000))
    admin.publish_lesson(hub.storage, DEMO, lesson_id="10-audio", title="有声课二",
                         category="健康生活", minutes=3, body="再听一听。", audio=audio2)
    with _relay(hub, cut_after=100_000, cut_direction="down") as link:
        with demo_store.transaction():
            demo_store.set_meta("sync.hub_url", link.url)
        with pytest.raises(sc.SyncError):
            sc.sync_once(demo_store)
        assert json.loads(demo_store.meta("sync.last_error"))["zh"]
        link.cut_after = 0
        report = sc.sync_once(demo_store)
    assert report["media"] == 1 and 0 < report["media_bytes"] < 300_000  # resumed, not redone
    _assert_converged(hub, demo_store)


# -- the hub killed --------------------------------------------------------------------

def test_hub_sigkilled_while_applying_batches(hub, busy):
    _enroll(hub, busy)
    rng = random.Random(12)
    errors = 0
    for _ in range(4):
        outcome: list = []

        def push(outcome=outcome):
            try:
                outcome.append(sc.push(busy, sc.open_client(busy), batch=BATCH))
            except sc.SyncError as e:
                outcome.append(e)

        before = _hub_marks(hub, busy)[0]
        worker = threading.Thread(target=push)
        worker.start()
        # Kill once the hub has applied a batch of this push (so the kill lands while the
        # terminal is still sending), at a random moment after that.
        deadline = time.monotonic() + 30
        while worker.is_alive() and _hub_marks(hub, busy)[0] == before:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.03))
        hub.kill()
        worker.join(60)
        assert not worker.is_alive()
        errors += isinstance(outcome[0], sc.SyncError)
        _assert_at_most_one_batch_ahead(hub, busy)
        hub.restart()
    assert errors >= 1  # at least one kill landed mid-sync
    ahead = _hub_marks(hub, busy)[0] - _marks(busy)[0]
    result = sc.push(busy, sc.open_client(busy), batch=BATCH)
    assert result["duplicates"] == max(ahead, 0) <= BATCH
    _assert_converged(hub, busy)


# -- the terminal killed ---------------------------------------------------------------

def _settle(hub: Hub, terminal_id: str, link: Relay) -> None:
    """Wait until a batch that was in flight when its sender died is applied (or dropped)
    at the hub: the relay's connections closed and the hub's marks still for a moment."""
    deadline = time.monotonic() + 30
    while any(c.open for c in link.connections):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    marks = None
    while marks != (marks := hub.storage.get_terminal(terminal_id)["audit_seq"]):
        assert time.monotonic() < deadline
        time.sleep(0.3)


def _lianxin(db: Path, *args: str) -> subprocess.Popen:
    # What the `lianxin` entry point runs, in this interpreter (no console script needed).
    return subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()",
                             "--db", str(db), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT),
                                 "LIANXIN_SYNC_BATCH": str(BATCH)})


def test_terminal_sync_process_sigkilled_mid_sync(hub, busy):
    with _relay(hub, rate="2mbit") as link:
        _enroll(hub, busy, via=link.url)
        terminal_id = busy.terminal_id
        # Kill each run part-way through its second request (its first may re-send what the
        # previous run left unacknowledged).
        size = _wire_len(busy, 0, BATCH) + 1000
        busy.close()  # the terminal process owns the store now
        for threshold in (int(size * 1.45), int(size * 1.35)):
            base = link.totals()["bytes_up"]
            proc = _lianxin(busy.path, "sync", "--json")
            deadline = time.monotonic() + 60
            while link.totals()["bytes_up"] - base < threshold:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            proc.stdout.close()
            proc.stderr.close()
            _settle(hub, terminal_id, link)
            s = Store.open(busy.path)
            try:
                _assert_at_most_one_batch_ahead(hub, s)
                before = _hub_marks(hub, s)[0] - _marks(s)[0]
            finally:
                s.close()
        proc = _lianxin(busy.path, "sync", "--json")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["duplicates"] == before <= BATCH
    s = Store.open(busy.path)
    try:
        _assert_converged(hub, s)
        assert sc.status(s)["waiting_events"] == 0
    finally:
        s.close()


# -- bad input -------------------------------------------------------------------------

def _signed(url: str, terminal_id: str, key, method: str, path: str, body: bytes = b"", *,
            headers: dict | None = None, sign_key=None) -> tuple[requests.Response, dict]:
    """A hand-made signed request (returns the headers too, to replay them)."""
    t, nonce = str(int(time.time() * 1000)), os.urandom(16).hex()
    h = {protocol.H_TERMINAL: terminal_id, protocol.H_TIME: t, protocol.H_NONCE: nonce,
         protocol.H_SIGNATURE: protocol.sign(sign_key or key, method, path, t, nonce, body),
         "Content-Type": "application/json", protocol.H_PROTOCOL: str(protocol.PROTOCOL_VERSION), **(headers or {})}
    return requests.request(method, url + path, data=body, headers=h, timeout=60), h


def _code(r: requests.Response) -> str:
    assert r.headers["Content-Type"].startswith("application/json"), r.text[:200]
    return r.json()["error"]["code"]


def _fresh(tmp_path: Path, name: str = "fresh") -> Store:
    return Store.create(tmp_path / name / "terminal.db",
                        clock=FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=CST)))


def _chain(entries: list[tuple[str, str, str, str]], prev: str = "0" * 64, first: int = 1):
    """Audit entries (actor, action, subject, detail) chained from ``prev``."""
    from core.audit import entry_hash

    out = []
    for i, (actor, action, subject, detail) in enumerate(entries, start=first):
        at = "2026-11-30T09:00:00.000+08:00"
        h = entry_hash(prev, i, at, actor, action, subject, detail)
        out.append({"seq": i, "at": at, "actor": actor, "action": action, "subject": subject,
                    "detail": detail, "prev_hash": prev, "hash": h})
        prev = h
    return out


def test_a_captured_push_replayed_verbatim_is_refused(hub, demo_store):
    _enroll(hub, demo_store)
    body = json.dumps(dict(zip(("events", "audit"), sc._batch(demo_store, 0, 50),
                               strict=True))).encode()
    r, headers = _signed(hub.url, demo_store.terminal_id, _key(demo_store), "POST", "/v1/push",
                         body)
    assert r.status_code == 200 and r.json()["applied"] > 0
    marks, logged = _hub_marks(hub, demo_store), len(hub.storage.log_for_branch(DEMO))
    again = requests.post(hub.url + "/v1/push", data=body, headers=headers, timeout=30)
    assert (again.status_code, _code(again)) == (401, "replay")
    assert "重复" in again.json()["error"]["message_zh"]
    assert (_hub_marks(hub, demo_store), len(hub.storage.log_for_branch(DEMO))) == (marks, logged)


def test_another_terminals_key_or_events_are_refused(hub, demo_store, tmp_path):
    _enroll(hub, demo_store)
    sc.push(demo_store, sc.open_client(demo_store))
    other = _fresh(tmp_path)
    try:
        _enroll(hub, other)
        batch = json.dumps(dict(zip(("events", "audit"), sc._batch(demo_store, 0, 40),
                                    strict=True))).encode()
        # Claiming to be the demo terminal, signed with the other terminal's key.
        r, _ = _signed(hub.url, demo_store.terminal_id, _key(demo_store), "GET", "/v1/pull",
                       sign_key=_key(other))
        assert (r.status_code, _code(r)) == (401, "bad_signature")
        # The other terminal, as itself, pushing the demo terminal's events as its own: the
        # demo's founding events are the hub's to author, and its ids are taken already.
        r, _ = _signed(hub.url, other.terminal_id, _key(other), "POST", "/v1/push", batch)
        assert (r.status_code, _code(r)) in ((422, "not_authorized"), (409, "event_conflict"))
        assert _hub_marks(hub, other) == (0, 0)
        assert hub.storage.audit_chain(other.terminal_id) == []
        # An enrollment signed with a key other than the one it enrolls.
        code = admin.issue_enroll_code(hub.storage, DEMO)["code"]
        stranger = protocol.new_private_key()
        body = json.dumps({"code": code, "terminal_id": "stranger-1",
                           "public_key": protocol.public_key_b64(stranger)}).encode()
        r, _ = _signed(hub.url, "stranger-1", stranger, "POST", "/v1/enroll", body,
                       sign_key=protocol.new_private_key())
        assert (r.status_code, _code(r)) == (401, "bad_signature")
        assert hub.storage.get_terminal("stranger-1") is None
    finally:
        other.close()
    _assert_converged(hub, demo_store)


def test_a_journal_creating_another_branch_is_refused(hub, demo_store):
    # The demo terminal enrolls with a TEST code without saying which branch it holds...
    key = protocol.new_private_key()
    sc.key_path(demo_store.path).write_bytes(protocol.private_key_pem(key))
    code = admin.issue_enroll_code(hub.storage, "TEST")["code"]
    client = sc.HubClient(hub.url, terminal_id=demo_store.terminal_id, key=key)
    client.request("POST", "/v1/enroll", body={"code": code, "terminal_id": client.terminal_id,
                                               "public_key": protocol.public_key_b64(key)})
    # ...but its journal creates DEMO-QSC: refused whole.
    with pytest.raises(sc.SyncError) as e:
        sc.push(demo_store, client)
    assert (e.value.code, e.value.status) == ("wrong_branch", 409)
    assert "别的支部" in e.value.zh
    assert _hub_marks(hub, demo_store) == (0, 0)
    assert hub.storage.log_for_branch("TEST")[-1]["origin"] == "hub"


def test_a_revoked_terminal_gets_no_media_and_cannot_enroll_again(hub, demo_store, tmp_path):
    audio = tmp_path / "a.mp3"
    audio.write_bytes(b"\x00" * 5000)
    sha = admin.publish_lesson(hub.storage, DEMO, lesson_id="09-audio", title="有声课",
                               category="健康生活", minutes=3, body="听。",
                               audio=audio)["audio_sha256"]
    _enroll(hub, demo_store)
    admin.revoke_terminal(hub.storage, demo_store.terminal_id)
    with pytest.raises(sc.SyncError) as e:
        sc.download_media(sc.open_client(demo_store), sha, tmp_path / sha)
    assert (e.value.code, e.value.status) == ("terminal_revoked", 403)
    assert not (tmp_path / sha).exists()
    code = admin.issue_enroll_code(hub.storage, DEMO)["code"]
    with demo_store.transaction():
        demo_store.set_meta("sync.hub_url", "")
    with pytest.raises(sc.SyncError) as e:
        sc.enroll(demo_store.path, hub.url, code)
    assert (e.value.code, e.value.status) == ("already_enrolled", 409)
    assert hub.storage.get_terminal(demo_store.terminal_id)["revoked_at"]


def test_a_store_edited_behind_the_softwares_back_is_refused_by_sync(hub, demo_store):
    _enroll(hub, demo_store)
    db = demo_store.db
    for table in ("journal", "audit"):
        db.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
    # A payment's amount edited in the journal: its audit entry no longer matches.
    seq = demo_store.one("SELECT min(seq) AS s FROM journal WHERE type = 'dues.dues'")["s"]
    original = demo_store.one("SELECT payload FROM journal WHERE seq = ?", [seq])["payload"]
    db.execute("UPDATE journal SET payload = replace(payload, '\"amount_fen\":', "
               "'\"amount_fen\":9') WHERE seq = ?", [seq])
    with pytest.raises(sc.SyncError) as e:
        sc.sync_once(demo_store)
    assert e.value.code == "journal_mismatch"
    assert json.loads(demo_store.meta("sync.last_error"))["zh"] == "记录和留痕对不上，已拒绝。"
    # Put back, then an audit entry's actor changed instead: the chain breaks there.
    db.execute("UPDATE journal SET payload = ? WHERE seq = ?", [original, seq])
    db.execute("UPDATE audit SET actor = 'staff:S99' WHERE seq = 12")
    with pytest.raises(sc.SyncError) as e:
        sc.sync_once(demo_store)
    assert e.value.code == "audit_chain_broken"
    assert _hub_marks(hub, demo_store) == (0, 0)
    assert hub.storage.audit_chain(demo_store.terminal_id) == []
    [row] = [t for t in admin.list_terminals(hub.storage)
             if t["terminal_id"] == demo_store.terminal_id]
    assert row["chain"] == "refused: audit_chain_broken"


def test_duplicate_ids_nesting_bombs_and_oversized_bodies_are_4xx(hub, tmp_path):
    t = _fresh(tmp_path)
    try:
        _enroll(hub, t)
        tid, key = t.terminal_id, _key(t)
        # Two events with one id, each with a proper audit entry.
        eid, payload = "11111111-2222-3333-4444-555555555555", '{"where":"kiosk"}'
        from core.audit import digest
        detail = json.dumps({"event_id": eid, "sha256": digest(payload)}, sort_keys=True,
                            separators=(",", ":"))
        audit_rows = _chain([("member", "help.requested", "", detail)] * 2)
        events = [{"seq": i, "event_id": eid, "type": "help.requested", "payload": payload,
                   "at": audit_rows[i - 1]["at"]} for i in (1, 2)]
        r, _ = _signed(hub.url, tid, key, "POST", "/v1/push",
                       json.dumps({"events": events, "audit": audit_rows}).encode())
        assert r.status_code == 409 and _code(r) in ("event_conflict", "journal_mismatch")
        assert _hub_marks(hub, t) == (0, 0) and hub.storage.audit_chain(tid) == []

        bomb = "[" * 100_000 + "]" * 100_000
        cases = [
            (bomb.encode(), 400, "bad_json"),
            (json.dumps({"events": [{"seq": 1, "event_id": eid, "type": "t", "payload": bomb,
                                     "at": "x"}], "audit": []}).encode(), 400, "bad_batch"),
        ]
        for body, status, code in cases:
            r, _ = _signed(hub.url, tid, key, "POST", "/v1/push", body)
            assert (r.status_code, _code(r)) == (status, code), r.text[:200]
        # A nesting bomb in an audit entry's detail names no event; it is the terminal's own
        # chain to write, so it is stored as such - and is no server error.
        r, _ = _signed(hub.url, tid, key, "POST", "/v1/push",
                       json.dumps({"events": [], "audit": _chain([("t", "read", "", bomb)])}
                                  ).encode())
        assert r.status_code == 200 and r.json()["audit_applied"] == 1, r.text[:200]

        # A chunked body (no Content-Length) over the limit, and an oversized enrollment.
        def chunks():
            for _ in range(9 * 16):
                yield b" " * 65536
        r = requests.post(hub.url + "/v1/push", data=chunks(), timeout=60,
                          headers={"Content-Type": "application/json", protocol.H_PROTOCOL: str(protocol.PROTOCOL_VERSION)})
        assert (r.status_code, _code(r)) == (413, "body_too_large")
        r = requests.post(hub.url + "/v1/enroll", data=b" " * (protocol.MAX_BODY + 10),
                          headers={"Content-Type": "application/json", protocol.H_PROTOCOL: str(protocol.PROTOCOL_VERSION)},
                          timeout=60)
        assert (r.status_code, _code(r)) == (413, "body_too_large")
        assert requests.get(hub.url + "/health", timeout=5).ok
    finally:
        t.close()
