"""The tamper-evident audit chain ("数据留痕").

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields, so
editing, deleting or reordering any entry breaks the chain at that entry. The newest
``seq:hash`` is also kept in ``meta.audit_head``, which catches entries cut off the end.
An entry written for a journal event carries the event id and the SHA-256 of its payload,
so editing or deleting a journal event is caught as well. The hub re-verifies each
terminal's chain as it receives it.

The chain is not keyed: someone holding the database key can rewrite it from the first
changed entry onwards, head included. What stops that is the hub, which keeps the heads it
has already seen and refuses a chain that no longer contains them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .clock import iso

GENESIS = "0" * 64


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str,
               detail: str) -> str:
    return digest("\x1f".join([prev_hash, str(seq), at, actor, action, subject, detail]))


def _parse_head(head: str | None) -> tuple[int, str] | None:
    if not head:
        return None
    seq, _, value = head.partition(":")
    if not seq.isdigit() or len(value) != 64:
        raise ValueError(f"audit head {head!r} is not seq:sha256")
    return int(seq), value


def append(store, *, actor: str, action: str, subject: str, detail: dict) -> int:
    """Append one entry; the caller holds the transaction."""
    head = _parse_head(store.meta("audit_head"))
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    at = iso(store.now())
    body = json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest_ = entry_hash(prev, seq, at, actor, action, subject, body)
    store.db.execute(
        "INSERT INTO audit(seq, at, actor, action, subject, detail, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, actor, action, subject, body, prev, digest_],
    )
    store.set_meta("audit_head", f"{seq}:{digest_}")
    return seq


@dataclass
class Verdict:
    ok: bool
    entries: int
    problems: list[str]

    def as_dict(self) -> dict:
        return {"ok": self.ok, "entries": self.entries, "problems": self.problems}


def verify(store) -> Verdict:
    """Walk the whole chain and name every entry that does not fit."""
    problems: list[str] = []
    expected_seq, prev, count = 1, GENESIS, 0
    events: dict[str, tuple[int, str, str | None]] = {}  # event_id -> (seq, action, payload sha)
    cur = store.db.execute(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq"
    )
    for seq, at, actor, action, subject, detail, prev_hash, digest_ in cur:
        count += 1
        if seq != expected_seq:
            problems.append(f"entry {expected_seq}" + (f"..{seq - 1}" if seq - 1 > expected_seq else "")
                            + f" missing (chain jumps to entry {seq})")
        texts = (at, actor, action, subject, detail, prev_hash, digest_)
        if not all(isinstance(t, str) for t in texts):
            problems.append(f"entry {seq}: damaged (a field is not text)")
            expected_seq, prev = seq + 1, digest_ if isinstance(digest_, str) else ""
            continue
        if prev_hash != prev:
            problems.append(f"entry {seq}: does not follow the entry before it "
                            "(an entry was deleted, inserted or moved)")
        if entry_hash(prev_hash, seq, at, actor, action, subject, detail) != digest_:
            problems.append(f"entry {seq}: contents changed after it was written ({action} {subject})")
        event_id, sha = event_of_entry(detail)
        if event_id:
            if event_id in events:
                problems.append(f"entry {seq}: journal event {event_id} is already recorded "
                                f"by entry {events[event_id][0]}")
            events[event_id] = (seq, action, sha)
        expected_seq, prev = seq + 1, digest_
    try:
        head = _parse_head(store.meta("audit_head"))
    except ValueError as e:
        problems.append(f"{e}: the head was changed")
    else:
        if head:
            if head[0] != expected_seq - 1 or head[1] != prev:
                problems.append(f"chain ends at entry {expected_seq - 1} but the head says entry "
                                f"{head[0]}: entries were cut off the end or the head was changed")
        elif count:
            problems.append("audit head is missing")
    problems += _check_journal(store, events)
    return Verdict(ok=not problems, entries=count, problems=problems)


def event_of_entry(detail: str) -> tuple[str | None, str | None]:
    """The (event id, payload SHA-256) an audit entry's detail names, if any (sync uses it too)."""
    try:
        d = json.loads(detail)
    except (ValueError, RecursionError):  # a nesting bomb names no event either
        return None, None
    if not isinstance(d, dict) or not isinstance(d.get("event_id"), str):
        return None, None
    sha = d.get("sha256")
    return d["event_id"], sha if isinstance(sha, str) else None


def _check_journal(store, events: dict[str, tuple[int, str, str | None]]) -> list[str]:
    """Every journal event has exactly one audit entry, and its payload is the one written."""
    problems = []
    seen = set()
    for jseq, event_id, etype, payload in store.db.execute(
            "SELECT seq, event_id, type, payload FROM journal ORDER BY seq"):
        entry = events.get(event_id)
        if entry is None:
            problems.append(f"journal event {jseq} ({event_id}) has no audit entry")
            continue
        seen.add(event_id)
        aseq, action, sha = entry
        if etype != action:
            problems.append(f"journal event {jseq}: type {etype!r} is not what audit entry "
                            f"{aseq} recorded ({action!r})")
        if sha is not None and (not isinstance(payload, str) or digest(payload) != sha):
            problems.append(f"journal event {jseq}: payload changed after it was written "
                            f"(audit entry {aseq})")
    for event_id, (aseq, _, _) in events.items():
        if event_id not in seen:
            problems.append(f"entry {aseq}: its journal event {event_id} is missing")
    return problems
