"""Driving the real app without Kivy's main loop: draw frames, find widgets, touch them.

Used by the tests, the audit, the screenshots and the benchmarks. A tap is a real
``MotionEvent`` posted through Kivy's event loop to the window (down, then up), so it
goes through the same dispatch, collision and grab logic as a finger on the screen.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from kivy.base import EventLoop
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.input.motionevent import MotionEvent
from kivy.uix.behaviors import ButtonBehavior


class _Touch(MotionEvent):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("is_touch", True)
        kwargs.setdefault("type_id", "touch")
        super().__init__(*args, **kwargs)
        self.profile = ["pos"]

    def depack(self, args):
        self.sx, self.sy = args
        super().depack(args)


_touch_ids = iter(range(1, 1 << 30))


def pump(frames: int = 2) -> None:
    """Run the clock and draw ``frames`` frames (layouts settle over a frame or two)."""
    for _ in range(frames):
        EventLoop.idle()


def settle(rounds: int = 2) -> None:
    """Run the clock (layouts, text textures) without drawing a frame: cheap, for taps."""
    for _ in range(rounds):
        Clock.tick()
        Clock.tick_draw()


def set_size(width: int, height: int) -> None:
    Window.size = (width, height)
    pump(3)


def walk(widget):
    yield widget
    for child in reversed(widget.children):   # Kivy keeps children last-added-first
        yield from walk(child)


def buttons(root) -> list:
    return [w for w in walk(root) if isinstance(w, ButtonBehavior)]


def find(root, text: str):
    """The one button whose label is ``text`` (ValueError if none or several)."""
    found = [b for b in buttons(root) if getattr(b, "text", None) == text]
    if len(found) != 1:
        raise ValueError(f"{len(found)} buttons labelled {text!r}: "
                         f"{[getattr(b, 'text', '') for b in buttons(root)]}")
    return found[0]


def tap_at(x: float, y: float) -> None:
    """A finger down and up at window coordinates (x, y)."""
    pos = (x / (Window.width - 1), y / (Window.height - 1))
    touch = _Touch("lianxin", next(_touch_ids), pos)
    EventLoop.post_dispatch_input("begin", touch)
    touch.move(pos)
    EventLoop.post_dispatch_input("end", touch)
    settle()


def hold(widget, seconds: float) -> None:
    """A finger down on ``widget``'s centre, kept there ``seconds`` (Kivy's clock runs),
    then up."""
    import time

    x, y = window_pos(widget, *widget.center)
    pos = (x / (Window.width - 1), y / (Window.height - 1))
    touch = _Touch("lianxin", next(_touch_ids), pos)
    EventLoop.post_dispatch_input("begin", touch)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        settle(1)
        time.sleep(0.01)
    touch.move(pos)
    EventLoop.post_dispatch_input("end", touch)
    settle()


def window_pos(widget, x: float | None = None, y: float | None = None) -> tuple[float, float]:
    """A point given in the coordinates the widget's ``pos`` lives in (default: its corner),
    in window coordinates. (``to_window`` with ``initial=True`` skips the widget's own
    transform, which is right for its pos even when it is a RelativeLayout.)"""
    x = widget.x if x is None else x
    y = widget.y if y is None else y
    return widget.to_window(x, y)


def tap(widget) -> None:
    tap_at(*window_pos(widget, *widget.center))


def tap_text(root, text: str) -> None:
    tap(find(root, text))


def screenshot(path: str | os.PathLike) -> Path:
    """Save what the window shows now as a PNG at exactly ``path``."""
    pump(2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        made = Window.screenshot(name=os.path.join(tmp, "shot.png"))
        os.replace(made, path)
    return path


@contextmanager
def running(app, size: tuple[int, int] = (1280, 800)):
    """The app attached to the window at ``size`` for the duration, then taken off again."""
    app.attach(size)
    pump(3)
    try:
        yield app
    finally:
        app.detach()
        pump(1)
