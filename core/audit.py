"""The tamper-evident audit chain ("数据留痕").

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields, so
editing, deleting or reordering any entry breaks the chain at that entry. The newest
``seq:hash`` is also kept in ``meta.audit_head``, which catches entries cut off the end.
The hub re-verifies each terminal's chain as it receives it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .clock import iso

GENESIS = "0" * 64


def entry_hash(prev_hash: str, seq: int, at: str, actor: str, action: str, subject: str,
               detail: str) -> str:
    text = "\x1f".join([prev_hash, str(seq), at, actor, action, subject, detail])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def append(store, *, actor: str, action: str, subject: str, detail: dict) -> int:
    """Append one entry; the caller holds the transaction."""
    head = store.meta("audit_head")
    if head:
        last_seq, prev = head.split(":", 1)
        seq = int(last_seq) + 1
    else:
        seq, prev = 1, GENESIS
    at = iso(store.now())
    body = json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = entry_hash(prev, seq, at, actor, action, subject, body)
    store.db.execute(
        "INSERT INTO audit(seq, at, actor, action, subject, detail, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, actor, action, subject, body, prev, digest],
    )
    store.set_meta("audit_head", f"{seq}:{digest}")
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
    cur = store.db.execute(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq"
    )
    for seq, at, actor, action, subject, detail, prev_hash, digest in cur:
        count += 1
        if seq != expected_seq:
            problems.append(f"entry {expected_seq}" + (f"..{seq - 1}" if seq - 1 > expected_seq else "")
                            + f" missing (chain jumps to entry {seq})")
        if prev_hash != prev:
            problems.append(f"entry {seq}: does not follow the entry before it "
                            "(an entry was deleted, inserted or moved)")
        if entry_hash(prev_hash, seq, at, actor, action, subject, detail) != digest:
            problems.append(f"entry {seq}: contents changed after it was written ({action} {subject})")
        expected_seq, prev = seq + 1, digest
    head = store.meta("audit_head")
    if head:
        head_seq, head_hash = head.split(":", 1)
        if int(head_seq) != expected_seq - 1 or head_hash != prev:
            problems.append(f"chain ends at entry {expected_seq - 1} but the head says entry "
                            f"{head_seq}: entries were cut off the end or the head was changed")
    elif count:
        problems.append("audit head is missing")
    return Verdict(ok=not problems, entries=count, problems=problems)

