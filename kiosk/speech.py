"""The kiosk's voice: the ``speak(text)`` the app calls, made audible without blocking it.

    Speaker(prompts, player, rate_hz=...)   callable: speaker("请点交党费") queues the text
      .start(app) / .close()                hook the window's touch-down and the app's volume
      .stop()                               cut off what is playing and drop what waits
      .repeat()                             say the last text again
      .play_audio(pcm, rate)                a recording (a voice message) in the same queue
      .wait_idle(timeout)                   for tests and benchmarks: until nothing plays

Why it is built this way:

* The UI thread only appends to a queue. One worker thread turns text into PCM and hands
  it to a ``voice.audio.Player`` (which returns at once and plays on PortAudio's thread),
  so a frame is never held up by espeak-ng, a disk read or a resample.
* Fixed prompts come from the shared ``PromptCache``: a text that is one of the catalogue's
  fixed prompts is played as that prompt (so a staff recording in the local dialect
  replaces it), any other text goes through the cache as text (``PromptCache.speak``:
  synthesised once, then read back from disk), and the last few dozen pieces stay in
  memory. Prompts and labels heard before therefore start at once; ``warm`` renders texts
  ahead in idle time (the bar, each screen's buttons as it opens).
* Long texts are cut into sentences (``speech_text.sentences``): the first sentence starts
  while the rest is still being synthesised, and a touch drops the rest.
* Utterances queue, they do not cut each other off: a press says its label and the screen
  it opens says its prompt right after. What cuts speech off is a touch: the window's
  ``on_touch_down`` (bound before the widgets see the touch) stops the player and drops
  the queue, so the label of the button just touched is the next thing heard.
* Volume (the app's 1..5 ``volume``) scales the samples before playing (``GAINS``); level 3
  is the audio as rendered. Above it samples are clipped, which is the honest limit of a
  small speaker.
* No sound card: ``voice.audio.open_player`` gives a ``NullPlayer`` that keeps time as if
  it played, so everything above behaves the same and nothing is heard.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from array import array
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator

from voice.speech_text import sentences

__all__ = ["DEFAULT_RATE", "GAINS", "Speaker", "device_rate", "open_speaker", "scale"]

log = logging.getLogger("lianxin.kiosk.speech")

DEFAULT_RATE = 16000
GAINS = {1: 0.35, 2: 0.6, 3: 1.0, 4: 1.45, 5: 2.0}   # app.volume -> sample gain (~3-4 dB steps)
MAX_PENDING = 6          # utterances waiting; older ones are dropped first (never the newest)
MEMORY_PIECES = 64       # PCM pieces kept in memory (a 5 s piece at 16 kHz is 160 kB)
_POLL_S = 0.01           # how often the worker looks whether a sound has ended


def scale(pcm: bytes, gain: float) -> bytes:
    """16-bit little-endian samples times ``gain``, clipped to the 16-bit range."""
    if gain == 1.0 or not pcm:
        return pcm
    a = array("h")
    a.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        a.byteswap()
    out = array("h", [32767 if v > 32767 else -32768 if v < -32768 else v
                      for v in (int(s * gain) for s in a)])
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def _fields(text: str) -> bool:
    return "{" in text


class Speaker:
    """Text (or a recording) in, sound out through a Player, on a worker thread."""

    def __init__(self, prompts, player, *, rate_hz: int = DEFAULT_RATE, volume: int = 3,
                 warm_screens: bool = True):
        self.prompts = prompts                       # voice.prompts.PromptCache
        self.player = player                         # voice.audio.Player
        self.rate_hz = int(rate_hz)
        self.volume = volume
        self.warm_screens = warm_screens             # render each new screen's words ahead
        self.last = ""                               # the last text said (再听一遍)
        self.said: deque[str] = deque(maxlen=50)     # pieces handed to the player, newest last
        self.errors = 0
        self._fixed = {text: pid for pid, text in prompts.catalogue.items() if not _fields(text)}
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._cv = threading.Condition()
        self._pending: deque[tuple] = deque()
        self._warm: deque[str] = deque()
        self._gen = 0                                # bumped by stop(): older work is dropped
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._app = None
        self._window = None

    # -- what the app calls (UI thread; nothing here waits) --------------------------------
    def __call__(self, text: str) -> None:
        self.say(text)

    def say(self, text: str) -> None:
        if not text or not text.strip():
            return
        self.last = text
        self._enqueue(("text", text))

    def repeat(self) -> None:
        if self.last:
            self.say(self.last)

    def play_audio(self, pcm: bytes, rate_hz: int) -> None:
        """A recording (a caller's voice message) queued like speech, at the same volume."""
        self._enqueue(("pcm", bytes(pcm), int(rate_hz)))

    def stop(self) -> None:
        with self._cv:
            self._gen += 1
            self._pending.clear()
        self.player.stop()

    def warm(self, texts: Iterable[str]) -> None:
        """Render these texts into the cache when there is nothing to say."""
        with self._cv:
            for t in texts:
                if t and t.strip() and t not in self._memory:
                    self._warm.append(t)
            self._cv.notify()
        self._ensure_thread()

    def set_volume(self, level: int) -> None:
        self.volume = max(min(GAINS), min(max(GAINS), int(level)))

    def speaking(self) -> bool:
        """Something is playing or about to (the listener keeps its ears shut meanwhile)."""
        with self._cv:
            waiting = bool(self._pending) or self._busy
        return waiting or self.player.is_playing()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is queued or playing (tests, benchmarks; never the UI)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.speaking():
                return True
            time.sleep(_POLL_S)
        return False

    # -- joining the app ---------------------------------------------------------------------
    def start(self, app) -> None:
        """Stop on any touch; follow ``app.volume``; render the bar's words ahead."""
        from kivy.core.window import Window

        if self._window is None:
            self._window = Window
            Window.bind(on_touch_down=self._touched)
        if self._app is None:
            self._app = app
            app.bind(volume=self._volume_changed)
            if self.warm_screens and getattr(app, "manager", None) is not None:
                app.manager.bind(current=self._screen_changed)
        self.set_volume(app.volume)
        self._ensure_thread()

    def close(self) -> None:
        if self._window is not None:
            self._window.unbind(on_touch_down=self._touched)
            self._window = None
        if self._app is not None:
            self._app.unbind(volume=self._volume_changed)
            if getattr(self._app, "manager", None) is not None:
                self._app.manager.unbind(current=self._screen_changed)
            self._app = None
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _touched(self, _window, _touch):
        self.stop()
        return False                                  # the touch goes on to the widgets

    def _volume_changed(self, _app, level) -> None:
        self.set_volume(level)

    def _screen_changed(self, *_):
        """A screen opened: its buttons' words are likely to be said next."""
        from kivy.uix.behaviors import ButtonBehavior

        root = getattr(self._app, "root", None)
        if root is None:
            return
        words = []
        stack = [root]
        while stack:
            w = stack.pop()
            if isinstance(w, ButtonBehavior):
                words.append(getattr(w, "spoken", "") or getattr(w, "text", ""))
            stack.extend(w.children)
        self.warm(words)

    # -- the worker ------------------------------------------------------------------------
    def _enqueue(self, item: tuple) -> None:
        with self._cv:
            if self._closed:
                return
            self._pending.append(item)
            while len(self._pending) > MAX_PENDING:
                self._pending.popleft()
            self._cv.notify()
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        with self._cv:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="kiosk-speech",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not (self._pending or self._warm or self._closed):
                    self._cv.wait()
                if self._closed:
                    return
                if self._pending:
                    item, gen = self._pending.popleft(), self._gen
                    self._busy = True
                else:
                    item, gen = ("warm", self._warm.popleft()), None
            try:
                if gen is None:
                    for piece in self._pieces(item[1]):
                        self._pcm(piece)
                else:
                    self._play_item(item, gen)
            except Exception:              # a voice problem must never take the kiosk down
                self.errors += 1
                log.exception("speech failed for %r", item[1] if item[0] != "pcm" else "audio")
            finally:
                with self._cv:
                    self._busy = False

    def _play_item(self, item: tuple, gen: int) -> None:
        if item[0] == "pcm":
            self._play(item[1], item[2], gen, "(录音)")
            return
        for piece in self._pieces(item[1]):
            if self._gen != gen:
                return
            if not self._play(self._pcm(piece), self.rate_hz, gen, piece):
                return

    def _play(self, pcm: bytes, rate_hz: int, gen: int, label: str) -> bool:
        """Wait for the sound before to end, then start this one; False when stopped."""
        while self.player.is_playing():
            if self._gen != gen or self._closed:
                return False
            time.sleep(_POLL_S)
        audio = scale(pcm, GAINS[self.volume])
        with self._cv:
            if self._gen != gen or self._closed:
                return False
            self.player.play(audio, rate_hz)
            self.said.append(label)
        return True

    def _pieces(self, text: str) -> Iterator[str]:
        if text in self._fixed or text in self._memory:
            yield text
            return
        yield from (sentences(text) or [text])

    def _pcm(self, piece: str) -> bytes:
        """A piece's PCM at the speaker's rate: memory, else the prompt cache (a fixed
        prompt by id, so staff recordings apply; any other text by its words)."""
        with self._cv:
            if piece in self._memory:
                self._memory.move_to_end(piece)
                return self._memory[piece]
        pid = self._fixed.get(piece)
        pcm = (self.prompts.pcm(pid, self.rate_hz) if pid
               else self.prompts.speak(piece, self.rate_hz))
        with self._cv:
            self._memory[piece] = pcm
            while len(self._memory) > MEMORY_PIECES:
                self._memory.popitem(last=False)
        return pcm


def device_rate(player, device: int | str | None = None) -> int:
    """The rate to render at: espeak-ng's own 22 050 Hz when the sound device takes it (no
    resampling at all), else the device's default rate; 16 kHz without a sound card."""
    from voice.audio import SoundDevicePlayer
    from voice.tts import NATIVE_RATE

    if not isinstance(player, SoundDevicePlayer):
        return DEFAULT_RATE
    try:
        import sounddevice as sd

        try:
            sd.check_output_settings(device=device, samplerate=NATIVE_RATE,
                                     channels=1, dtype="int16")
            return NATIVE_RATE
        except Exception:
            return int(sd.query_devices(device, "output")["default_samplerate"])
    except Exception:
        return DEFAULT_RATE


def open_speaker(prompts, *, device: int | str | None = None) -> tuple[Speaker, str]:
    """The kiosk's real speaker on the best player here, and a sentence saying which."""
    from voice.audio import open_player

    player, why = open_player(device)
    rate = device_rate(player, device)
    return Speaker(prompts, player, rate_hz=rate), f"{why}; speech at {rate} Hz"
