"""What the hub does for a terminal's request, without HTTP: each endpoint calls one of these.

    authenticate   signature, time window, replay window, revocation
    enroll         one-time code -> terminal bound to a branch
    push           a batch checked (sync.protocol: continuity, the audit chain, and what
                   each event says of its signed sender, branch and money) and applied in
                   one transaction, with the reconciliation it brings (sync.hub.conflicts:
                   double payments flagged, roster edits held as proposals)
    signed_push    authenticate + push of one request, in one transaction
    pull           a page of the terminal's own branch log
    media          a content-addressed file the terminal's branch may fetch

Refusals are :class:`~sync.protocol.ProtocolError`; nothing here writes a partial batch.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from core.clock import iso

from .. import protocol, protocol_cols
from ..protocol import ProtocolError
from . import conflicts
from .storage import HubStorage, IntegrityError

log = logging.getLogger("lianxin.hub")


def _now_iso(now_ms: int) -> str:
    return iso(datetime.fromtimestamp(now_ms / 1000, tz=UTC))


def code_hash(code: str) -> str:
    """Codes are typed by people: case, spaces and dashes do not matter."""
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Caller:
    terminal_id: str
    branch: str


def authenticate(storage: HubStorage, headers, method: str, path_with_query: str, body: bytes,
                 now_ms: int) -> Caller:
    """Who signed this request; refuses (401/403) anything that is not a live terminal's."""
    auth = protocol.parse_auth_headers(headers)
    terminal = storage.get_terminal(auth.terminal_id)
    if terminal is None:
        raise ProtocolError("unknown_terminal")
    public = protocol.load_public_key(terminal["public_key"])
    if not protocol.verify(public, auth.signature, method, path_with_query, str(auth.time_ms),
                           auth.nonce, body):
        raise ProtocolError("bad_signature")
    protocol.check_time(auth.time_ms, now_ms)
    with storage.transaction():  # one commit (one fsync) for the nonce and last_seen
        fresh = storage.use_nonce(auth.terminal_id, auth.nonce, auth.time_ms,
                                  now_ms - protocol.TIME_WINDOW_MS)
        if fresh and not terminal["revoked_at"]:
            storage.touch_terminal(auth.terminal_id, _now_iso(now_ms),
                                   _local_offset(headers, now_ms), _software(headers))
    if not fresh:
        raise ProtocolError("replay")
    if terminal["revoked_at"]:
        raise ProtocolError("terminal_revoked", revoked_at=terminal["revoked_at"])
    return Caller(auth.terminal_id, terminal["branch"])


def _local_offset(headers, now_ms: int) -> int | None:
    """The terminal's own clock minus the hub's (the signed time is hub-adjusted)."""
    local = headers.get(protocol.H_LOCAL_TIME)
    if local and local.isascii() and local.isdigit() and len(local) <= 15:
        return int(local) - now_ms
    return None


def _software(headers) -> str | None:
    """The terminal's software release as it says (display only): printable ASCII, at most
    40 characters, else nothing."""
    value = headers.get(protocol.H_SOFTWARE)
    if value and len(value) <= 40 and value.isascii() and value.isprintable():
        return value
    return None


def enroll(storage: HubStorage, data: dict, headers, method: str, path: str, body: bytes,
           now_ms: int) -> dict:
    """Bind a new terminal to the code's branch. The request is signed with the key being
    enrolled (proof that the caller holds it); the terminal id is the store's own."""
    code, terminal_id = data.get("code"), data.get("terminal_id")
    public_key, label = data.get("public_key"), data.get("label", "")
    branch_code = data.get("branch_code")
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        raise ProtocolError("bad_request", "code must be a string")
    if not protocol.valid_terminal_id(terminal_id):
        raise ProtocolError("bad_request", "terminal_id must be 1-64 letters, digits, - or _")
    if not isinstance(public_key, str) or not isinstance(label, str) or len(label) > 200:
        raise ProtocolError("bad_request", "public_key and label must be strings")
    if branch_code is not None and not isinstance(branch_code, str):
        raise ProtocolError("bad_request", "branch_code must be a string")
    journal_seq = data.get("journal_seq", 0)
    if (isinstance(journal_seq, bool) or not isinstance(journal_seq, int)
            or not 0 <= journal_seq < protocol.MAX_SEQ):
        raise ProtocolError("bad_request", "journal_seq must be a whole number below 2**62")
    public = protocol.load_public_key(public_key)
    auth = protocol.parse_auth_headers(headers)
    if auth.terminal_id != terminal_id:
        raise ProtocolError("bad_request", f"{protocol.H_TERMINAL} differs from terminal_id")
    if not protocol.verify(public, auth.signature, method, path, str(auth.time_ms), auth.nonce,
                           body):
        raise ProtocolError("bad_signature", "enrollment must be signed with the enrolled key")
    protocol.check_time(auth.time_ms, now_ms)
    at = _now_iso(now_ms)
    digest = code_hash(code)
    with storage.transaction():
        row = storage.get_code(digest)
        if row is None or row["expires_ms"] < now_ms:
            raise ProtocolError("bad_code")
        existing = storage.get_terminal(terminal_id)
        resent = (row["used_by"] == terminal_id and existing is not None
                  and existing["public_key"] == public_key and not existing["revoked_at"])
        if row["used_at"] is not None and not resent:
            raise ProtocolError("bad_code")
        if branch_code is not None and branch_code != row["branch"]:
            raise ProtocolError("wrong_branch", f"this terminal holds branch {branch_code!r}, "
                                f"the code is for {row['branch']!r}")
        if row["used_at"] is None:
            if existing is not None:
                raise ProtocolError("already_enrolled")
            storage.use_code(digest, terminal_id, at)
            storage.insert_terminal(terminal_id=terminal_id, branch=row["branch"],
                                    public_key=public_key, label=label, at=at,
                                    enrolled_seq=journal_seq)
        # else: the same terminal resending its enrollment (the answer was lost).
        branch = storage.get_branch(row["branch"])
    return {"terminal_id": terminal_id, "hub_id": storage.meta("hub_id"), "hub_time": now_ms,
            "protocol": protocol.PROTOCOL_VERSION,
            "branch": {k: branch[k] for k in ("code", "name", "township")}}


