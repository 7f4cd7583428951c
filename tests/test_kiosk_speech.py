"""Pins the kiosk's voice (``kiosk.speech.Speaker``) with the real espeak-ng engine through
the real prompt cache, on the real Kivy app offscreen, played into a small recording
Player (a working Player that keeps the PCM it is given and "plays" for its length):

* home's prompt becomes PCM of plausible length for its words at the speaker's rate, and a
  touch anywhere stops it and drops the rest of the prompt (nothing more is played);
* ``speak`` returns at once: the UI thread never waits for synthesis;
* a press says its label and then the screen says its prompt, in that order (speech
  queues; only a touch cuts it off); 再听一遍 says the prompt again;
* 音量 −/+ scale the samples by ``GAINS`` (exactly the cached PCM times the gain) and stay
  within 1..5; ``scale`` clips instead of wrapping;
* a fixed catalogue prompt plays the staff recording that overrides it;
* a voice message (``play_audio``) queues behind speech at the same volume;
* an engine that fails is counted and logged, and the kiosk goes on; with no sound card
  (``NullPlayer``) the kiosk runs the same; ``entry.voice_parts`` builds the real speaker
  from a prompt cache, and no listener without a speech model.
"""

from __future__ import annotations

import math
import re
import threading
import time
from array import array

import pytest
from kiosk_fixtures import kivy_ready

kivy_ready()

from kiosk import drive  # noqa: E402
from kiosk.app import KioskApp  # noqa: E402
from kiosk.speech import GAINS, Speaker, scale  # noqa: E402
from voice.audio import NullPlayer, Player  # noqa: E402
from voice.pcm import wav_bytes  # noqa: E402
from voice.phone_prompts import PHONE_CATALOGUE  # noqa: E402
from voice.prompts import PromptCache  # noqa: E402
from voice.speech_text import sentences  # noqa: E402
from voice.tts import Pyttsx3Engine  # noqa: E402

RATE = 16000
WAIT_S = 120           # generous: two cores shared with other test runs


class RecordingPlayer:
    """Keeps every sound it is given; "plays" for its length / ``speed`` (forever: hold)."""

    def __init__(self, speed: float = 50.0, hold: bool = False):
        self.plays: list[tuple[bytes, int]] = []
        self.stops = 0
        self.speed, self.hold = speed, hold
        self._ends = 0.0
        self._lock = threading.Lock()

    def play(self, pcm: bytes, rate_hz: int) -> None:
        with self._lock:
            self.plays.append((pcm, rate_hz))
            length = len(pcm) / 2 / rate_hz / self.speed
            self._ends = math.inf if self.hold else time.monotonic() + length

    def stop(self) -> None:
        with self._lock:
            self.stops += 1
            self._ends = 0.0

    def is_playing(self) -> bool:
        with self._lock:
            return time.monotonic() < self._ends


class GatedEngine:
    """The real engine behind a gate the test opens: shows who waits for synthesis."""

    def __init__(self, engine):
        self.engine, self.gate = engine, threading.Event()
        self.identity = engine.identity

    def synthesize(self, text, rate_hz):
        self.gate.wait(WAIT_S)
        return self.engine.synthesize(text, rate_hz)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("voice-cache")    # shared: each text is synthesised once


@pytest.fixture
def prompts(cache_dir, tmp_path):
    return PromptCache(cache_dir, Pyttsx3Engine(), overrides_dir=tmp_path / "overrides",
                       catalogue=PHONE_CATALOGUE)


def wait_for(cond, timeout=WAIT_S) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        drive.settle(1)
        time.sleep(0.02)
    return False


def hanzi(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff]", text))


def test_scale_multiplies_and_clips():
    pcm = array("h", [0, 1000, -1000, 20000, -20000]).tobytes()
    assert scale(pcm, 1.0) is pcm
    assert array("h", scale(pcm, 0.5)).tolist() == [0, 500, -500, 10000, -10000]
    assert array("h", scale(pcm, 2.0)).tolist() == [0, 2000, -2000, 32767, -32768]


def test_home_prompt_is_real_speech_and_a_touch_stops_it(demo_store, prompts):
    player = RecordingPlayer(hold=True)             # still playing when the finger comes
    speaker = Speaker(prompts, player, rate_hz=RATE, warm_screens=False)
    app = KioskApp(demo_store, speak=speaker)
    with drive.running(app):
        prompt = app.current.prompt_text()
        first = sentences(prompt)[0]
        assert wait_for(lambda: player.plays), "no audio for the home prompt"
        pcm, rate = player.plays[0]
        assert rate == RATE and list(speaker.said) == [first]
        seconds = len(pcm) / 2 / rate
        assert 0.12 * hanzi(first) < seconds < 0.6 * hanzi(first) + 1.0, seconds
        assert player.is_playing()
        drive.tap_at(app.root.width / 2, app.root.height - 30)   # the title: not a button
        assert player.stops >= 1 and not player.is_playing()
        assert speaker.wait_idle(WAIT_S)
        assert len(player.plays) == 1                # the rest of the prompt was dropped
        assert app.manager.current == "home"


