"""The numpy PCM helpers in voice/pcm.py, beyond what test_tts.py measures on speech rates.

Pins: resampling puts every output sample where it belongs in time (a sine comes out as the
same sine sampled at the new rate, for down, up and odd rate pairs, including pairs with more
than 1 024 phases that share kernels); each output sample equals the windowed-sinc formula
written out longhand; DC passes at unity gain in every phase; full-scale input is clipped,
never wrapped round to the opposite sign; byte order is little-endian and a trailing odd byte
is ignored; rms and multi-channel / 32-bit WAV conversion give the exact integer results.
"""

from __future__ import annotations

import io
import math
import wave
from array import array

import pytest

from voice.pcm import read_wav, resample, rms


def _sine(freq: float, rate: int, n: int, amp: float = 10000.0) -> list[float]:
    return [amp * math.sin(2 * math.pi * freq * i / rate) for i in range(n)]


def _pcm(values) -> bytes:
    return array("h", [round(v) for v in values]).tobytes()


def _values(pcm: bytes) -> list[int]:
    return array("h", pcm).tolist()


@pytest.mark.parametrize("from_hz, to_hz", [
    (22050, 8000), (22050, 16000), (8000, 22050), (44100, 48000), (48000, 8000),
    (11025, 8001),                                  # 8 001 phases: kernels shared at 1/1024
])
def test_a_sine_comes_out_as_the_same_sine_at_the_new_rate(from_hz, to_hz):
    n_in = from_hz // 5                                          # 0.2 s
    out = _values(resample(_pcm(_sine(700, from_hz, n_in)), from_hz, to_hz))
    assert len(out) == round(n_in * to_hz / from_hz)
    expected = _sine(700, to_hz, len(out))
    edge = to_hz // 50                                           # filter start-up at both ends
    worst = max(abs(a - b) for a, b in zip(out[edge:-edge], expected[edge:-edge], strict=True))
    # one input sample of misalignment would be an error of ~2 000 at 700 Hz
    assert worst < 40, worst


def _longhand(x: list[int], from_hz: int, to_hz: int, n: int) -> float:
    """Output sample n of the documented design, evaluated directly from its definition."""
    g = math.gcd(from_hz, to_hz)
    up, down = to_hz // g, from_hz // g
    phases = min(up, 1024)
    ratio = min(1.0, to_hz / from_hz)
    half = max(2, math.ceil(16 / ratio))
    fc = 0.45 * ratio
    q, r = divmod(n * down, up)
    frac = (r * phases // up) / phases

    def i0(v: float) -> float:
        return sum((v / 2) ** (2 * k) / math.factorial(k) ** 2 for k in range(40))

    taps = []
    for k in range(-half + 1, half + 1):
        t = k - frac
        arg = 2 * fc * t
        sinc = 1.0 if arg == 0 else math.sin(math.pi * arg) / (math.pi * arg)
        w = t / half
        win = i0(8.0 * math.sqrt(1 - w * w)) / i0(8.0) if abs(w) < 1 else 0.0
        taps.append((q + k, sinc * win))
    total = sum(c for _, c in taps)
    return sum(c * x[i] for i, c in taps if 0 <= i < len(x)) / total


@pytest.mark.parametrize("from_hz, to_hz", [(22050, 8000), (8000, 22050), (11025, 8001)])
def test_each_output_sample_is_the_windowed_sinc_formula(from_hz, to_hz):
    x = [(i * 7919) % 20001 - 10000 for i in range(2000)]      # deterministic, broadband
    out = _values(resample(_pcm(x), from_hz, to_hz))
    for n in (0, 1, 2, 3, 37, 160, 441, len(out) // 2, len(out) - 2, len(out) - 1):
        want = _longhand(x, from_hz, to_hz, n)
        assert abs(out[n] - want) <= 0.5 + 1e-6, (n, out[n], want)


def test_dc_passes_at_unity_gain_in_every_phase():
    out = _values(resample(_pcm([12345] * 4410), 22050, 16000))
    assert set(out[100:-100]) == {12345}


def test_full_scale_is_clipped_not_wrapped():
    square = ([32767] * 40 + [-32768] * 40) * 50               # overshoots after filtering
    out = _values(resample(_pcm(square), 22050, 8000))
    assert max(out) == 32767 and min(out) == -32768
    # every output near the middle of a +32767 plateau is strongly positive (a wrapped
    # overshoot would read as about -32 000)
    per_period = 80 * 8000 / 22050
    for p in range(2, 45):
        mid = round((p + 0.25) * per_period)
        assert out[mid] > 20000, (mid, out[mid])


def test_byte_order_and_odd_trailing_byte():
    pcm = _pcm(_sine(500, 8000, 800)) + b"\x7f"
    out = resample(pcm, 8000, 16000)
    assert len(out) == 2 * 1600
    assert out == resample(pcm[:-1], 8000, 16000)
    first_peak = max(range(40), key=lambda i: _values(out)[i])
    assert int.from_bytes(out[2 * first_peak:2 * first_peak + 2], "little", signed=True) > 9000


def test_rms_is_exact():
    assert rms(b"") == 0.0
    assert rms(_pcm([3, -4] * 10)) == math.sqrt(12.5)
    assert rms(_pcm([-32768] * 1000)) == 32768.0                # no int16 overflow in x*x


def _wav(frames: bytes, rate: int, channels: int, width: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def test_multichannel_and_32bit_wavs_mix_down_exactly():
    # three channels, averaged with floor division (as integers, no float rounding)
    frames = array("h", [1, 2, 4, -1, -2, -4, 32767, 32767, 32767, -32768, -32768, 0])
    pcm, rate = read_wav(_wav(frames.tobytes(), 16000, 3, 2))
    assert rate == 16000 and _values(pcm) == [2, -3, 32767, -21846]
    s32 = b"".join(v.to_bytes(4, "little", signed=True)
                   for v in (0x12345678, -0x12345678, 0x7FFFFFFF, -0x80000000))
    pcm, _ = read_wav(_wav(s32, 8000, 2, 4))
    assert _values(pcm) == [(0x1234 + -0x1235) // 2, (0x7FFF + -0x8000) // 2]