def push(storage: HubStorage, caller: Caller, data: dict, now_ms: int) -> dict:
    """Check a batch against what the hub holds and apply its new part in one transaction.

    What needs no stored state (shapes, payload JSON, each entry's own hash, the events
    entries name) is worked out first, before the transaction, and only once."""
    batch, head = _read_batch(data)
    at = _now_iso(now_ms)
    try:
        with storage.transaction():
            t = storage.get_terminal(caller.terminal_id)
            checked = _check_batch(storage, caller, t, batch, datetime.fromisoformat(at))
            return _store_batch(storage, caller, t, batch, checked, head, at)
    except ProtocolError as e:
        _note_refusal(storage, caller, e, at)
        raise
    except IntegrityError as e:  # a race the checks above cannot see
        raise ProtocolError("event_conflict", str(e)) from e


def signed_push(storage: HubStorage, headers, method: str, path_with_query: str, body: bytes,
                decode: Callable[[bytes], dict], now_ms: int) -> dict:
    """A push request as sent: :func:`authenticate`, ``decode`` the body, :func:`push` —
    with the same answers, refusals and precedence — in one transaction (one commit, one
    fsync, where the two steps took two).

    A refusal of the body or batch waits until the nonce is recorded (a replay or a revoked
    terminal is told so first, as before); a batch refused by the push rules writes nothing
    of itself (the rules are all checked before the first write), and the nonce,
    ``last_seen`` and the refusal note commit. Should the writes themselves fail, all is
    rolled back and the nonce is recorded on its own, as the two steps did.

    The whole request holds the storage's lock, decoding included: worker threads that
    parse JSON while another one steps through SQLite (which gives up the GIL at every
    row) make a GIL convoy that costs more than the overlap brings. Pushes arriving
    together share one COMMIT (``HubStorage.group_transaction``: the fsync was a third of
    a push's cost); each is answered only once that COMMIT is done."""
    asked: list = []  # (caller, cursor, limit) of a v3 push that asks for a pull page too
    with storage.group_transaction():
        result = _signed_push(storage, headers, method, path_with_query, body, decode, now_ms,
                              asked)
    if asked:  # after the COMMIT: one round trip moves both ways (sync.protocol_wire)
        caller, cursor, limit = asked[0]
        result["pull"] = pull(storage, caller, cursor, limit, rows=True)
    return result


