"""Shared kiosk test fixtures and helpers (a pytest plugin, registered in tests/conftest.py).

A kiosk test module starts with::

    from kiosk_fixtures import kivy_ready

    kivy_ready()        # skip the module without Kivy; render offscreen

    from kiosk import drive  # noqa: E402     (Kivy and kiosk's Kivy parts only after it)

and then uses the fixtures ``said`` (what the app said, in order), ``kiosk`` (starts the
real app on the demo branch, with options), ``app`` (the app started with defaults),
``paper`` (a ``file:`` receipt printer) and the helpers ``tap``, ``keys``, ``type_digits``, ``run_until``,
``login`` (a member, from home), ``staff_door`` and ``enter_staff``. A module needing other options
overrides ``app`` in two lines, e.g. ``def app(kiosk): return kiosk(idle=(60, 60))``.

Nothing here imports Kivy at import time: this module is loaded for every test.
"""

from __future__ import annotations

import importlib.util
import time
from contextlib import ExitStack

import pytest

KIVY_MISSING = importlib.util.find_spec("kivy") is None
needs_kivy = pytest.mark.skipif(KIVY_MISSING, reason="kivy is not installed")


def kivy_ready() -> None:
    """Skip (the calling module, at import; else the test) when Kivy is not installed,
    and otherwise set Kivy up to render offscreen. Call before Kivy is first imported."""
    if KIVY_MISSING:
        pytest.skip("kivy is not installed (pip install kivy==2.3.1)", allow_module_level=True)
    from kiosk.headless import prepare

    prepare(headless=True)


@pytest.fixture
def said():
    """Everything the app said, in order (the app's ``speak``)."""
    return []


@pytest.fixture
def kiosk(demo_store, said):
    """``kiosk(**options)`` starts the real app (``KioskApp(store, **options)``) on the
    window, by default on the demo branch speaking into ``said``; stopped at teardown."""
    kivy_ready()
    from kiosk import drive
    from kiosk.app import KioskApp

    with ExitStack() as started:
        def start(store=None, **options):
            options.setdefault("speak", said.append)
            app = KioskApp(demo_store if store is None else store, **options)
            return started.enter_context(drive.running(app))

        yield start


@pytest.fixture
def app(kiosk):
    return kiosk()


@pytest.fixture
def paper(tmp_path, monkeypatch):
    """The receipt printer is a file (``LIANXIN_PRINTER=file:...``): the bytes it got."""
    out = tmp_path / "printer.bin"
    monkeypatch.setenv("LIANXIN_PRINTER", f"file:{out}")
    return out


def tap(app, text):
    """A real touch on the one button labelled ``text``."""
    from kiosk import drive

    drive.tap_text(app.root, text)


def keys(app, digits):
    """Type ``digits`` on the screen's keypad, then 确定."""
    type_digits(app, digits)
    tap(app, "确定")


def type_digits(app, digits):
    """Type ``digits`` on the screen's keypad, nothing more (a member's PIN is taken at
    its 4th digit). Returns the number of touches."""
    for d in digits:
        tap(app, d)
    return len(digits)


def run_until(cond, timeout=10.0):
    """Run Kivy's clock until ``cond()`` holds (a bound, not a timing assertion)."""
    from kiosk import drive

    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached"
        drive.settle(1)


def login(app, via="交党费", *, name=None, number=None, pin="1234"):
    """A member identifies herself from home: ``via`` (a home choice), then her ``name``
    (surname page, then name page, paging on while it is not shown) or her member
    ``number`` on the keypad, then her ``pin`` (None: stop on the PIN screen).
    Returns the member the PIN screen was for."""
    from kiosk import drive

    def labels():
        return [b.text for b in drive.buttons(app.current)]

    tap(app, via)
    if name is not None:
        while not any(text.startswith(name[0]) for text in labels()):
            tap(app, "更多姓氏")
        tap(app, next(text for text in labels() if text.startswith(name[0])))
        assert app.manager.current == "names"
        while name not in labels():
            tap(app, "更多名字")
        tap(app, name)
    else:
        tap(app, "输入党员编号")
        keys(app, number)
    assert app.manager.current == "pin"
    member = app.current.member
    if pin is not None:
        type_digits(app, pin)
    return member


def staff_door(app, seconds=None):
    """Press and hold home's title (the staff door): for ``seconds``, by default just past
    the app's hold time, which this shortens to 0.3 s to keep tests quick (the real 3 s is
    held in tests/test_kiosk_staff.py)."""
    from kiosk import drive

    if seconds is None:
        app.staff_hold_s = 0.3
        seconds = 0.4
    if app.manager.current != "home":
        tap(app, "回首页")
    drive.hold(app.current.ids.title, seconds)


def enter_staff(app, pin="2468", *, name="王志刚", expect="staff"):
    """The staff door (home's title held), then staff ``name`` and ``pin``; lands on
    ``expect``."""
    staff_door(app)
    assert app.manager.current == "confirm"
    tap(app, name)
    keys(app, pin)
    assert app.manager.current == expect
