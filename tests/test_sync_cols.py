"""Protocol v4's pull: pages as columns, in lines applied as they arrive
(sync/protocol_cols.py, docs/sync-protocol.md "Version 4").

Pins: every payload comes back byte for byte (canonical objects through their columns,
anything else as text); a page splits into lines with the right cursors and ``more``; the
terminal's reader takes xz and gzip arriving a byte at a time and refuses a damaged,
truncated, oversized or malformed answer; through a hub (both back ends) the lines hold
exactly the events of the v2 objects page, a terminal pulls them, and a link cut in the
middle of an answer keeps the lines applied before it — the next pull finishes the rest.
"""

from __future__ import annotations

import gzip
import json
import lzma
from datetime import datetime

import pytest
import requests

from core import members
from core.clock import CST, FixedClock
from core.store import Store
from sync import client as sc
from sync import client_pull, protocol, protocol_cols
from sync.hub import admin
from sync.relay import Relay

DEMO = "DEMO-QSC"

PAYLOADS = [
    protocol.canonical_json({"member_no": "M001", "amount_fen": 1200, "months": ["2026-11"]}),
    protocol.canonical_json({"member_no": "M002", "amount_fen": 0, "months": []}),
    protocol.canonical_json({"title": "通知", "body": "今晚七点开会", "n": 1.5, "big": 2**70,
                             "none": None, "nested": {"b": [1, {"a": True}]}}),
    '{"b":1,"a":2}',                 # an object, but not in canonical key order
    '{"a": 1}',                      # canonical keys, not canonical spacing
    "[1,2,3]",                       # not an object
    '"text"',
    "not json at all",
    "{}",
]


def _rows(payloads: list[str], start: int = 7) -> list[dict]:
    return [{"cursor": start + 3 * i, "origin": "hub" if i % 2 else "t-1",
             "event_id": f"e{i}", "type": "notice.posted", "payload": p,
             "at": f"2026-11-{1 + i % 28:02d}T09:00:00.000+08:00"}
            for i, p in enumerate(payloads)]


def test_every_payload_comes_back_byte_for_byte():
    rows = _rows(PAYLOADS * 3)
    cols = protocol_cols.cols_of(rows)
    assert len(cols["raw"]) == 3 * 5 and len(cols["shapes"]) == 3  # "{}" is a shape too
    assert protocol.unpack_cols(json.loads(json.dumps(cols, ensure_ascii=False))) == rows


def test_a_page_splits_into_lines_with_their_cursors():
    rows = _rows(PAYLOADS)   # 9 events: lines of 4, 4 and 1
    lines = list(protocol.read_lines([protocol.pull_lines(rows, 99, False, 4)], None, 10**6))
    assert [(len(x["cols"]["cursor"]), x["next_cursor"], x["more"]) for x in lines] == [
        (4, rows[3]["cursor"], True), (4, rows[7]["cursor"], True), (1, 99, False)]
    assert [e for x in lines for e in protocol.unpack_cols(x["cols"])] == rows
    [empty] = protocol.read_lines([protocol.pull_lines([], 5, False)], None, 10**6)
    assert (protocol.unpack_cols(empty["cols"]), empty["next_cursor"], empty["more"]) == \
        ([], 5, False)


@pytest.mark.parametrize("encoding", ["xz", "gzip", None])
def test_the_reader_takes_a_stream_a_byte_at_a_time(encoding):
    body = protocol.pull_lines(_rows(PAYLOADS * 200), 10**6, True)
    data = {"xz": lzma.compress, "gzip": gzip.compress, None: bytes}[encoding](body)
    lines = list(protocol.read_lines((data[i:i + 1] for i in range(len(data))), encoding,
                                     10**7))
    assert sum(len(x["cols"]["cursor"]) for x in lines) == len(PAYLOADS) * 200
    assert lines[-1]["more"] is True


