"""Speech in on the kiosk: each screen listens for its own choices and presses them.

    Listener(engine, capture)      ``listen=`` of ``KioskApp``; off (None) without a model
      .start(app) / .close()       open / release the microphone, start / stop the thread
      .refresh()                   the screen changed: listen for its words (the app calls it)
    targets(app)                   what can be said now -> the button it presses
    grammar(targets, knows)        those words as phrases the speech model knows
    open_listener()                a Listener when ``LIANXIN_VOSK_MODEL`` and a microphone
                                   are both there, else (None, why)

What can be said on a screen (grammar mode, ``voice.asr``): the labels of the visible
buttons on the screen and in the bar (those written in words; an aside in brackets, as in
"张（5位）", is not part of what is said), the digits 零..九 where a
keypad is shown (never on a PIN keypad: a PIN said aloud is a PIN overheard), 返回 (the
screen's own 返回 if it has one, else the bar's 上一页) and 再说一遍 (the bar's 再听一遍).

Why these choices:

* A recognised phrase is turned into a touch (down and up at the button's centre, posted
  through Kivy's event loop on the UI thread), so a spoken choice takes exactly the path a
  finger takes: speech stops, the idle watch counts it, the label is said, the button acts.
* Chinese labels are written without spaces, and a vosk model knows words, not labels:
  each label is cut into the longest words the model knows ("交党费" may become
  "交 党费"); a label it cannot cut is left out rather than misheard.
* The kiosk hears itself: while the speaker is talking (``busy``) the microphone's audio
  is thrown away and the recogniser starts afresh afterwards, or a prompt listing the
  choices would press them. Touch still stops the speech at once.
* Nothing is said when a phrase is not recognised clearly: background talk in an activity
  room is normal, and a kiosk that answers it would be a nuisance. Touch always works.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections import deque
from collections.abc import Callable

__all__ = ["BACK", "DIGIT_WORDS", "REPEAT", "Listener", "grammar", "open_listener", "press",
           "targets"]

log = logging.getLogger("lianxin.kiosk.listen")

BACK = "返回"
REPEAT = "再说一遍"
DIGIT_WORDS = {"0": "零", "1": "一", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六",
               "7": "七", "8": "八", "9": "九"}
BAR_BACK = ("返回上页",)           # the bar's 上一页 button (its label on screens but home)
BAR_REPEAT = "再听一遍"
_WORDY = re.compile(r"^\w+$")     # letters/hanzi/hangul/digits only: "音量 +" is not said
_ASIDE = re.compile(r"[（(][^）)]*[）)]")   # "张（5位）" is said "张"
_LONGEST_WORD = 6
_READ_S = 0.2
_touch_ids = itertools.count(1 << 20)


def _visible(w) -> bool:
    while w is not None:
        if getattr(w, "opacity", 1) == 0 or getattr(w, "disabled", False):
            return False
        w = w.parent if w.parent is not w else None
    return True


def _buttons(root):
    from kivy.uix.behaviors import ButtonBehavior

    stack = [root]
    while stack:
        w = stack.pop()
        if isinstance(w, ButtonBehavior):
            if _visible(w):
                yield w
            continue
        stack.extend(reversed(w.children))


def targets(app) -> dict[str, object]:
    """Words that can be said now -> the button each one presses."""
    from .widgets import KeyButton, Keypad

    out: dict[str, object] = {}
    screen = app.current
    bar_back = repeat = None
    for b in _buttons(app.root):
        label = _ASIDE.sub("", "".join(getattr(b, "text", "").split()))
        on_screen = screen in _ancestors(b)
        if isinstance(b, KeyButton) and isinstance(b.parent, Keypad):
            if label in DIGIT_WORDS and not b.parent.secret:
                out.setdefault(DIGIT_WORDS[label], b)
            continue                               # letters, 删除, 确定 are touched
        if label in BAR_BACK and not on_screen:
            bar_back = b
        elif label == BAR_REPEAT and not on_screen:
            repeat = b
        if label and _WORDY.match(label):
            out.setdefault(label, b)               # the screen's own come first
    if BACK not in out and bar_back is not None and app.can_go_back:
        out[BACK] = bar_back
    if repeat is not None:
        out[REPEAT] = repeat
    return out


def _ancestors(w):
    node = w.parent
    while node is not None and node is not w:
        yield node
        w, node = node, node.parent


def _cut(label: str, knows: Callable[[str], bool]) -> list[str] | None:
    """The label as words the model knows, longest first from the left; None if it can't."""
    if knows(label):
        return [label]
    words, i = [], 0
    while i < len(label):
        for j in range(min(len(label), i + _LONGEST_WORD), i, -1):
            if knows(label[i:j]):
                words.append(label[i:j])
                i = j
                break
        else:
            return None
    return words


def grammar(words: dict[str, object], knows: Callable[[str], bool]) -> dict[str, str]:
    """Phrase (space-separated model words) -> the label it stands for."""
    out = {}
    for label in words:
        cut = _cut(label, knows)
        if cut:
            out.setdefault(" ".join(cut), label)
    return out


def vocabulary(engine) -> Callable[[str], bool]:
    """Does the engine's model know this word? (Everything, for an engine that cannot say.)"""
    return getattr(engine, "knows", None) or (lambda word: True)


