"""The SIP endpoint over real loopback sockets, driven by raw SIP/RTP from the test.

Pins: OPTIONS answered; garbage dropped and an addressable malformed request answered 400,
with the line still serving afterwards; an INVITE answered 100 + 200 with a G.711 SDP
answer, the 200 resent until the ACK and a resent INVITE answered from the cache; RTP
flows at 20 ms frames with steady sequence numbers and timestamps; DTMF arrives by RFC 4733
and by SIP INFO; bad RTP is dropped without ending the call; a hold re-INVITE gets
recvonly back; BYE from the caller and from us; CANCEL while ringing gives 487; no G.711
gives 488; unknown dialog 481; unknown method 405; INVITE over TCP; a late offer answered
in the ACK; REGISTER answers a digest challenge (and a refused password is reported).
"""

from __future__ import annotations

import asyncio
import os

from voice.sip import Endpoint, Registration, digest, dtmf, rtp, sdp
from voice.sip.message import SipMessage, frame, param, parse, response


class Peer(asyncio.DatagramProtocol):
    """A UDP socket on loopback collecting what it receives."""

    def __init__(self):
        self.q: asyncio.Queue = asyncio.Queue()

    def connection_made(self, transport):
        self.transport = transport
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data, addr):
        self.q.put_nowait((data, addr))

    def send(self, data: bytes, port: int):
        self.transport.sendto(data, ("127.0.0.1", port))

    async def next(self, timeout=3.0, want=None) -> SipMessage:
        while True:
            data, _ = await asyncio.wait_for(self.q.get(), timeout)
            msg = parse(data)
            if want is None or want(msg):
                return msg


async def peer() -> Peer:
    _, p = await asyncio.get_running_loop().create_datagram_endpoint(
        Peer, local_addr=("127.0.0.1", 0))
    return p


def req(method, port, call_id="c1", cseq=1, branch=None, to_tag=None, body=b"",
        ctype="application/sdp", via_port=5999, extra=()):
    m = SipMessage(method=method, uri=f"sip:ivr@127.0.0.1:{port}")
    m.add("Via", f"SIP/2.0/UDP 127.0.0.1:{via_port};branch={branch or 'z9hG4bK' + os.urandom(4).hex()}")
    m.add("Max-Forwards", "70")
    m.add("From", "\"Zhang\" <sip:13800000001@127.0.0.1>;tag=caller1")
    m.add("To", f"<sip:ivr@127.0.0.1>{';tag=' + to_tag if to_tag else ''}")
    m.add("Call-ID", call_id)
    m.add("CSeq", f"{cseq} {method}")
    m.add("Contact", f"<sip:13800000001@127.0.0.1:{via_port}>")
    for n, v in extra:
        m.add(n, v)
    if body:
        m.add("Content-Type", ctype)
    m.body = body
    return m.to_bytes()


def offer(rtp_port, direction="sendrecv") -> bytes:
    return sdp.build("127.0.0.1", rtp_port, [(0, "PCMU"), (8, "PCMA"), (101, "telephone-event")],
                     direction)


class Handler:
    def __init__(self):
        self.calls, self.events = [], []

    async def __call__(self, call):
        self.calls.append(call)
        while True:
            kind, value = await call.events.get()
            if kind != "audio":
                self.events.append((kind, value))
            if kind == "hangup":
                return


def run(coro):
    asyncio.run(asyncio.wait_for(coro, 30))


def test_options_and_malformed_never_stop_the_line():
    async def main():
        ep = Endpoint("127.0.0.1", 0)
        await ep.start()
        p = await peer()
        p.send(b"\x00\x01garbage\xff", ep.port)
        p.send(b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKa\r\n"
               b"From: <sip:a@b>;tag=1\r\nTo: <sip:x>\r\nCall-ID: m1\r\nCSeq: x OPTIONS\r\n\r\n",
               ep.port)
        bad, _ = await asyncio.wait_for(p.q.get(), 3)     # its CSeq is copied as sent
        assert bad.startswith(b"SIP/2.0 400 ") and b"Call-ID: m1\r\n" in bad
        p.send(req("OPTIONS", ep.port, call_id="o1"), ep.port)
        ok = await p.next()
        assert ok.status == 200 and "INVITE" in ok.get("Allow") and param(ok.get("To"), "tag")
        p.send(req("MESSAGE", ep.port, call_id="o2"), ep.port)
        assert (await p.next()).status == 405
        p.send(req("BYE", ep.port, call_id="nope", to_tag="zz"), ep.port)
        assert (await p.next()).status == 481
        p.send(req("INVITE", ep.port, call_id="g722",
                   body=sdp.build("127.0.0.1", 4000, [(9, "G722")])), ep.port)
        assert (await p.next(want=lambda m: m.status >= 200)).status == 488
        assert ep.stats["malformed"] == 2 and not ep.calls
        await ep.stop()
    run(main())


