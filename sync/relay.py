"""A user-space "village link": a TCP relay that paces, delays, stalls on loss and can cut.

This machine's kernel has no netem qdisc, so tests and benchmarks put this relay between a
terminal and the hub (both on loopback) to get a slow, lossy rural link:

    terminal --> 127.0.0.1:LISTEN ==[rate, delay, loss, cut]==> hub

Per direction, data moves in segments of at most ``mss`` bytes (one read each). A segment
is serialized at ``rate`` (the link is busy meanwhile) and arrives half a round trip later.
With probability ``loss`` a segment is lost: the link stalls for ``rto`` (default one round
trip, like a fast retransmit) and the segment arrives after that; everything behind it
waits, since TCP delivers in order. A new connection costs one round trip before any byte
moves (the handshake). ``cut_after`` closes a connection after that many relayed bytes
(both directions together, or one direction with ``cut_direction``), to test resuming.
This is the same model as the reference emulator the benchmark figures are checked against.

    with Relay(("127.0.0.1", hub_port), rate="256kbit", rtt_ms=300, loss=0.02) as link:
        client = HubClient(link.url, ...)

The relay runs its own asyncio loop in a daemon thread. Attributes such as ``cut_after``
may be changed while it runs; each new connection reads them when it is accepted.
``python -m sync.relay --listen HOST:PORT --to HOST:PORT ...`` runs one from a shell.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import threading
import time
from dataclasses import asdict, dataclass, field


def parse_rate(text: str | float | None) -> float | None:
    """'256kbit' -> bytes per second; a number is bits per second; None or 0: unlimited."""
    if text is None:
        return None
    if isinstance(text, int | float):
        return text / 8 if text else None
    t = text.strip().lower()
    for suffix, mult in (("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1)):
        if t.endswith(suffix):
            return float(t[: -len(suffix)]) * mult / 8 or None
    return float(t) / 8 or None


@dataclass
class LinkStats:
    """What one connection carried (bytes are the application's, as relayed)."""

    connection: int
    seconds: float = 0.0
    bytes_up: int = 0
    bytes_down: int = 0
    segments: int = 0
    lost: int = 0
    cut: bool = False
    open: bool = True
    started: float = field(default_factory=time.monotonic, repr=False)


class _Direction:
    """One direction of one connection: pacing, delay, loss, in-order delivery."""

    def __init__(self, relay: Relay, rng: random.Random):
        self.relay, self.rng = relay, rng
        self.link_free = 0.0      # when the link finishes sending what it already holds
        self.last_delivery = 0.0  # in order: never before the previous segment
        self.bytes = self.segments = self.lost = 0

    def schedule(self, size: int, now: float) -> float:
        r = self.relay
        self.link_free = max(self.link_free, now) + (size / r.rate_bps if r.rate_bps else 0.0)
        if r.loss and self.rng.random() < r.loss:
            self.lost += 1
            self.link_free += r.rto_ms / 1000  # recovery: nothing new gets through meanwhile
        self.last_delivery = max(self.link_free + r.rtt_ms / 2000, self.last_delivery)
        self.bytes += size
        self.segments += 1
        return self.last_delivery


class Relay:
    """A relay from ``listen`` (default 127.0.0.1 and a free port) to ``target``."""

    def __init__(self, target: tuple[str, int], *, listen: tuple[str, int] = ("127.0.0.1", 0),
                 rate: str | float | None = None, rtt_ms: float = 0.0, loss: float = 0.0,
                 rto_ms: float | None = None, mss: int = 1460, cut_after: int = 0,
                 cut_direction: str = "both", seed: int | None = None,
                 stats_path: str | None = None):
        if cut_direction not in ("both", "up", "down"):
            raise ValueError("cut_direction is both, up or down")
        self.target, self.listen = target, listen
        self.rate_bps = parse_rate(rate)
        self.rtt_ms, self.loss, self.mss = float(rtt_ms), float(loss), int(mss)
        self.rto_ms = float(rtt_ms if rto_ms is None else rto_ms)
        self.cut_after, self.cut_direction = int(cut_after), cut_direction
        self.seed, self.stats_path = seed, stats_path
        self.connections: list[LinkStats] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.port = 0

    # -- running -----------------------------------------------------------------------
    def start(self) -> Relay:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run():
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._handle, *self.listen))
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as e:  # noqa: BLE001 - reported to start()
                failure.append(e)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=run, name="village-link", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    def __enter__(self) -> Relay:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.listen[0]}:{self.port}"

    # -- figures -----------------------------------------------------------------------
    def totals(self) -> dict:
        """Bytes, segments and losses over every connection so far."""
        with self._lock:
            conns = list(self.connections)
        return {"connections": len(conns),
                "bytes_up": sum(c.bytes_up for c in conns),
                "bytes_down": sum(c.bytes_down for c in conns),
                "segments": sum(c.segments for c in conns),
                "lost": sum(c.lost for c in conns),
                "cuts": sum(c.cut for c in conns)}

    # -- one connection ----------------------------------------------------------------
    async def _handle(self, client_r, client_w) -> None:
        try:
            await self._relay(client_r, client_w)
        except asyncio.CancelledError:  # the relay is stopping: drop the connection quietly
            client_w.close()

    async def _relay(self, client_r, client_w) -> None:
        with self._lock:
            stats = LinkStats(len(self.connections) + 1)
            self.connections.append(stats)
        rng = random.Random(None if self.seed is None else self.seed + stats.connection)
        budget = [self.cut_after] if self.cut_after else None
        direction = self.cut_direction
        await asyncio.sleep(self.rtt_ms / 1000)  # the TCP handshake's round trip
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            stats.open = False
            return
        up, down = _Direction(self, rng), _Direction(self, rng)
        done, ended = asyncio.Event(), [0]
        await asyncio.gather(
            self._pump(client_r, server_w, up, budget if direction in ("both", "up") else None,
                       done, ended, stats, "bytes_up"),
            self._pump(server_r, client_w, down,
                       budget if direction in ("both", "down") else None, done, ended, stats,
                       "bytes_down"),
            self._closer(done, client_w, server_w),
        )
        stats.segments = up.segments + down.segments
        stats.lost = up.lost + down.lost
        stats.seconds = round(time.monotonic() - stats.started, 3)
        stats.open = False
        if self.stats_path:
            row = {k: v for k, v in asdict(stats).items() if k not in ("open", "started")}
            with open(self.stats_path, "a") as f:
                f.write(json.dumps(row) + "\n")

    @staticmethod
    async def _closer(done: asyncio.Event, *writers) -> None:
        """A cut, a broken socket or both directions ending closes both sockets."""
        await done.wait()
        for w in writers:
            w.close()

    async def _pump(self, reader, writer, d: _Direction, budget, done: asyncio.Event,
                    ended: list[int], stats: LinkStats, counter: str) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(maxsize=64)
        broken = False

        async def deliver():
            nonlocal broken
            try:
                while (item := await queue.get()) is not None:
                    at, data = item
                    if (delay := at - loop.time()) > 0:
                        await asyncio.sleep(delay)
                    writer.write(data)
                    await writer.drain()
                    setattr(stats, counter, getattr(stats, counter) + len(data))
                if not done.is_set() and writer.can_write_eof():
                    writer.write_eof()  # a half-close travels on, like TCP's FIN
            except (OSError, RuntimeError):
                broken = True
                while await queue.get() is not None:  # keep the reader from blocking
                    pass

        deliverer = asyncio.create_task(deliver())
        cut = False
        try:
            while not done.is_set():
                data = await reader.read(self.mss)
                if not data:
                    break
                if budget is not None:
                    data = data[: max(budget[0], 0)]
                    budget[0] -= len(data)
                if data:
                    await queue.put((d.schedule(len(data), loop.time()), data))
                if budget is not None and budget[0] <= 0:
                    cut = stats.cut = True
                    break
        except (ConnectionError, OSError):
            broken = True
        await queue.put(None)
        await deliverer
        ended[0] += 1
        if cut or broken or ended[0] == 2:
            done.set()


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sync.relay", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", type=_host_port, required=True, help="HOST:PORT to accept on")
    p.add_argument("--to", type=_host_port, required=True, help="HOST:PORT of the server")
    p.add_argument("--rate", default="256kbit", help="link rate, e.g. 256kbit, 2mbit")
    p.add_argument("--rtt", type=float, default=300, help="round-trip time, ms")
    p.add_argument("--loss", type=float, default=0.0, help="segment loss probability")
    p.add_argument("--rto", type=float, default=None, help="stall per lost segment, ms")
    p.add_argument("--mss", type=int, default=1460, help="segment size, bytes")
    p.add_argument("--cut-after", type=int, default=0, help="close each connection after N bytes")
    p.add_argument("--seed", type=int, default=None, help="random seed for repeatable loss")
    p.add_argument("--stats", help="append one JSON line per connection to this file")
    a = p.parse_args(argv)
    relay = Relay(a.to, listen=a.listen, rate=a.rate, rtt_ms=a.rtt, loss=a.loss, rto_ms=a.rto,
                  mss=a.mss, cut_after=a.cut_after, seed=a.seed, stats_path=a.stats).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        relay.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