def press(button) -> None:
    """A finger on ``button``: touch down and up at its centre, through Kivy's event loop
    (UI thread only)."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from .drive import _Touch

    x, y = button.to_window(*button.center)
    pos = (x / (Window.width - 1), y / (Window.height - 1))
    touch = _Touch("lianxin-voice", next(_touch_ids), pos)
    EventLoop.post_dispatch_input("begin", touch)
    touch.move(pos)
    EventLoop.post_dispatch_input("end", touch)


class Listener:
    """Microphone -> the current screen's grammar -> a press, on a thread of its own.

    The UI thread only notes which buttons can be said (``refresh``); the thread turns
    their labels into a grammar (loading the model on first use, ~1.5 s, never on the UI
    thread), feeds the microphone to the recogniser, and hands an accepted phrase back to
    the UI thread (``Clock.schedule_once``), which presses the button if the screen is
    still the one the phrase was said to.
    """

    def __init__(self, engine, capture, *, busy: Callable[[], bool] | None = None):
        self.engine = engine                  # voice.asr.SpeechEngine
        self.capture = capture                # voice.record.Capture
        self.busy = busy                      # the speaker is talking: do not listen
        self.heard: deque[str] = deque(maxlen=50)   # accepted phrases, newest last
        self.dropped = 0                      # blocks thrown away while the kiosk spoke
        self.phrases: dict[str, str] = {}     # what can be said now -> label (set by the thread)
        self.ready = threading.Event()        # set when ``phrases`` matches the screen
        self._targets: dict[str, object] = {}
        self._gen = 0                         # bumped when the labels change
        self._phrases_gen = -1                # the generation ``phrases`` was made for
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._app = None

    # -- UI thread -----------------------------------------------------------------------
    def start(self, app) -> None:
        self._app = app
        if self.busy is None and hasattr(app.speak, "speaking"):
            self.busy = app.speak.speaking
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="kiosk-listen", daemon=True)
            self._thread.start()
        self.refresh()

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._app = None

    def refresh(self) -> None:
        """Listen for what the current screen offers (the app calls it on each show)."""
        app = self._app
        if app is None or getattr(app, "manager", None) is None:
            return
        found = targets(app)
        with self._lock:
            changed = list(found) != list(self._targets)
            self._targets = found
            if changed:
                self._gen += 1
                self.ready.clear()

    def _heard(self, phrase: str, gen: int) -> None:
        """An accepted phrase, now on the UI thread: press its button if still there."""
        with self._lock:
            if gen != self._gen or gen != self._phrases_gen:
                return
            label = self.phrases.get(phrase)
            button = self._targets.get(label) if label else None
        if button is None or button.get_root_window() is None or not _visible(button):
            return
        self.heard.append(phrase)
        log.info("heard %r: pressing %r", phrase, label)
        press(button)

    # -- the listening thread ----------------------------------------------------------------
    def _regrammar(self, knows) -> tuple[int, list[str]]:
        with self._lock:
            gen, labels = self._gen, dict(self._targets)
        try:
            phrases = grammar(labels, knows)
        except Exception:                    # the model would not load: nothing to listen for
            log.exception("speech model unusable; speech input off")
            phrases = {}
        with self._lock:
            if gen == self._gen:
                self.phrases, self._phrases_gen = phrases, gen
                self.ready.set()
        return gen, list(phrases)

    def _run(self) -> None:
        from kivy.clock import Clock

        knows = vocabulary(self.engine)
        try:
            self.capture.start()
        except Exception:
            log.exception("microphone would not start; speech input off")
            return
        stream, stream_gen, phrases, fresh = None, -1, [], True
        try:
            while not self._stopping.is_set():
                block = self.capture.read(_READ_S)
                if self._gen != stream_gen:      # after the read: a block that came with a
                    stream_gen, phrases = self._regrammar(knows)   # new screen is for it
                    fresh = True
                if block is None:
                    continue
                if self.busy is not None and self.busy():
                    self.dropped += 1
                    fresh = True                # deaf while speaking; a fresh ear after
                    continue
                if fresh:
                    stream, fresh = self._stream(phrases), False
                decision = stream.feed(block) if stream is not None else None
                if decision is not None and decision.accepted:
                    Clock.schedule_once(
                        lambda _dt, p=decision.phrase, g=stream_gen: self._heard(p, g))
                elif decision is not None:
                    log.debug("not counted: %r (%.2f)", decision.text, decision.confidence)
        finally:
            self.capture.stop()

    def _stream(self, phrases: list[str]):
        if not phrases:
            return None
        try:
            return self.engine.stream(phrases, self.capture.rate_hz)
        except Exception:
            log.exception("no speech grammar for %s", phrases)
            return None


def open_listener(speak=None) -> tuple[Listener | None, str]:
    """A Listener on the configured vosk model and the microphone, or None and why not."""
    from voice.asr import VoskEngine
    from voice.record import open_capture

    engine = VoskEngine.from_config()
    if engine is None:
        return None, "speech input off: no vosk model configured (LIANXIN_VOSK_MODEL)"
    capture, why = open_capture()
    if capture is None:
        return None, f"speech input off: {why}"
    busy = getattr(speak, "speaking", None)
    return Listener(engine, capture, busy=busy), f"speech input on: {why}"
