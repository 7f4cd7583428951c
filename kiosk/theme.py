"""The kiosk's one theme: sizes in sp/dp, colours, the contrast rule, and the CJK font.

Numbers come from DESIGN §6 (stricter than China's 2021 age-friendly app spec): body text
at least 28 sp with a larger step of at least 40 sp, touch targets at least 96 dp tall and
60 dp wide, text contrast at least 7:1 (WCAG 2.2 AAA), at most 6 choices per screen.

Colours are hex strings here (readable, and what the contrast formula takes); ``rgba()``
turns them into Kivy's 0..1 tuples. Every widget that paints a background exposes it as
``bg_color`` so the audit can pair each text with what it is drawn on.

This module imports Kivy only inside :func:`register_font`, so the contrast maths and the
numbers can be used (and tested) without a window.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

# -- sizes ------------------------------------------------------------------------------
BODY_SP = 28          # body text, the smallest text anywhere
LARGE_SP = 40         # choice buttons, the larger step
TITLE_SP = 44         # a screen's title line
KEY_SP = 48           # keypad digits
DIGITS_SP = 64        # big figures (typed number, amounts)
TARGET_H_DP = 96      # every touch target at least this tall ...
TARGET_W_DP = 60      # ... and this wide
CHOICE_H_DP = 120     # a main choice button
PORTRAIT_CHOICE_H_DP = 168   # ... on a tall (portrait) screen, which has the room
BAR_H_DP = 104        # the always-present bar's buttons
PAD_DP = 16
TEXT_SCALES = (1.0, 1.25, 1.5)   # 字小 / 字大 steps; the smallest keeps every rule
MAX_CHOICES = 6
MIN_CONTRAST = 7.0
VOLUME_LEVELS = 5

# -- colours (calm, high contrast: dark text on warm paper, white text on deep colours) --
BG = "#FBF8F1"
TEXT = "#1B1B1B"
MUTED_TEXT = "#3D3D3D"     # secondary lines: still far above 7:1 on BG
ERROR_TEXT = "#8A1010"
CHOICE_BG = "#123D73"
CHOICE_DOWN = "#0A2647"
CHOICE_TEXT = "#FFFFFF"
HELP_BG = "#8A1A1A"        # 呼叫工作人员: red AND its own words, never colour alone
HELP_DOWN = "#5E0F0F"
KEY_BG = "#E6E0D2"
KEY_DOWN = "#CBC2AE"
KEY_TEXT = "#1B1B1B"
BAR_BG = "#202A35"
BAR_BUTTON_BG = "#34414F"
BAR_BUTTON_DOWN = "#141B22"
BAR_TEXT = "#FFFFFF"


def rgba(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    h = hex_colour.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"colour must be #RRGGBB, got {hex_colour!r}")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, alpha)


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour) -> float:
    """WCAG 2.x relative luminance of a '#RRGGBB' string or a 0..1 RGB(A) tuple."""
    r, g, b = (rgba(colour) if isinstance(colour, str) else colour)[:3]
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(fg, bg) -> float:
    """WCAG contrast ratio (1..21) between two opaque colours."""
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# -- the CJK font -------------------------------------------------------------------------
DEBIAN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",   # Debian fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",     # Debian fonts-wqy-zenhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
ENV_FONT = "LIANXIN_CJK_FONT"


class FontMissing(RuntimeError):
    """No font that draws Hanzi: the kiosk would show boxes, so it refuses to start."""


def find_cjk_font() -> Path:
    """The font file to use: $LIANXIN_CJK_FONT, a known Debian path, else fontconfig's pick."""
    explicit = os.environ.get(ENV_FONT)
    if explicit:
        if not Path(explicit).is_file():
            raise FontMissing(f"{ENV_FONT}={explicit} is not a file")
        return Path(explicit)
    for candidate in DEBIAN_FONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    if shutil.which("fc-list"):
        out = subprocess.run(["fc-list", ":lang=zh-cn", "file"], capture_output=True,
                             text=True, check=False).stdout
        files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
        for f in files:
            if f.endswith((".ttf", ".ttc", ".otf")) and Path(f).is_file():
                return Path(f)
    raise FontMissing("no Chinese font found: install the Debian package fonts-wqy-microhei "
                      f"(apt-get install fonts-wqy-microhei) or set {ENV_FONT} to a .ttf/.ttc")


_registered: Path | None = None


def register_font() -> Path:
    """Make the CJK font Kivy's default (every Label uses it); once per process."""
    global _registered
    if _registered is None:
        from kivy.core.text import DEFAULT_FONT, LabelBase

        path = find_cjk_font()
        LabelBase.register(DEFAULT_FONT, str(path))
        _registered = path
    return _registered
