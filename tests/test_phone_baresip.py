"""The phone line answering a real caller: baresip on 127.0.0.1 (Debian ``baresip``).

baresip dials the line, sends keys through its ctrl_tcp socket (RFC 4733 events), plays an
8 kHz WAV as its microphone and dumps what it hears to a WAV (sndfile module). Pins:

* what the caller hears is our speech, of the length we sent (welcome + goodbye back to
  back: energy over time, 20 ms frames), and the line hangs up after the goodbye;
* a key pressed over a prompt cuts it (barge-in) and the next prompt plays; hang-up by
  the caller reaches the dialog as HungUp;
* the real IVR dialog (``voice.dialog``) through the line: member number by keypad
  ("4#" finds QS004), PIN 1234, "1" for dues, caller hangs up -> a call record with the
  member and the path through the menus.
"""

from __future__ import annotations

import asyncio

import pytest
from sipcallers import BARESIP, Baresip, frame_rms

from voice import dialog_types as dt
from voice.pcm import read_wav, wav_bytes
from voice.phone import Line
from voice.phone_prompts import PHONE_CATALOGUE
from voice.prompts import PromptCache
from voice.sip import Endpoint
from voice.tts import Pyttsx3Engine

pytestmark = pytest.mark.skipif(BARESIP is None, reason="Debian package baresip not installed")


@pytest.fixture(scope="module")
def prompts(tmp_path_factory):
    root = tmp_path_factory.mktemp("prompts")
    return PromptCache(root / "cache", Pyttsx3Engine(), overrides_dir=root / "overrides",
                       catalogue=PHONE_CATALOGUE)


@pytest.fixture
def mic(tmp_path):
    """Silence as the microphone, long enough for any call here: baresip hangs up when its
    aufile source reaches the end of the file ("audio error (0,end of file)")."""
    path = tmp_path / "mic.wav"
    path.write_bytes(wav_bytes(bytes(8000 * 2 * 60), 8000))
    return path


class TinyDialog:
    """welcome -> (1: menu) -> (#: goodbye) -> hang up; or welcome, then goodbye."""

    grammar: list[str] = []

    def __init__(self):
        self.seen = []

    def start(self, caller):
        self.seen.append(("start", caller))
        return [dt.PlayPrompt(1, "phone.welcome", "")]

    def handle(self, e):
        self.seen.append(type(e).__name__ if not isinstance(e, dt.Digit) else e.key)
        if isinstance(e, dt.Digit) and e.key == "1":
            return [dt.StopPlaying(), dt.PlayPrompt(2, "phone.menu", "")]
        if isinstance(e, dt.Digit) and e.key == "#" or isinstance(e, dt.PlayDone) and e.seq == 1:
            return [dt.StopPlaying(), dt.PlayPrompt(3, "phone.goodbye", "")]
        if isinstance(e, dt.PlayDone) and e.seq == 3:
            return [dt.HangUp()]
        return []


def run_call(tmp_path, mic, line, script):
    async def main():
        ep = Endpoint("127.0.0.1", 0, on_call=line.on_call)
        await ep.start()
        caller = Baresip(tmp_path / "baresip", mic)
        await caller.start()
        try:
            caller.command("dial", f"sip:ivr@127.0.0.1:{ep.port}")
            await caller.wait_event("CALL_ESTABLISHED")
            await script(caller, ep)
            await caller.wait_event("CALL_CLOSED", timeout=30)
            for _ in range(100):
                if not ep.calls and not line.active:
                    break
                await asyncio.sleep(0.05)
        finally:
            await caller.stop()
            await ep.stop()
        return caller, ep
    return asyncio.run(asyncio.wait_for(main(), 120))


def test_caller_hears_welcome_and_goodbye_then_line_hangs_up(tmp_path, mic, prompts):
    dialog = TinyDialog()
    line = Line(lambda call: dialog, prompts)

    async def script(caller, ep):
        pass                                  # just listen; the line ends the call

    caller, ep = run_call(tmp_path, mic, line, script)
    assert dialog.seen[0] == ("start", "caller")
    assert dialog.seen[-2:] == ["PlayDone", "PlayDone"]   # goodbye done, then the line hung up
    assert ep.stats["ended"] == 1 and ep.stats["malformed"] == 0

    sent = len(prompts.pcm("phone.welcome", 8000)) + len(prompts.pcm("phone.goodbye", 8000))
    heard, rate = read_wav(caller.heard())
    assert rate == 8000
    rms = frame_rms(heard, 8000)
    loud = [i for i, v in enumerate(rms) if v > 300]
    span_s = (loud[-1] - loud[0] + 1) * 0.02
    expected_s = sent / 2 / 8000
    # speech fills the span the prompts take (espeak pauses a little between words)...
    assert abs(span_s - expected_s) < 0.5, (span_s, expected_s)
    assert len(loud) * 0.02 > 0.6 * expected_s
    # ...and it is speech, not a tone or noise: its loudness moves from frame to frame
    voiced = [rms[i] for i in loud]
    assert max(voiced) > 3 * sorted(voiced)[len(voiced) // 4]


def test_key_barges_in_and_caller_hangs_up(tmp_path, mic, prompts):
    dialog = TinyDialog()
    line = Line(lambda call: dialog, prompts)

    async def script(caller, ep):
        await asyncio.sleep(0.8)               # into the welcome
        await caller.keys("1")
        await asyncio.sleep(1.0)               # into the menu
        caller.command("hangup")

    caller, ep = run_call(tmp_path, mic, line, script)
    assert "1" in dialog.seen and dialog.seen[-1] == "HungUp"
    assert "PlayDone" not in dialog.seen       # welcome cut short, menu never finished
    heard, _ = read_wav(caller.heard())
    full = (len(prompts.pcm("phone.welcome", 8000)) + len(prompts.pcm("phone.menu", 8000))) / 16000
    assert len(heard) / 16000 < full - 1.0     # what played was cut, not queued behind


def test_keypad_journey_through_the_real_dialog(tmp_path, mic, prompts, demo_store):
    from core import calls
    from voice.dialog import Dialog, State

    line = Line(lambda call: Dialog(demo_store, rate_hz=8000, call_id=call.call_id), prompts)

    async def state_is(state, timeout=20.0):
        for _ in range(int(timeout / 0.05)):
            if any(r.dialog is not None and r.dialog.state is state
                   for r in line.active.values()):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"dialog never reached {state}")

    async def script(caller, ep):
        await asyncio.sleep(0.5)
        await caller.keys("4#")                # member number over the welcome
        await state_is(State.ASK_PIN)
        await caller.keys("1234")
        await state_is(State.MENU)
        await caller.keys("1")                 # dues status
        await asyncio.sleep(2.5)
        caller.command("hangup")

    run_call(tmp_path, mic, line, script)
    record = calls.list_calls(demo_store)[0]
    assert record["caller"] == "caller" and record["member_no"] == "QS004"
    assert "pin_ok" in record["path"] and "dues" in record["path"]
