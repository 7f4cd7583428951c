"""A flood of 200 forged INVITEs that never ACK, then a real caller (baresip or sipp) on the
same line, with the line's production settings (T1 = 500 ms, ``Limits()``).

Pins (issue 10, "SIP on an open network"):
* 200 INVITEs from 200 forged addresses (127.0.0.2-201: per-source limits cannot bite)
  then baresip: the call is established <= 5 s after the flood, and baresip hears the
  line's beep;
* 200 INVITEs from one forged address, then sipp's UAC: its call (INVITE, 200, ACK, RTP,
  BYE) passes, <= 5 s after the flood; most forged INVITEs get 503 with Retry-After;
* either way not one RTP packet reaches a port a forged SDP names, and what the line sends
  the forged addresses is bounded (bytes out per byte of forged INVITE).

Before issue 10 a 70-INVITE burst kept real calls at 486 for 75 s, and one forged INVITE
made the line send 1,774 RTP packets to the port it named.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sipcallers import BARESIP, SIPP, Baresip, frame_rms
from sipspoof import Victim
from test_phone_sipp import Beep

from voice.pcm import read_wav, wav_bytes
from voice.phone import Line
from voice.sip import Endpoint

FLOOD = 200
ANSWER_WITHIN_S = 5.0


async def flood(ep: Endpoint, addresses: int) -> list[Victim]:
    victims = [await Victim.at(f"127.0.0.{2 + i}") for i in range(addresses)]
    for i in range(FLOOD):
        victims[i % addresses].spoof(ep.port)
    return victims


def check_victims(victims: list[Victim]) -> float:
    """No RTP reached any forged SDP's port; bytes the line sent per byte forged."""
    assert not any(v.rtp.got for v in victims)
    sent = sum(v.sent for v in victims)
    assert sent > FLOOD * 400                      # INVITEs with SDP, ~500 bytes each
    return sum(v.sip.bytes for v in victims) / sent


@pytest.mark.skipif(BARESIP is None, reason="Debian package baresip not installed")
def test_flood_from_200_addresses_then_baresip_is_answered(tmp_path):
    mic = tmp_path / "mic.wav"
    mic.write_bytes(wav_bytes(bytes(8000 * 2 * 60), 8000))

    async def main():
        line = Line(lambda call: Beep(800, hang_up=True), prompts=None)
        ep = Endpoint("127.0.0.1", 0, on_call=line.on_call)
        await ep.start()
        caller = Baresip(tmp_path / "baresip", mic)
        await caller.start()
        try:
            victims = await flood(ep, FLOOD)
            flooded = time.monotonic()
            caller.command("dial", f"sip:ivr@127.0.0.1:{ep.port}")
            await caller.wait_event("CALL_ESTABLISHED", timeout=10)
            answered_s = time.monotonic() - flooded
            await caller.wait_event("CALL_CLOSED", timeout=10)   # the line hangs up
        finally:
            await caller.stop()
            await ep.stop()
        return answered_s, victims, ep
    answered_s, victims, ep = asyncio.run(asyncio.wait_for(main(), 60))
    print(f"\n200 INVITEs from 200 forged addresses, then baresip answered in {answered_s:.2f} s")
    assert answered_s <= ANSWER_WITHIN_S
    reached = sum(1 for v in victims if v.sip.got)   # the kernel may drop some of a burst
    assert reached > FLOOD // 2 and ep.stats["evicted"] >= reached - ep.limits.max_pending
    heard, rate = read_wav(caller_heard(tmp_path))
    assert sum(1 for v in frame_rms(heard, rate) if v > 1000) * 0.02 > 0.5   # the beep
    ratio = check_victims(victims)
    print(f"bytes sent to the forged addresses per forged byte: {ratio:.2f}")
    assert ratio < 3


def caller_heard(tmp_path):
    return sorted((tmp_path / "baresip" / "snd").glob("dump-*-dec.wav"))[-1]


@pytest.mark.skipif(SIPP is None, reason="Debian package sip-tester not installed")
def test_flood_from_one_address_then_sipp_is_answered(tmp_path):
    async def main():
        line = Line(lambda call: Beep(5000, hang_up=False), prompts=None)
        ep = Endpoint("127.0.0.1", 0, on_call=line.on_call)
        await ep.start()
        victims = await flood(ep, 1)
        flooded = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            SIPP, f"127.0.0.1:{ep.port}", "-i", "127.0.0.1", "-p", "0", "-mp", "0",
            "-sn", "uac", "-m", "1", "-d", "200", "-nostdin", "-timeout", "10s",
            "-trace_err", "-error_file", str(tmp_path / "sipp_errors.log"), cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        done_s = time.monotonic() - flooded
        await ep.stop()
        return proc.returncode, err.decode(errors="replace"), done_s, victims, ep
    rc, err, done_s, victims, ep = asyncio.run(asyncio.wait_for(main(), 60))
    print(f"\n200 INVITEs from one forged address, then sipp's call done in {done_s:.2f} s")
    assert rc == 0, err
    assert done_s <= ANSWER_WITHIN_S                # answered, 200 ms of call, BYE'd
    finals = [m for _, m in victims[0].sip.messages() if m.status >= 200]
    refused = [m for m in finals if m.status == 503]
    assert len(finals) > FLOOD // 2 and len(refused) >= len(finals) - ep.limits.per_source_burst
    assert all(m.get("Retry-After") for m in refused)
    ratio = check_victims(victims)
    print(f"bytes sent to the forged address per forged byte: {ratio:.2f}")
    assert ratio < 3
