"""A terminal's audit chain as the hub keeps it: one segment per push, not a row per entry.

A push brings a run of consecutive entries (``core.audit``) that the hub has verified link
to what it holds. They are kept as one ``audit_segment`` row: the run's first and last
seq, the hash before it and the hash it ends at, and its entries as one JSON list, without
what the chain and the branch log give back exactly:

    seq         consecutive from ``first_seq``
    prev_hash   the previous entry's hash (the segment's ``prev_hash`` for its first)
    hash        recomputed (``core.audit.entry_hash``), and checked to end at ``hash``
    detail      of an entry for an event of the same push (the usual entry): the event's
                seq and the payload's SHA-256; the event id is the branch log's
    at, action  null where they are that event's at and type

Each entry is ``[at, actor, subject, action, detail, null]``, or ``[at|null, actor,
subject, action|null, sha256, event_seq]`` for the usual one. A row per entry (two
SHA-256s, the event's time, type, id and digest again, a key) was a third of the bytes a
push wrote; JSON rather than compressed, since zlib cost more time per entry than the
bytes it saved (issue 9's ingest figure, one core).

Reading a chain back recomputes every hash: a segment whose entries no longer end at its
stored hash, or that does not start where the one before it ends, is damage, and raised
as :class:`SegmentDamaged` rather than handed on as if it were the verified chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import orjson

from core.audit import entry_hash

_HEAD, _MID, _TAIL = '{"event_id":"', '","sha256":"', '"}'  # an event entry's detail


class SegmentDamaged(Exception):
    """A stored segment does not hash to what the hub verified when it stored it."""


def pack(entries: list[dict], events: Iterable[dict]) -> bytes:
    """The entries of one push (consecutive, verified) as a segment's body; ``events``: the
    push's new events (those an entry may refer to)."""
    by_id = {e["event_id"]: e for e in events}
    rows = []
    for en in entries:
        at, action, detail = en["at"], en["action"], en["detail"]
        ev = by_id.get(detail[13:-78]) if detail.startswith(_HEAD) else None
        if ev is not None and detail[-78:-66] == _MID and detail.endswith(_TAIL):
            # Rebuilt exactly as _HEAD + the event's id + _MID + sha256 + _TAIL.
            rows.append([None if at == ev["at"] else at, en["actor"], en["subject"],
                         None if action == ev["type"] else action, detail[-66:-2], ev["seq"]])
        else:
            rows.append([at, en["actor"], en["subject"], action, detail, None])
    return orjson.dumps(rows)


def unpack(segment: dict, events: Callable[[list[int]], dict[int, tuple[str, str, str]]]
           ) -> list[dict]:
    """A stored segment (``first_seq``, ``last_seq``, ``prev_hash``, ``hash``, ``body``)
    as its entries, hashes recomputed; ``events(seqs)`` gives (event id, at, type) of the
    terminal's events of those seqs."""
    rows = orjson.loads(bytes(segment["body"]))
    known = events([r[5] for r in rows if r[5] is not None])
    out, prev, seq = [], segment["prev_hash"], segment["first_seq"]
    for at, actor, subject, action, detail, event_seq in rows:
        if event_seq is not None:
            if event_seq not in known:
                raise SegmentDamaged(f"audit entry {seq} refers to event {event_seq}, which "
                                     "the branch log does not hold")
            event_id, event_at, event_type = known[event_seq]
            detail = _HEAD + event_id + _MID + detail + _TAIL
            at = event_at if at is None else at
            action = event_type if action is None else action
        h = entry_hash(prev, seq, at, actor, action, subject, detail)
        out.append({"seq": seq, "at": at, "actor": actor, "action": action,
                    "subject": subject, "detail": detail, "prev_hash": prev, "hash": h})
        prev, seq = h, seq + 1
    if prev != segment["hash"] or seq - 1 != segment["last_seq"]:
        raise SegmentDamaged(f"audit segment {segment['first_seq']}-{segment['last_seq']} "
                             "does not hash to the head the hub stored with it")
    return out
