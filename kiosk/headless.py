"""Kivy's environment, set before Kivy is first imported.

What renders here (checked on Debian 12, CPython 3.11, PyPI kivy 2.3.1 with its bundled
SDL2 2.30, Mesa 22.3 from Debian): with no ``DISPLAY`` the SDL2 window provider picks
SDL's ``offscreen`` video driver, which makes an EGL context on Mesa's llvmpipe (software
OpenGL 4.5). Everything is drawn into real pixels, so ``Window.screenshot`` and touch
events work exactly as on a screen. ``SDL_VIDEODRIVER=dummy`` does NOT work (no GL
context); Xvfb is not needed. We set ``SDL_VIDEODRIVER=offscreen`` explicitly when
headless so a developer's own ``DISPLAY`` cannot pop a window during tests.

Kivy reads its command line and writes config/logs under ``~/.kivy`` unless told not to:
``KIVY_NO_ARGS=1`` keeps pytest's and click's arguments away from it, and ``KIVY_HOME``
points at a temporary folder when not set.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

DEFAULT_SIZE = (1280, 800)
# SDL's offscreen surface keeps the size the window was created with: a window made at
# 1280×800 and resized to 1920×1080 draws only its lower-left 1280×800. So headless, the
# window is created at this size, which holds every layout size, and then sized down.
SURFACE = (1920, 1920)


def is_headless() -> bool:
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def prepare(*, headless: bool | None = None, size: tuple[int, int] = DEFAULT_SIZE,
            fullscreen: bool = False) -> bool:
    """Set the environment and Kivy's config; return whether we render offscreen.

    Must run before the first ``import kivy`` to have its full effect; later calls only
    adjust what can still change (nothing, once the window exists). Headless, the window
    starts at ``SURFACE`` size: pass ``size`` to ``KioskApp.attach`` (or use
    ``drive.set_size``) to lay out at the size wanted.
    """
    if headless is None:
        headless = is_headless()
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")   # our logging config, not Kivy's console handler
    if "KIVY_HOME" not in os.environ:
        # One fixed folder for Kivy's own config and logs (a new temp folder per start was
        # left behind every time); nothing of ours is kept there.
        home = Path(tempfile.gettempdir()) / f"lianxin-kivy-{os.getuid()}"
        home.mkdir(mode=0o700, exist_ok=True)
        os.environ["KIVY_HOME"] = str(home)
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
    if "kivy.core.window" in sys.modules:
        return headless
    from kivy.config import Config

    first = (max(size[0], SURFACE[0]), max(size[1], SURFACE[1])) if headless else size
    Config.set("graphics", "width", str(first[0]))
    Config.set("graphics", "height", str(first[1]))
    Config.set("graphics", "fullscreen", "auto" if fullscreen and not headless else "0")
    Config.set("graphics", "multisamples", "0")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")
    # A touch screen gives real touches; the mouse must not leave red multitouch dots.
    Config.set("input", "mouse", "mouse,disable_multitouch")
    return headless
