"""Load from a real SIP tester: sipp (Debian ``sip-tester``) places concurrent calls.

Pins: 10 calls at once from sipp's built-in UAC scenario are all answered, carry RTP and
are ended by the caller's BYE cleanly (sipp exits 0 only when every call passed); 8 calls
at once that the line ends itself (its dialog plays a beep and hangs up) are all closed by
our BYE and sipp's 200. Afterwards no call is left open and nothing was malformed.
"""

from __future__ import annotations

import asyncio

import pytest
from sipcallers import SIPP

from voice import dialog_types as dt
from voice.phone import Line
from voice.sip import Endpoint

pytestmark = pytest.mark.skipif(SIPP is None, reason="Debian package sip-tester not installed")

WE_HANG_UP = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="line hangs up">
  <send retrans="500"><![CDATA[
INVITE sip:ivr@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:ivr@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
]]></send>
  <recv response="100" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:ivr@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[last_From:]
[last_To:]
[last_Call-ID:]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>
</scenario>
"""


class Beep:
    """Plays a beep of ``ms``; hangs up after it when ``hang_up``."""

    grammar: list[str] = []

    def __init__(self, ms: int, hang_up: bool):
        self.ms, self.hang_up = ms, hang_up

    def start(self, caller):
        return [dt.PlayTone(1, 800, self.ms)]

    def handle(self, e):
        return [dt.HangUp()] if isinstance(e, dt.PlayDone) and self.hang_up else []


def sipp_against_line(args: list[str], tmp_path, dialog) -> tuple[int, Endpoint, str]:
    async def main():
        line = Line(lambda call: dialog(), prompts=None)
        ep = Endpoint("127.0.0.1", 0, on_call=line.on_call)
        await ep.start()
        proc = await asyncio.create_subprocess_exec(
            SIPP, f"127.0.0.1:{ep.port}", "-i", "127.0.0.1", "-p", "0", "-mp", "0",
            "-nostdin", "-timeout", "40s", "-trace_err", "-error_file",
            str(tmp_path / "sipp_errors.log"), *args, cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        for _ in range(40):
            if not ep.calls:
                break
            await asyncio.sleep(0.05)
        await ep.stop()
        return proc.returncode, ep, err.decode(errors="replace")
    return asyncio.run(asyncio.wait_for(main(), 90))


def test_ten_concurrent_calls_ended_by_the_caller(tmp_path):
    rc, ep, err = sipp_against_line(["-sn", "uac", "-m", "10", "-l", "10", "-r", "100",
                                     "-d", "1500"], tmp_path,
                                    lambda: Beep(5000, hang_up=False))
    assert rc == 0, err
    assert ep.stats == {"malformed": 0, "answered": 10, "ended": 10, "rejected": 0, "no_ack": 0,
                        "evicted": 0}
    assert not ep.calls


def test_eight_concurrent_calls_ended_by_the_line(tmp_path):
    (tmp_path / "hangup.xml").write_text(WE_HANG_UP)
    rc, ep, err = sipp_against_line(["-sf", str(tmp_path / "hangup.xml"), "-m", "8", "-l", "8",
                                     "-r", "100"], tmp_path,
                                    lambda: Beep(600, hang_up=True))
    assert rc == 0, err
    assert ep.stats["answered"] == ep.stats["ended"] == 8 and not ep.calls
