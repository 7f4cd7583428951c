"""Protocol v3's compact forms (docs/sync-protocol.md, "Version 3"): push rows, pull rows, xz.

Part of ``sync.protocol`` (which re-exports everything here). Pure functions, no I/O.

A v2 push sends each audit entry whole beside the event it records, so the entry's action,
detail (the event id and the payload's SHA-256), prev_hash and hash restate what the hub
can work out: about half the bytes of a push. A v3 push sends each entry as one row that
holds its event, and only what cannot be derived::

    {"head_seq": N, "prev": HASH, "rows": [ROW, ...], "hash": HASH, "skipped": [...]}
    ROW   = [audit_seq, at | null, actor, subject, action | null, detail | null, EVENT | null]
    EVENT = [seq, event_id, type, payload, at]

``prev`` is the hash of the entry before the first row, ``hash`` the hash of the last.
A null is derived: ``at`` is the event's, ``action`` its type, ``detail`` the canonical
``{"event_id", "sha256"}`` of the event. The hub rebuilds each entry and chains the hashes
from ``prev``; the last must be ``hash``. Any field that differs from the terminal's own
chain changes that last hash, so the chain is verified exactly as before, and what the hub
stores is what a v2 push would have stored.

A v3 pull (``GET /v1/pull?form=rows``) answers rows instead of objects:
``[cursor, origin, event_id, type, payload, at]``. A v3 push may ask for the first pull
page too (``"pull": {"cursor": N, "limit": M}``): the answer, once the batch is committed,
carries it as ``"pull"``, so a nightly sync that has one batch to send and one page to
fetch costs one round trip.

Large bodies travel as xz (``Content-Encoding: xz``, preset 6): a fifth smaller than gzip
at level 9 on a month of events, for about 30 times gzip's CPU. A terminal sends xz from
64 KiB (its CPU is idle at night); the hub answers in xz only from 512 KiB (a month's
catch-up), gzip below: it answers thousands of terminals a night, and on a small body the
round trip, not the bytes, is what the link waits for.

    push_rows(events, entries)   the terminal: a v2 batch (core.outbox.batch) as a v3 body
    parse_push_rows(data)        the hub: a v3 body as a checked Batch (protocol_batch)
    pull_rows(rows) / unpack_pull_rows(rows)   the hub / the terminal
    pull_request(data)           the hub: the pull page a push asks for, if any
    compress(body, accept) / xz_decompress(raw, limit)
"""

from __future__ import annotations

import gzip
import lzma
import re

from core.audit import digest, entry_hash, event_of_entry

from .protocol_batch import (
    _EVENT_DETAIL,
    _HEX64,
    _MAX_TEXT,
    MAX_SEQ,
    Batch,
    _loads,
    _parse_skips,
    canonical_json,
)
from .protocol_errors import ProtocolError

PUSH_ROWS = 4000          # most rows in one v3 push (a cut re-sends at most this many)
XZ_FROM = 64 * 1024       # a terminal's bodies from this size go as xz, smaller as gzip
# The hub's answers go as xz only from this size (a month's catch-up): xz costs about 30
# times gzip's CPU, and a hub answers thousands of terminals a night.
XZ_ANSWER_FROM = 512 * 1024
GZIP_FROM = 1024          # below this, nothing is compressed
_XZ_MEMLIMIT = 64 * 1024 * 1024   # a stream that needs more memory to decode is refused
PULL_ROW = ("cursor", "origin", "event_id", "type", "payload", "at")
PULL_PAGE = 2000          # most events in one pull page of objects (v2)
PULL_ROWS = 5000          # most events in one page of rows (v3): a month of a branch


# -- push ------------------------------------------------------------------------------

_PLAIN_ID = re.compile(r"[0-9A-Za-z_.:-]+")


def _event_detail(event_id: str, sha256: str) -> str:
    """The detail Store.record writes for an event (canonical JSON); for an id that JSON
    writes as it is (every UUID), without the JSON encoder."""
    if _PLAIN_ID.fullmatch(event_id):
        return f'{{"event_id":"{event_id}","sha256":"{sha256}"}}'
    return canonical_json({"event_id": event_id, "sha256": sha256})


def push_rows(events: list[dict], entries: list[dict]) -> dict:
    """A batch of audit entries and the events they record (v2 form, as
    ``core.outbox.batch`` reads them) as v3 ``prev``, ``rows`` and ``hash``. Each event
    rides with the first entry that names it; a field is left out only where the hub
    derives exactly what the terminal holds."""
    by_id = {e["event_id"]: e for e in events}
    rows = []
    for en in entries:
        event_id, _ = event_of_entry(en["detail"])
        ev = by_id.pop(event_id, None) if event_id else None
        if ev is None:
            rows.append([en["seq"], en["at"], en["actor"], en["subject"], en["action"],
                         en["detail"], None])
            continue
        derived = _event_detail(ev["event_id"], digest(ev["payload"]))
        rows.append([en["seq"], None if en["at"] == ev["at"] else en["at"], en["actor"],
                     en["subject"], None if en["action"] == ev["type"] else en["action"],
                     None if en["detail"] == derived else en["detail"],
                     [ev["seq"], ev["event_id"], ev["type"], ev["payload"], ev["at"]]])
    if by_id:  # an event no entry of the batch names: the hub would refuse the batch
        raise ValueError(f"events without their audit entry: {sorted(by_id)[:3]}")
    return {"prev": entries[0]["prev_hash"] if entries else None, "rows": rows,
            "hash": entries[-1]["hash"] if entries else None}


