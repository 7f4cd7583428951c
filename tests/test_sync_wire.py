"""Protocol v3's compact wire (sync/protocol_wire.py, docs/sync-protocol.md "Version 3").

Pins: v3 rows rebuild exactly the batch a v2 body gives (events, entries with their
hashes, payloads, what each entry names), for event entries, entries whose time or detail
differ from their event's, and entries of no event; any changed field of a row breaks the
chain head, and the hub refuses it (409, noted for the operator, nothing applied); a
malformed row is a 400 that names it; xz bodies are bounded (size, decoder memory,
truncation); a terminal learns from the hub's answers to send v3, and pulls rows.
"""

from __future__ import annotations

import gzip
import json
import lzma

import pytest
import requests

from core import members
from core.audit import GENESIS, entry_hash
from sync import client as sc
from sync import protocol
from sync.hub import admin
from sync.protocol import ProtocolError

DEMO = "DEMO-QSC"


def _v2(store, limit: int = 4000) -> dict:
    events, entries = sc._batch(store, 0, limit)
    return {"events": events, "audit": entries, "head_seq": 1}


def _v3(body: dict) -> dict:
    return {**protocol.push_rows(body["events"], body["audit"]), "head_seq": body["head_seq"]}


def _same(a: protocol.Batch, b: protocol.Batch) -> None:
    assert a.events == b.events and a.entries == b.entries
    assert a.payloads == b.payloads and a.named == b.named and a.hashes == b.hashes
    assert a.refusal is None and b.refusal is None


def test_v3_rows_rebuild_the_v2_batch_exactly(demo_store):
    # An entry of no event (a staff read), and one whose detail is not the usual form.
    demo_store.audit_read("staff:S02", "member:QS001", "phone")
    with demo_store.transaction():
        members.add(demo_store, member_no="QS090", name="测试", category="farmer",
                    farmer_fen=50, actor="test")
    v2 = _v2(demo_store)
    assert any(not protocol.event_of_entry(en["detail"])[0] for en in v2["audit"])
    v3 = _v3(v2)
    rows = v3["rows"]
    assert sum(r[6] is not None for r in rows) == len(v2["events"])
    assert all(r[5] is None for r in rows if r[6] is not None)  # details derived
    _same(protocol.parse_push(v2), protocol.parse_push_rows(v3))
    # An entry written a moment after its event, and a detail in another key order, travel
    # as they are.
    v2["audit"][3]["at"] = "2026-11-16T09:00:00.001+08:00"
    eid, sha = protocol.event_of_entry(v2["audit"][4]["detail"])
    v2["audit"][4]["detail"] = json.dumps({"sha256": sha, "event_id": eid})
    _rechain(v2["audit"])
    v3 = _v3(v2)
    assert v3["rows"][3][1] == v2["audit"][3]["at"] and v3["rows"][4][5] is not None
    _same(protocol.parse_push(v2), protocol.parse_push_rows(v3))
    # Compressed alike, the v3 body is under half the v2 one.
    assert len(_gz(v3)) < 0.5 * len(_gz(v2))


def _gz(body: dict) -> bytes:
    return gzip.compress(json.dumps(body, ensure_ascii=False).encode(), 6)


def _rechain(entries: list[dict]) -> None:
    prev = entries[0]["prev_hash"]
    for en in entries:
        en["prev_hash"] = prev
        en["hash"] = prev = entry_hash(
            prev, en["seq"], en["at"], en["actor"], en["action"], en["subject"], en["detail"])


@pytest.mark.parametrize("change", ["actor", "subject", "payload", "event_id", "type", "at",
                                    "entry_seq", "hash", "prev", "drop_row"])
def test_any_changed_field_breaks_the_chain_head(demo_store, change):
    v3 = _v3(_v2(demo_store, 40))
    row = v3["rows"][20]
    if change == "actor":
        row[2] = "staff:S99"
    elif change == "subject":
        row[3] = "member:QS999"
    elif change == "payload":
        row[6][3] = row[6][3].replace("QS", "QX")
    elif change == "event_id":
        row[6][1] = row[6][1][:-1] + ("0" if row[6][1][-1] != "0" else "1")
    elif change == "type":
        row[6][2] = "staff.pin_set"
    elif change == "at":
        row[6][4] = "2099-01-01T00:00:00.000+08:00"
    elif change == "entry_seq":
        row[0] += 1000
    elif change == "hash":
        v3["hash"] = "0" * 64
    elif change == "prev":
        v3["prev"] = "1" * 64
    else:
        del v3["rows"][20]
    batch = protocol.parse_push_rows(v3)
    assert batch.refusal is not None and batch.refusal.code == "audit_chain_broken"
    if change == "prev":  # and rows that claim another head do not follow what the hub holds
        with pytest.raises(ProtocolError) as e:
            protocol.check_audit(batch.entries, 0, GENESIS, {}, batch.hashes)
        assert e.value.code == "audit_chain_broken"


