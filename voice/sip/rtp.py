"""RTP packets (RFC 3550): parse what a caller sends, build what we send.

Only what a G.711 voice call needs: fixed header, CSRC list and header extension skipped,
padding removed. ``parse`` raises ``RtpError`` for anything that is not a version-2 RTP
packet of consistent length; the media layer drops such a packet and counts it, so a
malformed or hostile datagram never reaches the decoder or ends a call.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["RtpError", "RtpPacket", "SAMPLES_PER_FRAME", "FRAME_S", "parse"]

FRAME_S = 0.020              # 20 ms frames (RFC 3551 default packetisation for G.711)
SAMPLES_PER_FRAME = 160      # at 8 000 Hz
_HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    """Not a usable RTP packet."""


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def to_bytes(self) -> bytes:
        return _HEADER.pack(0x80, (0x80 if self.marker else 0) | (self.payload_type & 0x7F),
                            self.seq & 0xFFFF, self.timestamp & 0xFFFFFFFF,
                            self.ssrc & 0xFFFFFFFF) + self.payload


def parse(data: bytes) -> RtpPacket:
    if len(data) < 12:
        raise RtpError(f"{len(data)} bytes is shorter than an RTP header")
    b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
    if b0 >> 6 != 2:
        raise RtpError(f"RTP version {b0 >> 6}, not 2")
    pt = b1 & 0x7F
    if 72 <= pt <= 76:
        raise RtpError(f"RTCP packet (type {b1}) on the RTP port")
    offset = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:                                   # header extension
        if len(data) < offset + 4:
            raise RtpError("header extension cut short")
        offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
    end = len(data)
    if b0 & 0x20:                                   # padding: count in the last byte
        pad = data[-1]
        if pad == 0 or offset + pad > end:
            raise RtpError(f"bad padding length {pad}")
        end -= pad
    if offset > end:
        raise RtpError("CSRC list or extension longer than the packet")
    return RtpPacket(pt, seq, ts, ssrc, bytes(data[offset:end]), bool(b1 & 0x80))
