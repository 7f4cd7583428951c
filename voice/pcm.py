"""16-bit mono PCM helpers: resampling, WAV in/out, loudness, on numpy arrays.

Audio inside the program is always 16-bit signed little-endian mono PCM (``bytes``) plus a
sample rate. ``audioop`` is not used: it is gone in Python 3.13.

Why a resampler of our own: espeak-ng renders at 22 050 Hz, the phone line needs 8 000 Hz and
a kiosk sound card may want 16 000/44 100/48 000 Hz; staff-recorded WAVs come at any rate.
Dropping or repeating samples would alias badly (22 050 -> 8 000 folds everything between
4 and 11 kHz back into the speech band), so this is a windowed-sinc polyphase filter:
each output sample is a dot product of the input around its position with one of
precomputed Kaiser-windowed sinc kernels (about 80 dB stop band), the cut-off at 90 % of
the lower of the two Nyquist frequencies. scipy's ``resample_poly`` would do the same but
brings a large dependency for one function, so the filter is built here with numpy.

Why numpy: the same filter in pure Python (``sum(map(mul, ...))`` per output sample) took
~25 ms per second of speech to 8 kHz, so a 35 s lesson sentence spent 0.85 s resampling
before the phone line could play it. Here the outputs that share a kernel phase (every
``up``-th one) lie ``down`` input samples apart, so each phase is one matrix-vector
product over a strided view of the input: ~0.3 ms per second of speech (10 ms for that
sentence), 50-100x faster, and the same samples (at most one LSB apart where a value falls
within float error of .5).
"""

from __future__ import annotations

import io
import math
import os
import struct
import tempfile
import wave
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from core.errors import InvalidInput

__all__ = ["duration_s", "read_wav", "resample", "rms", "wav_bytes", "write_wav_atomic"]

_HALF_WIDTH_OUT = 16   # kernel half-width, in samples of the lower of the two rates
_KAISER_BETA = 8.0     # ~80 dB stop band
_CUTOFF = 0.90         # fraction of the lower Nyquist frequency kept
_MAX_PHASES = 1024     # odd rate pairs share kernels at 1/1024-sample resolution
# A WAV written to a pipe (espeak-ng --stdout, arecord -) cannot know its length and says
# "2 GiB or more"; such a header is a streaming one, not a truncated file.
_STREAMING_SIZE = 0x7FFF0000
_S16 = np.dtype("<i2")   # explicit byte order: the PCM is little-endian on any host


def _samples(pcm: bytes) -> np.ndarray:
    """The samples of 16-bit PCM (a trailing odd byte is ignored), read-only, not copied."""
    return np.frombuffer(pcm, dtype=_S16, count=len(pcm) // 2)


def _to_bytes(samples: np.ndarray) -> bytes:
    """Rounded (half to even, like ``round``) and clipped to 16 bits."""
    return np.clip(np.rint(samples), -32768, 32767).astype(_S16).tobytes()


@lru_cache(maxsize=16)
def _kernels(from_hz: int, to_hz: int) -> tuple[int, int, int, np.ndarray]:
    """(up, down, half_width_in, kernels): row p is the kernel for an output that lies p/phases
    of an input sample after input index q; its taps cover inputs q-half+1 .. q+half."""
    g = math.gcd(from_hz, to_hz)
    up, down = to_hz // g, from_hz // g
    phases = min(up, _MAX_PHASES)
    ratio = min(1.0, to_hz / from_hz)       # < 1 when going down: widen the kernel, lower fc
    half = max(2, math.ceil(_HALF_WIDTH_OUT / ratio))
    fc = 0.5 * _CUTOFF * ratio               # cycles per input sample
    # distance of each tap from the output position, in input samples: (phases, 2*half)
    t = np.arange(-half + 1, half + 1)[None, :] - (np.arange(phases) / phases)[:, None]
    w = t / half
    inside = np.abs(w) < 1
    window = np.where(inside, np.i0(_KAISER_BETA * np.sqrt(np.where(inside, 1 - w * w, 0.0))),
                      0.0) / np.i0(_KAISER_BETA)
    kernels = 2 * fc * np.sinc(2 * fc * t) * window
    kernels /= kernels.sum(axis=1, keepdims=True)      # unity gain at DC for every phase
    kernels.flags.writeable = False                     # shared through the cache
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
    width = 2 * half
    xp = np.zeros(len(x) + width, dtype=np.float64)
    xp[half:half + len(x)] = x
    windows = sliding_window_view(xp, width)    # row i: the taps of an output after input i-1
    out = np.empty(n_out, dtype=np.float64)
    # Output n sits at input position n*down/up, i.e. at q + r/up with (q, r) = divmod(n*down,
    # up). Outputs n, n+up, n+2up, ... share r (one kernel) and lie `down` inputs apart, so
    # each of the `up` phases is a single matrix-vector product over a strided view.
    for n in range(min(up, n_out)):
        q, r = divmod(n * down, up)
        count = (n_out - n + up - 1) // up
        out[n::up] = windows[q + 1::down][:count] @ kernels[r * len(kernels) // up]
    return _to_bytes(out)


def rms(pcm: bytes) -> float:
    """Root mean square of the samples (0 for silence, ~32767 for a full-scale square)."""
    x = _samples(pcm).astype(np.int64)
    if not len(x):
        return 0.0
    return math.sqrt(int(np.dot(x, x)) / len(x))


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
        vals = (np.frombuffer(frames, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif width == 2:
        vals = np.frombuffer(frames, dtype=_S16, count=len(frames) // 2)
    elif width == 3:                    # keep the top two bytes of each little-endian sample
        vals = np.frombuffer(frames, dtype=np.uint8, count=len(frames) // 3 * 3).reshape(-1, 3)
        vals = np.ascontiguousarray(vals[:, 1:]).view(_S16).ravel()
    else:
        vals = np.frombuffer(frames, dtype="<i4", count=len(frames) // 4) >> 16
    if channels > 1:
        vals = vals[: len(vals) - len(vals) % channels].reshape(-1, channels)
        vals = vals.sum(axis=1, dtype=np.int64) // channels
    return vals.astype(_S16).tobytes()
