"""The outbox: what this terminal still has to ship to the hub, and how syncing went.

Every domain write journals an event and appends the audit entry that records it
(``Store.record``). Sync (``sync.client``) ships them in audit order, each event with its
entry, and the hub acknowledges what it stored durably. The acknowledgements and the
outcome of the last sync are kept in the store's ``meta`` table under these keys (stored
data: never renamed):

    sync.pushed_seq, sync.pushed_audit_seq   what the hub acknowledged (journal, audit)
    sync.hub_url, sync.branch, sync.enrolled_at   the hub this terminal enrolled with
    sync.last_success, sync.last_error             written by the sync client
    sync.clock_offset_ms                           hub clock minus terminal clock

Functions:

    head_seq()       the newest journal sequence number (0 when nothing was written)
    audit_head()     the newest audit entry's seq
    pushed()         (journal seq, audit seq) the hub acknowledged
    waiting()        journal events the hub does not have yet
    batch()          the next audit entries and the events they record, to push
    mark_shipped()   remember what the hub acknowledged
    counts()         events written, shipped and waiting (doctor, ``lianxin show``)
    journaled()      this store's events of some types, in order (the hub's scratch terminal)
    sync_status()    what the staff screen and ``lianxin sync --status`` show
"""

from __future__ import annotations

import json

from .audit import event_of_entry

PUSHED_SEQ, PUSHED_AUDIT_SEQ = "sync.pushed_seq", "sync.pushed_audit_seq"


def _int_meta(store, key: str) -> int:
    return int(store.meta(key, "0") or 0)


def head_seq(store) -> int:
    return store.one("SELECT coalesce(max(seq), 0) AS s FROM journal")["s"]


def audit_head(store) -> int:
    """The newest audit entry's seq (0 when there is none)."""
    return store.one("SELECT coalesce(max(seq), 0) AS s FROM audit")["s"]


def pushed(store) -> tuple[int, int]:
    """The journal seq and the audit seq the hub acknowledged as stored."""
    return _int_meta(store, PUSHED_SEQ), _int_meta(store, PUSHED_AUDIT_SEQ)


def waiting(store) -> int:
    """Journal events written here that the hub has not acknowledged."""
    return max(0, head_seq(store) - _int_meta(store, PUSHED_SEQ))


def batch(store, after_audit: int, limit: int) -> tuple[list[dict], list[dict]]:
    """The next ``limit`` audit entries after ``after_audit`` and the journal events they
    record (each event travels with its entry, so the hub can check the payload against
    the chain). Returns (events, entries), rows as the protocol sends them."""
    entries = store.all("SELECT seq, at, actor, action, subject, detail, prev_hash, hash "
                        "FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", [after_audit, limit])
    ids = [eid for eid, _ in (event_of_entry(e["detail"]) for e in entries) if eid]
    events = []
    if ids:
        marks = ",".join("?" * len(ids))
        events = store.all(f"SELECT seq, event_id, type, payload, at FROM journal "
                           f"WHERE event_id IN ({marks}) ORDER BY seq", ids)
    return events, entries


def mark_shipped(store, *, stored_seq: int, audit_seq: int) -> None:
    """The hub stored the journal up to ``stored_seq`` and the audit chain up to
    ``audit_seq`` (its own transaction, or the caller's)."""
    with store.transaction():
        store.set_meta(PUSHED_SEQ, str(stored_seq))
        store.set_meta(PUSHED_AUDIT_SEQ, str(audit_seq))


def counts(store) -> dict:
    """Events written (the journal only grows, so also its newest seq), shipped, waiting."""
    events = head_seq(store)
    shipped = _int_meta(store, PUSHED_SEQ)
    return {"events": events, "shipped": shipped, "waiting": max(0, events - shipped)}


def journaled(store, types) -> list[dict]:
    """This store's journal events of ``types`` (type, payload, at), in the order written."""
    types = list(types)
    marks = ",".join("?" * len(types))
    return store.all(f"SELECT type, payload, at FROM journal WHERE type IN ({marks}) "
                     "ORDER BY seq", types)


def sync_status(store) -> dict:
    """What the staff screen shows: the hub, the last success and error, what waits."""
    shipped = _int_meta(store, PUSHED_SEQ)
    last_error = store.meta("sync.last_error")
    return {"hub_url": store.meta("sync.hub_url"), "branch": store.meta("sync.branch"),
            "enrolled_at": store.meta("sync.enrolled_at"),
            "last_success": store.meta("sync.last_success"),
            "last_error": json.loads(last_error) if last_error else None,
            "waiting_events": max(0, head_seq(store) - shipped), "pushed_seq": shipped,
            "clock_offset_ms": _int_meta(store, "sync.clock_offset_ms")}
