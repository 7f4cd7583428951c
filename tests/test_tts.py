"""Speech out with the real espeak-ng through pyttsx3: PCM, resampling, prompt cache, players.

Pins: synthesis gives non-silent speech of plausible length at 8 and 16 kHz with the byte
count of that rate; the Mandarin voice and the speaking rate really reach espeak-ng (the
`cmn` voice reads hanzi as English-spelled pinyin and is much longer); back-to-back and
concurrent calls are never cut off (pyttsx3's driver cancelled about one in three); nothing
is printed on stdout; the resampler keeps the speech band and removes what would alias; the
prompt cache returns identical bytes fast; a staff WAV replaces a prompt; a corrupt WAV is
refused with a Chinese message and never breaks the cache.
"""

from __future__ import annotations

import io
import math
import os
import re
import subprocess
import threading
import time
import wave
from array import array
from pathlib import Path

import pytest

from core.errors import InvalidInput, NotFound
from voice.audio import NullPlayer, Player, open_player
from voice.pcm import duration_s, read_wav, resample, rms, wav_bytes
from voice.prompts import PromptCache
from voice.tts import NATIVE_RATE, Pyttsx3Engine, TTSEngine, TTSError

WELCOME = "您好，欢迎使用连心"
SMALL_CATALOGUE = {
    "welcome": "您好，欢迎使用连心。",
    "bye": "再见。",
    "dues.paid_through": "您的党费已经交到{month}。",
}


@pytest.fixture(scope="module")
def engine():
    return Pyttsx3Engine()


@pytest.fixture(scope="module")
def welcome(engine):
    return {rate: engine.synthesize(WELCOME, rate) for rate in (8000, 16000, NATIVE_RATE)}


