"""Who may start a call: the line's limits on new INVITEs, per source address and in all.

Why: over UDP anyone can send an INVITE with someone else's address as its source. Until
the caller's ACK comes back (it carries the tag of our 200, which only a real caller at
that address has seen) a call is *pending*: it holds an RTP socket and its 200 is resent,
but sends no RTP and reaches no dialog (``endpoint``). Limits keep pending calls few and
short, so INVITEs that are never ACKed cannot fill the line:

    max_calls           calls at once, pending ones included (the line's capacity)
    max_pending         pending calls at once, all sources together
    per_source_calls    calls at once from one IP address (pending included)
    per_source_pending  pending calls at once from one IP address
    per_source_rate     new INVITEs a second from one address, with bursts of
    per_source_burst    this many (a token bucket; retransmissions do not count)
    evict_after_s       when max_pending or max_calls is reached, the oldest pending call
                        pending at least this long (default 0: any) gives its place to the
                        new INVITE and is given up (``invite``)

Eviction is what a TCP SYN cache does: a real caller's ACK follows our 200 within a round
trip, so only a flood of max_pending INVITEs inside that round trip can push it out, while
a flood from many forged addresses (where per-source limits do not bite) leaves the line
ready for the next real caller the moment it stops, not 64*T1 later.

A refused INVITE gets ``503 Service Unavailable`` with ``Retry-After`` (rate, pending
limits: try again soon) or ``486 Busy Here`` (the line or this source's share is full of
confirmed calls). Refusals are logged in English, the first per address and reason at
once and then one summary line per ``LOG_WINDOW_S``, so a flood cannot flood the log.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Admission", "Limits", "Refusal"]

log = logging.getLogger(__name__)
LOG_WINDOW_S = 10.0
MAX_TRACKED = 4096           # addresses with a rate bucket or a log window, at most


@dataclass(frozen=True)
class Limits:
    max_calls: int = 64
    max_pending: int = 16
    per_source_calls: int = 16
    per_source_pending: int = 10
    per_source_rate: float = 2.0
    per_source_burst: int = 10
    evict_after_s: float = 0.0


@dataclass(frozen=True)
class Refusal:
    kind: str                    # rate | source-pending | source-calls | pending | full
    status: int                  # 486 | 503
    reason: str                  # English, for the log
    retry_after: int | None = None

    def headers(self) -> list[tuple[str, str]]:
        return [("Retry-After", str(self.retry_after))] if self.retry_after else []


class Admission:
    """``decide`` says whether a new INVITE from ``ip`` may become a call."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._buckets: dict[str, tuple[float, float]] = {}      # ip -> (tokens, at)
        self._log: dict[tuple[str, str], list] = {}     # -> [window start, count, reason]

    def decide(self, ip: str, calls: Iterable, now: float):
        """(Refusal or None, a pending call to evict or None). ``calls`` are the open
        calls: ``source.addr``, ``confirmed_at`` (None while pending) and ``pending_since``."""
        lim = self.limits
        if not self._take(ip, now):
            wait = math.ceil(1 / lim.per_source_rate) if lim.per_source_rate > 0 else 60
            return Refusal("rate", 503,
                           f"more than {lim.per_source_rate:g} new calls a second", wait), None
        calls = list(calls)
        pending = [c for c in calls if c.confirmed_at is None]
        mine = [c for c in calls if c.source.addr[0] == ip]
        mine_pending = sum(1 for c in mine if c.confirmed_at is None)
        if mine_pending >= lim.per_source_pending:
            return Refusal("source-pending", 503, f"{mine_pending} calls from this address "
                           "not yet confirmed by an ACK", 1), None
        if len(mine) >= lim.per_source_calls:
            return Refusal("source-calls", 486,
                           f"{len(mine)} calls from this address already"), None
        if len(pending) < lim.max_pending and len(calls) < lim.max_calls:
            return None, None
        stale = [c for c in pending if now - c.pending_since >= lim.evict_after_s]
        if stale:
            return None, min(stale, key=lambda c: c.pending_since)
        if len(pending) >= lim.max_pending:
            return Refusal("pending", 503,
                           f"{len(pending)} calls not yet confirmed by an ACK", 1), None
        return Refusal("full", 486, f"the line is full ({len(calls)} calls)"), None

    def _take(self, ip: str, now: float) -> bool:
        lim = self.limits
        tokens, at = self._buckets.get(ip, (float(lim.per_source_burst), now))
        tokens = min(float(lim.per_source_burst), tokens + (now - at) * lim.per_source_rate)
        ok = tokens >= 1.0
        self._buckets[ip] = (tokens - 1.0 if ok else tokens, now)
        if len(self._buckets) > MAX_TRACKED:                  # forget the idlest half
            keep = sorted(self._buckets.items(), key=lambda kv: kv[1][1])[MAX_TRACKED // 2:]
            self._buckets = dict(keep)
        return ok

    def refused(self, ip: str, refusal: Refusal, now: float) -> None:
        """Log a refusal: at once for the first in a window, then as a count."""
        key = (ip, refusal.kind)
        window = self._log.get(key)
        if window is not None and now - window[0] < LOG_WINDOW_S:
            window[1] += 1
            return
        if window is not None and window[1] > 0:
            log.warning("SIP: refused %d more INVITEs from %s in the last %.0f s (%s)",
                        window[1], ip, now - window[0], window[2])
        log.warning("SIP: INVITE from %s refused with %d: %s", ip, refusal.status,
                    refusal.reason)
        self._log[key] = [now, 0, refusal.reason]
        if len(self._log) > MAX_TRACKED:
            self._log = {k: v for k, v in self._log.items() if now - v[0] < LOG_WINDOW_S}
