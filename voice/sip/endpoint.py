"""The SIP endpoint: UDP and TCP on one port, answering calls and keeping them up.

What it does (RFC 3261 unless named): answers INVITEs sent straight to it (gateway or PBX),
SDP offer/answer (``sdp``), 100/180/200 with the 200 resent until the ACK (§13.3.1.4),
retransmitted requests answered from a cache of the last response (the server
transaction, §17.2, reduced to what a UAS needs: ``transaction``), BYE and CANCEL from the
caller, BYE from us (retransmitted until answered, §17.1.2), OPTIONS, INFO (DTMF),
re-INVITE (new SDP answer; hold; a late offer answered in the ACK), 481 for requests
outside any dialog, 405 for methods we do not serve. REGISTER lives in ``register``.

A call is *pending* from its INVITE until the ACK of our 200: it sends no RTP and
``on_call`` is not started, so a spoofed INVITE (someone else's address as its source)
makes the line send nothing there but SIP responses. Its 200 is resent at T1 doubling up
to T2; with no ACK after 64*T1 the call is given up: its slot is freed at once and the
dialog ended with a BYE (§13.3.1.4). New INVITEs pass ``admission`` first (per source
address: a rate, pending and concurrent caps; pending calls in all), refused with 503 +
Retry-After or 486.

Robustness: every datagram and stream chunk is handled inside a try; a message that does
not parse is answered 400 when its headers allow a reply and dropped otherwise, and either
way logged and counted in ``stats``. Nothing a peer sends can raise out of here.

In-dialog requests we send go back where the INVITE came from (the UDP source address or
the same TCP connection), with the caller's Contact as Request-URI: that reaches callers
behind NAT and gateways that advertise an unroutable Contact.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable

from . import sdp
from .admission import Admission, Limits
from .call import Call, CallState, _Source
from .dtmf import digit_from_info
from .invite import InviteServer, _token
from .media import FrameClock
from .message import SipMessage, SipParseError, frame, param, parse, response
from .transaction import ClientTransactions, ResponseCache, Timers

__all__ = ["Endpoint"]

log = logging.getLogger(__name__)
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"
# A burst of INVITEs should wait in the kernel rather than push out the next real caller's:
# 1 MiB asked (Linux caps it at net.core.rmem_max, 208 KB by default, and doubles it).
SIP_RCVBUF = 1 << 20


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr) -> None:
        self.endpoint._receive(data, _Source("UDP", addr))

    def error_received(self, exc) -> None:
        log.debug("SIP UDP socket error: %s", exc)


class Endpoint(InviteServer):
    """``on_call(call)`` is started as a task for each call once its ACK has arrived.

    ``timers``: RFC 3261's T1/T2 (tests shorten them); ``limits``: ``admission.Limits``.
    ``stats``: malformed messages, calls answered (200 sent) and ended, INVITEs refused,
    calls given up for want of an ACK (``no_ack``; ``evicted`` of those to make room).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 5060, *,
                 on_call: Callable[[Call], Awaitable[None]] | None = None,
                 advertise: str | None = None, user: str = "lianxin", tcp: bool = True,
                 ring_s: float = 0.0, limits: Limits | None = None,
                 timers: Timers | None = None, user_agent: str = "Lianxin/0.1"):
        self.host, self.port = host, port
        self.advertise = advertise or (host if host not in ("0.0.0.0", "") else "127.0.0.1")
        self.on_call, self.user, self.tcp, self.ring_s = on_call, user, tcp, ring_s
        self.user_agent = user_agent
        self.timers, self.limits = timers or Timers(), limits or Limits()
        self.admission = Admission(self.limits)
        self.calls: dict[str, Call] = {}
        self.clock = FrameClock()
        self.stats = {"malformed": 0, "answered": 0, "ended": 0, "rejected": 0, "no_ack": 0,
                      "evicted": 0}
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.base_events.Server | None = None
        self._responses = ResponseCache(self.timers)
        self._client_tx = ClientTransactions(self.timers)
        self._tasks: set[asyncio.Task] = set()
        self._lone_byes = 0             # BYEs in flight for calls never confirmed

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        any_port = self.port == 0
        for _ in range(8 if any_port else 1):
            await self._start(reset_port=any_port)
            if self._server or not self.tcp or not any_port:
                break
            # The system's free UDP port is taken for TCP: pick another pair.
            self._udp.close()
        log.info("SIP line listening on %s:%d (UDP%s)", self.host, self.port,
                 "+TCP" if self._server else "")

    async def _start(self, *, reset_port: bool) -> None:
        loop = asyncio.get_running_loop()
        if reset_port:
            self.port = 0
        self._udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self),
                                                           local_addr=(self.host, self.port))
        self.port = self._udp.get_extra_info("sockname")[1]
        try:
            self._udp.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                                          SIP_RCVBUF)
        except OSError as e:
            log.debug("SIP receive buffer left as it is: %s", e)
        if self.tcp:
            try:
                self._server = await asyncio.start_server(self._tcp_client, self.host, self.port)
            except OSError as e:
                log.warning("SIP over TCP off: port %d taken (%s)", self.port, e)

    async def stop(self) -> None:
        for call in list(self.calls.values()):
            self._hangup(call)
        if self.calls:
            await asyncio.wait([asyncio.ensure_future(c.wait_ended())
                                for c in self.calls.values()], timeout=2)
        for task in list(self._tasks):
            task.cancel()
        if self._server:
            self._server.close()
        if self._udp:
            self._udp.close()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("SIP task failed", exc_info=task.exception())

    # -- transport ----------------------------------------------------------------------

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        source = _Source("TCP", writer.get_extra_info("peername")[:2], writer)
        buffer = bytearray()
        try:
            while data := await reader.read(65536):
                buffer += data
                while (msg := frame(buffer)) is not None:
                    self._receive(msg, source)
        except SipParseError as e:
            self.stats["malformed"] += 1
            log.warning("SIP over TCP from %s: %s; closing", source.addr, e)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _send(self, data: bytes, source: _Source) -> None:
        try:
            if source.transport == "TCP":
                if source.writer is not None and not source.writer.is_closing():
                    source.writer.write(data)
            elif self._udp is not None:
                self._udp.sendto(data, source.addr)
        except OSError as e:
            log.warning("SIP send to %s failed: %s", source.addr, e)

    def _reply(self, req: SipMessage, source: _Source, status: int, *, to_tag: str | None = None,
               headers: list[tuple[str, str]] = (), body: bytes = b"") -> bytes:
        resp = response(req, status, to_tag=to_tag, headers=[("Server", self.user_agent),
                                                              *headers], body=body)
        data = resp.to_bytes()
        if req.method != "ACK":
            self._responses.put((req.branch, req.method), data, source, final=status >= 200)
        self._send(data, source)
        return data

    def _receive(self, data: bytes, source: _Source) -> None:
        if not data.strip():
            return                                       # CRLF keep-alive
        try:
            msg = parse(data)
        except SipParseError as e:
            self.stats["malformed"] += 1
            log.warning("malformed SIP from %s (%s): %s", source.transport, source.addr, e)
            if e.message is not None:
                self._reply(e.message, source, 400)
            return
        try:
            if msg.is_request:
                self._request(msg, source)
            else:
                self._response(msg)
        except Exception:
            log.exception("error handling SIP from %s", source.addr)
            if msg.is_request and msg.method != "ACK":
                self._reply(msg, source, 500)

    # -- requests -----------------------------------------------------------------------

    def _request(self, req: SipMessage, source: _Source) -> None:
        cached = self._responses.get((req.branch, req.method))
        if cached is not None and req.method != "ACK":
            self._send(cached[0], source)                 # a retransmission
            return
        call = self.calls.get(req.call_id)
        method = req.method
        if method == "ACK":
            self._ack(req, call)
        elif method == "CANCEL":
            self._cancel(req, source, call)
        elif method == "OPTIONS":
            self._reply(req, source, 200, to_tag=_token(), headers=self._caps())
        elif method == "INVITE" and param(req.get("To") or "", "tag") is None:
            self._new_invite(req, source)
        elif method in ("INVITE", "BYE", "INFO"):
            if call is None or call.state is CallState.ENDED or \
                    param(req.get("To") or "", "tag") != call.local_tag:
                self._reply(req, source, 481)
            elif method == "BYE":
                self._reply(req, source, 200)
                self._end(call, "remote")
            elif method == "INFO":
                digit = digit_from_info(req.get("Content-Type") or "", req.body)
                if digit is None and req.body:
                    self._reply(req, source, 415,
                                headers=[("Accept", "application/dtmf-relay, application/dtmf")])
                else:
                    self._reply(req, source, 200)
                    if digit:
                        call._event("dtmf", digit)
            else:
                self._reinvite(req, source, call)
        else:
            self._reply(req, source, 405, headers=[("Allow", ALLOW)])

    def _caps(self) -> list[tuple[str, str]]:
        return [("Allow", ALLOW), ("Accept", "application/sdp"), ("Accept-Language", "zh"),
                ("Supported", "")]

    def _contact(self, source: _Source) -> str:
        t = ";transport=tcp" if source.transport == "TCP" else ""
        return f"<sip:{self.user}@{self.advertise}:{self.port}{t}>"

    def _reinvite(self, req: SipMessage, source: _Source, call: Call) -> None:
        media = call.media
        if req.body:
            offer = sdp.parse(req.body)
            neg = sdp.answer(offer) if offer else None
            if neg is None:
                self._reply(req, source, 488)
                return
            if media.neg and neg.codec != media.neg.codec:
                log.info("call %s: codec changed %s -> %s", call.call_id, media.neg.codec,
                         neg.codec)
            media.neg = neg
            call.sdp_version += 1
            body = sdp.answer_body(neg, self.advertise, media.local_port, id(call),
                                   call.sdp_version)
        else:                          # no offer: we offer again and read the answer in ACK
            call.sdp_version += 1
            body = sdp.offer(self.advertise, media.local_port, id(call), call.sdp_version)
        self._reply(req, source, 200, headers=[("Contact", self._contact(source)),
                                               *self._caps(),
                                               ("Content-Type", "application/sdp")], body=body)

    # -- ending calls -------------------------------------------------------------------

    def _end(self, call: Call, who: str) -> None:
        self.clock.remove(call.media)
        call.media.close()
        if self.calls.get(call.call_id) is call:
            del self.calls[call.call_id]
        if call.state is not CallState.ENDED:
            self.stats["ended"] += 1
        call._finish(who)

    def _hangup(self, call: Call, who: str = "local") -> None:
        if call.state in (CallState.ENDING, CallState.ENDED):
            return
        if call.state in (CallState.RINGING, CallState.ANSWERED):
            self._give_up(call, "hung up before its ACK")
            return
        call.state = CallState.ENDING
        self.clock.remove(call.media)
        self._spawn(self._send_bye(call, who))

    def _bye(self, call: Call) -> SipMessage:
        call.local_cseq += 1
        return self.request("BYE", call.remote_target, call.source, [
            ("From", f"{call.local_to};tag={call.local_tag}"
             if param(call.local_to, "tag") is None else call.local_to),
            ("To", call.remote_from), ("Call-ID", call.call_id),
            ("CSeq", f"{call.local_cseq} BYE"),
            *[("Route", r) for r in call.route_set]])

    async def _send_bye(self, call: Call, who: str) -> None:
        resp = await self.transact(self._bye(call), call.source)
        if resp is None:
            log.warning("BYE for call %s unanswered", call.call_id)
        self._end(call, who)

    # -- client transactions (BYE, REGISTER) --------------------------------------------

    def request(self, method: str, uri: str, source: _Source,
                headers: list[tuple[str, str]], body: bytes = b"") -> SipMessage:
        req = SipMessage(method=method, uri=uri)
        req.add("Via", f"SIP/2.0/{source.transport} {self.advertise}:{self.port};"
                       f"branch=z9hG4bK{_token()};rport")
        req.add("Max-Forwards", "70")
        for n, v in headers:
            req.add(n, v)
        req.add("User-Agent", self.user_agent)
        req.body = body
        return req

    async def transact(self, req: SipMessage, source: _Source) -> SipMessage | None:
        """Send a non-INVITE request; its final response, or None after 64*T1 (§17.1.2)."""
        return await self._client_tx.run(req.branch, req.to_bytes(),
                                         lambda data: self._send(data, source),
                                         reliable=source.transport != "UDP")

    def _response(self, resp: SipMessage) -> None:
        self._client_tx.response(resp.branch, resp)
