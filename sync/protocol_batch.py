"""The sync protocol's push batches: their shape, seq continuity, audit chain and pairing.

Part of ``sync.protocol`` (which re-exports everything here). Pure functions, no SQL: the
hub reads a body once (:func:`parse_push`, outside its write lock), then checks it against
what it holds for the terminal:

    parse_json_object / canonical_json  message bodies, and how payloads are written
    parse_push / parse_batch / Batch    a push body's events and audit entries, by shape
    check_events / check_audit          seq continuity, no rewritten past, the audit chain
    check_pairing                       every new event travels with its audit entry
    check_branch_events                 a terminal creates only its own branch
    check_authority                     a terminal authors only what core.events lets it
    check_payloads                      what an event says of its sender, branch and money
    check_times                         every event time is a time; those from the future

The audit chain's hash is core.audit.entry_hash, imported rather than copied, so the hub
recomputes exactly what the terminal wrote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from core import events as catalogue
from core.audit import GENESIS, digest, entry_hash, event_of_entry

from .protocol_errors import ProtocolError

PUSH_BATCH = 500                  # most events (and audit entries) in one push
MAX_SKIPS = 200                   # most skip reports in one push
MAX_SKIP_REASON = 300
MAX_SEQ = 2**62                   # seqs, head_seq and cursors stay below this (SQLite: 2**63)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_TEXT = 1024 * 1024           # one field of one event or entry


# -- message bodies --------------------------------------------------------------------

def _loads(text: bytes | str):
    """JSON text to Python: orjson (about four times faster than ``json`` on a push body
    and its payloads), and the standard parser for what orjson refuses (NaN, lone
    surrogates, errors), so what ``json.loads`` reads is read, and its error is the one
    given. One difference: orjson reads an integer beyond 64 bits as a float. Nothing the
    hub accepts is that large (seqs, cursors and fen are whole numbers below 2**62), and a
    float passes no whole-number check."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)


def parse_json_object(body: bytes) -> dict:
    try:
        data = _loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # nesting bombs too
        raise ProtocolError("bad_json", str(e)[:200]) from e
    if not isinstance(data, dict):
        raise ProtocolError("bad_json", "the body must be a JSON object")
    return data


def canonical_json(value) -> str:
    """How payloads are written (the same form as core.store.record)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _text(item: dict, key: str, where: str, *, empty: bool = True) -> str:
    value = item.get(key)
    if not isinstance(value, str) or (not empty and not value) or len(value) > _MAX_TEXT:
        raise ProtocolError("bad_batch", f"{where}: {key} must be a string")
    return value


def _seq(item: dict, where: str) -> int:
    value = item.get("seq")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < MAX_SEQ:
        raise ProtocolError("bad_batch", f"{where}: seq must be a positive integer")
    return value


EVENT_FIELDS = ("seq", "event_id", "type", "payload", "at")
AUDIT_FIELDS = ("seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash")

# The detail an event's entry has as a terminal writes it (canonical JSON): where it matches,
# it names what core.audit.event_of_entry would find, without a JSON parser.
_EVENT_DETAIL = re.compile(r'\{"event_id":"([^"\\\x00-\x1f]*)","sha256":"([0-9a-f]{64})"\}')


@dataclass
class Batch:
    """A push body read once: the checked ``events`` and ``audit`` entries, and what the
    checks after it need, computed here (outside the hub's write lock, and only once):
    ``payloads`` — each event's payload, parsed; ``named`` — the (event id, payload
    SHA-256) each entry's detail names (``core.audit.event_of_entry``); ``hashes`` — each
    entry's hash as recomputed from its fields; ``digests`` — the SHA-256 of the payload of
    each event by seq, where the reading computed it."""

    events: list[dict]
    entries: list[dict]
    payloads: list
    named: list[tuple[str | None, str | None]]
    hashes: list[str]
    skips: list[dict] = field(default_factory=list)  # pulled events it could not apply
    # A refusal found while reading that the hub notes like a rule's (a v3 body whose rows
    # do not hash to the chain head it gives: sync.protocol_wire).
    refusal: ProtocolError | None = None
    digests: dict[int, str] = field(default_factory=dict)


def parse_batch(data: dict) -> tuple[list[dict], list[dict]]:
    """A push body's ``events`` and ``audit`` lists, each item checked for shape."""
    batch = parse_push(data)
    return batch.events, batch.entries