@pytest.mark.parametrize("rows, says", [
    ("x", "rows must be a list"),
    ([[1, None, "a", "b", None, None]], "7 items"),
    ([[1, None, "a", "b", None, None, [1, "e", "t", "{}"]]], "5 items"),
    ([[0, "t", "a", "b", "c", "d", None]], "audit_seq"),
    ([[1, None, "a", "b", "c", "d", None]], "at, action and detail"),
    ([[1, None, "a", "b", None, None, [1, "e", "t", "{nope", "t"]]], "not JSON"),
    ([[1, None, 5, "b", None, None, [1, "e", "t", "{}", "t"]]], "actor"),
    ([[1, None, "a", "b", None, None, [True, "e", "t", "{}", "t"]]], "event seq"),
])
def test_malformed_rows_are_named(rows, says):
    with pytest.raises(ProtocolError) as e:
        protocol.parse_push_rows({"rows": rows, "prev": "0" * 64, "hash": "0" * 64})
    assert e.value.code == "bad_batch" and says in e.value.message


def test_the_pull_page_a_push_asks_for_is_bounded():
    assert protocol.pull_request({}) is None
    assert protocol.pull_request({"pull": {"cursor": 5}}) == (5, protocol.PULL_ROWS)
    for bad in ("x", {"cursor": -1}, {"cursor": 2**62}, {"cursor": True}, {"cursor": 1.0},
                {"cursor": 0, "limit": 0}, {"cursor": 0, "limit": protocol.PULL_ROWS + 1}):
        with pytest.raises(ProtocolError) as e:
            protocol.pull_request({"pull": bad})
        assert e.value.code == "bad_batch"


def test_xz_bodies_are_bounded():
    body = b'{"rows":[]}' * 1000
    assert protocol.xz_decompress(lzma.compress(body), len(body)) == body
    with pytest.raises(ProtocolError) as e:  # a bomb: 64 MB of zeros in a few KB
        protocol.xz_decompress(lzma.compress(bytes(64 * 1024 * 1024)), 8 * 1024 * 1024)
    assert e.value.code == "body_too_large"
    with pytest.raises(ProtocolError) as e:
        protocol.xz_decompress(lzma.compress(body)[:-20], len(body))
    assert e.value.code == "bad_encoding"
    with pytest.raises(ProtocolError) as e:
        protocol.xz_decompress(b"\xfd7zXZ\x00garbage", 100)
    assert e.value.code == "bad_encoding"
    # A stream that needs a 64 MiB dictionary to decode is refused before it is decoded.
    with pytest.raises(ProtocolError) as e:
        protocol.xz_decompress(lzma.compress(body, preset=9 | lzma.PRESET_EXTREME), len(body))
    assert e.value.code == "bad_encoding" and "memory" in e.value.message.lower()
    assert protocol.compress(b"x" * 100, "xz, gzip") == (b"x" * 100, None)
    assert protocol.compress(b"x" * 2000, "gzip")[1] == "gzip"
    assert protocol.compress(b"x" * 70_000, "gzip, xz")[1] == "xz"


# -- through a hub ---------------------------------------------------------------------

@pytest.fixture
def hub(hub_storage, hub_server):
    admin.load_demo(hub_storage)
    return hub_server(hub_storage)


def _signed(client: sc.HubClient, body: dict, encoding: str = "xz") -> requests.Response:
    raw = json.dumps(body).encode()
    raw = lzma.compress(raw) if encoding == "xz" else raw
    t, nonce = str(protocol.wall_ms()), "ab" * 16
    return requests.post(client.base_url + "/v1/push", data=raw, timeout=30, headers={
        protocol.H_TERMINAL: client.terminal_id, protocol.H_TIME: t, protocol.H_NONCE: nonce,
        protocol.H_SIGNATURE: protocol.sign(client.key, "POST", "/v1/push", t, nonce, raw),
        "Content-Type": "application/json", protocol.H_PROTOCOL: "3",
        **({"Content-Encoding": "xz"} if encoding == "xz" else {})})


