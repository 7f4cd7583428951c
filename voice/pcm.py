"""16-bit mono PCM helpers: resampling, WAV in/out, loudness. Pure Python, no numpy.

Audio inside the program is always 16-bit signed little-endian mono PCM (``bytes``) plus a
sample rate. ``audioop`` is not used: it is gone in Python 3.13.

Why a resampler of our own: espeak-ng renders at 22 050 Hz, the phone line needs 8 000 Hz and
a kiosk sound card may want 16 000/44 100/48 000 Hz; staff-recorded WAVs come at any rate.
Dropping or repeating samples would alias badly (22 050 -> 8 000 folds everything between
4 and 11 kHz back into the speech band), so this is a windowed-sinc polyphase filter:
each output sample is a dot product of the input around its position with one of
precomputed Kaiser-windowed sinc kernels (about 80 dB stop band), the cut-off at 90 % of
the lower of the two Nyquist frequencies. ``sum(map(mul, ...))`` keeps the inner loop in C:
about 40 ms per second of speech to 8 kHz (90 taps), 60 ms to 16 kHz, so a prompt is
rendered ahead of time (``prompts``) and a lesson is synthesised sentence by sentence. A
kiosk that can play 22 050 Hz directly (ALSA's plug layer converts) needs no resampling.
"""

from __future__ import annotations

import io
import math
import os
import struct
import sys
import tempfile
import wave
from array import array
from functools import lru_cache
from operator import mul
from pathlib import Path

from core.errors import InvalidInput

__all__ = ["duration_s", "read_wav", "resample", "rms", "wav_bytes", "write_wav_atomic"]

_HALF_WIDTH_OUT = 16   # kernel half-width, in samples of the lower of the two rates
_KAISER_BETA = 8.0     # ~80 dB stop band
_CUTOFF = 0.90         # fraction of the lower Nyquist frequency kept
_MAX_PHASES = 1024     # odd rate pairs share kernels at 1/1024-sample resolution
# A WAV written to a pipe (espeak-ng --stdout, arecord -) cannot know its length and says
# "2 GiB or more"; such a header is a streaming one, not a truncated file.
_STREAMING_SIZE = 0x7FFF0000


def _samples(pcm: bytes) -> array:
    a = array("h")
    a.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        a.byteswap()
    return a


def _to_bytes(a: array) -> bytes:
    if sys.byteorder == "big":
        a = array("h", a)
        a.byteswap()
    return a.tobytes()


def _bessel_i0(x: float) -> float:
    total, term, k = 1.0, 1.0, 1
    while term > 1e-12 * total:
        term *= (x / (2 * k)) ** 2
        total += term
        k += 1
    return total


@lru_cache(maxsize=16)
def _kernels(from_hz: int, to_hz: int) -> tuple[int, int, int, list[list[float]]]:
    """(up, down, half_width_in, kernels): one kernel per output phase, taps over the input."""
    g = math.gcd(from_hz, to_hz)
    up, down = to_hz // g, from_hz // g
    phases = min(up, _MAX_PHASES)
    ratio = min(1.0, to_hz / from_hz)       # < 1 when going down: widen the kernel, lower fc
    half = max(2, math.ceil(_HALF_WIDTH_OUT / ratio))
    fc = 0.5 * _CUTOFF * ratio               # cycles per input sample
    i0b = _bessel_i0(_KAISER_BETA)
    kernels = []
    for p in range(phases):
        frac = p / phases                    # output position lies frac after input index q
        taps = []
        for k in range(-half + 1, half + 1):
            t = k - frac                     # distance from the output position, in input samples
            x = 2 * fc * t
            sinc = 1.0 if x == 0 else math.sin(math.pi * x) / (math.pi * x)
            w = t / half
            win = _bessel_i0(_KAISER_BETA * math.sqrt(1 - w * w)) / i0b if abs(w) < 1 else 0.0
            taps.append(2 * fc * sinc * win)
        s = sum(taps)                        # unity gain at DC for every phase
        kernels.append([v / s for v in taps])
    return up, down, half, kernels