def test_an_xz_answer_is_sent_as_two_streams_the_first_line_first():
    rows = _rows(PAYLOADS * 3000)
    body = protocol.pull_lines(rows, 10**6, False, 400)
    first = body[:body.index(b"\n") + 1]
    encoding, chunks = protocol_cols.answer(rows, 10**6, False, "gzip, xz", 400)
    chunks = list(chunks)
    assert encoding == "xz" and len(body) >= protocol.XZ_ANSWER_FROM
    assert lzma.decompress(chunks[0]) == first      # the first line, a stream of its own
    data = b"".join(chunks)
    assert lzma.decompress(data) == body            # the two streams, one after the other
    got = list(protocol.read_lines((data[i:i + 1000] for i in range(0, len(data), 1000)),
                                   "xz", 10**8))
    assert [e for x in got for e in protocol.unpack_cols(x["cols"])] == rows
    # Smaller answers go in one piece (gzip), or as they are.
    small = _rows(PAYLOADS * 20)
    encoding, chunks = protocol_cols.answer(small, 500, False, "gzip, xz")
    assert encoding == "gzip"
    assert gzip.decompress(b"".join(chunks)) == protocol.pull_lines(small, 500, False)
    assert protocol_cols.answer(small, 500, False, "")[0] is None
    # A bomb stops at the limit, not in memory.
    bomb = lzma.compress(b"{" + b" " * 50_000_000)
    with pytest.raises(ValueError, match="larger than"):
        _whole(bomb, "xz", limit=10**6)


def _whole(data: bytes, encoding: str | None, limit: int = 10**7) -> list[dict]:
    return list(protocol.read_lines([data], encoding, limit))


def test_the_reader_refuses_a_damaged_truncated_or_oversized_answer():
    body = protocol.pull_lines(_rows(PAYLOADS * 50), 500, False)
    xz = lzma.compress(body)
    for data, encoding, says in [
            (xz[:-20], "xz", "truncated"), (xz[:40] + b"\0" * 40 + xz[80:], "xz", "damaged"),
            (gzip.compress(body)[:-8], "gzip", "truncated"), (body[:-1], None, "cut"),
            (b"", None, "without a line"), (b"[1]\n", None, "must hold"),
            (b"{not json\n", None, "not JSON"), (xz, "br", "'br'")]:
        with pytest.raises(ValueError, match=says):
            _whole(data, encoding)
    with pytest.raises(ValueError, match="larger than"):
        _whole(xz, "xz", limit=len(body) - 1)


def test_the_reader_yields_the_lines_before_a_cut():
    body = protocol.pull_lines(_rows(PAYLOADS), 50, False, 3)   # lines of 3, 3, 3
    got = []
    with pytest.raises(ValueError, match="cut"):
        for line in protocol.read_lines([body[:body.rindex(b"\n", 0, -1) + 5]], None, 10**6):
            got.append(line)
    assert [x["next_cursor"] for x in got] == [13, 22]


@pytest.mark.parametrize("change, says", [
    (lambda c: c.update(cursor=[1, 0] + [1] * 7), "positive step"),
    (lambda c: c.update(origin=["hub"] * 8), "cols.origin must be a list of 9"),
    (lambda c: c["shape"].__setitem__(0, 7), "names no shape"),
    (lambda c: c.update(shape=[0] * 9), "no payload left"),
    (lambda c: c["raw"].append("x"), "more payload values"),
    (lambda c: c.update(shapes=[["a"], [[1]]]), "must be \\[keys, columns\\]"),
    (lambda c: c.update(type=[1] * 9), "not text"),
    (lambda c: c.pop("at"), "cols.at must be a list"),
])
def test_a_malformed_line_is_named(change, says):
    cols = protocol_cols.cols_of(_rows(PAYLOADS))
    change(cols)
    with pytest.raises(ValueError, match=says):
        protocol.unpack_cols(cols)


# -- through a hub ---------------------------------------------------------------------

@pytest.fixture
def hub(hub_storage, hub_server, demo_store):
    admin.load_demo(hub_storage)
    running = hub_server(hub_storage, env={"LIANXIN_HUB_PULL_LINE": "6"})
    sc.enroll(demo_store.path, running.url, admin.issue_enroll_code(hub_storage, DEMO)["code"])
    sc.sync_once(demo_store)   # the demo terminal's events, on the hub
    return running


