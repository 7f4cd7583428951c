"""RFC 3261's timers and the two transaction tables the endpoint keeps (§17), as small as a
UAS with a few client requests (BYE, REGISTER) needs.

    Timers               T1 (RTT estimate, 500 ms), T2 (4 s) and 64*T1 (32 s), configurable so
                         tests run the real schedule fast; ``intervals`` is the retransmit
                         schedule T1, 2T1, 4T1 ... capped at T2 (§17.1.2.2, §13.3.1.4)
    ResponseCache        server transactions reduced to "the last response to this branch":
                         a retransmitted request gets it again (§17.2.1, §17.2.2); a final
                         response is kept 64*T1 (Timers H/J), and never more than
                         ``max_entries`` entries (the oldest go first), so a flood of INVITEs
                         with fresh branches cannot grow it without bound
    ClientTransactions   non-INVITE requests we send: resent on the schedule over UDP until a
                         final response or 64*T1 (§17.1.2)
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["ClientTransactions", "ResponseCache", "Timers"]


@dataclass(frozen=True)
class Timers:
    t1: float = 0.5
    t2: float = 4.0

    @property
    def timeout(self) -> float:
        """64*T1: Timer B/F/H/J, and how long a 2xx waits for its ACK (§13.3.1.4)."""
        return 64 * self.t1

    def intervals(self) -> Iterator[float]:
        """Gaps between retransmissions, T1 doubling up to T2, summing to 64*T1."""
        interval, total = self.t1, 0.0
        while total + interval <= self.timeout + 1e-9:
            yield interval
            total += interval
            interval = min(2 * interval, self.t2)
        if self.timeout - total > 1e-9:
            yield self.timeout - total


class ResponseCache:
    """(branch, method) -> (the last response's bytes, where it went)."""

    def __init__(self, timers: Timers, max_entries: int = 4096,
                 clock: Callable[[], float] | None = None):
        self.timers, self.max_entries = timers, max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[bytes, object, float]] = OrderedDict()

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def put(self, key: tuple[str, str], data: bytes, dest: object, final: bool) -> None:
        now = self._now()
        self._entries[key] = (data, dest, now + self.timers.timeout if final else float("inf"))
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        for _ in range(2):                    # amortised clean-up of expired finals
            first = next(iter(self._entries.items()), None)
            if first is None or first[1][2] > now:
                break
            del self._entries[first[0]]

    def get(self, key: tuple[str, str]) -> tuple[bytes, object] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[2] <= self._now():
            del self._entries[key]
            return None
        return entry[0], entry[1]

    def __len__(self) -> int:
        return len(self._entries)


class ClientTransactions:
    """Futures for the final responses to the requests we sent, by branch."""

    def __init__(self, timers: Timers):
        self.timers = timers
        self._pending: dict[str, asyncio.Future] = {}

    async def run(self, branch: str, data: bytes, resend: Callable[[bytes], None],
                  reliable: bool = False):
        """Send ``data`` (``resend``) on the schedule until a final response arrives
        (returned) or 64*T1 pass (None). Over a reliable transport it is sent once."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._pending[branch] = fut
        try:
            gaps = [self.timers.timeout] if reliable else list(self.timers.intervals())
            due = loop.time()                           # timers run from the first send
            for gap in gaps:
                resend(data)
                due += gap
                try:
                    return await asyncio.wait_for(asyncio.shield(fut),
                                                  max(0.0, due - loop.time()))
                except TimeoutError:
                    pass
            return None
        finally:
            self._pending.pop(branch, None)

    def response(self, branch: str, resp) -> None:
        fut = self._pending.get(branch)
        if fut is not None and not fut.done() and resp.status >= 200:
            fut.set_result(resp)

    def __len__(self) -> int:
        return len(self._pending)
