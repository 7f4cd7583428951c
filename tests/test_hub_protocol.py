"""The sync protocol's pure rules (sync/protocol.py), checked on the spec's own examples.

Pins: the signing string and Ed25519 signatures match the test vectors printed in
docs/sync-protocol.md (parsed from the document, so the two cannot drift); a signature
fails for any changed byte of method, path, time, nonce or body; batch rules on a real
audit chain (core.audit.entry_hash): a resend overlaps as duplicates, a gap or a rewritten
past is refused, each event must travel with its audit entry; every error code has a
4xx status (500 only for ``internal``) and a Chinese message.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.audit import GENESIS, digest, entry_hash
from sync import protocol
from sync.protocol import ProtocolError

DOC = Path(__file__).resolve().parent.parent / "docs" / "sync-protocol.md"
VECTOR_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _vectors() -> list[tuple[str, ...]]:
    rows = re.findall(r"^\| (POST|GET) \| `([^`]+)` \| `(\d+)` \| `([0-9a-f]{32})` \| "
                      r"(?:`([^`]*)`|\(empty\)) \| `([A-Za-z0-9+/=]+)` \|$",
                      DOC.read_text(encoding="utf-8"), re.M)
    assert len(rows) == 2, "the test vectors table in docs/sync-protocol.md changed shape"
    return rows


def test_public_key_in_doc():
    text = DOC.read_text(encoding="utf-8")
    assert f"`{protocol.public_key_b64(VECTOR_KEY)}`" in text


@pytest.mark.parametrize("vector", _vectors(), ids=lambda v: v[0])
def test_doc_vectors_sign_and_verify(vector):
    method, path, t, nonce, body, signature = vector
    raw = body.encode("utf-8")
    assert protocol.sign(VECTOR_KEY, method, path, t, nonce, raw) == signature
    public = protocol.load_public_key(protocol.public_key_b64(VECTOR_KEY))
    assert protocol.verify(public, signature, method, path, t, nonce, raw)
    lines = protocol.signing_string(method, path, t, nonce, raw).decode().split("\n")
    assert lines[:4] == [method, path, t, nonce] and len(lines) == 5
    for changed in [(method.lower() + "X", path, t, nonce, raw), (method, path + "&x=1", t, nonce, raw),
                    (method, path, str(int(t) + 1), nonce, raw), (method, path, t, "0" * 32, raw),
                    (method, path, t, nonce, raw + b" ")]:
        assert not protocol.verify(public, signature, *changed)
    assert not protocol.verify(public, "not base64!", method, path, t, nonce, raw)


def test_key_round_trip_and_bad_public_keys():
    key = protocol.new_private_key()
    again = protocol.load_private_key(protocol.private_key_pem(key))
    assert protocol.public_key_b64(again) == protocol.public_key_b64(key)
    for bad in ("", "!!!", base64.b64encode(b"short").decode()):
        with pytest.raises(ProtocolError) as e:
            protocol.load_public_key(bad)
        assert e.value.code == "bad_request"


def test_auth_headers_and_time_window():
    good = {protocol.H_TERMINAL: "t-1", protocol.H_TIME: "1795000000000",
            protocol.H_NONCE: "ab" * 16, protocol.H_SIGNATURE: "c2ln"}
    assert protocol.parse_auth_headers(good).time_ms == 1795000000000
    for key, value in [(protocol.H_TERMINAL, "a b"), (protocol.H_TIME, "-5"),
                       (protocol.H_TIME, "١٢٣"), (protocol.H_NONCE, "AB" * 16),
                       (protocol.H_NONCE, "ab"), (protocol.H_SIGNATURE, "")]:
        with pytest.raises(ProtocolError) as e:
            protocol.parse_auth_headers({**good, key: value})
        assert (e.value.code, e.value.status) == ("auth_missing", 401)
    protocol.check_time(1_000_000 + 300_000, 1_000_000)
    with pytest.raises(ProtocolError) as e:
        protocol.check_time(1_000_000 + 300_001, 1_000_000)
    assert e.value.code == "stale_time" and e.value.as_dict()["error"]["hub_time"] == 1_000_000


# -- batches on a real chain -----------------------------------------------------------

def _chain(n: int) -> tuple[list[dict], list[dict]]:
    """n events, each with its audit entry, plus a read entry (no event) after event 2."""
    events, entries, prev = [], [], GENESIS
    for i in range(1, n + 1):
        payload = f'{{"n":{i}}}'
        events.append({"seq": i, "event_id": f"e{i}", "type": "dues.dues", "payload": payload,
                       "at": "2026-11-15T10:00:00.000+08:00"})
        details = [("dues.dues", f'{{"event_id":"e{i}","sha256":"{digest(payload)}"}}')]
        if i == 2:
            details.append(("read", '{"what":"roster"}'))
        for action, detail in details:
            seq = len(entries) + 1
            h = entry_hash(prev, seq, "2026-11-15T10:00:00.000+08:00", "staff:S01", action,
                           "member:QS001", detail)
            entries.append({"seq": seq, "at": "2026-11-15T10:00:00.000+08:00",
                            "actor": "staff:S01", "action": action, "subject": "member:QS001",
                            "detail": detail, "prev_hash": prev, "hash": h})
            prev = h
    return events, entries


def test_parse_batch_accepts_the_chain_and_refuses_bad_shapes():
    events, entries = _chain(3)
    assert protocol.parse_batch({"events": events, "audit": entries}) == (events, entries)
    for bad in [{"events": {}}, {"events": [1]}, {"events": [{**events[0], "seq": True}]},
                {"events": [{**events[0], "payload": "{not json"}]},
                {"audit": [{**entries[0], "hash": "X" * 64}]},
                {"audit": [{**entries[0], "actor": None}]}]:
        with pytest.raises(ProtocolError) as e:
            protocol.parse_batch(bad)
        assert e.value.code == "bad_batch"


def test_check_events_overlap_gap_and_conflict():
    events, _ = _chain(5)
    assert protocol.check_events(events, 0, {}) == events
    stored = {1: "e1", 2: "e2"}
    assert protocol.check_events(events, 2, stored) == events[2:]
    assert protocol.check_events(events[:2], 2, stored) == []
    with pytest.raises(ProtocolError) as e:
        protocol.check_events(events[3:], 2, stored)
    assert (e.value.code, e.value.extra) == ("seq_gap", {"stored_seq": 2})
    with pytest.raises(ProtocolError) as e:
        protocol.check_events([events[0], events[2]], 0, {})
    assert e.value.code == "seq_gap"
    with pytest.raises(ProtocolError) as e:
        protocol.check_events(events, 2, {1: "e1", 2: "other"})
    assert e.value.code == "seq_conflict"


def test_check_audit_continues_from_the_verified_head():
    _, entries = _chain(4)  # 5 entries
    assert protocol.check_audit(entries, 0, GENESIS, {}) == entries
    head = entries[2]
    rest = protocol.check_audit(entries[1:], 3, head["hash"], {1: entries[0]["hash"],
                                                               2: entries[1]["hash"]})
    assert rest == entries[3:]
    with pytest.raises(ProtocolError) as e:  # starts after a hole
        protocol.check_audit(entries[4:], 3, head["hash"], {})
    assert e.value.code == "audit_gap"
    with pytest.raises(ProtocolError) as e:  # continues from another head
        protocol.check_audit(entries[3:], 3, "f" * 64, {})
    assert e.value.code == "audit_chain_broken"
    edited = [dict(en) for en in entries]
    edited[1]["subject"] = "member:QS002"
    with pytest.raises(ProtocolError) as e:
        protocol.check_audit(edited, 0, GENESIS, {})
    assert e.value.code == "audit_chain_broken" and "entry 2" in e.value.message
    # A past rewritten consistently from entry 1 on is still refused: the hub saw entry 1.
    prev, rewritten = GENESIS, []
    for en in edited:
        h = entry_hash(prev, en["seq"], en["at"], en["actor"], en["action"], en["subject"],
                       en["detail"])
        rewritten.append({**en, "prev_hash": prev, "hash": h})
        prev = h
    with pytest.raises(ProtocolError) as e:
        protocol.check_audit(rewritten, 2, entries[1]["hash"], {1: entries[0]["hash"]})
    assert e.value.code == "audit_chain_broken"


def test_each_event_travels_with_its_audit_entry():
    events, entries = _chain(3)
    protocol.check_pairing(events, entries, events, entries)
    with pytest.raises(ProtocolError) as e:  # an event without its entry
        protocol.check_pairing(events, entries[:2], events, entries[:2])
    assert e.value.code == "journal_mismatch"
    with pytest.raises(ProtocolError) as e:  # an entry without its event
        protocol.check_pairing(events[:2], entries, events[:2], entries)
    assert e.value.code == "journal_mismatch"
    changed = [dict(ev) for ev in events]
    changed[0]["payload"] = '{"n":99}'
    with pytest.raises(ProtocolError) as e:
        protocol.check_pairing(changed, entries, changed, entries)
    assert e.value.code == "journal_mismatch" and "event 1" in e.value.message
    retyped = [dict(ev) for ev in events]
    retyped[2]["type"] = "dues.correction"
    with pytest.raises(ProtocolError):
        protocol.check_pairing(retyped, entries, retyped, entries)


def test_branch_created_must_name_the_enrolled_branch():
    ev = {"seq": 1, "event_id": "e", "type": "branch.created", "payload": '{"code":"A"}'}
    protocol.check_branch_events([ev], "A")
    with pytest.raises(ProtocolError) as e:
        protocol.check_branch_events([ev], "B")
    assert (e.value.code, e.value.status) == ("wrong_branch", 409)


def test_every_error_code_has_a_status_and_chinese_text():
    for code, (status, en, zh) in protocol.ERRORS.items():
        assert 400 <= status < 500 or code == "internal", code
        assert en and zh and re.search(r"[\u4e00-\u9fff]", zh), code
        body = ProtocolError(code, "detail").as_dict()["error"]
        assert body["code"] == code and body["message"].endswith("detail")
    text = DOC.read_text(encoding="utf-8")
    for code in protocol.ERRORS:
        if code != "internal":
            assert f"`{code}`" in text, f"error code {code} is not documented"