def _fresh(hub, tmp_path, name: str) -> Store:
    s = Store.create(tmp_path / name / "terminal.db",
                     clock=FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=CST)))
    sc.enroll(s.path, hub.url, admin.issue_enroll_code(hub.storage, DEMO)["code"])
    return s


def _held(store: Store) -> list:
    return store.all("SELECT event_id, state FROM replica_event ORDER BY cursor")


def test_lines_hold_the_events_of_the_objects_page(hub, tmp_path):
    s = _fresh(hub, tmp_path, "a")
    client = sc.open_client(s)
    objects = client.request("GET", "/v1/pull", params={"cursor": 0}).json()
    r = client.request("GET", "/v1/pull", params={"cursor": 0, "form": "cols"})
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = list(protocol.read_lines([r.content], None, protocol.MAX_BODY))
    assert len(lines) > 2
    assert [e for x in lines for e in protocol.unpack_cols(x["cols"])] == objects["events"]
    assert lines[-1]["next_cursor"] == objects["next_cursor"]
    # A terminal pulls them as lines, each applied as a page, and holds what a v3 pull
    # (rows, one page) gives another terminal.
    result = sc.pull(s, client)
    assert result["pages"] == len(lines) and result["skipped"] == 0
    other = _fresh(hub, tmp_path, "b")
    v3 = sc.open_client(other)
    v3.hub_protocol = 3
    sc.pull(other, v3)
    assert _held(s) == _held(other) and len(_held(s)) == len(objects["events"])
    assert s.meta("sync.pull_cursor") == other.meta("sync.pull_cursor")


def test_a_cut_keeps_the_lines_applied_before_it(hub, tmp_path):
    s = _fresh(hub, tmp_path, "cut")
    client = sc.open_client(s)
    whole = client.request("GET", "/v1/pull", params={"cursor": 0, "form": "cols"},
                           stream=True)
    sent = b"".join(client_pull._arriving(whole.raw))   # as sent (compressed)
    size = len(sent)
    lines = list(protocol.read_lines([sent], whole.headers.get("content-encoding"),
                                     protocol.MAX_BODY))
    assert len(lines) > 4
    with Relay(("127.0.0.1", hub.proc.port), cut_after=600 + size // 2,
               cut_direction="down") as link:
        cut = sc.HubClient(link.url, terminal_id=client.terminal_id, key=client.key,
                           hub_protocol=protocol.PROTOCOL_VERSION)
        with pytest.raises(sc.SyncError) as e:
            sc.pull(s, cut)
    assert e.value.code == "network"
    kept, final = int(s.meta("sync.pull_cursor")), lines[-1]["next_cursor"]
    assert 0 < kept < final and kept in [x["next_cursor"] for x in lines] and _held(s)
    sc.pull(s, client)   # resumes after the lines it holds
    assert int(s.meta("sync.pull_cursor")) == final
    other = _fresh(hub, tmp_path, "whole")
    sc.pull(other, sc.open_client(other))
    assert _held(s) == _held(other)


def test_a_new_terminal_catches_up_in_lines_then_pulls_with_its_push(hub, tmp_path):
    """A terminal that has pulled nothing asks for lines (the branch's whole log is ahead
    of it); afterwards its push brings the next page back (one round trip a night)."""
    s = _fresh(hub, tmp_path, "new")
    paths: list[str] = []

    def propose(member_no: str) -> None:   # something to send: a member proposed here
        with s.transaction():
            members.add(s, member_no=member_no, name="新党员", category="farmer",
                        farmer_fen=50, actor="test")

    with requests.Session() as session:
        real = session.send

        def spy(prep, **kw):
            paths.append(prep.path_url)
            return real(prep, **kw)

        session.send = spy
        propose("QS90")
        first = sc.sync_once(s, session=session)
        assert first["pushed"] == 1 and first["pulled"] > 0
        assert any(p.startswith("/v1/pull") and "form=cols" in p for p in paths), paths
        paths.clear()
        propose("QS91")
        admin.post_notice(hub.storage, DEMO, title="通知", body="今晚开会。",
                          posted="2026-11-16")
        report = sc.sync_once(s, session=session)
    assert (report["pushed"], report["pulled"]) == (1, 1)
    assert not any(p.startswith("/v1/pull") for p in paths), paths   # it came with the push
