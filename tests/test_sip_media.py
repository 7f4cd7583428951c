"""G.711, SDP offer/answer and digest auth: the pieces of the line that are pure functions.

Pins: G.711 reference values (µ-law and A-law zero, full scale) and that every code
decodes and re-encodes to itself; a speech-like signal survives a round trip with the
expected ~38 dB SNR (no audioop anywhere); the SDP answer picks the offerer's first G.711
codec, copies telephone-event's dynamic payload type, mirrors hold, refuses non-G.711;
digest auth reproduces RFC 2617's worked example and a registrar-side check accepts our
answer and refuses a wrong password.
"""

from __future__ import annotations

import math
from array import array
from pathlib import Path

import pytest

from voice.sip import digest, g711, sdp


def test_g711_reference_values():
    assert g711.linear_to_ulaw(0) == 0xFF and g711.linear_to_alaw(0) == 0xD5
    assert g711.ulaw_to_linear(0x00) == -32124 and g711.ulaw_to_linear(0x80) == 32124
    assert g711.alaw_to_linear(0x2A) == -32256 and g711.alaw_to_linear(0xAA) == 32256
    assert g711.linear_to_ulaw(32767) == 0x80 and g711.linear_to_ulaw(-32768) == 0x00


@pytest.mark.parametrize("law", ["PCMU", "PCMA"])
def test_g711_codes_round_trip(law):
    codes = bytes(range(256))
    again = g711.encode(g711.decode(codes, law), law)
    differ = [c for c in range(256) if again[c] != codes[c]]
    assert differ == ([0x7F] if law == "PCMU" else [])   # µ-law's "negative zero" -> 0xFF


@pytest.mark.parametrize("law", ["PCMU", "PCMA"])
def test_g711_speech_band_snr(law):
    x = array("h", (int(9000 * math.sin(2 * math.pi * 440 * i / 8000)
                        + 3000 * math.sin(2 * math.pi * 1270 * i / 8000)) for i in range(8000)))
    y = array("h")
    y.frombytes(g711.decode(g711.encode(x.tobytes(), law), law))
    noise = sum((a - b) ** 2 for a, b in zip(x, y, strict=True))
    signal = sum(a * a for a in x)
    assert 10 * math.log10(signal / noise) > 30


def test_no_audioop_in_the_line():
    root = Path(__file__).resolve().parents[1] / "voice"
    for path in root.rglob("*.py"):
        assert "import audioop" not in path.read_text(encoding="utf-8"), path


OFFER = b"""v=0\r
o=- 1 1 IN IP4 10.0.0.1\r
s=-\r
c=IN IP4 127.0.0.5\r
t=0 0\r
m=audio 40000 RTP/AVP 9 8 0 96 101\r
a=rtpmap:9 G722/8000\r
a=rtpmap:96 telephone-event/16000\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-16\r
a=sendrecv\r
"""


def test_sdp_answer_prefers_offer_order_and_copies_dtmf_pt():
    neg = sdp.answer(sdp.parse(OFFER))
    assert (neg.codec, neg.payload_type, neg.dtmf_pt) == ("PCMA", 8, 101)
    assert neg.remote == ("127.0.0.5", 40000) and neg.direction == "sendrecv"
    body = sdp.answer_body(neg, "127.0.0.1", 5004, 7, 1).decode()
    assert "m=audio 5004 RTP/AVP 8 101\r\n" in body and "a=rtpmap:101 telephone-event/8000" in body
    again = sdp.answer(sdp.parse(body.encode()))
    assert (again.codec, again.dtmf_pt) == ("PCMA", 101)


def test_sdp_hold_and_refusals():
    hold = sdp.answer(sdp.parse(OFFER.replace(b"a=sendrecv", b"a=sendonly")))
    assert hold.direction == "recvonly"
    assert sdp.answer(sdp.parse(OFFER.replace(b" 8 0 96", b" 96"))) is None    # no G.711
    assert sdp.parse(OFFER.replace(b"m=audio 40000", b"m=audio 0")) is None     # stream off
    assert sdp.parse(b"\xff\xfe") is None
    assert sdp.parse(b"v=0\r\nm=audio x RTP/AVP 0\r\n") is None
    # static payload types need no rtpmap; media-level c= wins
    neg = sdp.answer(sdp.parse(b"v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 9 RTP/AVP 0\r\n"
                               b"c=IN IP4 127.0.0.9\r\n"))
    assert (neg.codec, neg.remote, neg.dtmf_pt) == ("PCMU", ("127.0.0.9", 9), None)


def test_digest_rfc2617_example():
    ch = digest.parse_challenge('Digest realm="testrealm@host.com", qop="auth,auth-int", '
                                'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
                                'opaque="5ccc069c403ebaf9f0171e9517f40e41"')
    header = digest.authorization(ch, "Mufasa", "Circle Of Life", "GET", "/dir/index.html",
                                  cnonce="0a4f113b")
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header and "nc=00000001" in header


@pytest.mark.parametrize("extra", ["", ', qop="auth"', ", algorithm=SHA-256, qop=auth"])
def test_digest_verify_round_trip(extra):
    ch = digest.parse_challenge(f'Digest realm="lianxin", nonce="n0nce"{extra}')
    header = digest.authorization(ch, "1001", "s3cret", "REGISTER", "sip:pbx.local")
    assert digest.verify(header, "s3cret", "REGISTER", realm="lianxin", nonce="n0nce")
    assert not digest.verify(header, "wrong", "REGISTER", realm="lianxin", nonce="n0nce")
    assert not digest.verify(header, "s3cret", "REGISTER", realm="lianxin", nonce="other")


def test_digest_refuses_what_it_cannot_answer():
    with pytest.raises(ValueError):
        digest.parse_challenge('Basic realm="x"')
    with pytest.raises(ValueError):
        digest.parse_challenge('Digest realm="x"')
    with pytest.raises(ValueError):
        digest.authorization(digest.parse_challenge('Digest realm="x", nonce="y", qop="auth-int"'),
                             "u", "p", "REGISTER", "sip:x")
