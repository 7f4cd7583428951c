"""voice.sip: a small asyncio SIP/RTP stack for the phone line (why our own: docs/phone-line.md).

    message    SIP messages: parse, frame (TCP), build responses        (RFC 3261)
    sdp        offer/answer for one G.711 stream + telephone-event      (RFC 3264/4566)
    rtp        RTP packets                                              (RFC 3550)
    g711       µ-law/A-law tables, no audioop                           (ITU G.711)
    dtmf       telephone-events and SIP INFO digits                     (RFC 4733)
    digest     REGISTER digest auth, MD5 and SHA-256                    (RFC 2617/8760)
    media      per-call RTP socket; one 20 ms clock sending for all calls
    call       Call (state, events queue, play/stop/hangup)
    endpoint   Endpoint: UDP+TCP transport, in-dialog requests, ending calls
    invite     the INVITE server side: admitted, answered, confirmed by the ACK or given up
    transaction  RFC 3261 timers (T1/T2/64*T1), response cache, client transactions
    admission  Limits: new calls per source address (rate, caps) and unconfirmed calls
    register   Registration: REGISTER to a trunk, refreshed
"""

from .admission import Limits
from .call import Call, CallState
from .endpoint import Endpoint
from .message import SipMessage, SipParseError, parse
from .register import Registration
from .transaction import Timers

__all__ = ["Call", "CallState", "Endpoint", "Limits", "Registration", "SipMessage",
           "SipParseError", "Timers", "parse"]