def _signed_push(storage: HubStorage, headers, method: str, path_with_query: str, body: bytes,
                 decode: Callable[[bytes], dict], now_ms: int, asked: list) -> dict:
    auth = protocol.parse_auth_headers(headers)
    public = storage.public_keys.get(auth.terminal_id)
    if public is None:
        terminal = storage.get_terminal(auth.terminal_id)
        if terminal is None:
            raise ProtocolError("unknown_terminal")
        public = protocol.load_public_key(terminal["public_key"])
        storage.public_keys[auth.terminal_id] = public
    if not protocol.verify(public, auth.signature, method, path_with_query, str(auth.time_ms),
                           auth.nonce, body):
        raise ProtocolError("bad_signature")
    protocol.check_time(auth.time_ms, now_ms)
    refused: ProtocolError | None = None
    try:
        data = decode(body)
        batch, head = _read_batch(data)
        page = protocol.pull_request(data)
    except ProtocolError as e:
        batch, head, page, refused = None, None, None, e
    at = _now_iso(now_ms)
    offset = _local_offset(headers, now_ms)
    forget_before = now_ms - protocol.TIME_WINDOW_MS
    try:
        with storage.transaction():
            terminal = storage.get_terminal(auth.terminal_id)
            if not storage.use_nonce(auth.terminal_id, auth.nonce, auth.time_ms, forget_before):
                refused = ProtocolError("replay")
            elif terminal["revoked_at"]:
                refused = ProtocolError("terminal_revoked", revoked_at=terminal["revoked_at"])
            else:
                storage.touch_terminal(auth.terminal_id, at, offset, _software(headers))
                if refused is None:
                    caller = Caller(auth.terminal_id, terminal["branch"])
                    try:
                        checked = _check_batch(storage, caller, terminal, batch,
                                               datetime.fromisoformat(at))
                    except ProtocolError as e:
                        _note_refusal(storage, caller, e, at)
                        refused = e
                    else:
                        if page is not None:
                            asked.append((caller, *page))
                        return _store_batch(storage, caller, terminal, batch, checked, head,
                                            at)
    except Exception as e:  # the writes failed: everything was rolled back
        with storage.transaction():  # the nonce stays used all the same
            if storage.use_nonce(auth.terminal_id, auth.nonce, auth.time_ms, forget_before):
                storage.touch_terminal(auth.terminal_id, at, offset)
        if isinstance(e, IntegrityError):  # a race the checks cannot see
            raise ProtocolError("event_conflict", str(e)) from e
        raise
    raise refused


def _read_batch(data: dict) -> tuple[protocol.Batch, int | None]:
    """A push body of either form: v3 rows (``rows``) or v2 objects (``events``, ``audit``)."""
    batch = protocol.parse_push_rows(data) if "rows" in data else protocol.parse_push(data)
    head = data.get("head_seq")
    if head is not None and (isinstance(head, bool) or not isinstance(head, int)
                             or not 0 <= head < protocol.MAX_SEQ):
        raise ProtocolError("bad_batch", "head_seq must be a whole number below 2**62")
    return batch, head


def _note_refusal(storage: HubStorage, caller: Caller, e: ProtocolError, at: str) -> None:
    """A rule refusal (409, or 422 for what an event says) is logged, kept for operators and
    tells the terminal where to resume."""
    if e.status in (409, 422):
        log.warning("push from terminal %s (branch %s) refused: %s", caller.terminal_id,
                    caller.branch, e.message if e.code in e.message else f"{e.code}: {e.message}")
        storage.note_refusal(caller.terminal_id, e.code, at)
        t = storage.get_terminal(caller.terminal_id)
        e.extra.setdefault("stored_seq", t["stored_seq"])
        e.extra.setdefault("audit_seq", t["audit_seq"])


def _check_batch(storage: HubStorage, caller: Caller, t: dict, batch: protocol.Batch,
                 now: datetime) -> tuple[list[dict], list[dict], list[dict]]:
    """Every push rule against the hub's state (``t``: the caller's terminal row, read in
    this transaction); returns the new events, the new audit entries and the new events
    dated ahead of the hub's clock ``now``. Reads only: a refusal here has written
    nothing. Call inside a transaction."""
    if batch.refusal is not None:
        raise batch.refusal
    events, entries = batch.events, batch.entries
    stored_seq, audit_seq = t["stored_seq"], t["audit_seq"]
    # What the batch overlaps of what the hub holds (a resend): nothing, for a batch that
    # starts after it (the usual push: two statements saved).
    stored_ids = (storage.event_ids_by_seq(caller.terminal_id, events[0]["seq"], stored_seq)
                  if events and events[0]["seq"] <= stored_seq else {})
    hashes = (storage.audit_hashes(caller.terminal_id, entries[0]["seq"] - 1, audit_seq)
              if entries and entries[0]["seq"] - 1 < audit_seq else {})
    new_events = protocol.check_events(events, stored_seq, stored_ids)
    new_entries = protocol.check_audit(entries, audit_seq, t["audit_hash"], hashes,
                                       batch.hashes)
    protocol.check_pairing(events, entries, new_events, new_entries, batch.named,
                           batch.digests)
    protocol.check_branch_events(new_events, caller.branch)
    protocol.check_authority(new_events, t["enrolled_seq"])
    ahead = protocol.check_times(new_events, now)
    # New events are the batch's last ones (check_events): so are their payloads.
    receipts = protocol.check_payloads(new_events, batch.payloads[len(events) - len(new_events):],
                                       caller.terminal_id, caller.branch)
    if storage.event_id_exists([e["event_id"] for e in new_events]):
        raise ProtocolError("event_conflict")
    if receipts:
        _check_receipts(storage, caller, receipts)
    return new_events, new_entries, ahead


