"""Terminal ↔ hub over real HTTP: the hub is a real process (tests/hub_fixtures.py) on
127.0.0.1, terminals are real encrypted stores in their own folders.

Pins: enrollment with a one-time code (wrong, used, expired → 400 bad_code; a resent
enrollment after a lost answer is accepted again; a terminal holding another branch → 409);
a whole demo journal pushed in batches lands once (stored_seq = the terminal's last seq,
audit chain = the terminal's, entry by entry) and a resend is counted as duplicates, nothing
applied twice; replayed nonce, forged or tampered signature, stale time → 401 (and the
client recovers from a wrong clock by itself); revoked → 403; a tampered audit entry, a
payload that differs from its audit entry, a seq gap → 409 with nothing of the batch
applied; malformed, oversized and gzip-bomb bodies → 4xx JSON; pull gives only the
terminal's own branch, page by page; media resumes with Range after a cut.
"""

from __future__ import annotations

import gzip
import json
import os
import secrets
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
from hub_fixtures import Hub

from core import assist
from core import branch as core_branch
from core.audit import entry_hash
from core.clock import CST, FixedClock
from core.store import Store
from sync import client as sc
from sync import protocol
from sync.hub import admin

DEMO = "DEMO-QSC"


@pytest.fixture
def hub(hub_storage, hub_server):
    admin.load_demo(hub_storage)
    admin.create_branch(hub_storage, code="TEST", name="测试村党支部", township="青石镇")
    return hub_server(hub_storage)


def _enroll(hub: Hub, store: Store, branch: str = DEMO, label: str = "") -> sc.HubClient:
    code = admin.issue_enroll_code(hub.storage, branch)["code"]
    sc.enroll(store.path, hub.url, code, label=label)
    return sc.open_client(store)


def _other_terminal(tmp_path: Path, code: str = "TEST") -> Store:
    """A second terminal in its own folder, holding branch ``code`` (no staff: no argon2)."""
    s = Store.create(tmp_path / f"terminal-{code}" / "terminal.db",
                     clock=FixedClock(datetime(2026, 11, 16, 9, 0, tzinfo=CST)))
    core_branch.setup(s, code=code, name="测试村党支部", township="青石镇", actor="test")
    return s


def _send(client: sc.HubClient, method: str, path: str, body: bytes = b"", *,
          headers: dict | None = None, key=None, time_ms: int | None = None,
          nonce: str | None = None, sign_body: bytes | None = None) -> requests.Response:
    """A hand-made signed request, to send what the client never would."""
    t = str(time_ms if time_ms is not None else int(time.time() * 1000))
    nonce = nonce or secrets.token_hex(16)
    sig = protocol.sign(key or client.key, method, path, t, nonce,
                        body if sign_body is None else sign_body)
    h = {protocol.H_TERMINAL: client.terminal_id, protocol.H_TIME: t, protocol.H_NONCE: nonce,
         protocol.H_SIGNATURE: sig, "Content-Type": "application/json",
         protocol.H_PROTOCOL: str(protocol.PROTOCOL_VERSION), **(headers or {})}
    return requests.request(method, client.base_url + path, data=body, headers=h, timeout=30)


def _code(response: requests.Response) -> str:
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()["error"]["code"]


def _batch_body(store: Store, after_audit: int = 0, limit: int = 500) -> dict:
    events, entries = sc._batch(store, after_audit, limit)
    return {"events": events, "audit": entries}


def _log_count(hub: Hub, branch: str = DEMO) -> int:
    return len(hub.storage.log_for_branch(branch))


# -- enrollment ------------------------------------------------------------------------

def test_enroll_binds_terminal_and_key_file_is_private(hub, demo_store):
    client = _enroll(hub, demo_store, label="村部活动室")
    key_file = sc.key_path(demo_store.path)
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    assert demo_store.meta("sync.hub_url") == hub.url
    assert demo_store.meta("sync.branch") == DEMO
    [t] = admin.list_terminals(hub.storage)
    assert (t["terminal_id"], t["branch"], t["label"]) == (demo_store.terminal_id, DEMO, "村部活动室")
    assert hub.storage.get_terminal(demo_store.terminal_id)["public_key"] == \
        protocol.public_key_b64(client.key)
    with pytest.raises(sc.SyncError) as e:  # once is enough
        sc.enroll(demo_store.path, hub.url, "ANY")
    assert e.value.code == "already_enrolled"


