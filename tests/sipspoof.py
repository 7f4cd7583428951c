"""Forged INVITEs for the open-network tests: a "victim" at a loopback address other than
127.0.0.1 (Linux routes all of 127/8 to lo, so each spoofer can have its own source
address), whose SIP socket receives whatever the line sends back and whose "RTP port" (the
one the forged SDP names) counts every datagram that reaches it. The spoofer never ACKs.

Not a test module: imported by ``test_sip_open_network.py`` and ``test_phone_flood.py``.
"""

from __future__ import annotations

import asyncio
import os

from voice.sip import sdp
from voice.sip.message import SipMessage, parse


class Counter(asyncio.DatagramProtocol):
    """A UDP socket that keeps (arrival time, bytes) of everything it receives."""

    def __init__(self):
        self.got: list[tuple[float, bytes]] = []

    def connection_made(self, transport):
        self.transport = transport
        self.addr = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data, addr):
        self.got.append((asyncio.get_running_loop().time(), data))

    def messages(self) -> list[tuple[float, SipMessage]]:
        return [(t, parse(d)) for t, d in self.got]

    @property
    def bytes(self) -> int:
        return sum(len(d) for _, d in self.got)


async def counter(ip: str) -> Counter:
    _, proto = await asyncio.get_running_loop().create_datagram_endpoint(
        Counter, local_addr=(ip, 0))
    return proto


def invite(line_port: int, sip_addr: tuple[str, int], rtp_addr: tuple[str, int],
           call_id: str | None = None, branch: str | None = None) -> bytes:
    """An INVITE as a SIP phone sends it (about 500 bytes): Via and Contact at ``sip_addr``,
    SDP asking for RTP at ``rtp_addr``."""
    ip, port = sip_addr
    m = SipMessage(method="INVITE", uri=f"sip:ivr@127.0.0.1:{line_port}")
    m.add("Via", f"SIP/2.0/UDP {ip}:{port};branch={branch or 'z9hG4bK' + os.urandom(5).hex()}")
    m.add("Max-Forwards", "70")
    m.add("From", f"<sip:13900000000@{ip}>;tag={os.urandom(4).hex()}")
    m.add("To", "<sip:ivr@127.0.0.1>")
    m.add("Call-ID", call_id or f"{os.urandom(8).hex()}@{ip}")
    m.add("CSeq", "1 INVITE")
    m.add("Contact", f"<sip:13900000000@{ip}:{port}>")
    m.add("Content-Type", "application/sdp")
    m.body = sdp.build(rtp_addr[0], rtp_addr[1], [(0, "PCMU"), (8, "PCMA"),
                                                   (101, "telephone-event")])
    return m.to_bytes()


class Victim:
    """One forged source address: ``sip`` gets the line's SIP replies, ``rtp`` would get
    its RTP. ``spoof(n)`` sends n INVITEs (fresh Call-ID and branch each) from ``sip``."""

    def __init__(self, sip: Counter, rtp: Counter):
        self.sip, self.rtp, self.sent = sip, rtp, 0
        self.invites: list[bytes] = []

    @classmethod
    async def at(cls, ip: str) -> Victim:
        return cls(await counter(ip), await counter(ip))

    def spoof(self, line_port: int, n: int = 1, **kw) -> None:
        for _ in range(n):
            data = invite(line_port, self.sip.addr, self.rtp.addr, **kw)
            self.send(data, line_port)
            self.invites.append(data)

    def send(self, data: bytes, line_port: int) -> None:
        self.sip.transport.sendto(data, ("127.0.0.1", line_port))
        self.sent += len(data)

    def close(self) -> None:
        self.sip.transport.close()
        self.rtp.transport.close()
