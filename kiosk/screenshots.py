"""``lianxin kiosk --screenshots DIR``: every screen as a PNG, with demo content.

Each registered screen is shown with its ``sample`` content (demo branch, the first
member identified where the screen is personal) and saved as ``DIR/<screen>.png`` at the
main size, plus ``DIR/<W>x<H>/<screen>.png`` for the other layout sizes when asked.
"""

from __future__ import annotations

from pathlib import Path

from kivy.core.window import Window

from . import drive
from .screens import REGISTRY, screen_class

MAIN_SIZE = (1280, 800)
OTHER_SIZES = ((1920, 1080), (1080, 1920))


def render(app, out_dir, *, size=MAIN_SIZE, subdir: bool = False) -> list[Path]:
    """Render every screen at ``size``; the app must be attached."""
    out = Path(out_dir)
    if subdir:
        out = out / f"{size[0]}x{size[1]}"
    before = tuple(Window.size)
    made = []
    try:
        drive.set_size(*size)
        for name in REGISTRY:
            app.show(name, **screen_class(name).sample(app))
            drive.pump(3)
            made.append(drive.screenshot(out / f"{name}.png"))
    finally:
        drive.set_size(*before)
        app.go_home()
    return made


def render_all(app, out_dir, *, all_sizes: bool = True) -> list[Path]:
    made = render(app, out_dir)
    if all_sizes:
        for size in OTHER_SIZES:
            made += render(app, out_dir, size=size, subdir=True)
    return made