def test_the_hub_shows_each_terminals_software_release(hub, demo_store):
    """Display only: what the terminal says on its requests, printable and short, or
    nothing (what it said last stays)."""
    client = _enroll(hub, demo_store)
    sc.sync_once(demo_store)
    [t] = admin.list_terminals(hub.storage)
    assert t["software"] == sc.CLIENT_VERSION != "unknown"
    for junk in ("x" * 41, "1.0\tbeta", "版本".encode().decode("latin-1")):
        r = _send(client, "GET", "/v1/pull?cursor=0", headers={protocol.H_SOFTWARE: junk})
        assert r.status_code == 200, junk
    assert admin.list_terminals(hub.storage)[0]["software"] == sc.CLIENT_VERSION
    assert _send(client, "GET", "/v1/pull?cursor=0",
                 headers={protocol.H_SOFTWARE: "9.9.9"}).status_code == 200
    assert admin.list_terminals(hub.storage)[0]["software"] == "9.9.9"


def test_bad_used_expired_codes_are_400_and_wrong_branch_409(hub, demo_store, tmp_path):
    with pytest.raises(sc.SyncError) as e:
        sc.enroll(demo_store.path, hub.url, "AAAA-BBBB-CCCC")
    assert (e.value.code, e.value.status) == ("bad_code", 400)
    assert "注册码" in e.value.zh

    old = admin.issue_enroll_code(
        hub.storage, DEMO, ttl_hours=1,
        now_ms=lambda: int(datetime(2020, 1, 1, tzinfo=CST).timestamp() * 1000))
    with pytest.raises(sc.SyncError) as e:
        sc.enroll(demo_store.path, hub.url, old["code"])
    assert e.value.code == "bad_code"

    test_code = admin.issue_enroll_code(hub.storage, "TEST")["code"]
    with pytest.raises(sc.SyncError) as e:  # the demo terminal holds DEMO-QSC
        sc.enroll(demo_store.path, hub.url, test_code)
    assert (e.value.code, e.value.status) == ("wrong_branch", 409)
    assert admin.list_terminals(hub.storage) == []

    other = _other_terminal(tmp_path)
    sc.enroll(other.path, hub.url, test_code.lower().replace("-", " "))  # typed loosely
    # The answer was lost: the same terminal, key and code enroll again.
    with other.transaction():
        other.set_meta("sync.hub_url", "")
    again = sc.enroll(other.path, hub.url, test_code)
    assert again["branch"]["code"] == "TEST"
    # ...but nobody else can use it.
    with pytest.raises(sc.SyncError) as e:
        sc.enroll(demo_store.path, hub.url, test_code)
    assert e.value.code == "bad_code"
    assert [t["terminal_id"] for t in admin.list_terminals(hub.storage)] == [other.terminal_id]
    other.close()


# -- push ------------------------------------------------------------------------------

