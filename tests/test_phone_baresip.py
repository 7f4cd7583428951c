"""The phone line answering a real caller: baresip on 127.0.0.1 (Debian ``baresip``).

baresip dials the line, sends keys through its ctrl_tcp socket (RFC 4733 events), plays an
8 kHz WAV as its microphone and dumps what it hears to a WAV (sndfile module). Pins:

* what the caller hears is our speech, of the length we sent (welcome + goodbye back to
  back: energy over time, 20 ms frames), and the line hangs up after the goodbye;
* a key pressed over a prompt cuts it (barge-in) and the next prompt plays; hang-up by
  the caller reaches the dialog as HungUp;
* the real IVR dialog (``voice.dialog`` on the demo branch) through the line, the caller
  identified by keypad (member number + #, PIN 1234):
  - "1" dues: the core's dues sentence is read; the caller hangs up -> a call record with
    the member and the path; the dialog's clock (Ticks) runs while the caller's RTP flows;
  - "2" a lesson: # pause / # resume / * back one sentence / 0 stop -> ONE study session,
    channel "phone", seconds at least the sentence heard whole and at most the call;
  - "0" a voice message: the caller's microphone switches to espeak-ng speech after the
    tone, # ends it -> the stored WAV (sha256 as recorded) holds speech of the length said;
  - three wrong tries in a call: the caller hears why and the goodbye, the line hangs up
    first, and the member is not locked out of the kiosk.
"""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from sipcallers import BARESIP, Baresip, frame_rms

from core import calls, dues, pins, study
from core.errors import AuthError
from voice import dialog_types as dt
from voice.dialog import Dialog, State
from voice.dialog_menu import dues_sentence
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
        if isinstance(e, dt.Tick | dt.Played):
            return []
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


# -- the real IVR dialog through the line ----------------------------------------------------