def resample(pcm: bytes, from_hz: int, to_hz: int) -> bytes:
    """Resample 16-bit mono PCM; the output has round(len * to/from) samples."""
    if from_hz <= 0 or to_hz <= 0:
        raise ValueError(f"sample rates must be positive: {from_hz} -> {to_hz}")
    if from_hz == to_hz or not pcm:
        return pcm
    x = _samples(pcm)
    up, down, half, kernels = _kernels(from_hz, to_hz)
    n_out = (len(x) * up + down // 2) // down
    xp = [0.0] * half + [float(v) for v in x] + [0.0] * half
    width = 2 * half
    # Output n sits at input position n*down/up: the pattern of (kernel, offset) repeats
    # every `up` outputs, shifted by `down` inputs, so it is worked out once.
    cycle = []
    for n in range(up):
        q, r = divmod(n * down, up)
        cycle.append((kernels[r * len(kernels) // up], q + 1))
    out = [0.0] * n_out
    n = base = 0
    while n < n_out:
        for kernel, offset in cycle[: n_out - n]:
            start = base + offset
            out[n] = sum(map(mul, kernel, xp[start:start + width]))
            n += 1
        base += down
    return _to_bytes(array("h", [-32768 if v < -32768 else 32767 if v > 32767 else round(v)
                                 for v in out]))


def rms(pcm: bytes) -> float:
    """Root mean square of the samples (0 for silence, ~32767 for a full-scale square)."""
    x = _samples(pcm)
    if not x:
        return 0.0
    return math.sqrt(sum(map(mul, x, x)) / len(x))


def duration_s(pcm: bytes, rate_hz: int) -> float:
    return len(pcm) / 2 / rate_hz


def wav_bytes(pcm: bytes, rate_hz: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm)
    return buf.getvalue()


def write_wav_atomic(path: Path, pcm: bytes, rate_hz: int) -> None:
    """Write a mono 16-bit WAV so that readers see either the old file or the whole new one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(wav_bytes(pcm, rate_hz))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_wav(source: Path | bytes) -> tuple[bytes, int]:
    """Any PCM WAV (8/16/24/32-bit, mono or multi-channel) -> (16-bit mono PCM, rate).

    Refuses what is not a complete, non-empty PCM WAV with InvalidInput: a truncated file,
    a compressed format, a text file renamed .wav.
    """
    name = "WAV data" if isinstance(source, bytes | bytearray) else str(source)
    try:
        raw = bytes(source) if isinstance(source, bytes | bytearray) else Path(source).read_bytes()
    except OSError as e:
        raise InvalidInput(f"cannot read {name}: {e}", "读不到这个录音文件。") from e
    try:
        with wave.open(io.BytesIO(raw), "rb") as w:
            channels, width, rate, nframes = (w.getnchannels(), w.getsampwidth(),
                                              w.getframerate(), w.getnframes())
            frames = w.readframes(nframes)
    except (wave.Error, EOFError, struct.error, ValueError, RuntimeError) as e:  # RuntimeError: bad chunk
        raise InvalidInput(f"{name} is not a PCM WAV file: {e}",
                           "这个文件不是能用的WAV录音，请换一个文件。") from e
    frame_size = channels * width
    if not (1 <= channels <= 8 and width in (1, 2, 3, 4) and 4000 <= rate <= 192000):
        raise InvalidInput(f"{name}: unsupported WAV ({channels} ch, {8 * width} bit, {rate} Hz)",
                           "这个录音的格式不支持，请用普通的WAV录音。")
    if nframes * frame_size >= _STREAMING_SIZE and frames:
        frames = frames[: len(frames) - len(frames) % frame_size]  # length unknown when written
    elif nframes == 0 or len(frames) < nframes * frame_size:
        raise InvalidInput(f"{name}: WAV is empty or truncated ({len(frames)} of "
                           f"{nframes * frame_size} bytes)", "这个录音文件不完整，请重新录。")
    return _mix_to_mono16(frames, channels, width), rate


def _mix_to_mono16(frames: bytes, channels: int, width: int) -> bytes:
    if width == 1:                      # unsigned 8-bit
        vals = [(b - 128) << 8 for b in frames]
    elif width == 2:
        vals = _samples(frames)
    elif width == 3:
        vals = [int.from_bytes(frames[i + 1:i + 3], "little", signed=True)
                for i in range(0, len(frames), 3)]
    else:
        a = array("i")
        a.frombytes(frames)
        if sys.byteorder == "big":
            a.byteswap()
        vals = [v >> 16 for v in a]
    if channels == 1:
        return _to_bytes(vals if isinstance(vals, array) else array("h", vals))
    mono = array("h", (sum(vals[i:i + channels]) // channels
                       for i in range(0, len(vals), channels)))
    return _to_bytes(mono)