def test_whole_journal_lands_once_in_batches(hub, demo_store):
    client = _enroll(hub, demo_store)
    head = demo_store.one("SELECT max(seq) AS s FROM journal")["s"]
    audit_rows = demo_store.all("SELECT * FROM audit ORDER BY seq")
    assert head >= 200
    before = _log_count(hub)

    result = sc.push(demo_store, client, batch=100)
    assert result["batches"] == -(-len(audit_rows) // 100)
    assert (result["applied"], result["duplicates"], result["stored_seq"]) == (head, 0, head)
    t = hub.storage.get_terminal(demo_store.terminal_id)
    assert (t["stored_seq"], t["audit_seq"]) == (head, len(audit_rows))
    assert t["audit_hash"] == demo_store.meta("audit_head").split(":")[1]
    assert hub.storage.audit_chain(demo_store.terminal_id) == audit_rows
    mine = [e for e in hub.storage.log_for_branch(DEMO) if e["origin"] == demo_store.terminal_id]
    journal = demo_store.all("SELECT seq, event_id, type, payload, at FROM journal ORDER BY seq")
    assert [{k: e[k] for k in ("seq", "event_id", "type", "payload", "at")} for e in mine] == journal
    assert demo_store.meta("sync.pushed_seq") == str(head)

    # Nothing new: no request at all.
    rt = client.round_trips
    assert sc.push(demo_store, client)["batches"] == 0
    assert client.round_trips == rt
    # The terminal forgot its marks (e.g. restored): everything is resent, nothing doubled.
    with demo_store.transaction():
        demo_store.set_meta("sync.pushed_audit_seq", "0")
    again = sc.push(demo_store, client)
    assert (again["applied"], again["duplicates"], again["stored_seq"]) == (0, head, head)
    assert _log_count(hub) == before + head
    [row] = admin.list_terminals(hub.storage)
    assert (row["chain"], row["pending"], row["stored_seq"]) == ("ok", 0, head)
    assert row["last_seen"] is not None and row["clock_offset_ms"] is not None


def test_new_events_after_a_push_continue_the_chain(hub, tmp_path):
    other = _other_terminal(tmp_path)
    client = _enroll(hub, other, branch="TEST")
    sc.push(other, client)
    assist.request_help(other, where="home")
    other.audit_read("staff:S01", "member:X1", "roster")  # an entry without an event
    result = sc.push(other, client)
    assert (result["applied"], result["duplicates"]) == (1, 0)
    t = hub.storage.get_terminal(other.terminal_id)
    assert (t["stored_seq"], t["audit_seq"]) == (2, 3)
    other.close()


def test_tampered_audit_entry_refused_409_nothing_applied(hub, demo_store):
    client = _enroll(hub, demo_store)
    before = _log_count(hub)
    body = _batch_body(demo_store, limit=50)
    body["audit"][39]["actor"] = "staff:S99"  # entry 40 of 50: the first 39 verify
    r = _send(client, "POST", "/v1/push", json.dumps(body).encode())
    assert (r.status_code, _code(r)) == (409, "audit_chain_broken")
    assert "留痕" in r.json()["error"]["message_zh"]
    # An entry whose hash is recomputed to fit still does not follow its predecessor.
    body = _batch_body(demo_store, limit=50)
    e = body["audit"][10]
    e["hash"] = entry_hash(e["prev_hash"], e["seq"], e["at"], "staff:S99", e["action"],
                                    e["subject"], e["detail"])
    e["actor"] = "staff:S99"
    r = _send(client, "POST", "/v1/push", json.dumps(body).encode())
    assert (r.status_code, _code(r)) == (409, "audit_chain_broken")
    # A payload changed after its audit entry was written.
    body = _batch_body(demo_store, limit=50)
    body["events"][5]["payload"] = body["events"][5]["payload"].replace("QS", "QX")
    r = _send(client, "POST", "/v1/push", json.dumps(body).encode())
    assert (r.status_code, _code(r)) == (409, "journal_mismatch")

    t = hub.storage.get_terminal(demo_store.terminal_id)
    assert (t["stored_seq"], t["audit_seq"]) == (0, 0)
    assert _log_count(hub) == before
    assert hub.storage.audit_chain(demo_store.terminal_id) == []
    [row] = admin.list_terminals(hub.storage)
    assert row["chain"] == "refused: journal_mismatch"

    # After accepting the chain, a rewritten past is refused too.
    sc.push(demo_store, client)
    body = _batch_body(demo_store, limit=5)
    body["audit"][0]["detail"] = "{}"
    body["audit"][0]["hash"] = entry_hash(*(body["audit"][0][k] for k in (
        "prev_hash", "seq", "at", "actor", "action", "subject", "detail")))
    r = _send(client, "POST", "/v1/push", json.dumps(body).encode())
    assert (r.status_code, _code(r)) == (409, "audit_chain_broken")


def test_seq_gap_refused_409_nothing_applied(hub, demo_store):
    client = _enroll(hub, demo_store)
    first = _batch_body(demo_store, 0, 20)
    r = _send(client, "POST", "/v1/push", json.dumps(first).encode())
    assert r.status_code == 200, r.text
    stored = r.json()["stored_seq"]
    assert stored == first["events"][-1]["seq"]

    later = _batch_body(demo_store, 40, 20)  # skips entries 21..40
    r = _send(client, "POST", "/v1/push", json.dumps(later).encode())
    assert (r.status_code, _code(r)) == (409, "seq_gap")
    assert r.json()["error"]["stored_seq"] == stored

    holey = _batch_body(demo_store, 20, 20)
    del holey["events"][3]
    r = _send(client, "POST", "/v1/push", json.dumps(holey).encode())
    assert (r.status_code, _code(r)) == (409, "seq_gap")
    t = hub.storage.get_terminal(demo_store.terminal_id)
    assert (t["stored_seq"], t["audit_seq"]) == (stored, 20)

    # A refused push still used up its nonce (the refusal was committed with it): sending
    # the very same request again is a replay, and the refusal is on record for operators.
    nonce, t = secrets.token_hex(16), int(time.time() * 1000)
    body = json.dumps(later).encode()
    r = _send(client, "POST", "/v1/push", body, nonce=nonce, time_ms=t)
    assert (r.status_code, _code(r)) == (409, "seq_gap")
    r = _send(client, "POST", "/v1/push", body, nonce=nonce, time_ms=t)
    assert (r.status_code, _code(r)) == (401, "replay")
    refused = admin.list_terminals(hub.storage)[0]
    assert refused["chain"].startswith("refused: ") and "seq_gap" in refused["chain"]

    # The client resumes from the hub's marks when its own are ahead (hub restored).
    with demo_store.transaction():
        demo_store.set_meta("sync.pushed_audit_seq", "60")
    result = sc.push(demo_store, client)
    head = demo_store.one("SELECT max(seq) AS s FROM journal")["s"]
    assert result["stored_seq"] == head and result["applied"] == head - stored


# -- authentication --------------------------------------------------------------------

def test_replay_forgery_stale_time_and_unknown_terminal_are_401(hub, demo_store):
    client = _enroll(hub, demo_store)
    nonce = secrets.token_hex(16)
    t = int(time.time() * 1000)
    assert _send(client, "GET", "/v1/pull?cursor=0&limit=10", nonce=nonce, time_ms=t).ok
    r = _send(client, "GET", "/v1/pull?cursor=0&limit=10", nonce=nonce, time_ms=t)
    assert (r.status_code, _code(r)) == (401, "replay")

    r = _send(client, "GET", "/v1/pull", key=protocol.new_private_key())
    assert (r.status_code, _code(r)) == (401, "bad_signature")
    body = json.dumps(_batch_body(demo_store, 0, 5)).encode()
    r = _send(client, "POST", "/v1/push", body, sign_body=body.replace(b"QS", b"QX"))
    assert (r.status_code, _code(r)) == (401, "bad_signature")
    r = _send(client, "GET", "/v1/pull?cursor=5")  # signed for another query
    assert r.status_code == 200
    r = requests.get(hub.url + "/v1/pull?cursor=6", headers={
        k: v for k, v in r.request.headers.items() if k.startswith("X-Lianxin")}, timeout=10)
    assert (r.status_code, _code(r)) == (401, "bad_signature")

    r = _send(client, "GET", "/v1/pull", time_ms=int(time.time() * 1000) - 400_000)
    assert (r.status_code, _code(r)) == (401, "stale_time")
    assert abs(r.json()["error"]["hub_time"] - time.time() * 1000) < 60_000
    r = requests.get(hub.url + "/v1/pull", timeout=10,
                     headers={protocol.H_PROTOCOL: str(protocol.PROTOCOL_VERSION)})
    assert (r.status_code, _code(r)) == (401, "auth_missing")
    stranger = sc.HubClient(hub.url, terminal_id="nobody", key=protocol.new_private_key())
    with pytest.raises(sc.SyncError) as e:
        stranger.request("GET", "/v1/pull")
    assert (e.value.code, e.value.status) == ("unknown_terminal", 401)
    assert hub.storage.get_terminal(demo_store.terminal_id)["stored_seq"] == 0

    # A terminal whose clock is 10 minutes slow: refused once, then signs in hub time.
    slow = sc.HubClient(hub.url, terminal_id=client.terminal_id, key=client.key,
                        clock_ms=lambda: int(time.time() * 1000) - 600_000)
    assert slow.request("GET", "/v1/pull").json()["more"] is False
    assert slow.round_trips == 2 and 590_000 < slow.offset_ms < 610_000
    offset = hub.storage.get_terminal(client.terminal_id)["clock_offset_ms"]
    assert -610_000 < offset < -590_000  # the hub notes the terminal's own clock


def test_revoked_terminal_is_403(hub, demo_store):
    client = _enroll(hub, demo_store)
    row = admin.revoke_terminal(hub.storage, demo_store.terminal_id)
    assert row["revoked"] is True
    for call in (lambda: sc.push(demo_store, client), lambda: sc.pull(demo_store, client)):
        with pytest.raises(sc.SyncError) as e:
            call()
        assert (e.value.code, e.value.status) == ("terminal_revoked", 403)
        assert "停用" in e.value.zh
    assert hub.storage.get_terminal(demo_store.terminal_id)["stored_seq"] == 0


def test_a_v1_terminal_is_told_to_upgrade(hub, demo_store):
    """Protocol v2: a terminal that sends no X-Lianxin-Protocol header (every v1 terminal)
    gets 426 with plain Chinese to show staff, on every endpoint, before anything is read;
    /v1/info and /health stay open and say which protocol the hub speaks."""
    client = _enroll(hub, demo_store)
    assert requests.get(hub.url + "/v1/info", timeout=10).json()["protocol"] == \
        protocol.PROTOCOL_VERSION
    for method, path in (("POST", "/v1/enroll"), ("POST", "/v1/push"), ("GET", "/v1/pull"),
                         ("GET", "/v1/media/" + "0" * 64)):
        for old in ({}, {protocol.H_PROTOCOL: "1"}, {protocol.H_PROTOCOL: "x" * 5000}):
            signed = _send(client, method, path, b"{}")
            headers = {k: v for k, v in signed.request.headers.items()
                       if k != protocol.H_PROTOCOL}
            r = requests.request(method, hub.url + path, data=b"{}", timeout=10,
                                 headers={**headers, **old})
            assert (r.status_code, _code(r)) == (426, "upgrade_required"), (path, old)
            assert "请升级终端软件" in r.json()["error"]["message_zh"]
            assert r.json()["error"]["hub_protocol"] == protocol.PROTOCOL_VERSION
    assert hub.storage.get_terminal(demo_store.terminal_id)["stored_seq"] == 0


# -- bad bodies ------------------------------------------------------------------------

def test_malformed_and_oversized_bodies_are_4xx_json(hub, demo_store):
    client = _enroll(hub, demo_store)
    cases = [
        (b"{not json", {}, 400, "bad_json"),
        (b"[1, 2]", {}, 400, "bad_json"),
        (b"\xff\xfe", {}, 400, "bad_json"),
        (json.dumps({"events": "x"}).encode(), {}, 400, "bad_batch"),
        (json.dumps({"events": [{"seq": "1"}]}).encode(), {}, 400, "bad_batch"),
        (json.dumps({"events": [], "audit": [{"seq": 1, "at": "", "actor": "", "action": "",
                     "subject": "", "detail": "", "prev_hash": "x", "hash": "y"}]}).encode(),
         {}, 400, "bad_batch"),
        (json.dumps({"events": [{}] * 501}).encode(), {}, 400, "bad_batch"),
        (b"\x1f\x8b garbage", {"Content-Encoding": "gzip"}, 400, "bad_encoding"),
        (gzip.compress(b'{"events": [')[:-6], {"Content-Encoding": "gzip"}, 400, "bad_encoding"),
        (b"{}", {"Content-Encoding": "br"}, 400, "bad_encoding"),
        (b"{}", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b" " * (protocol.MAX_BODY + 1), {}, 413, "body_too_large"),
        # A gzip bomb: 20 KB on the wire, 9 MiB unpacked.
        (gzip.compress(b"[" + b" " * (9 * 1024 * 1024) + b"]"), {"Content-Encoding": "gzip"},
         413, "body_too_large"),
    ]
    for body, headers, status, code in cases:
        r = _send(client, "POST", "/v1/push", body, headers=headers)
        assert (r.status_code, _code(r)) == (status, code), (body[:40], r.text[:200])
    for path, status, code in [("/v1/pull?cursor=abc", 400, "bad_request"),
                               ("/v1/pull?limit=0", 400, "bad_request"),
                               ("/v1/pull?limit=2001", 400, "bad_request"),
                               ("/v1/nothing", 404, "not_found"),
                               ("/v1/media/xyz", 404, "not_found"),
                               ("/v1/media/" + "0" * 64, 404, "not_found")]:
        r = _send(client, "GET", path)
        assert (r.status_code, _code(r)) == (status, code), path
    r = requests.post(hub.url + "/v1/enroll", data=b'{"code": 1}', timeout=10,
                      headers={"Content-Type": "application/json", protocol.H_PROTOCOL: str(protocol.PROTOCOL_VERSION)})
    assert (r.status_code, _code(r)) == (400, "bad_request")
    r = requests.put(hub.url + "/v1/push", data=b"{}", timeout=10)
    assert (r.status_code, _code(r)) == (405, "method_not_allowed")
    assert hub.storage.get_terminal(demo_store.terminal_id)["stored_seq"] == 0
    assert requests.get(hub.url + "/health", timeout=5).json() == {"ok": True}


# -- pull ------------------------------------------------------------------------------

def test_pull_gives_only_the_terminals_branch(hub, demo_store, tmp_path):
    demo_client = _enroll(hub, demo_store)
    other = _other_terminal(tmp_path)
    other_client = _enroll(hub, other, branch="TEST")
    sc.push(demo_store, demo_client)
    sc.push(other, other_client)
    admin.post_notice(hub.storage, "TEST", title="测试通知", body="只给测试村。", posted="2026-11-16")
    admin.post_notice(hub.storage, DEMO, title="清水村通知", body="只给清水村。", posted="2026-11-16")

    def pulled(client: sc.HubClient, limit: int) -> list[dict]:
        events, cursor = [], 0
        while True:
            r = client.request("GET", "/v1/pull", params={"cursor": cursor, "limit": limit})
            page = r.json()
            assert len(page["events"]) <= limit
            events += page["events"]
            assert page["next_cursor"] >= cursor
            cursor = page["next_cursor"]
            if not page["more"]:
                return events

    demo_events = pulled(demo_client, 5)
    by_branch = {b: {e["event_id"] for e in hub.storage.log_for_branch(b)} for b in (DEMO, "TEST")}
    ids = [e["event_id"] for e in demo_events]
    assert len(ids) == len(set(ids))
    # Everything of its branch except what it wrote itself, nothing of the other branch.
    hub_made = [e for e in hub.storage.log_for_branch(DEMO) if e["origin"] == "hub"]
    assert ids == [e["event_id"] for e in hub_made]
    assert set(ids) <= by_branch[DEMO] and not set(ids) & by_branch["TEST"]
    assert [e["type"] for e in demo_events].count("lesson.published") == 8
    assert demo_events[-1]["type"] == "notice.posted"
    assert json.loads(demo_events[-1]["payload"])["title"] == "清水村通知"

    other_events = pulled(other_client, 2000)
    assert {e["origin"] for e in other_events} == {"hub"}
    assert [e["type"] for e in other_events] == ["branch.created", "notice.posted"]
    assert not {e["event_id"] for e in other_events} & by_branch[DEMO]

    # The terminal-side pull pages through and notes how far it looked.
    report = sc.pull(demo_store, demo_client, limit=4)
    assert report["events"] == len(hub_made) and report["pages"] == -(-len(hub_made) // 4)
    assert int(demo_store.meta("sync.pull_seen")) == max(
        e["cursor"] for e in hub.storage.log_for_branch(DEMO))
    other.close()


def test_sync_once_reports_what_moved(hub, demo_store):
    _enroll(hub, demo_store)
    head = demo_store.one("SELECT max(seq) AS s FROM journal")["s"]
    assert sc.status(demo_store)["waiting_events"] == head
    report = sc.sync_once(demo_store)
    assert (report["pushed"], report["batches"], report["pulled"]) == (head, 1, 13)
    # One push batch, then the branch's log in lines: a terminal that has pulled nothing
    # does not ask its push for the page (sync.client.sync_once). Later nights: one.
    assert report["round_trips"] == 2
    assert 0 < report["bytes_sent"] < 200_000 and report["bytes_received"] > 1000
    status = sc.status(demo_store)
    assert status["waiting_events"] == 0 and status["last_success"] is not None
    admin.revoke_terminal(hub.storage, demo_store.terminal_id)
    with pytest.raises(sc.SyncError):
        sc.sync_once(demo_store)
    assert sc.status(demo_store)["last_error"]["zh"].startswith("这台终端已被")


# -- media -----------------------------------------------------------------------------

def test_media_download_resumes_with_range(hub, demo_store, tmp_path):
    client = _enroll(hub, demo_store)
    audio = tmp_path / "lesson.wav"
    audio.write_bytes(os.urandom(300_000))
    lesson = admin.publish_lesson(hub.storage, DEMO, lesson_id="09-audio", title="有声课",
                                  category="健康生活", minutes=3, body="听一听。", audio=audio)
    sha = lesson["audio_sha256"]
    assert lesson["audio_size"] == 300_000

    # The link is cut after ~100 KB.
    dest = tmp_path / "media" / sha
    dest.parent.mkdir()
    with client.request("GET", f"/v1/media/{sha}", stream=True) as r, \
            open(str(dest) + ".part", "wb") as f:
        assert r.status_code == 200 and r.headers["Accept-Ranges"] == "bytes"
        for chunk in r.iter_content(50_000):
            f.write(chunk)
            if f.tell() >= 100_000:
                break
    have = os.path.getsize(str(dest) + ".part")
    result = sc.download_media(client, sha, dest)
    assert result == {"sha256": sha, "bytes": 300_000 - have, "resumed_from": have}
    assert dest.read_bytes() == audio.read_bytes()

    r = client.request("GET", f"/v1/media/{sha}", headers={"Range": "bytes=299990-"})
    assert r.status_code == 206 and r.headers["Content-Range"] == "bytes 299990-299999/300000"
    assert r.content == audio.read_bytes()[299990:]
    r = _send(client, "GET", f"/v1/media/{sha}", headers={"Range": "bytes=300000-"})
    assert (r.status_code, _code(r)) == (416, "range_not_satisfiable")
    assert r.headers["Content-Range"] == "bytes */300000"

    other = _other_terminal(tmp_path)  # another branch may not fetch it
    other_client = _enroll(hub, other, branch="TEST")
    with pytest.raises(sc.SyncError) as e:
        other_client.request("GET", f"/v1/media/{sha}")
    assert e.value.status == 404
    other.close()


def test_random_garbage_never_gets_a_5xx(hub, demo_store):
    client = _enroll(hub, demo_store)
    rnd = __import__("random").Random(5)
    statuses = set()
    for i in range(60):
        body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 300)))
        if i % 3 == 0:
            body = gzip.compress(body)
        path = rnd.choice(["/v1/push", "/v1/enroll", "/v1/pull?cursor=-1", "/v1/media/" + "a" * 64,
                           "/v1/pull?cursor=%ff", "/v1/push?x=\u00e9"])
        method = "GET" if "pull" in path or "media" in path else "POST"
        headers = {"Content-Encoding": "gzip"} if i % 3 == 0 else {}
        if i % 4 == 0:
            headers["Range"] = rnd.choice(["bytes=-5", "bytes=a-b", "items=0-", "bytes=5-1"])
        r = _send(client, method, path, body, headers=headers,
                  key=None if i % 2 else protocol.new_private_key())
        statuses.add(r.status_code)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])
        assert "error" in r.json()
    assert len(statuses) >= 3
