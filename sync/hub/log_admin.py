"""The operator's tools over the branch log: list events, quarantine a bad one, and check
what is stored against today's push rules.

The branch log is append-only; a quarantine is a mark beside it (``quarantine``): the event
stays on record, and pull no longer passes it to any terminal (a terminal that already
applied it keeps what it did). Terminals report each pulled event they could not apply
(``skip_report``, sent at their next sync), so a poisoned event shows here at once.

    list_events(storage, branch, *, skipped=False, quarantined=False, limit=100)
    quarantine(storage, event_id, *, by, reason)        release(storage, event_id, *, by, reason)
    check(storage, branch=None)   events already stored that break today's push rules
                                  (a hub upgraded from an older version may hold some)
    check_chains(storage, branch=None)
                                  each terminal's stored audit chain, every hash
                                  recomputed, against the head the hub holds for it
"""

from __future__ import annotations

import json
from datetime import datetime

from core import events
from core.audit import GENESIS
from core.clock import default_clock, iso
from core.errors import InvalidInput, NotFound

from .. import protocol
from ..protocol import ProtocolError
from .audit_segments import SegmentDamaged
from .storage import HubStorage

MAX_REASON = 300


def list_events(storage: HubStorage, branch: str, *, skipped: bool = False,
                quarantined: bool = False, limit: int = 100) -> list[dict]:
    """The branch's newest events first (``limit`` of them), each with the terminals that
    reported it skipped and its quarantine; ``skipped``/``quarantined`` keep only those."""
    if storage.get_branch(branch) is None:
        raise NotFound(f"no branch {branch!r} at this hub", "服务中心没有这个支部。")
    rows = storage.log_events(branch, skipped_only=skipped, quarantined_only=quarantined,
                              limit=limit)
    skips = storage.skip_reports([r["event_id"] for r in rows])
    for r in rows:
        r["skipped_by"] = skips.get(r["event_id"], [])
        r["payload"] = _without_pin_hash(r["payload"])
    return rows


def _without_pin_hash(payload: str) -> str:
    """No PIN hash leaves the hub in a listing (a 4-digit PIN falls to its hash offline):
    operators see that the event sets one."""
    if '"pin_hash"' not in payload:
        return payload
    try:
        p = json.loads(payload)
    except ValueError:
        return payload
    if isinstance(p, dict) and "pin_hash" in p:
        p = {k: v for k, v in p.items() if k != "pin_hash"}
        p["pin_set"] = True
        return json.dumps(p, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return payload


def quarantine(storage: HubStorage, event_id: str, *, by: str, reason: str,
               clock=None) -> dict:
    """Stop passing ``event_id`` to terminals; it stays in the log, marked."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"a quarantine needs a reason of 1 to {MAX_REASON} characters",
                           "请写明隔离的原因。")
    at = iso((clock or default_clock()).now())
    with storage.transaction():
        row = storage.log_event(event_id)
        if row is None:
            raise NotFound(f"no event {event_id!r} in the branch log", "没有这条记录。")
        storage.put_quarantine(event_id, row["branch"], by, reason, at)
    return storage.log_event(event_id)


def release(storage: HubStorage, event_id: str, *, by: str, reason: str,
            clock=None) -> dict:
    """Pass a quarantined event on again (to terminals that have not seen it yet). Like a
    quarantine it needs a reason (the caller puts it on the operators' trail)."""
    if not (reason or "").strip() or len(reason.strip()) > MAX_REASON:
        raise InvalidInput(f"a release needs a reason of 1 to {MAX_REASON} characters",
                           "请写明为什么解除隔离。")
    at = iso((clock or default_clock()).now())
    with storage.transaction():
        if not storage.release_quarantine(event_id, by, at):
            raise NotFound(f"event {event_id!r} is not quarantined", "这条记录没有被隔离。")
    return storage.log_event(event_id)


def check_chains(storage: HubStorage, branch: str | None = None) -> list[dict]:
    """Terminals whose stored audit chain no longer verifies: a segment edited in the
    database (``SegmentDamaged``), or a chain that does not end at the seq and hash the hub
    recorded for the terminal (``audit_seq``, ``audit_hash``). Reads every entry: a full
    pass, for an operator to run, not for each request."""
    found = []
    for t in storage.list_terminals(branch):
        try:
            chain = storage.audit_chain(t["terminal_id"])
        except SegmentDamaged as e:
            detail = str(e)
        else:
            head = (chain[-1]["seq"], chain[-1]["hash"]) if chain else (0, GENESIS)
            if head == (t["audit_seq"], t["audit_hash"]):
                continue
            detail = (f"the chain ends at entry {head[0]}, the hub recorded entry "
                      f"{t['audit_seq']} as its head" if head[0] != t["audit_seq"]
                      else f"entry {head[0]} does not have the hash the hub recorded")
        found.append({"terminal_id": t["terminal_id"], "branch": t["branch"],
                      "code": "audit_damaged", "detail": detail})
    return found


def check(storage: HubStorage, branch: str | None = None) -> list[dict]:
    """Every terminal event already stored that today's push rules would refuse, with the
    rule's code and English detail (quarantined ones included, marked)."""
    terminals = {t["terminal_id"]: t for t in storage.list_terminals(branch)}
    problems = []
    for row in storage.terminal_events(branch):
        t = terminals.get(row["origin"])
        broken = _broken_rule(row, t)
        if broken is not None:
            problems.append({"cursor": row["cursor"], "event_id": row["event_id"],
                             "branch": row["branch"], "origin": row["origin"],
                             "seq": row["seq"], "type": row["type"], "at": row["at"],
                             "code": broken[0], "detail": broken[1],
                             "quarantined": row["quarantined"]})
    return problems


def _broken_rule(row: dict, terminal: dict | None) -> tuple[str, str] | None:
    """(code, English detail) of the first rule ``row`` breaks: the push rules of
    sync.protocol, and the catalogue's fields (``bad_payload``: what a terminal could not
    apply)."""
    if terminal is None:
        return "unknown_terminal", f"no terminal {row['origin']!r} at this hub"
    ev = {k: row[k] for k in ("event_id", "type", "payload", "at")}
    ev["seq"] = row["seq"] or 0  # every terminal event has one; the rules compare it
    try:
        payload = json.loads(row["payload"])
    except ValueError:
        return "bad_payload", f"event {row['seq']}: payload is not JSON text"
    try:
        protocol.check_branch_events([ev], terminal["branch"])
        protocol.check_authority([ev], terminal["enrolled_seq"])
        protocol.check_times([ev], datetime.fromisoformat(row["received_at"]))
        protocol.check_payloads([ev], [payload], terminal["terminal_id"], terminal["branch"])
    except ProtocolError as e:
        return e.code, e.message
    spec = events.get(row["type"])
    if type(payload) is not dict:
        return "bad_payload", f"event {row['seq']} ({row['type']}): payload is not an object"
    missing = [f for f in spec.fields if f not in payload] if spec else []
    if missing:
        return "bad_payload", (f"event {row['seq']} ({row['type']}): payload lacks "
                               f"{', '.join(missing)}")
    return None
