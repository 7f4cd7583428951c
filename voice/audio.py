"""Playback on the kiosk: start a prompt, interrupt it on a touch, ask whether it still plays.

    Player (Protocol)     play(pcm, rate) returns at once; stop(); is_playing()
    ├── SoundDevicePlayer PortAudio through the ``sounddevice`` package (ALSA on Debian)
    └── NullPlayer        no sound card: keeps time as if it played, so the screens that wait
                          for the end of a prompt (idle timers, "您还在吗？") behave the same

``open_player()`` picks one and says why, for ``lianxin doctor``. sounddevice needs the
system library libportaudio2; without it, or without any output device, the kiosk runs on
a NullPlayer and shows text only. Ask for ``tts.NATIVE_RATE`` (22 050 Hz) where the device
takes it: ALSA's default (plug) device converts, and no resampling is needed here.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["NullPlayer", "Player", "SoundDevicePlayer", "open_player"]


@runtime_checkable
class Player(Protocol):
    def play(self, pcm: bytes, rate_hz: int) -> None:
        """Start playing 16-bit mono PCM and return at once; a playing sound is cut off."""
        ...

    def stop(self) -> None:
        """Stop now (barge-in: the member touched the screen or pressed a key)."""
        ...

    def is_playing(self) -> bool: ...


class NullPlayer:
    """Plays nothing, but is "playing" for as long as the audio lasts."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._ends_at = 0.0

    def play(self, pcm: bytes, rate_hz: int) -> None:
        self._ends_at = self._clock() + len(pcm) / 2 / rate_hz

    def stop(self) -> None:
        self._ends_at = 0.0

    def is_playing(self) -> bool:
        return self._clock() < self._ends_at


class SoundDevicePlayer:
    """A PortAudio output stream per sound, fed from memory by PortAudio's callback thread."""

    def __init__(self, device: int | str | None = None, *, sd=None):
        self._sd = sd if sd is not None else importlib.import_module("sounddevice")
        self._device = device
        self._lock = threading.Lock()
        self._stream = None
        self._done = threading.Event()
        self._done.set()

    def play(self, pcm: bytes, rate_hz: int) -> None:
        self.stop()
        buf = memoryview(pcm[: len(pcm) - len(pcm) % 2])
        pos = 0
        sd = self._sd
        done = threading.Event()

        def feed(outdata, frames, _time, _status):
            nonlocal pos
            want = frames * 2
            chunk = buf[pos:pos + want]
            pos += len(chunk)
            outdata[:len(chunk)] = chunk
            if len(chunk) < want:
                outdata[len(chunk):] = bytes(want - len(chunk))
                raise sd.CallbackStop

        stream = sd.RawOutputStream(samplerate=rate_hz, channels=1, dtype="int16",
                                    device=self._device, callback=feed,
                                    finished_callback=done.set)
        with self._lock:
            self._stream, self._done = stream, done
        stream.start()

    def stop(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.abort()
            stream.close()

    def is_playing(self) -> bool:
        with self._lock:
            return self._stream is not None and not self._done.is_set()


def open_player(device: int | str | None = None) -> tuple[Player, str]:
    """The best player here and a sentence saying which and why (for ``doctor``)."""
    try:
        sd = importlib.import_module("sounddevice")
    except ImportError:
        return NullPlayer(), "no sound: the sounddevice package is not installed"
    except OSError as e:  # sounddevice raises this when libportaudio2 is missing
        return NullPlayer(), f"no sound: PortAudio library not found ({e})"
    try:
        info = sd.query_devices(device, "output")
    except Exception as e:  # PortAudioError or ValueError: no such / no output device
        return NullPlayer(), f"no sound: no output device ({e})"
    return SoundDevicePlayer(device, sd=sd), f"sound out: {info['name']}"
