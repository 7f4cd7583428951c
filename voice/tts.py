"""Speech out: text -> 16-bit mono PCM at the rate the caller plays it at.

    TTSEngine (Protocol)      synthesize(text, rate_hz) -> bytes; identity (for cache keys)
    └── Pyttsx3Engine         pyttsx3 over espeak-ng (libespeak-ng through ctypes)

Checked on Debian 12 (espeak-ng 1.51, pyttsx3 2.99) before writing this:

* Voice. The voice named ``cmn`` in espeak-ng 1.51 reads most hanzi as their pinyin spelled
  in English: 您好 comes out as "nin two hao three" (espeak-ng issues #1028, #1236). The
  voice ``cmn-latn-pinyin`` reads the same characters correctly (``espeak-ng -x`` shows
  n'i35n X'Au214), so it is the default here. Text goes through ``speech_text.for_speech``
  first: espeak-ng's own reading of Arabic numerals is wrong past 9 999.
* The file-write race. ``save_to_file`` + ``runAndWait()`` can return before the file is
  written (on the first use of an engine the driver loop ends as soon as synthesis starts).
  So we wait for the ``finished-utterance`` callback, which the espeak driver sends after it
  has closed the WAV, and then check the WAV is complete.
* Spurious cancels. ``runAndWait`` ends with the driver's ``stop()``, which cancels "if
  espeak is playing". libespeak-ng's worker thread reports "playing" for a moment whenever
  it closes its stream, ~150 ms after its last command, so a back-to-back utterance was cut
  off or lost about one time in three. The driver is therefore pyttsx3's own espeak driver
  subclassed (``_Driver``) so that ``stop()`` cancels only an utterance this driver is
  actually speaking; pyttsx3 loads it by name like its bundled drivers
  (``pyttsx3.drivers.lianxin_espeak``). Everything else (engine, event loop, synthesis
  callback, WAV writing) is pyttsx3's.
* One engine per process. The espeak driver initialises libespeak-ng once per process and
  installs one global synthesis callback; a second ``pyttsx3.init`` steals it, and nothing
  in pyttsx3 is thread-safe. So there is one pyttsx3 engine per process, created on first
  use (never at import) and used only under ``_LOCK``; every call sets voice, rate and
  volume again, so several ``Pyttsx3Engine`` objects with different settings share it.
* pyttsx3 swallows errors raised while it applies a property (a wrong voice name keeps the
  previous voice silently), so the voice is checked against espeak-ng's list first.
* The espeak driver ``print``s "Audio saved to …" on stdout for every file; that would
  corrupt ``--json`` output, so the driver module's ``print`` is shadowed by a no-op.
* Not bit-exact. The first utterance in a process equals ``espeak-ng -w``; later ones
  differ by a few milliseconds (espeak-ng carries state between utterances). The prompt
  cache is what makes a prompt sound the same every time.

espeak-ng renders at 22 050 Hz; ``pcm.resample`` converts to the requested rate.
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
import threading
import types
import wave
from typing import Protocol, runtime_checkable

from core.errors import LianxinError

from . import pcm as _pcm
from .speech_text import for_speech

__all__ = ["DEFAULT_VOICE", "DEFAULT_WPM", "NATIVE_RATE", "Pyttsx3Engine", "TTSEngine",
           "TTSError"]

NATIVE_RATE = 22050          # what espeak-ng's voices render at
DEFAULT_VOICE = "cmn-latn-pinyin"
DEFAULT_WPM = 130            # slow and clear for older listeners (espeak's own default is 175)
MIN_WPM, MAX_WPM = 80, 450   # espeak-ng's limits
_DRIVER_NAME = "lianxin_espeak"


class TTSError(LianxinError):
    zh_default = "语音播报出了问题，请看屏幕上的文字，或找工作人员。"


@runtime_checkable
class TTSEngine(Protocol):
    """Turns text into speech. ``identity`` names everything that changes the sound (engine,
    voice, speed, volume) so a cache keyed on it never serves audio made with other settings."""

    @property
    def identity(self) -> str: ...

    def synthesize(self, text: str, rate_hz: int) -> bytes:
        """16-bit signed little-endian mono PCM at ``rate_hz``; b"" for text with nothing to say."""
        ...


_LOCK = threading.Lock()
_ENGINE = None                # the process's one pyttsx3 engine, made on first use
_FINISHED = threading.Event()
_STATE: dict = {"completed": False, "errors": []}   # what the callbacks saw this utterance
_VOICES: dict[str, str] = {}  # accepted names -> espeak identifier, filled on first use


class Pyttsx3Engine:
    """pyttsx3's espeak driver with a Mandarin voice, words-per-minute rate and volume.

    ``volume`` is 0.0-2.0 (1.0 is espeak-ng's normal level; above it is louder and may clip).
    Construction is cheap: pyttsx3 and libespeak-ng are loaded on the first ``synthesize``.
    """

    def __init__(self, voice: str = DEFAULT_VOICE, wpm: int = DEFAULT_WPM, volume: float = 1.0,
                 *, timeout_s: float = 60.0, normalize_text: bool = True):
        self.voice = voice
        self.wpm = wpm
        self.volume = volume
        self.timeout_s = timeout_s
        self.normalize_text = normalize_text

    @property
    def wpm(self) -> int:
        return self._wpm

    @wpm.setter
    def wpm(self, value: int) -> None:
        if not MIN_WPM <= int(value) <= MAX_WPM:
            raise ValueError(f"speaking rate must be {MIN_WPM}-{MAX_WPM} words/min, got {value}")
        self._wpm = int(value)

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        if not 0.0 <= float(value) <= 2.0:
            raise ValueError(f"volume must be 0.0-2.0, got {value}")
        self._volume = float(value)

    @property
    def identity(self) -> str:
        norm = "n" if self.normalize_text else "raw"
        return f"pyttsx3-espeak|{self.voice}|{self.wpm}wpm|vol{self.volume:.2f}|{norm}"

    def synthesize(self, text: str, rate_hz: int) -> bytes:
        if rate_hz <= 0:
            raise ValueError(f"sample rate must be positive, got {rate_hz}")
        if self.normalize_text:
            text = for_speech(text)
        if not text.strip():
            return b""
        audio = self._render_native(text)
        return _pcm.resample(audio, NATIVE_RATE, rate_hz)

    def _render_native(self, text: str) -> bytes:
        fd, path = tempfile.mkstemp(prefix="lianxin-tts-", suffix=".wav")
        os.close(fd)
        try:
            with _LOCK:
                engine = _engine()
                voice_id = _voice_id(self.voice)
                _FINISHED.clear()
                _STATE.update(completed=False, errors=[])
                engine.setProperty("voice", voice_id)
                engine.setProperty("rate", self.wpm)
                engine.setProperty("volume", self.volume)
                engine.save_to_file(text, path)
                engine.runAndWait()
                if not _FINISHED.wait(self.timeout_s):
                    engine.stop()
                    raise TTSError(f"espeak-ng did not finish within {self.timeout_s} s")
                if not _STATE["completed"]:
                    raise TTSError(f"espeak-ng utterance cut off: {_STATE['errors'][:1]!r}")
            return _read_complete(path)
        finally:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def _engine():
    """The process's pyttsx3 engine (caller holds _LOCK)."""
    global _ENGINE
    if _ENGINE is None:
        try:
            import pyttsx3
            _register_driver()
            engine = pyttsx3.init(_DRIVER_NAME)
        except (ImportError, OSError, RuntimeError) as e:
            raise TTSError(f"pyttsx3/espeak-ng not available: {e}") from e
        engine.connect("finished-utterance", _on_finished)
        engine.connect("error", _on_error)
        _ENGINE = engine
        atexit.register(_release)
    return _ENGINE


def _release() -> None:
    """Drop the engine while modules still exist: pyttsx3's ``__del__`` run at interpreter
    teardown prints "Exception ignored … AttributeError" on stderr."""
    global _ENGINE
    with _LOCK:
        _ENGINE = None


def _register_driver() -> None:
    """pyttsx3's espeak driver with ``stop()`` fixed, put where pyttsx3 imports drivers from."""
    name = f"pyttsx3.drivers.{_DRIVER_NAME}"
    if name in sys.modules:
        return
    import pyttsx3.drivers.espeak as upstream
    from pyttsx3.drivers import _espeak

    upstream.print = _quiet

    class _Driver(upstream.EspeakDriver):
        def stop(self):
            # Upstream cancels whenever espeak_IsPlaying(), which blips true while espeak's
            # worker closes its stream; runAndWait calls stop() before each utterance, so
            # that utterance was cancelled. Cancel only speech this driver has started.
            if self._speaking:
                self._stopping = True
                _espeak.Cancel()

    module = types.ModuleType(name, "pyttsx3's espeak driver with stop() fixed (voice.tts)")
    module.buildDriver = _Driver
    sys.modules[name] = module


def _voice_id(voice: str) -> str:
    """Map a voice name ("cmn-latn-pinyin", "cmn", "sit/cmn") to espeak's identifier."""
    if not _VOICES:
        for v in _ENGINE.getProperty("voices"):
            ident = v.id.lower()
            _VOICES[ident] = ident
            _VOICES.setdefault(ident.rsplit("/", 1)[-1], ident)
    key = voice.lower()
    if key not in _VOICES:
        raise TTSError(f"espeak-ng has no voice {voice!r}",
                       "本机缺少普通话语音，请工作人员安装 espeak-ng。")
    return _VOICES[key]


def _read_complete(path: str) -> bytes:
    """The WAV the driver wrote, refusing a partial one (the race this module works around)."""
    try:
        with wave.open(path, "rb") as w:
            if (w.getnchannels(), w.getsampwidth()) != (1, 2) or w.getframerate() != NATIVE_RATE:
                raise TTSError(f"unexpected espeak output format in {path}")
            n = w.getnframes()
            data = w.readframes(n)
    except (wave.Error, EOFError) as e:
        raise TTSError(f"espeak output {path} unreadable: {e}") from e
    if len(data) != 2 * n:
        raise TTSError(f"espeak output {path} incomplete: {len(data)} of {2 * n} bytes")
    return data


def _on_finished(name=None, completed=True):
    if completed:
        _STATE["completed"] = True
    _FINISHED.set()


def _on_error(name=None, exception=None):
    _STATE["errors"].append(exception)


def _quiet(*args, **kwargs) -> None:
    return None