def _sine(freq: float, rate: int, secs: float = 1.0, amp: int = 10000, channels: int = 1) -> bytes:
    n = int(rate * secs)
    return array("h", (int(amp * math.sin(2 * math.pi * freq * (i // channels) / rate))
                       for i in range(n * channels))).tobytes()


def _wav(frames: bytes, rate: int, channels: int = 1, width: int = 2) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


# -- the engine --------------------------------------------------------------------------

def test_engine_is_a_tts_engine(engine):
    assert isinstance(engine, TTSEngine)
    assert engine.identity == "pyttsx3-espeak|cmn-latn-pinyin|130wpm|vol1.00|n"


@pytest.mark.parametrize("rate", [8000, 16000])
def test_welcome_is_speech_of_plausible_length(welcome, rate):
    pcm = welcome[rate]
    assert len(pcm) % 2 == 0
    assert 1.0 < duration_s(pcm, rate) < 5.0
    assert rms(pcm) > 1000          # silence is 0; espeak speech at volume 1.0 is ~3400
    # the same speech at both rates: the byte count follows the rate
    native_s = duration_s(welcome[NATIVE_RATE], NATIVE_RATE)
    assert abs(duration_s(pcm, rate) - native_s) < 0.05


def test_voice_and_rate_reach_espeak(tmp_path, engine):
    """Same length as the espeak-ng CLI with cmn-latn-pinyin at 130 wpm; not the `cmn` voice."""
    ours = duration_s(engine.synthesize(WELCOME, NATIVE_RATE), NATIVE_RATE)
    lengths = {}
    for voice in ("cmn-latn-pinyin", "cmn"):
        out = tmp_path / f"{voice}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "130", "-w", str(out), WELCOME], check=True)
        pcm, rate = read_wav(out)
        lengths[voice] = duration_s(pcm, rate)
    assert abs(ours - lengths["cmn-latn-pinyin"]) < 0.03 * ours
    assert lengths["cmn"] > 1.15 * ours     # "nin two hao three ...": English-spelled pinyin


def test_speaking_rate_and_volume_are_settable(engine, welcome):
    normal = welcome[NATIVE_RATE]
    fast = Pyttsx3Engine(wpm=200).synthesize(WELCOME, NATIVE_RATE)
    quiet = Pyttsx3Engine(volume=0.5).synthesize(WELCOME, NATIVE_RATE)
    assert len(fast) < 0.8 * len(normal)
    assert rms(quiet) < 0.7 * rms(normal)
    with pytest.raises(ValueError):
        Pyttsx3Engine(wpm=50)
    with pytest.raises(ValueError):
        Pyttsx3Engine(volume=3.0)


def test_numbers_are_said_the_chinese_way_before_espeak(engine):
    """A phone number is read digit by digit (11 syllables), not as a quantity in the
    hundreds of millions (espeak-ng on its own: ~7 s of "十三千八百…")."""
    shown = engine.synthesize("13812345678", NATIVE_RATE)
    said = engine.synthesize("一三八一二三四五六七八", NATIVE_RATE)
    raw = Pyttsx3Engine(normalize_text=False).synthesize("13812345678", NATIVE_RATE)
    assert abs(len(shown) - len(said)) < 0.01 * len(said)
    assert len(raw) > 1.4 * len(said)


def test_nothing_to_say_and_unknown_voice(engine):
    assert engine.synthesize("  \n", 8000) == b""
    with pytest.raises(TTSError) as err:
        Pyttsx3Engine(voice="xx-nonexistent").synthesize("你好", 8000)
    assert "普通话" in err.value.zh


def test_back_to_back_and_concurrent_calls_are_never_cut_off(engine, welcome):
    expected = len(welcome[NATIVE_RATE])
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                results.append(len(engine.synthesize(WELCOME, NATIVE_RATE)))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(results) == 12
    # espeak-ng's trailing pause varies by a few tens of ms between utterances; a cut-off
    # utterance loses a third or all of it
    assert all(0.98 * expected < n < 1.05 * expected for n in results), (expected, results)


def test_synthesis_prints_nothing(engine, capfd):
    engine.synthesize("你好", 8000)
    out, _ = capfd.readouterr()
    assert out == ""


# -- PCM helpers --------------------------------------------------------------------------

@pytest.mark.parametrize("to_hz", [8000, 16000, 44100, 48000])
def test_resample_keeps_speech_band(to_hz):
    out = resample(_sine(1000, NATIVE_RATE), NATIVE_RATE, to_hz)
    assert len(out) // 2 == to_hz
    middle = out[400:-400]
    assert abs(rms(middle) - 7071) < 0.01 * 7071


def test_resample_to_8k_removes_what_would_alias():
    # 6 kHz cannot exist at 8 kHz; dropping samples would fold it to 2 kHz at full level
    out = resample(_sine(6000, NATIVE_RATE), NATIVE_RATE, 8000)
    assert rms(out[400:-400]) < 7071 * 10 ** (-60 / 20)


def test_resample_identity_and_empty():
    pcm = _sine(440, 8000, 0.1)
    assert resample(pcm, 8000, 8000) is pcm
    assert resample(b"", 22050, 8000) == b""
    with pytest.raises(ValueError):
        resample(pcm, 0, 8000)


def test_read_wav_converts_formats_to_mono_16bit():
    stereo = _sine(440, 44100, 0.5, channels=2)
    pcm, rate = read_wav(_wav(stereo, 44100, channels=2))
    assert rate == 44100 and len(pcm) == 2 * 22050
    assert abs(rms(pcm) - 7071) < 20
    eight_bit = bytes([128, 255, 0, 128])
    pcm, _ = read_wav(_wav(eight_bit, 8000, width=1))
    assert array("h", pcm).tolist() == [0, 127 << 8, -128 << 8, 0]
    s24 = b"".join(v.to_bytes(3, "little", signed=True) for v in (0, 0x123456, -0x100000))
    pcm, _ = read_wav(_wav(s24, 8000, width=3))
    assert array("h", pcm).tolist() == [0, 0x1234, -0x1000]


def test_read_wav_accepts_a_streaming_header(engine):
    piped = subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "--stdout", "你好"],
                           capture_output=True, check=True).stdout
    pcm, rate = read_wav(piped)
    assert rate == NATIVE_RATE and duration_s(pcm, rate) > 0.3


@pytest.mark.parametrize("bad", [
    b"",
    b"hello, this is not audio at all",
    _wav(_sine(440, 8000, 0.5), 8000)[:-4000],     # truncated
    _wav(b"", 8000),                                # no frames
])
def test_read_wav_refuses_damaged_files(bad):
    with pytest.raises(InvalidInput) as err:
        read_wav(bad)
    assert "录音" in err.value.zh                 # what staff read: "…录音…" (the recording)


# -- the prompt cache ---------------------------------------------------------------------

@pytest.fixture
def cache(tmp_path, engine):
    return PromptCache(tmp_path / "cache", engine, overrides_dir=tmp_path / "overrides",
                       catalogue=SMALL_CATALOGUE)


def test_catalogue_prompts_read_entirely_in_chinese():
    from voice.prompts import CATALOGUE
    from voice.speech_text import for_speech

    assert {"welcome", "phone.menu", "ask.pin", "pin.wrong", "pin.locked", "idle",
            "goodbye", "phone.goodbye", "going_home", "staff.coming"} <= set(CATALOGUE)
    assert CATALOGUE["idle"] == "您还在吗？"
    for pid, text in CATALOGUE.items():
        said = for_speech(re.sub(r"\{\w+\}", "", text))     # fields are filled at run time
        assert not any(c.isascii() and c.isalnum() for c in said), (pid, said)
        assert text.endswith(("。", "？", "！")), pid


def test_no_folders_until_something_is_written(tmp_path, engine):
    PromptCache(tmp_path / "cache", engine, overrides_dir=tmp_path / "ovr")
    assert list(tmp_path.iterdir()) == []


def test_cache_returns_identical_bytes_much_faster(cache):
    t0 = time.perf_counter()
    first = cache.pcm("welcome", 8000)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    second = cache.pcm("welcome", 8000)
    warm = time.perf_counter() - t0
    assert second == first
    assert 1.0 < duration_s(first, 8000) < 5.0
    assert warm * 10 < cold
    names = os.listdir(cache.cache_dir)
    assert len(names) == 1 and names[0].endswith(".wav")      # no temporary files left


def test_cache_key_follows_engine_settings(tmp_path, cache):
    normal = cache.pcm("bye", 8000)
    faster = PromptCache(cache.cache_dir, Pyttsx3Engine(wpm=200),
                         overrides_dir=cache.overrides_dir, catalogue=SMALL_CATALOGUE)
    assert len(faster.pcm("bye", 8000)) < len(normal)
    assert len(os.listdir(cache.cache_dir)) == 2


def test_prerender_renders_fixed_prompts_once(cache):
    first = cache.prerender(rates=(8000, 16000))
    assert (first.rendered, first.reused, first.overridden) == (4, 0, 0)   # 2 fixed x 2 rates
    again = cache.prerender(rates=(8000, 16000))
    assert (again.rendered, again.reused) == (0, 4)


def test_templates_are_filled_and_read_the_chinese_way(cache):
    assert cache.text("dues.paid_through", month="2026-08") == "您的党费已经交到2026-08。"
    pcm = cache.pcm("dues.paid_through", 8000, month="2026-08")
    assert 2.0 < duration_s(pcm, 8000) < 8.0
    with pytest.raises(InvalidInput):
        cache.pcm("dues.paid_through", 8000)
    with pytest.raises(NotFound):
        cache.pcm("no.such.prompt", 8000)


def test_a_staff_recording_replaces_the_prompt(cache, tmp_path):
    synthetic = cache.pcm("welcome", 8000)
    recording = tmp_path / "welcome_dialect.wav"
    recording.write_bytes(_wav(_sine(440, 44100, 1.0, channels=2), 44100, channels=2))
    cache.import_override("welcome", recording)
    played = cache.pcm("welcome", 8000)
    assert len(played) == 2 * 8000                              # 1 s at 8 kHz, mono
    assert abs(rms(played[800:-800]) - 7071) < 100
    assert played == cache.pcm("welcome", 8000)
    assert {p.prompt_id: p.override for p in cache.status()}["welcome"] == "ok"
    assert cache.prerender(rates=(8000,)).overridden == 1
    assert cache.remove_override("welcome") is True
    assert cache.pcm("welcome", 8000) == synthetic


@pytest.mark.parametrize("bad", [
    b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk",
    _wav(_sine(440, 16000, 1.0), 16000)[:20000],     # cut off
    _wav(bytes(16000), 8000),                        # one second of silence
])
def test_a_corrupt_recording_is_refused_and_the_cache_keeps_working(cache, bad):
    synthetic = cache.pcm("bye", 8000)
    with pytest.raises(InvalidInput) as err:
        cache.import_override("bye", bad)
    assert err.value.zh                                   # a sentence staff can read
    assert not (cache.overrides_dir / "bye.wav").exists()
    assert cache.pcm("bye", 8000) == synthetic


def test_a_damaged_override_on_disk_falls_back_to_speech(cache):
    synthetic = cache.pcm("bye", 8000)
    cache.overrides_dir.mkdir(parents=True)
    (cache.overrides_dir / "bye.wav").write_bytes(b"RIFF....WAVEgarbage")
    assert cache.pcm("bye", 8000) == synthetic
    assert {p.prompt_id: p.override for p in cache.status()}["bye"].startswith("damaged")


def test_overrides_only_for_known_fixed_prompts(cache, tmp_path):
    wav = _wav(_sine(440, 8000, 0.5), 8000)
    with pytest.raises(NotFound):
        cache.import_override("nope", wav)
    with pytest.raises(InvalidInput):
        cache.import_override("dues.paid_through", wav)


def test_a_damaged_cache_file_is_rendered_again(cache):
    first = cache.pcm("bye", 8000)
    (path,) = Path(cache.cache_dir).iterdir()
    path.write_bytes(path.read_bytes()[:100])
    again = cache.pcm("bye", 8000)
    assert abs(len(again) - len(first)) < 0.02 * len(first)
    assert read_wav(path)[0] == again


# -- players ------------------------------------------------------------------------------

def test_null_player_keeps_time():
    now = [100.0]
    player = NullPlayer(clock=lambda: now[0])
    assert isinstance(player, Player) and not player.is_playing()
    player.play(bytes(2 * 8000), 8000)          # one second
    now[0] += 0.5
    assert player.is_playing()
    now[0] += 0.6
    assert not player.is_playing()
    player.play(bytes(2 * 8000), 8000)
    player.stop()
    assert not player.is_playing()


def test_open_player_always_gives_a_player_and_says_why():
    player, why = open_player()
    assert isinstance(player, Player)
    assert why.startswith(("sound out:", "no sound:"))
    assert wav_bytes(b"", 8000)[:4] == b"RIFF"


class _MemoryStream:
    """sounddevice's RawOutputStream contract, played into memory by a thread."""

    played: list[bytes] = []

    def __init__(self, *, samplerate, channels, dtype, device, callback, finished_callback):
        assert (channels, dtype) == (1, "int16")
        self.callback, self.finished = callback, finished_callback
        self.aborted = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.aborted.is_set():
            out = bytearray(2 * 256)
            try:
                self.callback(out, 256, None, None)
            except _MemorySD.CallbackStop:
                self.played.append(bytes(out))
                break
            self.played.append(bytes(out))
            time.sleep(0.001)
        self.finished()

    def start(self):
        self.thread.start()

    def abort(self):
        self.aborted.set()
        self.thread.join(1)

    def close(self):
        pass


class _MemorySD:
    class CallbackStop(Exception):
        pass

    RawOutputStream = _MemoryStream


def test_sounddevice_player_feeds_every_sample_then_stops():
    from voice.audio import SoundDevicePlayer

    _MemoryStream.played = []
    player = SoundDevicePlayer(sd=_MemorySD)
    pcm = _sine(440, 8000, 0.2)                      # 1600 samples: 6 full blocks + a part
    player.play(pcm, 8000)
    deadline = time.monotonic() + 2
    while player.is_playing() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not player.is_playing()
    out = b"".join(_MemoryStream.played)
    assert out[:len(pcm)] == pcm and set(out[len(pcm):]) <= {0}
    _MemoryStream.played = []
    player.play(bytes(2 * 8000 * 10), 8000)          # ten seconds, interrupted at once
    assert player.is_playing()
    player.stop()
    assert not player.is_playing()
    assert len(b"".join(_MemoryStream.played)) < 2 * 8000
