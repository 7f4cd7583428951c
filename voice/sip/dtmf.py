"""DTMF in: RFC 4733 telephone-events in RTP, and SIP INFO bodies.

RFC 4733 sends one event as several packets sharing one RTP timestamp (the event's start):
updates while the key is held, then the end packet three times. A digit is reported once,
on the first packet of a new timestamp, so the dialog reacts while the key is still down
(barge-in feels instant) and the retransmitted end packets are ignored.

SIP INFO carries ``application/dtmf-relay`` (``Signal=5\\r\\nDuration=160``, Cisco style)
or ``application/dtmf`` (just ``5``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["DIGITS", "DtmfReceiver", "TelephoneEvent", "digit_from_info", "parse_event"]

DIGITS = "0123456789*#ABCD"                       # event codes 0-15 (RFC 4733 §3.2)


@dataclass(frozen=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int
    duration: int

    @property
    def digit(self) -> str | None:
        return DIGITS[self.event] if self.event < len(DIGITS) else None

    def to_bytes(self) -> bytes:
        return struct.pack("!BBH", self.event, (0x80 if self.end else 0) | (self.volume & 0x3F),
                           self.duration & 0xFFFF)


def parse_event(payload: bytes) -> TelephoneEvent:
    if len(payload) < 4:
        raise ValueError(f"telephone-event payload of {len(payload)} bytes (needs 4)")
    event, flags, duration = struct.unpack_from("!BBH", payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


class DtmfReceiver:
    """Turns a stream of telephone-event packets into digits, each reported once."""

    def __init__(self):
        self._last_ts: int | None = None

    def feed(self, timestamp: int, payload: bytes) -> str | None:
        ev = parse_event(payload)
        if timestamp == self._last_ts or ev.digit is None:
            return None
        self._last_ts = timestamp
        return ev.digit


def digit_from_info(content_type: str, body: bytes) -> str | None:
    """The digit in a SIP INFO body, or None when the body is not a DTMF one."""
    ctype = content_type.split(";")[0].strip().lower()
    text = body.decode("utf-8", "replace").strip()
    if ctype == "application/dtmf-relay":
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip().lower() == "signal":
                text = value.strip()
                break
        else:
            return None
    elif ctype != "application/dtmf":
        return None
    if text == "10":
        return "*"
    if text == "11":
        return "#"
    return text.upper() if len(text) == 1 and text.upper() in DIGITS else None
