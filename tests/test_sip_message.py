"""SIP and RTP parsing on the RFCs' own example messages, and on malformed ones.

Pins: RFC 3261's INVITE, REGISTER and multi-Via 200 OK (with folded lines) parse to the
right start line, headers and body; compact names and LF-only line ends are read; a reply
copies Via/From/To/Call-ID/CSeq and adds a To tag; TCP framing by Content-Length; RFC 4733
telephone-event payloads and SIP INFO bodies give their digit; RTP with CSRCs, extension
and padding parses, junk does not. Every malformed message raises SipParseError, never
anything else, and carries a partial message only when a 400 can be addressed.
"""

from __future__ import annotations

import pytest

from voice.sip import dtmf, rtp
from voice.sip.message import (
    SipParseError,
    frame,
    name_addr,
    param,
    parse,
    response,
    uri_host_port,
    uri_user,
)

# RFC 3261 §24.2, F1 (Alice's INVITE), with its SDP body.
SDP = ("v=0\r\no=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n"
       "s=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\n"
       "a=rtpmap:0 PCMU/8000\r\n")
INVITE = ("INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
          "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n"
          "Max-Forwards: 70\r\n"
          "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
          "To: Bob <sip:bob@biloxi.example.com>\r\n"
          "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
          "CSeq: 1 INVITE\r\n"
          "Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n"
          "Content-Type: application/sdp\r\n"
          "Content-Length: 151\r\n\r\n" + SDP).encode()
# RFC 3261 §24.1, F1 (Bob registers).
REGISTER = b"""REGISTER sip:registrar.biloxi.com SIP/2.0\r
Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7\r
Max-Forwards: 70\r
To: Bob <sip:bob@biloxi.com>\r
From: Bob <sip:bob@biloxi.com>;tag=456248\r
Call-ID: 843817637684230@998sdasdh09\r
CSeq: 1826 REGISTER\r
Contact: <sip:bob@192.0.2.4>\r
Expires: 7200\r
Content-Length: 0\r
\r
"""
# RFC 3261 §4 / §24.2 F6 style 200 OK: three Vias with folded ;received lines.
OK = b"""SIP/2.0 200 OK\r
Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1\r
 ;received=192.0.2.3\r
Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1\r
 ;received=192.0.2.2\r
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds ;received=192.0.2.1\r
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r
From: Alice <sip:alice@atlanta.com>;tag=1928301774\r
Call-ID: a84b4c76e66710@pc33.atlanta.com\r
CSeq: 314159 INVITE\r
Contact: <sip:bob@192.0.2.4>\r
Content-Length: 0\r
\r
"""


def test_rfc3261_invite():
    assert len(SDP) == 151                      # the RFC's own Content-Length
    m = parse(INVITE)
    assert (m.method, m.uri, m.is_request) == ("INVITE", "sip:bob@biloxi.example.com", True)
    assert m.cseq == (1, "INVITE")
    assert m.call_id == "3848276298220188511@atlanta.example.com"
    assert m.branch == "z9hG4bK74bf9"
    assert m.body == SDP.encode()
    assert name_addr(m.get("From")) == ("Alice", "sip:alice@atlanta.example.com",
                                        ";tag=9fxced76sl")
    assert param(m.get("From"), "tag") == "9fxced76sl"
    assert param(m.get("To"), "tag") is None
    assert uri_user(name_addr(m.get("From"))[1]) == "alice"
    assert uri_host_port(name_addr(m.get("Contact"))[1]) == ("client.atlanta.example.com", 5060)
    # what we build parses back to the same message
    again = parse(m.to_bytes())
    assert (again.headers, again.body) == (m.headers, m.body)


def test_rfc3261_register_and_response_with_folded_vias():
    r = parse(REGISTER)
    assert r.method == "REGISTER" and r.cseq == (1826, "REGISTER") and r.get("expires") == "7200"
    ok = parse(OK)
    assert (ok.status, ok.reason, ok.is_request) == (200, "OK", False)
    vias = ok.get_all("Via")
    assert len(vias) == 3
    assert param(vias[0], "received") == "192.0.2.3"
    assert ok.branch == "z9hG4bK4b43c2ff8.1"
    assert ok.cseq == (314159, "INVITE")


def test_compact_names_lf_only_and_comma_joined_vias():
    raw = (b"OPTIONS sip:carol@chicago.com SIP/2.0\n"
           b"v: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP b.example;branch=z9hG4bK2\n"
           b"f: <sip:alice@atlanta.com>;tag=1\nt: sip:carol@chicago.com\n"
           b"i: abc@x\nCSeq: 9 OPTIONS\nl: 0\n\n")
    m = parse(raw)
    assert m.get("Call-ID") == "abc@x" and m.get("content-length") == "0"
    assert [param(v, "branch") for v in m.get_all("Via")] == ["z9hG4bK1", "z9hG4bK2"]
    assert uri_user(name_addr(m.get("To"))[1]) == "carol"


def test_response_copies_dialog_headers_and_adds_to_tag():
    req = parse(INVITE)
    resp = parse(response(req, 180, to_tag="abc").to_bytes())
    assert resp.status == 180 and resp.reason == "Ringing"
    for h in ("Via", "From", "Call-ID", "CSeq"):
        assert resp.get(h) == req.get(h)
    assert param(resp.get("To"), "tag") == "abc"
    trying = response(req, 100, to_tag="abc")
    assert param(trying.get("To"), "tag") is None      # no tag on 100 (§8.2.6.2)