def parse_push(data: dict) -> Batch:
    """:func:`parse_batch`, keeping what it learnt on the way (see :class:`Batch`).

    Each item takes a fast path (every field of the right type and size); one that fails
    it goes through the field-by-field checks, which name what is wrong."""
    events, entries = data.get("events", []), data.get("audit", [])
    if not isinstance(events, list) or not isinstance(entries, list):
        raise ProtocolError("bad_batch", "events and audit must be lists")
    if len(events) > PUSH_BATCH or len(entries) > PUSH_BATCH:
        raise ProtocolError("bad_batch", f"at most {PUSH_BATCH} events and audit entries a batch")
    out_events, payloads = [], []
    for i, e in enumerate(events):
        try:
            seq, event_id, type_, payload, at = (e["seq"], e["event_id"], e["type"],
                                                 e["payload"], e["at"])
            fast = (type(e) is dict and type(seq) is int and 1 <= seq < MAX_SEQ
                    and type(event_id) is str and 0 < len(event_id) <= _MAX_TEXT
                    and type(type_) is str and 0 < len(type_) <= _MAX_TEXT
                    and type(payload) is str and len(payload) <= _MAX_TEXT
                    and type(at) is str and 0 < len(at) <= _MAX_TEXT)
        except (KeyError, TypeError):
            fast = False
        ev = ({"seq": seq, "event_id": event_id, "type": type_, "payload": payload, "at": at}
              if fast else _slow_event(e, f"event {i}"))
        try:
            payloads.append(_loads(ev["payload"]))
        except (ValueError, RecursionError) as err:
            raise ProtocolError("bad_batch", f"event {i}: payload is not JSON text") from err
        out_events.append(ev)
    out_audit, named, hashes = [], [], []
    for i, a in enumerate(entries):
        try:
            seq, at, actor, action, subject, detail, prev_hash, hash_ = (
                a["seq"], a["at"], a["actor"], a["action"], a["subject"], a["detail"],
                a["prev_hash"], a["hash"])
            fast = (type(a) is dict and type(seq) is int and 1 <= seq < MAX_SEQ
                    and type(at) is str and len(at) <= _MAX_TEXT
                    and type(actor) is str and len(actor) <= _MAX_TEXT
                    and type(action) is str and len(action) <= _MAX_TEXT
                    and type(subject) is str and len(subject) <= _MAX_TEXT
                    and type(detail) is str and len(detail) <= _MAX_TEXT
                    and type(prev_hash) is str and type(hash_) is str
                    and _HEX64.fullmatch(prev_hash) is not None
                    and _HEX64.fullmatch(hash_) is not None)
        except (KeyError, TypeError):
            fast = False
        if fast:
            en = {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                  "detail": detail, "prev_hash": prev_hash, "hash": hash_}
        else:
            en = _slow_entry(a, f"audit entry {i}")
            seq, at, actor, action, subject, detail, prev_hash = (
                en["seq"], en["at"], en["actor"], en["action"], en["subject"], en["detail"],
                en["prev_hash"])
        out_audit.append(en)
        m = _EVENT_DETAIL.fullmatch(detail)
        named.append(m.groups() if m else event_of_entry(detail))
        hashes.append(entry_hash(prev_hash, seq, at, actor, action, subject, detail))
    return Batch(out_events, out_audit, payloads, named, hashes, _parse_skips(data))


def _parse_skips(data: dict) -> list[dict]:
    """A push's optional ``skipped``: pulled events the terminal could not apply, each
    ``{"event_id", "reason"}`` (at most MAX_SKIPS; a reason at most MAX_SKIP_REASON
    characters)."""
    skips = data.get("skipped", [])
    if not isinstance(skips, list) or len(skips) > MAX_SKIPS:
        raise ProtocolError("bad_batch", f"skipped must be a list of at most {MAX_SKIPS}")
    out = []
    for i, s in enumerate(skips):
        if (type(s) is not dict or type(s.get("event_id")) is not str
                or not 0 < len(s["event_id"]) <= 100 or type(s.get("reason")) is not str
                or len(s["reason"]) > MAX_SKIP_REASON):
            raise ProtocolError("bad_batch", f"skipped {i}: an object with an event_id (1-100 "
                                f"characters) and a reason (at most {MAX_SKIP_REASON})")
        out.append({"event_id": s["event_id"], "reason": s["reason"]})
    return out