class WatchedDialog(Dialog):
    """The real dialog, also keeping what it was told (all but audio and Ticks, which are
    counted) and every action it gave, so a test can wait for a step and check the journey."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events, self.actions, self.ticks = [], [], 0

    def start(self, caller, t=0.0):
        actions = super().start(caller, t)
        self.actions.extend(actions)
        return actions

    def handle(self, event):
        actions = super().handle(event)
        if isinstance(event, dt.Tick):
            self.ticks += 1
        elif not isinstance(event, dt.AudioIn):
            self.events.append(event)
        self.actions.extend(actions)
        return actions

    def keys(self) -> str:
        return "".join(e.key for e in list(self.events) if isinstance(e, dt.Digit))

    def sentences(self) -> list[int]:
        return [a.index for a in list(self.actions) if isinstance(a, dt.PlaySentence)]


@pytest.fixture
def real_line(demo_store, prompts):
    dialogs: list[WatchedDialog] = []

    def factory(call):
        dialogs.append(WatchedDialog(demo_store, rate_hz=8000, call_id=call.call_id))
        return dialogs[-1]
    return Line(factory, prompts), dialogs


async def until(check, what: str, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"never happened: {what}")


async def reach(dialogs, state: State) -> None:
    await until(lambda: dialogs and dialogs[-1].state is state, f"dialog in {state}")


async def identify(caller, dialogs, number: str) -> None:
    """Member number by keypad over the welcome, then PIN 1234 -> main menu."""
    await asyncio.sleep(0.5)
    await caller.keys(number + "#")
    await reach(dialogs, State.ASK_PIN)
    await caller.keys("1234")
    await reach(dialogs, State.MENU)


def in_order(path: list[str], steps: list[str]) -> bool:
    rest = iter(path)
    return all(step in rest for step in steps)


def speech_span(pcm: bytes) -> tuple[float, list[float]]:
    """(seconds from the first to the last loud 20 ms frame, the loud frames' RMS)."""
    rms = frame_rms(pcm, 8000)
    loud = [i for i, v in enumerate(rms) if v > 300]
    assert loud, "no speech at all"
    return (loud[-1] - loud[0] + 1) * 0.02, [rms[i] for i in loud]


def is_speech(voiced: list[float]) -> bool:
    """Speech, not a tone or steady noise: its loudness moves from frame to frame."""
    return max(voiced) > 3 * sorted(voiced)[len(voiced) // 4]


def test_keypad_identification_and_dues_then_caller_hangs_up(tmp_path, mic, real_line,
                                                             demo_store):
    line, dialogs = real_line

    async def script(caller, ep):
        await identify(caller, dialogs, "4")   # "4" finds QS004 (owes 3 months)
        await caller.keys("1")                 # dues status
        await until(lambda: any(isinstance(a, dt.PlayText) for a in dialogs[0].actions),
                    "dues read")
        await asyncio.sleep(1.5)
        caller.command("hangup")

    run_call(tmp_path, mic, line, script)
    dialog = dialogs[0]
    record = calls.list_calls(demo_store)[0]
    assert record["caller"] == "caller" and record["member_no"] == "QS004"
    assert in_order(record["path"], ["ask_number", "ask_pin", "pin_ok", "menu", "dues", "menu"])
    assert record["outcome"] == "hung_up" and isinstance(dialog.events[-1], dt.HungUp)
    dues_text = next(a.text for a in dialog.actions if isinstance(a, dt.PlayText))
    assert dues_text == dues_sentence(dues.status(demo_store, "QS004"))
    # the dialog's clock ran while the caller's RTP flowed (Ticks at least once a second)
    assert dialog.ticks >= record["seconds"] >= 1


SHORT_LESSON = ["党员要经常学习。", "学习要认真。", "认真学习才有收获。"]


def test_lesson_with_pause_resume_back_and_stop(tmp_path, mic, real_line, demo_store, prompts):
    """A short lesson, assigned, so it is the one recommended (the demo's run ~8 s a
    sentence at 130 wpm, which would make this test long, not better)."""
    study.publish_lesson(demo_store, lesson_id="00-phone", title="短课", category="学习",
                         minutes=1, body="".join(SHORT_LESSON), quiz=[], assigned=True,
                         actor="test")
    assert study.recommend(demo_store, "QS001")[0].lesson_id == "00-phone"
    line, dialogs = real_line

    async def script(caller, ep):
        await identify(caller, dialogs, "1")
        await caller.keys("2")                 # listen to a lesson: the recommended one...
        await reach(dialogs, State.LESSON_CHOOSE)
        await caller.keys("1")                 # ...this one (over its announcement)
        await reach(dialogs, State.LESSON)
        await caller.keys("#")                 # pause (over the controls prompt)
        await reach(dialogs, State.LESSON_PAUSED)
        await caller.keys("#")                 # resume: the lesson starts
        await until(lambda: dialogs[0].sentences()[:2] == [0, 1],
                    "the first sentence played through and the second began")
        await asyncio.sleep(0.5)
        await caller.keys("*")                 # back one sentence
        await until(lambda: dialogs[0].sentences()[2:] == [0], "the first sentence again")
        await asyncio.sleep(0.5)
        await caller.keys("0")                 # stop
        await reach(dialogs, State.MENU)
        await asyncio.sleep(0.5)
        caller.command("hangup")

    run_call(tmp_path, mic, line, script)
    dialog = dialogs[0]
    assert dialog.keys().endswith("21##*0")
    assert dialog.sentences() == [0, 1, 0]     # * went back to the first sentence
    record = calls.list_calls(demo_store)[0]
    assert record["member_no"] == "QS001" and record["outcome"] == "hung_up"
    assert in_order(record["path"], ["pin_ok", "menu", "lesson_choose", "lesson:00-phone",
                                     "lesson", "lesson_paused", "lesson", "menu"])
    sessions = demo_store.all("SELECT * FROM study_session WHERE member_no = 'QS001'")
    assert len(sessions) == 1                  # one sitting, updated at the stop
    s = sessions[0]
    assert s["channel"] == "phone" and s["lesson_id"] == "00-phone" and not s["completed"]
    # the first sentence was heard whole, and no more was counted than the call lasted
    first_s = len(prompts.speak(SHORT_LESSON[0], 8000)) / 16000
    assert int(first_s) <= s["seconds"] <= record["seconds"], (s["seconds"], record["seconds"])


def test_voice_message_is_recorded_and_stored(tmp_path, mic, real_line, demo_store):
    line, dialogs = real_line
    said = Pyttsx3Engine().synthesize("请工作人员给我回个电话。", 8000)
    speech_s, _ = speech_span(said)
    voice = tmp_path / "voice.wav"             # baresip hangs up at the end: pad generously
    voice.write_bytes(wav_bytes(bytes(1600) + said + bytes(8000 * 2 * 40), 8000))

    async def script(caller, ep):
        await identify(caller, dialogs, "2")
        await caller.keys("0")                 # leave a message
        await reach(dialogs, State.MESSAGE_ASK)
        await caller.keys("1")                 # any key skips the instructions to the tone
        await reach(dialogs, State.RECORDING)
        caller.switch_mic(voice)               # the caller speaks after the tone
        await asyncio.sleep(len(said) / 16000 + 0.8)
        await caller.keys("#")                 # done
        await until(lambda: "message_saved" in dialogs[0].path, "message saved")
        await asyncio.sleep(0.5)
        caller.command("hangup")

    run_call(tmp_path, mic, line, script)
    record = calls.list_calls(demo_store)[0]
    assert record["member_no"] == "QS002" and record["messages"] == 1
    assert in_order(record["path"], ["pin_ok", "menu", "message_ask", "recording",
                                     "message_saved", "menu"])
    [msg] = calls.list_messages(demo_store)
    assert msg["member_no"] == "QS002" and msg["call_id"] == record["call_id"]
    assert msg["rate_hz"] == 8000
    data = calls.message_wav(demo_store, msg["message_id"])
    assert hashlib.sha256(data).hexdigest() == msg["sha256"]
    # from the tone to the # key: the speech and a little quiet either side of it
    assert speech_s - 0.3 < msg["duration_ms"] / 1000 < speech_s + 3.0, (msg, speech_s)
    kept, rate = read_wav(data)
    assert rate == 8000 and calls.message_audio(demo_store, msg["message_id"])[0] == kept
    kept_s, voiced = speech_span(kept)       # what we sent over RTP, kept whole: speech
    assert abs(kept_s - speech_s) < 0.5, (kept_s, speech_s)
    assert is_speech(voiced)


def test_wrong_tries_end_the_call_after_goodbye_and_never_lock_the_kiosk(tmp_path, mic,
                                                                       real_line, demo_store,
                                                                       prompts):
    """The line ends this call, not the caller: three wrong tries (a wrong PIN, an unknown
    number, a wrong PIN) are one too many for a call; the caller is told and hears the
    goodbye, then the line hangs up. The kiosk's lockout is untouched (three wrong tries
    were already made there: the phone's do not add to them)."""
    for _ in range(3):
        with pytest.raises(AuthError):
            pins.verify(demo_store, "member", "QS003", "9999", actor="kiosk")
    line, dialogs = real_line

    async def script(caller, ep):
        await asyncio.sleep(0.5)
        for number in ("3", "333", "3"):
            await caller.keys(number + "#")
            await reach(dialogs, State.ASK_PIN)
            await caller.keys("0000", gap=0.2)
            await until(lambda: dialogs[0].state is not State.ASK_PIN, "PIN answered")

    caller, ep = run_call(tmp_path, mic, line, script)
    dialog = dialogs[0]
    assert not any(isinstance(e, dt.HungUp) for e in dialog.events)   # the caller never did
    assert isinstance(dialog.actions[-1], dt.HangUp)
    assert isinstance(dialog.events[-1], dt.PlayDone)                 # ...after the goodbye
    said = [a.prompt_id for a in dialog.actions if isinstance(a, dt.PlayPrompt)]
    assert said[-2:] == ["id.too_many", "phone.goodbye"]
    assert said.count("id.wrong") == 2
    assert ep.stats["ended"] == 1
    record = calls.list_calls(demo_store)[0]
    assert record["member_no"] is None and record["outcome"] == "locked"
    assert in_order(record["path"], ["ask_pin", "id_wrong", "ask_number", "goodbye"])
    pins.verify(demo_store, "member", "QS003", "1234")   # not locked out at the kiosk
    # the caller heard the end of it: speech up to about when the goodbye finished
    heard, _ = read_wav(caller.heard())
    tail = len(prompts.pcm("id.too_many", 8000)) + len(prompts.pcm("phone.goodbye", 8000))
    span_s, voiced = speech_span(heard[-tail - 16000:])
    assert span_s > 0.8 * tail / 16000 and is_speech(voiced)