def test_extra_bytes_after_body_are_ignored_on_udp():
    m = parse(REGISTER + b"garbage after the message")
    assert m.body == b""


def test_tcp_framing():
    buf = bytearray(b"\r\n\r\n" + INVITE + REGISTER[:40])
    assert frame(buf) == INVITE
    assert frame(buf) is None                   # half a message: wait for more
    buf += REGISTER[40:]
    assert frame(buf) == REGISTER and not buf
    with pytest.raises(SipParseError):
        frame(bytearray(b"OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\n"))   # no Content-Length


def _mutate(old: bytes, new: bytes) -> bytes:
    assert old in INVITE
    return INVITE.replace(old, new)


MALFORMED = {
    "garbage": (b"\x00\xff\x13 not sip at all", False),
    "empty": (b"\r\n\r\n\r\n", False),
    "bad version": (_mutate(b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia"), False),
    "bad status": (OK.replace(b"200 OK", b"20 OK"), False),
    "no colon": (_mutate(b"Max-Forwards: 70", b"Max-Forwards 70"), True),
    "no CSeq": (_mutate(b"CSeq: 1 INVITE\r\n", b""), False),
    "no Call-ID": (_mutate(b"Call-ID: 3848276298220188511@atlanta.example.com\r\n", b""), False),
    "CSeq not a number": (_mutate(b"CSeq: 1 INVITE", b"CSeq: one INVITE"), True),
    "CSeq method mismatch": (_mutate(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"), True),
    "CSeq too big": (_mutate(b"CSeq: 1 INVITE", b"CSeq: 99999999999 INVITE"), True),
    "negative length": (_mutate(b"Content-Length: 151", b"Content-Length: -5"), True),
    "body cut short": (_mutate(b"Content-Length: 151", b"Content-Length: 999"), True),
    "not utf-8 headers": (_mutate(b"Bob <", b"B\xffb <"), False),
    "huge": (INVITE + b"x" * 70000, False),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_messages_raise_parse_error_only(name):
    data, answerable = MALFORMED[name]
    with pytest.raises(SipParseError) as e:
        parse(data)
    assert (e.value.message is not None) is answerable


def test_rfc4733_telephone_event_payload_and_receiver():
    # RFC 4733 §2.3: event 5, end bit, volume 10, duration 1600 (200 ms at 8 kHz)
    ev = dtmf.parse_event(bytes([5, 0x80 | 10]) + (1600).to_bytes(2, "big"))
    assert (ev.digit, ev.end, ev.volume, ev.duration) == ("5", True, 10, 1600)
    assert dtmf.parse_event(ev.to_bytes()) == ev
    rx = dtmf.DtmfReceiver()
    start, update, end = (dtmf.TelephoneEvent(11, e, 10, d).to_bytes()
                          for e, d in ((False, 160), (False, 320), (True, 800)))
    got = [rx.feed(1000, p) for p in (start, update, end, end, end)]
    assert got == ["#", None, None, None, None]     # once per key press, at its start
    assert rx.feed(5000, dtmf.TelephoneEvent(10, False, 10, 160).to_bytes()) == "*"
    assert rx.feed(9000, dtmf.TelephoneEvent(16, False, 10, 160).to_bytes()) is None  # flash
    with pytest.raises(ValueError):
        dtmf.parse_event(b"\x01")


@pytest.mark.parametrize("ctype, body, digit", [
    ("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", "5"),
    ("application/dtmf-relay", b"Signal= #\r\nDuration=100", "#"),
    ("application/dtmf-relay", b"Signal=11\r\n", "#"),
    ("application/dtmf", b"*", "*"),
    ("application/dtmf-relay", b"Duration=160", None),
    ("application/dtmf", b"55", None),
    ("text/plain", b"5", None),
])
def test_sip_info_dtmf_bodies(ctype, body, digit):
    assert dtmf.digit_from_info(ctype, body) == digit


def test_rtp_packets():
    pkt = rtp.RtpPacket(0, 65535, 2**32 - 1, 0xDEADBEEF, b"\xff" * 160, marker=True)
    assert rtp.parse(pkt.to_bytes()) == pkt
    # two CSRCs, a one-word extension, 3 bytes of padding
    raw = (bytes([0x80 | 0x20 | 0x10 | 2, 8]) + (7).to_bytes(2, "big") + (160).to_bytes(4, "big")
           + (1).to_bytes(4, "big") + b"\0" * 8 + b"\xbe\xde\x00\x01" + b"\0" * 4
           + b"\xd5" * 160 + b"\0\0\x03")
    p = rtp.parse(raw)
    assert (p.payload_type, p.seq, p.timestamp, p.payload) == (8, 7, 160, b"\xd5" * 160)
    for bad in (b"", b"\x80" * 11, b"\x40" + b"\0" * 20,           # short, version 1
                bytes([0x80, 200]) + b"\0" * 30,                   # RTCP on the RTP port
                bytes([0xA0, 0]) + b"\0" * 10 + b"\x00",            # padding count 0
                bytes([0xA0, 0]) + b"\0" * 10 + b"\xff",            # padding past the header
                bytes([0x8F, 0]) + b"\0" * 20,                     # 15 CSRCs announced
                bytes([0x90, 0]) + b"\0" * 10):                    # extension cut short
        with pytest.raises(rtp.RtpError):
            rtp.parse(bad)
