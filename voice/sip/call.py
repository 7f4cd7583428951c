"""One call as the rest of the program sees it: events in a queue, audio out, hang up.

States (STYLE 5: a ``str`` Enum, transitions only through the endpoint):

    RINGING --200 OK sent--> ANSWERED --ACK--> ACTIVE --BYE either way--> ENDED
       |                        |                 \\--hangup()--> ENDING --200/timeout--> ENDED
       \\--CANCEL--> ENDED       \\--no ACK in 64*T1, or evicted--> ENDED (+ BYE)

RINGING and ANSWERED are *pending*: no RTP is sent and the consumer is not started until
the ACK confirms the call (``confirmed_at``); a pending call given up never reaches it.

Events the call's consumer (``voice.phone``) reads from ``events``:

    ("dtmf", "5")          a key, from RFC 4733 or SIP INFO
    ("audio", pcm)         20 ms of the caller's voice, 16-bit 8 kHz PCM
    ("played", token)      a queued sound has been sent to its end
    ("hangup", who)        "remote" (BYE/CANCEL), "local", or "timeout"; always the last
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

from .media import RtpSession
from .message import SipMessage, name_addr, uri_user

__all__ = ["Call", "CallState"]


class CallState(enum.StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    ACTIVE = "active"
    ENDING = "ending"
    ENDED = "ended"


@dataclass
class _Source:
    """Where a request came from and how to reach it again (UDP address or TCP stream)."""
    transport: str                       # "UDP" | "TCP"
    addr: tuple[str, int]
    writer: asyncio.StreamWriter | None = None


class Call:
    def __init__(self, invite: SipMessage, source: _Source, local_tag: str,
                 media: RtpSession, endpoint):
        self.call_id = invite.call_id
        self.invite = invite
        self.source = source
        self.local_tag = local_tag
        self.media = media
        self._endpoint = endpoint
        self.state = CallState.RINGING
        self.events: asyncio.Queue = asyncio.Queue()
        display, uri, _ = name_addr(invite.get("From") or "")
        self.caller = uri_user(uri)
        self.caller_name = display
        self.remote_from = invite.get("From") or ""
        self.local_to = invite.get("To") or ""
        self.remote_target = name_addr(invite.get("Contact") or "")[1] or uri
        self.route_set = invite.get_all("Record-Route")
        self.local_cseq = 1
        self.sdp_version = 1
        self.answered_at: float | None = None            # loop time the 200 was sent
        self.pending_since = asyncio.get_running_loop().time()   # INVITE, then the 200
        self.confirmed_at: float | None = None           # loop time of the ACK
        self.confirmed = asyncio.Event()
        self.ended = asyncio.Event()
        self.hangup_by: str | None = None

    def __repr__(self) -> str:
        return f"<Call {self.call_id[:12]} from {self.caller or '?'} {self.state.value}>"

    @property
    def codec(self) -> str | None:
        return self.media.neg.codec if self.media.neg else None

    def play(self, pcm8k: bytes, token: object = None) -> None:
        """Queue 8 kHz 16-bit mono PCM behind what is already playing."""
        if self.state not in (CallState.ENDING, CallState.ENDED):
            self.media.play(pcm8k, token)

    def stop_playing(self) -> list[object]:
        """Barge-in: cut what is playing and drop the queue."""
        return self.media.stop_playing()

    @property
    def playing(self) -> bool:
        return self.media.playing

    def hangup(self) -> None:
        """End the call from our side (BYE); ``("hangup", "local")`` follows."""
        self._endpoint._hangup(self)

    async def wait_ended(self) -> None:
        await self.ended.wait()

    # -- used by the endpoint ----------------------------------------------------------

    def _event(self, kind: str, value: object = None) -> None:
        if self.state is not CallState.ENDED:
            self.events.put_nowait((kind, value))

    def _finish(self, who: str) -> None:
        if self.state is CallState.ENDED:
            return
        self.hangup_by = who
        self.events.put_nowait(("hangup", who))
        self.state = CallState.ENDED
        self.ended.set()
