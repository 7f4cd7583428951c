"""Pins ``lianxin kiosk --audit --json`` and ``--screenshots`` as a user runs them: the real
``lianxin`` console script in a fresh process, offscreen, no display.

* one run of ``lianxin --db <absent> kiosk --audit --json --screenshots DIR`` exits 0;
* its stdout is exactly the JSON list: one object per registered screen, in the registry's
  order, each with ``screen``, ``min_font_sp``, ``min_target_dp``, ``min_contrast``,
  ``choices``, ``has_prompt``, ``prompt`` (the text) and ``prompt_s`` (its length said by
  the real engine, <= 8 s) of the right types and within the rules (and no problems);
* the audit and the screenshots run on their own demo branch: the terminal store named by
  ``--db`` is neither opened nor created;
* DIR holds exactly one PNG per registered screen at 1280×800, and the same under
  ``1920x1080/`` and ``1080x1920/``: real PNGs of those sizes, not blank (paper at the top,
  the dark bar at the bottom, several colours), and no two screens drawn the same;
* the table form of the same rows (``audit.format_rows``) names every screen and says
  whether the audit passed, marking each problem.

(tests/test_kiosk_audit.py pins the audit's measurements in process, and that it catches
each broken rule.)
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kiosk_fixtures import kivy_ready

kivy_ready()

from PIL import Image  # noqa: E402

from kiosk import usability as audit  # noqa: E402
from kiosk.screens import REGISTRY  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"": (1280, 800), "1920x1080": (1920, 1080), "1080x1920": (1080, 1920)}
TYPES = {"screen": str, "min_font_sp": float, "min_target_dp": float,
         "min_contrast": float, "choices": int, "has_prompt": bool, "prompt": str,
         "prompt_s": float}


def lianxin() -> list[str]:
    script = Path(sys.executable).with_name("lianxin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kiosk-entry")
    db = tmp / "absent" / "terminal.db"
    shots = tmp / "shots"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([*lianxin(), "--db", str(db), "kiosk", "--audit", "--json",
                           "--screenshots", str(shots)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return {"done": done, "db": db, "shots": shots}


def test_audit_json_covers_every_screen_and_passes(run):
    done = run["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(done.stdout)                  # nothing but the JSON on stdout
    assert isinstance(rows, list)
    assert [r["screen"] for r in rows] == list(REGISTRY)
    for r in rows:
        assert isinstance(r, dict)
        for key, kind in TYPES.items():
            value = r[key]
            ok = (isinstance(value, (int, float)) if kind is float else isinstance(value, kind))
            assert ok and (kind is bool or not isinstance(value, bool)), (r["screen"], key, value)
        assert r["min_font_sp"] >= 28 and r["min_target_dp"] >= 96, r
        assert r["min_contrast"] >= 7 and 0 <= r["choices"] <= 6 and r["has_prompt"], r
        assert r["prompt"].strip() and 0.5 < r["prompt_s"] <= 8, r
        assert r["problems"] == [], r


def test_audit_and_screenshots_leave_the_terminal_store_alone(run):
    assert run["done"].returncode == 0, run["done"].stderr[-3000:]
    assert not run["db"].exists() and not run["db"].parent.exists()


def _colours(img: Image.Image) -> int:
    small = img.convert("RGB").resize((img.width // 8, img.height // 8), Image.NEAREST)
    return len(small.getcolors(maxcolors=1 << 16) or [])


def test_screenshots_one_real_png_per_screen_and_size(run):
    assert run["done"].returncode == 0, run["done"].stderr[-3000:]
    shots: Path = run["shots"]
    found = sorted(p.relative_to(shots).as_posix() for p in shots.rglob("*") if p.is_file())
    wanted = sorted(f"{sub}/{name}.png".lstrip("/") for sub in SIZES for name in REGISTRY)
    assert found == wanted                           # nothing missing, nothing stray
    for sub, (w, h) in SIZES.items():
        digests = set()
        for name in REGISTRY:
            path = shots / sub / f"{name}.png"
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
            with Image.open(path) as img:
                assert img.size == (w, h), path
                rgb = img.convert("RGB")
                top, bottom = rgb.getpixel((w // 2, 2)), rgb.getpixel((2, h - 3))
                assert min(top) > 225, (path, top)          # the paper colour
                assert bottom[2] < 80, (path, bottom)        # the bar's dark blue-grey
                assert _colours(rgb) >= 4, path              # text and buttons, not a flat fill
                digests.add(hashlib.sha256(rgb.tobytes()).hexdigest())
        assert len(digests) == len(REGISTRY), f"two screens drawn the same at {w}x{h}"


def test_table_form_names_every_screen_and_the_outcome(run):
    rows = json.loads(run["done"].stdout)
    table = audit.format_rows(rows)
    lines = table.splitlines()
    assert lines[-1] == "audit passed"
    assert [ln.split()[0] for ln in lines[1:-1]] == list(REGISTRY)
    broken = [dict(rows[0], min_font_sp=20.0, problems=["1280x800 text x1: text of 20.0 sp (< 28)"])]
    failed = audit.format_rows(broken).splitlines()
    assert failed[-1] == "audit FAILED"
    assert failed[2] == "    ✗ 1280x800 text x1: text of 20.0 sp (< 28)"
    assert not audit.passed(broken)