def _check_receipts(storage: HubStorage, caller: Caller,
                    receipts: list[tuple[str, object, int]]) -> None:
    """A receipt number names one entry of its terminal: one the hub holds for another
    entry refuses the batch (409 ``receipt_conflict``)."""
    held = storage.receipt_entries(caller.terminal_id, [r for r, _, _ in receipts])
    for receipt, entry, seq in receipts:
        others = [e for e in held.get(receipt, ()) if e != entry]
        if others:
            raise ProtocolError("receipt_conflict", f"event {seq} gives receipt {receipt!r}, "
                                f"which the hub holds for entry {others[0]!r}")


def _store_batch(storage: HubStorage, caller: Caller, t: dict, batch: protocol.Batch,
                 checked: tuple[list[dict], list[dict], list[dict]], head: int | None,
                 at: str) -> dict:
    """Append a checked batch's new part, with the reconciliation it brings; the answer
    (``t``: the terminal row :func:`_check_batch` was given)."""
    events, (new_events, new_entries, ahead) = batch.events, checked
    after, upto = storage.store_batch(caller.terminal_id, caller.branch, new_events,
                                      new_entries, at, head)
    if ahead:
        # Kept (with the hub's receipt time beside the terminal's), flagged: its clock is
        # fast. Nothing the hub decides follows an event's time.
        latest = max(ahead, key=lambda e: datetime.fromisoformat(e["at"]))["at"]
        log.warning("push from terminal %s (branch %s): %d events dated after the hub's "
                    "clock %s + %d s, the latest %s: the terminal's clock is wrong",
                    caller.terminal_id, caller.branch, len(ahead), at,
                    protocol.FUTURE_WINDOW_S, latest)
        storage.note_future_events(caller.terminal_id, len(ahead), latest, at)
    elif new_events and t["future_events"]:
        storage.clear_future_events(caller.terminal_id)  # its clock is right again
    if new_events:  # flags and proposals commit with the batch, or not at all
        rows = [{"branch": caller.branch, "origin": caller.terminal_id, "seq": e["seq"],
                 "event_id": e["event_id"], "type": e["type"], "payload": e["payload"],
                 "at": e["at"]} for e in new_events]
        # New events are the batch's last ones (check_events): so are their payloads.
        payloads = batch.payloads[len(events) - len(new_events):]
        conflicts.catch_up(storage, at=at,
                           appended=conflicts.Appended(after, upto, rows, payloads))
    skips = storage.record_skips(caller.terminal_id, caller.branch, batch.skips, at)
    if skips:
        log.warning("terminal %s (branch %s) could not apply %d pulled events (see `lianxin "
                    "hub events --skipped`)", caller.terminal_id, caller.branch, skips)
    # The marks store_batch just moved (new events and entries follow the stored ones).
    stored_seq = new_events[-1]["seq"] if new_events else t["stored_seq"]
    audit_seq = new_entries[-1]["seq"] if new_entries else t["audit_seq"]
    return {"stored_seq": stored_seq, "audit_seq": audit_seq,
            "applied": len(new_events), "audit_applied": len(new_entries),
            "duplicates": len(events) - len(new_events), "future_events": len(ahead),
            "skips_recorded": skips}


def pull(storage: HubStorage, caller: Caller, cursor: int, limit: int, *,
         rows: bool = False) -> dict:
    """A page of the caller's branch log after ``cursor``; the caller's own events are left
    out (it has them), but the cursor moves past them. ``rows``: v3's compact form."""
    page, next_cursor, more = storage.log_page(caller.branch, cursor, limit,
                                               skip_origin=caller.terminal_id)
    if rows:
        return {"rows": protocol.pull_rows(page), "next_cursor": next_cursor, "more": more}
    return {"events": page, "next_cursor": next_cursor, "more": more}


def pull_lines(storage: HubStorage, caller: Caller, cursor: int, limit: int, accept: str,
               line: int = protocol.PULL_LINE) -> tuple[str | None, Iterator[bytes]]:
    """:func:`pull` in v4's form: the page as lines of columns of at most ``line`` events,
    compressed as ``accept`` allows: (encoding, the body's chunks, made as they are sent;
    ``sync.protocol_cols.answer``)."""
    page, next_cursor, more = storage.log_page(caller.branch, cursor, limit,
                                               skip_origin=caller.terminal_id)
    return protocol_cols.answer(page, next_cursor, more, accept, line)


def media(storage: HubStorage, caller: Caller, sha256: str) -> dict:
    """The stored file for ``sha256`` if the caller's branch may fetch it."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ProtocolError("not_found", "not a SHA-256 in lower-case hex")
    row = storage.media_for_branch(caller.branch, sha256)
    if row is None:
        raise ProtocolError("not_found", f"no media {sha256} for this branch")
    row["file"] = storage.media_dir / row["path"]
    return row