def test_call_from_invite_to_bye():
    async def main():
        h = Handler()
        ep = Endpoint("127.0.0.1", 0, on_call=h)
        await ep.start()
        sip, media = await peer(), await peer()
        invite = req("INVITE", ep.port, branch="z9hG4bKinv1", body=offer(media.port),
                     via_port=sip.port)
        sip.send(invite, ep.port)
        assert (await sip.next()).status == 100
        ok = await sip.next(want=lambda m: m.status == 200)
        tag = param(ok.get("To"), "tag")
        neg = sdp.answer(sdp.parse(ok.body))
        assert (neg.codec, neg.dtmf_pt) == ("PCMU", 101)
        assert (await sip.next(timeout=1.5, want=lambda m: m.status == 200)).status == 200  # resent
        sip.send(invite, ep.port)                                  # a retransmitted INVITE
        assert (await sip.next(want=lambda m: m.status == 200)).cseq == (1, "INVITE")
        ack = req("ACK", ep.port, to_tag=tag, via_port=sip.port)
        sip.send(ack, ep.port)
        await asyncio.sleep(0.05)
        call = h.calls[0]
        assert call.state == "active" and call.caller == "13800000001"

        # RTP arrives as 20 ms PCMU frames with consecutive seq and timestamps
        pkts = [rtp.parse((await media.q.get())[0]) for _ in range(10)]
        assert {p.payload_type for p in pkts} == {0} and {len(p.payload) for p in pkts} == {160}
        assert [(b.seq - a.seq) % 65536 for a, b in zip(pkts, pkts[1:], strict=False)] == [1] * 9
        assert {(b.timestamp - a.timestamp) for a, b in zip(pkts, pkts[1:], strict=False)} == {160}
        # keys: RFC 4733 (start, retransmitted end) and SIP INFO; junk RTP in between
        rtp_to = neg.remote[1]
        for payload in (dtmf.TelephoneEvent(7, False, 10, 160), dtmf.TelephoneEvent(7, True, 10, 800),
                        dtmf.TelephoneEvent(7, True, 10, 800)):
            media.send(rtp.RtpPacket(101, 1, 8000, 42, payload.to_bytes()).to_bytes(), rtp_to)
        media.send(b"\x00junk", rtp_to)
        media.send(rtp.RtpPacket(101, 2, 9000, 42, b"\x01").to_bytes(), rtp_to)   # short event
        media.send(rtp.RtpPacket(0, 3, 9160, 42, b"\xff" * 160).to_bytes(), rtp_to)
        sip.send(req("INFO", ep.port, cseq=2, to_tag=tag, via_port=sip.port,
                     body=b"Signal=9\r\nDuration=160\r\n", ctype="application/dtmf-relay"), ep.port)
        assert (await sip.next(want=lambda m: m.cseq[1] == "INFO")).status == 200
        # hold: a re-INVITE with sendonly is answered recvonly
        sip.send(req("INVITE", ep.port, cseq=3, to_tag=tag, via_port=sip.port,
                     body=offer(media.port, "sendonly")), ep.port)
        re = await sip.next(want=lambda m: m.cseq == (3, "INVITE") and m.status == 200)
        assert b"a=recvonly" in re.body
        sip.send(req("ACK", ep.port, cseq=3, to_tag=tag, via_port=sip.port), ep.port)
        sip.send(req("BYE", ep.port, cseq=4, to_tag=tag, via_port=sip.port), ep.port)
        assert (await sip.next(want=lambda m: m.cseq[1] == "BYE")).status == 200
        await asyncio.wait_for(call.wait_ended(), 2)
        assert [e for e in h.events if e[0] in ("dtmf", "hangup")] == [
            ("dtmf", "7"), ("dtmf", "9"), ("hangup", "remote")]
        assert call.media.dropped == 2 and call.media.received == 1 and not ep.calls
        await ep.stop()
    run(main())