def _slow_event(e, where: str) -> dict:
    """An event checked field by field (the error names the first bad one)."""
    if not isinstance(e, dict):
        raise ProtocolError("bad_batch", f"{where} is not an object")
    ev = {"seq": _seq(e, where)}
    for key in EVENT_FIELDS[1:]:
        ev[key] = _text(e, key, where, empty=key == "payload")
    return ev


def _slow_entry(a, where: str) -> dict:
    """An audit entry checked field by field (the error names the first bad one)."""
    if not isinstance(a, dict):
        raise ProtocolError("bad_batch", f"{where} is not an object")
    en = {"seq": _seq(a, where)}
    for key in AUDIT_FIELDS[1:]:
        en[key] = _text(a, key, where)
    for key in ("prev_hash", "hash"):
        if not _HEX64.fullmatch(en[key]):
            raise ProtocolError("bad_batch", f"{where}: {key} is not a SHA-256 in hex")
    return en


# -- push rules ------------------------------------------------------------------------

def check_events(events: list[dict], stored_seq: int, stored_ids: Mapping[int, str]) -> list[dict]:
    """The events of a batch that are new; refuse a gap or a rewritten past.

    ``stored_ids`` maps each already stored seq that the batch overlaps to its event id.
    """
    if not events:
        return []
    first = events[0]["seq"]
    for prev, ev in zip(events, events[1:], strict=False):
        if ev["seq"] != prev["seq"] + 1:
            raise ProtocolError("seq_gap", f"event {ev['seq']} follows event {prev['seq']}",
                                stored_seq=stored_seq)
    if first > stored_seq + 1:
        raise ProtocolError("seq_gap", f"the hub has events up to {stored_seq}, the batch "
                            f"starts at {first}", stored_seq=stored_seq)
    for ev in events:
        if ev["seq"] <= stored_seq and stored_ids.get(ev["seq"]) != ev["event_id"]:
            raise ProtocolError("seq_conflict", f"event {ev['seq']} is {ev['event_id']} here, "
                                f"{stored_ids.get(ev['seq'])} at the hub", stored_seq=stored_seq)
    return [ev for ev in events if ev["seq"] > stored_seq]


def check_audit(entries: list[dict], audit_seq: int, audit_hash: str,
                stored_hashes: Mapping[int, str], recomputed: list[str] | None = None) -> list[dict]:
    """The audit entries of a batch that are new, after checking that they continue the chain.

    ``stored_hashes`` maps already verified seqs the batch overlaps (and the one before its
    first entry) to their hashes; ``audit_hash`` is the hash at ``audit_seq`` (GENESIS at 0).
    A chain that no longer contains an entry the hub verified is refused. ``recomputed``
    (``Batch.hashes``) holds each entry's hash as recomputed from its fields, if known.
    """
    if not entries:
        return []
    first = entries[0]["seq"]
    for prev, en in zip(entries, entries[1:], strict=False):
        if en["seq"] != prev["seq"] + 1:
            raise ProtocolError("audit_gap", f"entry {en['seq']} follows entry {prev['seq']}",
                                audit_seq=audit_seq)
    if first > audit_seq + 1:
        raise ProtocolError("audit_gap", f"the hub has entries up to {audit_seq}, the batch "
                            f"starts at {first}", audit_seq=audit_seq)
    if recomputed is None:
        recomputed = [entry_hash(en["prev_hash"], en["seq"], en["at"], en["actor"], en["action"],
                                 en["subject"], en["detail"]) for en in entries]
    known = dict(stored_hashes)
    known[0] = GENESIS
    if audit_seq:
        known[audit_seq] = audit_hash
    prev_hash = known.get(first - 1)
    for en, rehash in zip(entries, recomputed, strict=True):
        if en["prev_hash"] != prev_hash:
            raise ProtocolError("audit_chain_broken",
                                f"entry {en['seq']} does not follow the entry before it",
                                audit_seq=audit_seq)
        if rehash != en["hash"]:
            raise ProtocolError("audit_chain_broken",
                                f"entry {en['seq']} does not hash to what it says",
                                audit_seq=audit_seq)
        if en["seq"] <= audit_seq and known.get(en["seq"]) != en["hash"]:
            raise ProtocolError("audit_chain_broken",
                                f"entry {en['seq']} differs from the one the hub verified",
                                audit_seq=audit_seq)
        prev_hash = en["hash"]
    return [en for en in entries if en["seq"] > audit_seq]


