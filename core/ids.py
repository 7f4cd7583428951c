"""Record ids: time-ordered UUIDs (RFC 9562 version 7).

Event, entry, session and consent ids are keys of unique indexes, on the terminal and at
the hub (``branch_log.event_id``, ``hub_study.session_id``). A random (version 4) id lands
on a random leaf of its index: a batch of 500 dirties hundreds of pages, each re-encrypted
and written at COMMIT, and more as the index grows. A version 7 id starts with the
Unix time in milliseconds, so ids made together sit together and an index grows at its
end (measured in bench/bench_sync.py). The time is the machine's wall clock, read only for
this order: a wrong clock costs locality, never correctness, and the time it shows is no
secret (every event carries its ``at``). The other 74 bits are random (``secrets``): ids
stay unguessable and unique across terminals.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid

_lock = threading.Lock()
_last = (0, 0)  # (ms, rand_a) of the last id: ids of one process only ever increase


def new_id() -> str:
    """A new version 7 UUID as text (``xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx``)."""
    global _last
    ms = time.time_ns() // 1_000_000
    with _lock:
        last_ms, last_a = _last
        if ms <= last_ms:  # same millisecond, or the clock stepped back: count on
            ms, rand_a = last_ms, last_a + 1
            if rand_a > 0xFFF:
                ms, rand_a = last_ms + 1, secrets.randbits(8)
        else:
            rand_a = secrets.randbits(8)  # leaves room to count within the millisecond
        _last = (ms, rand_a)
    return str(uuid_v7(ms, rand_a, secrets.randbits(62)))


def uuid_v7(ms: int, rand_a: int, rand_b: int) -> uuid.UUID:
    """The version 7 UUID of a millisecond time, 12 bits ``rand_a`` and 62 bits ``rand_b``
    (RFC 9562 §5.7); benchmarks make reproducible ones from a seeded generator."""
    value = ((ms & (1 << 48) - 1) << 80 | 0x7 << 76 | (rand_a & 0xFFF) << 64
             | 0b10 << 62 | rand_b & (1 << 62) - 1)
    return uuid.UUID(int=value)