def _bad(where: str, what: str) -> ProtocolError:
    return ProtocolError("bad_batch", f"{where}: {what}")


def _str(value, where: str, key: str, *, nullable: bool = False, empty: bool = True):
    if value is None and nullable:
        return None
    if type(value) is not str or len(value) > _MAX_TEXT or (not empty and not value):
        raise _bad(where, f"{key} must be a string" + (" or null" if nullable else ""))
    return value


def _int_seq(value, where: str, key: str) -> int:
    if type(value) is not int or not 1 <= value < MAX_SEQ:
        raise _bad(where, f"{key} must be a positive integer")
    return value


def _plain_row(row) -> bool:
    """A v3 row whose every field has the right type and size (what :func:`_checked_row`
    accepts, without naming what is wrong; a row near the size limits takes that path)."""
    if type(row) is not list or len(row) != 7:
        return False
    seq, at, actor, subject, action, detail, ev = row
    if not (type(seq) is int and 1 <= seq < MAX_SEQ and type(actor) is str
            and type(subject) is str and (at is None or type(at) is str)
            and (action is None or type(action) is str)
            and (detail is None or type(detail) is str)
            and len(actor) + len(subject) + len(at or "") + len(action or "")
            + len(detail or "") <= _MAX_TEXT):
        return False
    if ev is None:
        return True
    if type(ev) is not list or len(ev) != 5:
        return False
    event_seq, event_id, type_, payload, event_at = ev
    return (type(event_seq) is int and 1 <= event_seq < MAX_SEQ and type(event_id) is str
            and type(type_) is str and type(payload) is str and type(event_at) is str
            and event_id != "" and type_ != "" and event_at != ""
            and len(event_id) + len(type_) + len(payload) + len(event_at) <= _MAX_TEXT)


def _checked_row(row, where: str) -> tuple:
    """A row's fields, checked one by one; refuses (``bad_batch``) naming the first bad one."""
    if type(row) is not list or len(row) != 7:
        raise _bad(where, "a row is a list of 7 items")
    seq = _int_seq(row[0], where, "audit_seq")
    at = _str(row[1], where, "at", nullable=True)
    actor, subject = _str(row[2], where, "actor"), _str(row[3], where, "subject")
    action = _str(row[4], where, "action", nullable=True)
    detail = _str(row[5], where, "detail", nullable=True)
    ev = row[6]
    if ev is not None:
        if type(ev) is not list or len(ev) != 5:
            raise _bad(where, "an event is a list of 5 items")
        ev = [_int_seq(ev[0], where, "event seq"), _str(ev[1], where, "event_id", empty=False),
              _str(ev[2], where, "type", empty=False), _str(ev[3], where, "payload"),
              _str(ev[4], where, "event at", empty=False)]
    return seq, at, actor, subject, action, detail, ev


def parse_push_rows(data: dict) -> Batch:
    """A v3 push body as the :class:`Batch` a v2 body would have given, its entries rebuilt
    and chained from ``prev``. Rows that do not hash to ``hash`` give a Batch whose
    ``refusal`` is ``audit_chain_broken`` (raised where the hub notes refusals)."""
    rows = data.get("rows")
    if type(rows) is not list or len(rows) > PUSH_ROWS:
        raise ProtocolError("bad_batch", f"rows must be a list of at most {PUSH_ROWS}")
    prev, last = data.get("prev"), data.get("hash")
    if rows and not (type(prev) is str and _HEX64.fullmatch(prev)
                     and type(last) is str and _HEX64.fullmatch(last)):
        raise ProtocolError("bad_batch", "prev and hash must be SHA-256s in hex")
    events, entries, payloads, named, hashes = [], [], [], [], []
    digests: dict[int, str] = {}
    running = prev
    for i, row in enumerate(rows):
        if _plain_row(row):  # the usual row, checked in one expression
            seq, at, actor, subject, action, detail, ev = row
        else:  # field by field: the refusal names the first bad one
            seq, at, actor, subject, action, detail, ev = _checked_row(row, f"row {i}")
        if ev is None:
            if at is None or action is None or detail is None:
                raise _bad(f"row {i}", "a row without an event gives its at, action and "
                           "detail")
            m = _EVENT_DETAIL.fullmatch(detail)
            named.append(m.groups() if m else event_of_entry(detail))
        else:
            event = {"seq": ev[0], "event_id": ev[1], "type": ev[2], "payload": ev[3],
                     "at": ev[4]}
            try:
                payloads.append(_loads(event["payload"]))
            except (ValueError, RecursionError) as err:
                raise _bad(f"row {i}", "payload is not JSON text") from err
            events.append(event)
            sha = digests[event["seq"]] = digest(event["payload"])
            at = event["at"] if at is None else at
            action = event["type"] if action is None else action
            if detail is None:
                detail = _event_detail(event["event_id"], sha)
                named.append((event["event_id"], sha))
            else:
                m = _EVENT_DETAIL.fullmatch(detail)
                named.append(m.groups() if m else event_of_entry(detail))
        h = entry_hash(running, seq, at, actor, action, subject, detail)
        entries.append({"seq": seq, "at": at, "actor": actor, "action": action,
                        "subject": subject, "detail": detail, "prev_hash": running, "hash": h})
        hashes.append(h)
        running = h
    if any(a["seq"] > b["seq"] for a, b in zip(events, events[1:], strict=False)):
        order = sorted(range(len(events)), key=lambda k: events[k]["seq"])
        events, payloads = [events[k] for k in order], [payloads[k] for k in order]
    batch = Batch(events, entries, payloads, named, hashes, _parse_skips(data),
                  digests=digests)
    if rows and running != last:
        batch.refusal = ProtocolError(
            "audit_chain_broken", f"the rows do not hash to the chain head the terminal "
            f"gives (entry {entries[-1]['seq']})")
    return batch