def test_a_tampered_v3_push_is_refused_and_noted(hub, demo_store):
    sc.enroll(demo_store.path, hub.url, admin.issue_enroll_code(hub.storage, DEMO)["code"])
    # The enrollment answer said which protocol the hub speaks.
    assert demo_store.meta("sync.hub_protocol") == str(protocol.PROTOCOL_VERSION)
    client = sc.open_client(demo_store)
    v3 = _v3(_v2(demo_store, 50))
    v3["rows"][30][2] = "staff:S99"
    r = _signed(client, v3)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "audit_chain_broken")
    assert r.headers[protocol.H_PROTOCOL] == str(protocol.PROTOCOL_VERSION)
    t = hub.storage.get_terminal(demo_store.terminal_id)
    assert (t["stored_seq"], t["audit_seq"]) == (0, 0)
    [row] = admin.list_terminals(hub.storage)
    assert row["chain"] == "refused: audit_chain_broken"
    # The same rows untouched land; a push's answer and a pull in rows hold the same data.
    result = sc.push(demo_store, client)
    assert result["batches"] == 1 and result["applied"] == sc.outbox.head_seq(demo_store)
    stored = hub.storage.log_for_branch(DEMO)
    pulled = client.request("GET", "/v1/pull", params={"cursor": 0, "form": "rows"}).json()
    objects = client.request("GET", "/v1/pull", params={"cursor": 0}).json()
    assert protocol.unpack_pull_rows(pulled["rows"]) == objects["events"]
    assert len(stored) >= len(objects["events"])


def test_a_terminal_sends_v3_once_the_hub_says_so(hub, demo_store):
    sc.enroll(demo_store.path, hub.url, admin.issue_enroll_code(hub.storage, DEMO)["code"])
    with demo_store.transaction():
        demo_store.set_meta("sync.hub_protocol", "")  # as enrolled with an older hub
    client = sc.open_client(demo_store)
    assert client.hub_protocol == 2
    sent = []
    real = client._send

    def spy(method, path, params, raw, hdrs, signed, stream):
        sent.append((path, dict(params or {}), hdrs.get("Content-Encoding"), raw))
        return real(method, path, params, raw, hdrs, signed, stream)

    client._send = spy
    sc.push(demo_store, client, batch=100)
    # The first batch goes as v2 objects; the hub's answer says which version it speaks,
    # so the rest go as rows.
    assert client.hub_protocol == protocol.PROTOCOL_VERSION and len(sent) >= 2
    assert sent[0][2] == "gzip" and sent[1][2] in ("gzip", "xz")
    first = json.loads(gzip.decompress(sent[0][3]))
    second = json.loads(gzip.decompress(sent[1][3]) if sent[1][2] == "gzip"
                        else lzma.decompress(sent[1][3]))
    assert "events" in first and "rows" not in first
    assert "rows" in second and "events" not in second
    t = hub.storage.get_terminal(demo_store.terminal_id)
    assert t["stored_seq"] == sc.outbox.head_seq(demo_store)
    assert t["audit_seq"] == demo_store.one("SELECT max(seq) AS s FROM audit")["s"]
    sc.pull(demo_store, client)
    assert sent[-1][1].get("form") == "cols"


def test_a_nightly_sync_is_one_round_trip(hub, demo_store):
    """A push that asks for the first pull page gets it in its answer: a sync with one
    batch to send and one page to fetch costs one request, and so does one with nothing."""
    sc.enroll(demo_store.path, hub.url, admin.issue_enroll_code(hub.storage, DEMO)["code"])
    sc.sync_once(demo_store)  # the first: the branch's lessons, their audio
    for i in range(2):  # a new member proposed here; a notice posted at the hub
        with demo_store.transaction():
            members.add(demo_store, member_no=f"QS{80 + i}", name="新党员", category="farmer",
                        farmer_fen=50, actor="test")
        admin.post_notice(hub.storage, DEMO, title=f"通知{i}", body="今晚开会。",
                          posted="2026-11-16")
        report = sc.sync_once(demo_store)
        assert (report["round_trips"], report["pushed"], report["pulled"]) == (1, 1, 1), report
    idle = sc.sync_once(demo_store)
    assert (idle["round_trips"], idle["pushed"], idle["pulled"]) == (1, 0, 0)


@pytest.mark.parametrize("event_id", ["01a25101-b7f1-701a-a71b-0858a5db26a4", "a.b:c_d",
                                      'with "quote"', "汉字", "back\\slash", "tab\there"])
def test_the_derived_detail_is_what_a_terminal_writes(event_id):
    from sync.protocol_wire import _event_detail
    sha = "ab" * 32
    assert _event_detail(event_id, sha) == protocol.canonical_json(
        {"event_id": event_id, "sha256": sha})
