"""Sound in from the kiosk's microphone: a capture stream, and staff recordings of prompts.

    Capture (Protocol)      start(); read(timeout) -> the next block of 16-bit mono PCM or
                            None; stop(); ``rate_hz``
    └── SoundDeviceCapture  PortAudio input through ``sounddevice`` (ALSA on Debian)
    open_capture()          (a Capture, "why") or (None, "why not") — no microphone is normal
    record(capture, s)      ``s`` seconds of audio
    record_prompt(...)      record, trim the silence around it, and store it as a prompt's
                            staff recording (``PromptCache.import_override``)

Why blocks through a queue: PortAudio calls back on its own thread with each block; the
callback only copies the bytes into a queue, and whoever reads (the kiosk's listener
thread, ``lianxin voice record``) takes them at its own pace. ``read`` returns None on a
timeout, so a reader can notice it was told to stop.

No input device (most kiosks have none until a handset or microphone is plugged in) is not
an error for the kiosk: speech input stays off. For ``voice record`` it is: the staff get
``NoMicrophone`` with a Chinese sentence saying what to do instead.
"""

from __future__ import annotations

import importlib
import queue
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

from core.errors import InvalidInput, LianxinError, NotFound

from . import pcm as _pcm

__all__ = ["Capture", "NoMicrophone", "SoundDeviceCapture", "open_capture", "record",
           "record_prompt", "trim_silence"]

DEFAULT_RATE = 16000
BLOCK_MS = 100
MAX_SECONDS = 60


class NoMicrophone(LianxinError):
    zh_default = ("没有找到麦克风（录音设备），没法录音。请接上麦克风再试，"
                  "或者用 lianxin voice import 导入录好的WAV文件。")


@runtime_checkable
class Capture(Protocol):
    rate_hz: int

    def start(self) -> None: ...

    def read(self, timeout: float) -> bytes | None:
        """The next block of 16-bit mono PCM, or None when none came within ``timeout``."""
        ...

    def stop(self) -> None: ...


class SoundDeviceCapture:
    """A PortAudio input stream whose callback puts each block into a queue."""

    def __init__(self, rate_hz: int = DEFAULT_RATE, device: int | str | None = None, *,
                 block_ms: int = BLOCK_MS, sd=None):
        self._sd = sd if sd is not None else importlib.import_module("sounddevice")
        self.rate_hz = int(rate_hz)
        self._device = device
        self._block = self.rate_hz * block_ms // 1000
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=200)   # 20 s of blocks
        self._stream = None
        self._lock = threading.Lock()

    def _callback(self, indata, _frames, _time, _status) -> None:
        try:
            self._queue.put_nowait(bytes(indata))
        except queue.Full:                 # nobody reads: drop the oldest, keep listening
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass

    def start(self) -> None:
        with self._lock:
            if self._stream is not None:
                return
            stream = self._sd.RawInputStream(samplerate=self.rate_hz, channels=1, dtype="int16",
                                             blocksize=self._block, device=self._device,
                                             callback=self._callback)
            stream.start()
            self._stream = stream

    def read(self, timeout: float) -> bytes | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.abort()
            stream.close()


def open_capture(rate_hz: int = DEFAULT_RATE,
                 device: int | str | None = None) -> tuple[Capture | None, str]:
    """A microphone capture here, or None, and a sentence saying which and why."""
    try:
        sd = importlib.import_module("sounddevice")
    except ImportError:
        return None, "no microphone: the sounddevice package is not installed"
    except OSError as e:          # libportaudio2 missing
        return None, f"no microphone: PortAudio library not found ({e})"
    try:
        info = sd.query_devices(device, "input")
        sd.check_input_settings(device=device, samplerate=rate_hz, channels=1, dtype="int16")
    except Exception as e:        # PortAudioError / ValueError: no such or no input device
        return None, f"no microphone: no input device at {rate_hz} Hz ({e})"
    return SoundDeviceCapture(rate_hz, device, sd=sd), f"microphone: {info['name']}"


def record(capture: Capture, seconds: float, *, stall_s: float = 3.0) -> bytes:
    """``seconds`` of audio from ``capture``; NoMicrophone when the device stops giving any."""
    want = int(seconds * capture.rate_hz) * 2
    got = bytearray()
    capture.start()
    try:
        while len(got) < want:
            block = capture.read(timeout=stall_s)
            if block is None:
                raise NoMicrophone(f"the microphone gave no audio for {stall_s} s",
                                   "麦克风没有声音传进来，请检查麦克风有没有接好。")
            got += block
    finally:
        capture.stop()
    return bytes(got[:want])


def trim_silence(pcm: bytes, rate_hz: int, *, floor: float = 300.0,
                 margin_s: float = 0.25) -> bytes:
    """Cut the quiet before the first and after the last 20 ms that is louder than ``floor``
    (RMS), keeping ``margin_s`` either side; all-quiet audio is returned as it is."""
    step = rate_hz // 50 * 2
    loud = [i for i in range(0, len(pcm), step) if _pcm.rms(pcm[i:i + step]) >= floor]
    if not loud:
        return pcm
    margin = int(margin_s * rate_hz) * 2
    start = max(0, loud[0] - margin)
    end = min(len(pcm), loud[-1] + step + margin)
    return pcm[start:end]


def record_prompt(cache, prompt_id: str, seconds: float, *, capture: Capture | None = None,
                  on_start=None) -> Path:
    """Record a staff member saying prompt ``prompt_id`` and use it instead of the voice.

    The prompt is checked first (NotFound / InvalidInput, before anyone speaks), then the
    microphone (NoMicrophone); ``on_start(text)`` is called just before recording begins.
    A silent recording is refused by ``import_override`` and changes nothing.
    """
    if not 0 < seconds <= MAX_SECONDS:
        raise InvalidInput(f"recording length must be 1-{MAX_SECONDS} s, got {seconds}",
                           f"录音时间要在1到{MAX_SECONDS}秒之间。")
    info = {p.prompt_id: p for p in cache.status()}.get(prompt_id)
    if info is None:
        raise NotFound(f"no prompt {prompt_id!r}", "没有这条语音提示。")
    if not info.fixed:
        raise InvalidInput(f"prompt {prompt_id!r} has fields and cannot be a recording",
                           "这条提示里有会变化的内容，不能用录音代替。")
    if capture is None:
        capture, why = open_capture()
        if capture is None:
            raise NoMicrophone(why)
    if on_start is not None:
        on_start(info.text)
    audio = trim_silence(record(capture, seconds), capture.rate_hz)
    return cache.import_override(prompt_id, _pcm.wav_bytes(audio, capture.rate_hz))
