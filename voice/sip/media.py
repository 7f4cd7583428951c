"""A call's audio: one RTP socket per call, and one 20 ms clock that sends for every call.

    RtpSession   receives: G.711 -> 16-bit PCM (``on_audio``), telephone-event -> digit
                 (``on_dtmf``); holds what to play as pre-encoded 160-byte frames
    FrameClock   one timer per endpoint: every 20 ms each active session sends one frame,
                 speech if something is queued, else encoded silence

Why one clock: a timer per call drifts apart under load and a busy event loop delays them
all differently; a single absolute-time tick (slot n is due at start + n * 20 ms, never
"20 ms after the last one") keeps every call's packets evenly spaced and the RTP timestamp
tied to wall time. A late tick sends once and moves on: the timestamp jumps by the slots
missed (what a receiver's jitter buffer expects) rather than a burst of catch-up packets.
Silence is sent between prompts so the far end's jitter buffer and any NAT stay alive.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Callable

from . import g711, rtp
from .dtmf import DtmfReceiver
from .sdp import Negotiated

__all__ = ["FrameClock", "RtpSession"]

log = logging.getLogger(__name__)
_SILENCE = {"PCMU": b"\xff" * rtp.SAMPLES_PER_FRAME, "PCMA": b"\xd5" * rtp.SAMPLES_PER_FRAME}


class RtpSession(asyncio.DatagramProtocol):
    def __init__(self, on_audio: Callable[[bytes], None], on_dtmf: Callable[[str], None],
                 on_played: Callable[[object], None]):
        self.on_audio, self.on_dtmf, self.on_played = on_audio, on_dtmf, on_played
        self.transport: asyncio.DatagramTransport | None = None
        self.neg: Negotiated | None = None
        self.active = False                     # the call is confirmed: RTP in and out
        self.ssrc = int.from_bytes(os.urandom(4), "big")
        self._seq = int.from_bytes(os.urandom(2), "big")
        self._ts0 = int.from_bytes(os.urandom(4), "big")
        self._slot0: int | None = None
        self._queue: deque[list] = deque()      # [encoded bytes, offset, token]
        self._dtmf = DtmfReceiver()
        self.sent = self.received = self.dropped = 0
        self.send_log: list[tuple[float, int]] | None = None   # (time, timestamp) when measuring
        self.speech_started_at: float | None = None             # first non-silent frame sent

    # -- socket -------------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport

    @property
    def local_port(self) -> int:
        return self.transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr) -> None:
        if not self.active:
            return
        neg = self.neg
        try:
            pkt = rtp.parse(data)
            if neg is None:
                return
            if pkt.payload_type == neg.payload_type:
                self.received += 1
                self.on_audio(g711.decode(pkt.payload, neg.codec))
            elif neg.dtmf_pt is not None and pkt.payload_type == neg.dtmf_pt:
                digit = self._dtmf.feed(pkt.timestamp, pkt.payload)
                if digit:
                    self.on_dtmf(digit)
        except (rtp.RtpError, ValueError) as e:
            self.dropped += 1
            if self.dropped <= 5 or self.dropped % 1000 == 0:
                log.warning("RTP from %s dropped (%d so far): %s", addr, self.dropped, e)

    def error_received(self, exc) -> None:       # ICMP port unreachable and the like
        log.debug("RTP socket error: %s", exc)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # -- playing ------------------------------------------------------------------------

    def play(self, pcm: bytes, token: object = None) -> None:
        """Queue 8 kHz 16-bit PCM; ``on_played(token)`` when its last frame has gone out."""
        codec = self.neg.codec if self.neg else "PCMU"
        self._queue.append([g711.encode(pcm, codec), 0, token])

    def stop_playing(self) -> list[object]:
        """Drop everything queued (barge-in); the tokens of what was cut off."""
        tokens = [item[2] for item in self._queue]
        self._queue.clear()
        return tokens

    @property
    def playing(self) -> bool:
        return bool(self._queue)

    def send_frame(self, slot: int, now: float) -> None:
        neg, transport = self.neg, self.transport
        if not self.active or neg is None or transport is None or transport.is_closing():
            return
        if self._slot0 is None:
            self._slot0 = slot
        payload, finished = _SILENCE[neg.codec], None
        if self._queue:
            item = self._queue[0]
            data, off = item[0], item[1]
            payload = data[off:off + rtp.SAMPLES_PER_FRAME]
            if len(payload) < rtp.SAMPLES_PER_FRAME:
                payload += _SILENCE[neg.codec][len(payload):]
            item[1] = off + rtp.SAMPLES_PER_FRAME
            if item[1] >= len(data):
                self._queue.popleft()
                finished = item
            if self.speech_started_at is None:
                self.speech_started_at = now
        if neg.direction in ("sendrecv", "sendonly"):
            ts = self._ts0 + (slot - self._slot0) * rtp.SAMPLES_PER_FRAME
            pkt = rtp.RtpPacket(neg.payload_type, self._seq, ts, self.ssrc, payload,
                                marker=self.sent == 0)
            self._seq = (self._seq + 1) & 0xFFFF
            try:
                transport.sendto(pkt.to_bytes(), neg.remote)
            except OSError as e:
                log.debug("RTP send failed: %s", e)
            self.sent += 1
            if self.send_log is not None:
                self.send_log.append((now, ts))
        if finished is not None:
            self.on_played(finished[2])


class FrameClock:
    """Calls ``send_frame`` on every registered session once per 20 ms slot."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None):
        self._loop = loop
        self._sessions: set[RtpSession] = set()
        self._handle: asyncio.TimerHandle | None = None
        self._start = 0.0
        self.late_ticks = 0

    def add(self, session: RtpSession) -> None:
        self._sessions.add(session)
        if self._handle is None:
            self._loop = self._loop or asyncio.get_running_loop()
            self._start = self._loop.time()
            self._schedule(0)

    def remove(self, session: RtpSession) -> None:
        self._sessions.discard(session)
        if not self._sessions and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, slot: int) -> None:
        self._handle = self._loop.call_at(self._start + slot * rtp.FRAME_S, self._tick, slot)

    def _tick(self, slot: int) -> None:
        now = self._loop.time()
        for session in list(self._sessions):
            try:
                session.send_frame(slot, now)
            except Exception:                   # one broken call must not stop the others
                log.exception("RTP send for one call failed")
        due = int((self._loop.time() - self._start) / rtp.FRAME_S) + 1
        if due > slot + 1:
            self.late_ticks += 1
        self._schedule(max(slot + 1, due))