def test_speak_never_waits_for_synthesis(prompts):
    gated = PromptCache(prompts.cache_dir, GatedEngine(prompts.engine),
                        overrides_dir=prompts.overrides_dir)
    player = RecordingPlayer()
    speaker = Speaker(gated, player, rate_hz=RATE)
    try:
        speaker("这一句话要等闸门打开以后才会合成。")   # returns while the engine is held
        assert speaker.speaking() and player.plays == []
        gated.engine.gate.set()
        assert speaker.wait_idle(WAIT_S) and len(player.plays) == 1
    finally:
        gated.engine.gate.set()
        speaker.close()


def test_label_then_prompt_and_repeat(demo_store, prompts):
    player = RecordingPlayer()
    speaker = Speaker(prompts, player, rate_hz=RATE, warm_screens=False)
    app = KioskApp(demo_store, speak=speaker)
    with drive.running(app):
        drive.tap_text(app.root, "再听一遍")
        assert speaker.wait_idle(WAIT_S)
        prompt = sentences(app.current.repeat_text())
        said = list(speaker.said)
        assert said[-1 - len(prompt):] == ["再听一遍", *prompt]
        assert speaker.last == app.current.repeat_text() and speaker.errors == 0


def test_volume_scales_the_samples(demo_store, prompts):
    player = RecordingPlayer()
    speaker = Speaker(prompts, player, rate_hz=RATE, warm_screens=False)
    app = KioskApp(demo_store, speak=speaker)
    with drive.running(app):
        drive.tap_text(app.root, "音量 −")
        assert app.volume == speaker.volume == 2
        assert speaker.wait_idle(WAIT_S)
        assert list(speaker.said)[-2:] == ["音量小一点", "音量2"]
        assert player.plays[-1][0] == scale(prompts.speak("音量2", RATE), GAINS[2])
        for _ in range(5):
            drive.tap_text(app.root, "音量 +")
        assert app.volume == speaker.volume == 5
        assert speaker.wait_idle(WAIT_S)
        assert list(speaker.said)[-1] == "音量5"
        assert player.plays[-1][0] == scale(prompts.speak("音量5", RATE), GAINS[5])


def test_staff_recording_replaces_a_fixed_prompt_and_messages_queue(prompts):
    tone = array("h", (int(8000 * math.sin(2 * math.pi * 300 * i / 8000))
                       for i in range(8000))).tobytes()
    prompts.import_override("staff.coming", wav_bytes(tone, 8000))
    player = RecordingPlayer()
    speaker = Speaker(prompts, player, rate_hz=RATE, volume=4)
    try:
        speaker(PHONE_CATALOGUE["staff.coming"])
        speaker.play_audio(tone, 8000)
        assert speaker.wait_idle(WAIT_S)
        (said, rate1), (message, rate2) = player.plays
        assert said == scale(prompts.pcm("staff.coming", RATE), GAINS[4]) and rate1 == RATE
        assert len(said) == 2 * RATE                   # the one-second recording, not espeak
        assert message == scale(tone, GAINS[4]) and rate2 == 8000
        speaker.repeat()
        assert speaker.wait_idle(WAIT_S) and len(player.plays) == 3
    finally:
        speaker.close()


def test_a_failing_engine_does_not_stop_the_kiosk(demo_store, tmp_path):
    broken = PromptCache(tmp_path / "c", Pyttsx3Engine(voice="no-such-voice"),
                         overrides_dir=tmp_path / "o")
    speaker = Speaker(broken, NullPlayer(), rate_hz=RATE, warm_screens=False)
    with drive.running(KioskApp(demo_store, speak=speaker)) as app:
        assert speaker.wait_idle(WAIT_S) and speaker.errors >= 1
        drive.tap_text(app.root, "支部通知")
        assert app.manager.current == "notices"
        assert speaker.wait_idle(WAIT_S)


def test_no_sound_card_null_player_runs_the_same(demo_store, prompts):
    null = NullPlayer()
    assert isinstance(null, Player)
    speaker = Speaker(prompts, null, rate_hz=RATE, warm_screens=False)
    with drive.running(KioskApp(demo_store, speak=speaker)) as app:
        drive.tap_text(app.root, "我的情况")
        assert app.manager.current == "who"
        drive.tap_text(app.root, "回首页")
        assert app.manager.current == "home"
    assert speaker._thread is None                   # closed with the app


def test_entry_builds_the_real_speaker(prompts, monkeypatch):
    from kiosk import entry

    monkeypatch.delenv("LIANXIN_VOSK_MODEL", raising=False)
    speak, listen = entry.voice_parts(lambda: prompts, None)
    assert isinstance(speak, Speaker) and speak.prompts is prompts
    assert isinstance(speak.player, Player) and listen is None
    said = []
    assert entry.voice_parts(None, said.append) == (said.append, None)