def check_pairing(events: list[dict], entries: list[dict], new_events: list[dict],
                  new_entries: list[dict],
                  named: list[tuple[str | None, str | None]] | None = None,
                  digests: Mapping[int, str] | None = None) -> None:
    """Each new event travels with its audit entry (whose SHA-256 covers the payload), and
    each new audit entry that names an event travels with that event. ``named``
    (``Batch.named``) holds what each of ``entries`` names, if already parsed; ``digests``
    (``Batch.digests``) payload SHA-256s by event seq (unique: check_events ran), where
    already computed."""
    digests = digests or {}
    if named is None:
        named = [event_of_entry(en["detail"]) for en in entries]
    by_event, by_entry = {}, {}
    for en, (event_id, sha) in zip(entries, named, strict=True):
        by_entry[id(en)] = event_id
        if event_id:
            by_event[event_id] = (en, sha)
    for ev in new_events:
        found = by_event.get(ev["event_id"])
        if found is None:
            raise ProtocolError("journal_mismatch", f"event {ev['seq']} has no audit entry "
                                "in the batch")
        sha = digests.get(ev["seq"]) or digest(ev["payload"])
        if found[0]["action"] != ev["type"] or found[1] != sha:
            raise ProtocolError("journal_mismatch", f"event {ev['seq']} differs from what its "
                                f"audit entry {found[0]['seq']} recorded")
    ids = {ev["event_id"] for ev in events}
    for en in new_entries:
        event_id = (by_entry[id(en)] if id(en) in by_entry
                    else event_of_entry(en["detail"])[0])
        if event_id and event_id not in ids:
            raise ProtocolError("journal_mismatch", f"audit entry {en['seq']} names event "
                                f"{event_id}, which is not in the batch")


def check_branch_events(new_events: list[dict], branch_code: str) -> None:
    """A terminal's ``branch.created`` must name the branch it is enrolled in."""
    for ev in new_events:
        if ev["type"] == "branch.created":
            payload = json.loads(ev["payload"])
            code = payload.get("code") if isinstance(payload, dict) else None
            if code != branch_code:
                raise ProtocolError("wrong_branch", f"event {ev['seq']} creates branch {code!r}, "
                                    f"the terminal is enrolled in {branch_code!r}")


def check_authority(new_events: list[dict], enrolled_seq: int) -> None:
    """Each new event's type is in the catalogue (422 ``unknown_event_type``), and one a
    terminal may author (422 ``not_authorized``) — except in the history the terminal
    wrote before it enrolled (seq <= ``enrolled_seq``: a terminal set up offline founded
    its branch, staff and lessons itself), which the hub keeps and passes on to no one."""
    for ev in new_events:
        spec = catalogue.get(ev["type"])
        if spec is None:
            raise ProtocolError("unknown_event_type", f"event {ev['seq']} has type "
                                f"{_show(ev['type'])}")
        if not spec.terminal_may_author and ev["seq"] > enrolled_seq:
            raise ProtocolError("not_authorized", f"event {ev['seq']} ({ev['type']}) is the "
                                "hub's to author; a terminal may only propose roster and PIN "
                                "changes")


# How far ahead of the hub's clock an event's time may be before the hub flags the terminal's
# clock as wrong (DESIGN §3): twice the signing window, so a clock the signature accepts is
# never flagged.
FUTURE_WINDOW_S = 600


def check_times(new_events: list[dict], hub_now: datetime) -> list[dict]:
    """Each new event's ``at`` is an ISO time with a zone (422 ``bad_time``); returns the
    events dated more than FUTURE_WINDOW_S after ``hub_now``. They are kept (they are in the
    terminal's journal and chain for good, and refusing them would stop its sync for
    ever) and flagged: the hub notes the terminal's clock as wrong, and nothing the hub
    decides follows an event's time."""
    limit = hub_now + timedelta(seconds=FUTURE_WINDOW_S)
    ahead = []
    for ev in new_events:
        try:
            when = datetime.fromisoformat(ev["at"])
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            raise ProtocolError("bad_time", f"event {ev['seq']}: at {_show(ev['at'])} is not an "
                                "ISO time with a zone")
        if when > limit:
            ahead.append(ev)
    return ahead


