"""The INVITE server side of the endpoint: a new INVITE admitted or refused, answered, its
200 resent until the ACK, the call confirmed by the ACK (RTP and ``on_call`` start only
then) or given up, and CANCEL.

``InviteServer`` is a mixin of ``endpoint.Endpoint``, split out by topic; it uses the
endpoint's transport (``_reply``, ``_send``, ``_spawn``), ``calls``, ``timers``,
``admission`` and ``stats``. Why calls are *pending* until the ACK, and the limits on
them: ``admission`` and docs/phone-line.md ("On an open network").
"""

from __future__ import annotations

import asyncio
import logging
import os

from . import sdp
from .call import Call, CallState, _Source
from .media import RtpSession
from .message import SipMessage

__all__ = ["InviteServer"]

log = logging.getLogger(__name__)


def _token() -> str:
    return os.urandom(6).hex()


class InviteServer:
    def _new_invite(self, req: SipMessage, source: _Source) -> None:
        if req.call_id in self.calls:                  # a fork or a confused peer
            self._reply(req, source, 482)   # merged request, §8.2.2.2
            return
        now = asyncio.get_running_loop().time()
        refusal, evict = self.admission.decide(source.addr[0], self.calls.values(), now)
        if refusal is not None:
            self.stats["rejected"] += 1
            self.admission.refused(source.addr[0], refusal, now)
            self._reply(req, source, refusal.status, headers=refusal.headers())
            return
        offer = sdp.parse(req.body) if req.body else None
        neg = sdp.answer(offer) if offer is not None else None
        if req.body and neg is None:
            self.stats["rejected"] += 1
            self._reply(req, source, 488)
            return
        if evict is not None:
            self.stats["evicted"] += 1
            self._give_up(evict, f"no ACK after {now - evict.pending_since:.1f} s and its "
                                 f"place is wanted by a new INVITE from {source.addr[0]}")
        self._reply(req, source, 100)
        holder: list[Call] = []
        media = RtpSession(on_audio=lambda pcm: holder[0]._event("audio", pcm),
                           on_dtmf=lambda d: holder[0]._event("dtmf", d),
                           on_played=lambda tok: holder[0]._event("played", tok))
        call = Call(req, source, _token(), media, self)    # counted before its socket opens
        holder.append(call)
        self.calls[call.call_id] = call
        self._spawn(self._answer(call, neg))

    async def _answer(self, call: Call, neg: sdp.Negotiated | None) -> None:
        loop, req, source, media = asyncio.get_running_loop(), call.invite, call.source, call.media
        await loop.create_datagram_endpoint(lambda: media, local_addr=(self.host, 0))
        if call.state is not CallState.RINGING:           # given up or cancelled meanwhile
            media.close()
            return
        if self.ring_s > 0:
            self._reply(req, source, 180, to_tag=call.local_tag)
            await asyncio.sleep(self.ring_s)
            if call.state is not CallState.RINGING:       # cancelled while ringing
                return
        media.neg = neg
        body = (sdp.answer_body(neg, self.advertise, media.local_port, id(call), 1) if neg
                else sdp.offer(self.advertise, media.local_port, id(call), 1))
        ok = self._reply(req, source, 200, to_tag=call.local_tag,
                         headers=[("Contact", self._contact(source)), *self._caps(),
                                  ("Content-Type", "application/sdp")], body=body)
        call.state = CallState.ANSWERED
        call.answered_at = call.pending_since = loop.time()
        self.stats["answered"] += 1
        self._spawn(self._await_ack(call, ok))

    async def _await_ack(self, call: Call, ok: bytes) -> None:
        """§13.3.1.4: resend the 2xx (UDP) at T1 doubling up to T2 until the ACK; with no
        ACK after 64*T1 the call is given up."""
        gaps = (self.timers.intervals() if call.source.transport == "UDP"
                else [self.timers.timeout])
        loop = asyncio.get_running_loop()
        due = loop.time()                               # timers run from the first send
        for i, gap in enumerate(gaps):
            if i:
                self._send(ok, call.source)
            due += gap
            try:
                await asyncio.wait_for(call.confirmed.wait(), max(0.0, due - loop.time()))
            except TimeoutError:
                pass
            if call.state is not CallState.ANSWERED:
                return
        self._give_up(call, f"no ACK for {self.timers.timeout:g} s")

    def _ack(self, req: SipMessage, call: Call | None) -> None:
        if call is None or call.state is not CallState.ANSWERED:
            return
        if call.media.neg is None:                         # late offer: the answer is here
            answer = sdp.parse(req.body) if req.body else None
            call.media.neg = sdp.answer(answer) if answer else None
            if call.media.neg is None:
                log.warning("call %s: ACK without a usable SDP answer", call.call_id)
                self._give_up(call, "its ACK has no usable SDP answer")
                return
        call.state = CallState.ACTIVE
        call.confirmed_at = asyncio.get_running_loop().time()
        call.confirmed.set()
        call.media.active = True                           # RTP from here on, not before
        self.clock.add(call.media)
        if self.on_call is not None:
            self._spawn(self.on_call(call))

    def _give_up(self, call: Call, why: str) -> None:
        """End a call never confirmed: its slot is free at once; a RINGING one gets 480,
        an ANSWERED one a BYE (§13.3.1.4), resent only while few such BYEs are out (each
        may be going to an address someone forged)."""
        self.stats["no_ack"] += 1
        log.info("SIP: call %s from %s given up: %s", call.call_id, call.source.addr[0], why)
        state = call.state
        if state is CallState.RINGING:
            self._reply(call.invite, call.source, 480, to_tag=call.local_tag)
        self._end(call, "timeout")
        if state is not CallState.ANSWERED:
            return
        bye = self._bye(call)
        if self._lone_byes >= self.limits.max_pending:
            self._send(bye.to_bytes(), call.source)
            return
        self._lone_byes += 1

        async def send() -> None:
            try:
                await self.transact(bye, call.source)
            finally:
                self._lone_byes -= 1
        self._spawn(send())

    def _cancel(self, req: SipMessage, source: _Source, call: Call | None) -> None:
        invite_tx = self._responses.get((req.branch, "INVITE"))
        if invite_tx is None:
            self._reply(req, source, 481)
            return
        self._reply(req, source, 200)
        if call is not None and call.state is CallState.RINGING:
            self._reply(call.invite, call.source, 487, to_tag=call.local_tag)
            self._end(call, "remote")