def test_we_hang_up_cancel_while_ringing_and_tcp():
    async def main():
        h = Handler()
        ep = Endpoint("127.0.0.1", 0, on_call=h)
        await ep.start()
        sip, media = await peer(), await peer()
        sip.send(req("INVITE", ep.port, call_id="c2", body=offer(media.port), via_port=sip.port),
                 ep.port)
        ok = await sip.next(want=lambda m: m.status == 200)
        sip.send(req("ACK", ep.port, call_id="c2", to_tag=param(ok.get("To"), "tag"),
                     via_port=sip.port), ep.port)
        await asyncio.sleep(0.05)
        h.calls[0].hangup()
        bye = await sip.next(want=lambda m: m.is_request)
        assert bye.method == "BYE" and bye.uri == f"sip:13800000001@127.0.0.1:{sip.port}"
        assert param(bye.get("From"), "tag") == param(ok.get("To"), "tag")
        sip.send(response(bye, 200).to_bytes(), ep.port)
        await asyncio.wait_for(h.calls[0].wait_ended(), 2)
        assert h.calls[0].hangup_by == "local"

        ep.ring_s = 5.0
        sip.send(req("INVITE", ep.port, call_id="c3", branch="z9hG4bKring",
                     body=offer(media.port), via_port=sip.port), ep.port)
        assert (await sip.next(want=lambda m: m.status == 180)).status == 180
        sip.send(req("CANCEL", ep.port, call_id="c3", branch="z9hG4bKring", via_port=sip.port),
                 ep.port)
        got = {(await sip.next()).status for _ in range(2)}
        assert got == {200, 487} and "c3" not in ep.calls
        ep.ring_s = 0.0

        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        writer.write(req("INVITE", ep.port, call_id="tcp1", body=offer(media.port))
                     .replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP"))
        seen, buf = [], bytearray()
        while 200 not in seen:
            buf += await asyncio.wait_for(reader.read(65536), 3)
            while (data := frame(buf)) is not None:
                seen.append(parse(data).status)
        assert seen == [100, 200]
        writer.close()
        await ep.stop()
    run(main())


def test_late_offer_is_answered_in_the_ack():
    async def main():
        h = Handler()
        ep = Endpoint("127.0.0.1", 0, on_call=h)
        await ep.start()
        sip, media = await peer(), await peer()
        sip.send(req("INVITE", ep.port, call_id="late", via_port=sip.port), ep.port)
        ok = await sip.next(want=lambda m: m.status == 200)
        assert b"m=audio" in ok.body and b"PCMU" in ok.body           # our offer
        sip.send(req("ACK", ep.port, call_id="late", to_tag=param(ok.get("To"), "tag"),
                     via_port=sip.port, body=sdp.build("127.0.0.1", media.port, [(8, "PCMA")])),
                 ep.port)
        pkt = rtp.parse((await media.q.get())[0])
        assert pkt.payload_type == 8 and h.calls[0].codec == "PCMA"
        await ep.stop()
    run(main())


class Registrar(asyncio.DatagramProtocol):
    """A minimal registrar: 401 with a nonce, then checks the digest answer (digest.verify)."""

    def __init__(self, password):
        self.password, self.bindings = password, []

    def connection_made(self, transport):
        self.transport = transport
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data, addr):
        m = parse(data)
        auth = m.get("Authorization")
        if auth is None:
            r = response(m, 401, headers=[("WWW-Authenticate",
                                           'Digest realm="pbx", nonce="abc123", qop="auth"')])
        elif digest.verify(auth, self.password, "REGISTER", realm="pbx", nonce="abc123"):
            self.bindings.append((m.get("Contact"), m.get("Expires")))
            r = response(m, 200, headers=[("Contact", f"{m.get('Contact')};expires=120")])
        else:
            r = response(m, 403)
        self.transport.sendto(r.to_bytes(), addr)


def test_register_with_digest_auth():
    async def main():
        ep = Endpoint("127.0.0.1", 0)
        await ep.start()
        _, reg_srv = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: Registrar("s3cret"), local_addr=("127.0.0.1", 0))
        reg = Registration(ep, f"127.0.0.1:{reg_srv.port}", "1001", "s3cret", domain="pbx")
        task = asyncio.ensure_future(reg.run())
        await asyncio.wait_for(reg.registered.wait(), 5)
        assert reg.state == "registered" and reg.granted == 120
        assert reg_srv.bindings[0][0] == f"<sip:1001@127.0.0.1:{ep.port}>"
        task.cancel()
        await reg.stop()
        assert reg_srv.bindings[-1][1] == "0"                    # unregistered on stop
        wrong = Registration(ep, f"127.0.0.1:{reg_srv.port}", "1001", "guess", domain="pbx")
        assert (await wrong.register_once()).status == 403
        await ep.stop()
    run(main())