# Payload fields that name a branch, in what core writes (branch.created, branch.policy_set
# carry ``code``); any event of a terminal naming one names the terminal's own branch.
_BRANCH_FIELDS = ("code", "branch", "branch_code")


def _show(value) -> str:
    """A value from a payload, as a refusal's detail shows it (escaped, and short)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_payloads(new_events: list[dict], payloads: list, terminal_id: str,
                   branch_code: str) -> list[tuple[str, object, int]]:
    """What the signed sender's new events say of themselves: a ``terminal_id`` field is
    the signer's (422 ``foreign_terminal``), a branch field the terminal's branch (422
    ``foreign_branch``), and a regular ``dues.dues`` payment's amounts are whole,
    non-negative fen whose months add up to its amount (422 ``bad_amount``; every
    ``dues.*`` amount is a whole number). ``payloads`` are the new events' parsed payloads
    (``Batch.payloads``, the same order). A payload that is not an object is left as it is
    (the hub stores it; reconciliation does not read it).

    Returns each ``dues.*`` event's (receipt number, entry id, seq), for the hub to check
    against the receipts it holds (receipts repeated within the batch are refused here, 409
    ``receipt_conflict``). Whether a payment matches the member's amount for those months is
    not checked here."""
    receipts: list[tuple[str, object, int]] = []
    seen: dict[str, object] = {}
    for ev, p in zip(new_events, payloads, strict=True):
        if type(p) is not dict:
            continue
        if "terminal_id" in p and p["terminal_id"] != terminal_id:
            raise ProtocolError("foreign_terminal", f"event {ev['seq']} ({ev['type']}) names "
                                f"terminal {_show(p['terminal_id'])}, signed by {terminal_id!r}")
        for key in _BRANCH_FIELDS:
            if key in p and p[key] != branch_code:
                raise ProtocolError("foreign_branch", f"event {ev['seq']} ({ev['type']}) names "
                                    f"branch {_show(p[key])} in {key!r}, the terminal is "
                                    f"enrolled in {branch_code!r}")
        type_ = ev["type"]
        if not type_.startswith("dues."):
            continue
        if type_ == "dues.dues":
            _check_dues_amounts(ev, p)
        elif "amount_fen" in p and type(p["amount_fen"]) is not int:
            raise ProtocolError("bad_amount", f"event {ev['seq']} ({type_}): amount_fen "
                                f"{_show(p['amount_fen'])} is not a whole number of fen")
        receipt = p.get("receipt_no")
        if type(receipt) is str:
            entry = p.get("entry_id")
            if receipt in seen and seen[receipt] != entry:
                raise ProtocolError("receipt_conflict", f"event {ev['seq']} ({type_}) repeats "
                                    f"receipt {_show(receipt)} of another entry in the batch")
            seen[receipt] = entry
            receipts.append((receipt, entry, ev["seq"]))
    return receipts


_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def _check_dues_amounts(ev: dict, p: dict) -> None:
    amount, months = p.get("amount_fen"), p.get("month_amounts")
    where = f"event {ev['seq']} (dues.dues)"
    if type(amount) is not int or amount < 0:
        raise ProtocolError("bad_amount", f"{where}: amount_fen {_show(amount)} is not a "
                            "whole, non-negative number of fen")
    if type(months) is not list or not months:
        raise ProtocolError("bad_amount", f"{where}: month_amounts must list the months paid")
    total, named = 0, set()
    for item in months:
        if (type(item) is not list or len(item) != 2 or type(item[0]) is not str
                or not _MONTH.fullmatch(item[0]) or type(item[1]) is not int or item[1] < 0
                or item[0] in named):
            raise ProtocolError("bad_amount", f"{where}: month amount {_show(item)} is not a "
                                "[YYYY-MM, whole non-negative fen] of a month not listed before")
        named.add(item[0])
        total += item[1]
    if total != amount:
        raise ProtocolError("bad_amount", f"{where}: amount_fen {amount} differs from its "
                            f"months' sum {total}")
