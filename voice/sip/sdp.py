"""SDP offer/answer (RFC 4566, RFC 3264) for one G.711 audio stream plus telephone-event.

We answer with the first of PCMU/PCMA in the offerer's order of preference and, when it is
offered, telephone-event (its dynamic payload type copied, as RFC 3264 §6.1 asks). An
offer with no G.711 gets ``None`` (the endpoint says 488). Direction: a caller putting us
on hold (sendonly/inactive) gets recvonly/inactive back, and we stop sending audio.
When an INVITE carries no SDP (a "late offer", some PBXes do this on re-INVITE) we make
the offer with ``offer`` and read the answer from the ACK.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["MediaOffer", "Negotiated", "answer", "answer_body", "build", "offer", "parse"]

_STATIC = {0: "PCMU", 8: "PCMA"}
_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_REPLY_DIRECTION = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
                    "inactive": "inactive"}


@dataclass
class MediaOffer:
    address: str
    port: int
    payload_types: list[int]
    rtpmap: dict[int, str] = field(default_factory=dict)     # pt -> "PCMU/8000"
    direction: str = "sendrecv"


@dataclass(frozen=True)
class Negotiated:
    codec: str                  # "PCMU" | "PCMA"
    payload_type: int
    dtmf_pt: int | None         # telephone-event payload type, None if not offered
    remote: tuple[str, int]     # where to send RTP
    direction: str              # our direction


def parse(body: bytes) -> MediaOffer | None:
    """The first audio stream of an SDP body, or None (no audio, port 0, unparsable)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    session_addr, media, direction = "", None, "sendrecv"
    for raw in text.splitlines():
        key, eq, value = raw.strip().partition("=")
        if not eq:
            continue
        if key == "c" and value.split()[:2] in (["IN", "IP4"], ["IN", "IP6"]):
            addr = value.split()[2].split("/")[0] if len(value.split()) > 2 else ""
            if media is None:
                session_addr = addr
            else:
                media.address = addr
        elif key == "m":
            if media is not None:
                break                      # only the first audio stream is ours
            parts = value.split()
            if len(parts) < 4 or parts[0] != "audio" or "RTP/AVP" not in parts[2]:
                continue
            try:
                port, pts = int(parts[1].split("/")[0]), [int(p) for p in parts[3:]]
            except ValueError:
                return None
            media = MediaOffer(session_addr, port, pts, direction=direction)
        elif key == "a":
            name, _, rest = value.partition(":")
            if name in _DIRECTIONS:
                if media is None:
                    direction = name
                else:
                    media.direction = name
            elif name == "rtpmap" and media is not None:
                pt, _, enc = rest.partition(" ")
                if pt.isdigit():
                    media.rtpmap[int(pt)] = enc.strip()
    if media is None or not media.address or not 0 < media.port < 65536:
        return None
    return media


def _encoding(media: MediaOffer, pt: int) -> str:
    name = media.rtpmap.get(pt) or _STATIC.get(pt, "")
    return name.split("/")[0].upper()


def answer(media: MediaOffer) -> Negotiated | None:
    codec_pt = next((pt for pt in media.payload_types
                     if _encoding(media, pt) in ("PCMU", "PCMA")), None)
    if codec_pt is None:
        return None
    dtmf_pt = next((pt for pt in media.payload_types
                    if _encoding(media, pt) == "TELEPHONE-EVENT"
                    and media.rtpmap.get(pt, "").endswith("/8000")), None)
    return Negotiated(_encoding(media, codec_pt), codec_pt, dtmf_pt,
                      (media.address, media.port), _REPLY_DIRECTION[media.direction])


def build(local_ip: str, port: int, pts: list[tuple[int, str]], direction: str = "sendrecv",
          session_id: int | None = None, version: int = 1) -> bytes:
    """An SDP body offering or answering ``pts`` [(payload type, encoding name)]."""
    sid = session_id if session_id is not None else int(time.time())
    lines = ["v=0", f"o=lianxin {sid} {version} IN IP4 {local_ip}", "s=lianxin",
             f"c=IN IP4 {local_ip}", "t=0 0",
             f"m=audio {port} RTP/AVP {' '.join(str(pt) for pt, _ in pts)}"]
    for pt, name in pts:
        lines.append(f"a=rtpmap:{pt} {name}/8000")
        if name == "telephone-event":
            lines.append(f"a=fmtp:{pt} 0-15")
    lines += ["a=ptime:20", f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode()


def answer_body(neg: Negotiated, local_ip: str, port: int, session_id: int,
                version: int) -> bytes:
    pts = [(neg.payload_type, neg.codec)]
    if neg.dtmf_pt is not None:
        pts.append((neg.dtmf_pt, "telephone-event"))
    return build(local_ip, port, pts, neg.direction, session_id, version)


def offer(local_ip: str, port: int, session_id: int, version: int) -> bytes:
    return build(local_ip, port, [(0, "PCMU"), (8, "PCMA"), (101, "telephone-event")],
                 "sendrecv", session_id, version)