# -- pull ------------------------------------------------------------------------------

def pull_rows(rows: list[dict]) -> list[list]:
    """The hub: log rows (``HubStorage.log_page``) as v3 pull rows."""
    return [[r["cursor"], r["origin"], r["event_id"], r["type"], r["payload"], r["at"]]
            for r in rows]


def pull_request(data: dict) -> tuple[int, int] | None:
    """The (cursor, limit) of the pull page a push body asks for, or None."""
    ask = data.get("pull")
    if ask is None:
        return None
    cursor = ask.get("cursor") if type(ask) is dict else None
    limit = ask.get("limit", PULL_ROWS) if type(ask) is dict else None
    if (type(cursor) is not int or not 0 <= cursor < MAX_SEQ
            or type(limit) is not int or not 1 <= limit <= PULL_ROWS):
        raise ProtocolError("bad_batch", f"pull must be {{\"cursor\": a whole number from 0, "
                            f"\"limit\": 1 to {PULL_ROWS}}}")
    return cursor, limit


def unpack_pull_rows(rows) -> list[dict]:
    """The terminal: v3 pull rows back as event objects; a malformed answer raises
    ValueError (the hub sent something this terminal cannot read)."""
    if type(rows) is not list:
        raise ValueError("rows must be a list")
    out = []
    for i, row in enumerate(rows):
        if type(row) is not list or len(row) != len(PULL_ROW):
            raise ValueError(f"pull row {i} is not a list of {len(PULL_ROW)} items")
        out.append(dict(zip(PULL_ROW, row, strict=True)))
    return out


# -- compression -----------------------------------------------------------------------

def encoding_for(size: int, accept: str, *, xz_from: int = XZ_FROM) -> str | None:
    """How :func:`compress` sends ``size`` bytes to a peer that accepts ``accept`` (an
    Accept-Encoding value): xz from ``xz_from`` bytes if accepted, else gzip from
    GZIP_FROM, else as they are (None)."""
    tokens = {t.split(";")[0].strip().lower() for t in accept.split(",")}
    if size >= xz_from and "xz" in tokens:
        return "xz"
    if size >= GZIP_FROM and "gzip" in tokens:
        return "gzip"
    return None


def compress(body: bytes, accept: str, *, xz_from: int = XZ_FROM) -> tuple[bytes, str | None]:
    """``body`` compressed for a peer that accepts ``accept`` (:func:`encoding_for`);
    returns (bytes, encoding or None)."""
    encoding = encoding_for(len(body), accept, xz_from=xz_from)
    if encoding == "xz":
        return lzma.compress(body, preset=6), "xz"
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=6), "gzip"
    return body, None


def xz_decoder() -> lzma.LZMADecompressor:
    """An xz decoder that refuses a stream needing more than 64 MiB to decode."""
    return lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=_XZ_MEMLIMIT)


def xz_decompress(raw: bytes, limit: int) -> bytes:
    """An xz stream's content, refused (``body_too_large``, ``bad_encoding``) past
    ``limit`` bytes, past a 64 MiB decoder, or if truncated or damaged."""
    d = xz_decoder()
    try:
        body = d.decompress(raw, limit + 1)
    except lzma.LZMAError as e:
        raise ProtocolError("bad_encoding", f"xz: {e}") from e
    if len(body) > limit:
        raise ProtocolError("body_too_large")
    if not d.eof:
        raise ProtocolError("bad_encoding", "the xz stream is truncated")
    return body
