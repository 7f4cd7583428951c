"""Pins the idle watch (kiosk/idle.py) on the real app, offscreen, with real touches and
Kivy's clock run for real (timeouts shortened to a fraction of a second):

* a member left in the middle of a lesson is first asked aloud AND on screen whether she
  is still there; after the second timeout the kiosk says it is going home, then goes
  home: no widget on any screen shows her name or member number, the member is
  forgotten, and the lesson progress was saved first;
* the question comes before the going-home announcement, and that before the home prompt
  (nothing changes on screen without being said first);
* a touch after the question takes it off the screen and starts counting again;
* home with nobody identified is left alone.
"""

from __future__ import annotations

import time

import pytest
from kiosk_fixtures import kivy_ready, login, run_until, tap

kivy_ready()

from core import members  # noqa: E402
from kiosk import drive  # noqa: E402
from kiosk.idle import ASK, GOING_HOME  # noqa: E402

MEMBER_NO = "QS001"
SHORT = 0.2


@pytest.fixture
def app(kiosk):
    # Long timeouts while the test logs in; shortened once the member sits still.
    return kiosk(idle=(60, 60))


def shorten(app):
    app.idle.ask_after = app.idle.home_after = SHORT
    app.idle.poke()


def login_and_open_lesson(app):
    login(app, "学习", number="1")
    assert app.manager.current == "study"
    drive.tap(drive.buttons(app.current)[0])
    assert app.manager.current == "lesson"
    tap(app, "暂停")              # a lesson read aloud keeps the kiosk awake; paused, it does not
    tap(app, "下一句")


def texts_on_screens(app):
    out = []
    for screen in app.manager.screens:
        for w in drive.walk(screen):
            out.append(str(getattr(w, "text", "") or ""))
        out.append(str(getattr(screen, "title", "") or ""))
        out.append(str(getattr(screen, "message", "") or ""))
    return out


def test_idle_asks_then_clears_and_goes_home(app, said, demo_store):
    name = members.get(demo_store, MEMBER_NO)["name"]
    login_and_open_lesson(app)
    reader = app.current
    lesson_id = reader.sitting.lesson["lesson_id"]
    assert any(name in t for t in texts_on_screens(app))      # the PIN screen shows her name
    shorten(app)
    run_until(lambda: ASK in said)
    assert said[-1] == ASK and reader.message == ASK            # said and shown
    assert app.manager.current == "lesson" and app.member       # nothing cleared yet
    run_until(lambda: app.manager.current == "home")
    tail = said[said.index(ASK):]
    assert tail[:2] == [ASK, GOING_HOME] and tail[2] == app.current.prompt_text()
    assert not app.member
    for text in texts_on_screens(app):
        assert name not in text and MEMBER_NO not in text
    row = demo_store.one("SELECT seconds, completed FROM study_session WHERE member_no = ? "
                         "AND lesson_id = ?", [MEMBER_NO, lesson_id])
    assert row["completed"] == 0                                # progress kept, not finished
    last = demo_store.one("SELECT payload FROM journal WHERE type = 'study.session' "
                          "ORDER BY seq DESC LIMIT 1")
    assert lesson_id in last["payload"]


def test_a_touch_after_the_question_keeps_the_member(app, said):
    login_and_open_lesson(app)
    reader = app.current
    shorten(app)
    run_until(lambda: ASK in said)
    # A touch anywhere (here: the text area, not a button) answers the question.
    drive.tap_at(*drive.window_pos(reader.ids.area, *reader.ids.area.center))
    assert reader.message == "" and not app.idle.asked
    assert app.manager.current == "lesson" and app.member
    run_until(lambda: said.count(ASK) == 2)                     # counting started again
    assert GOING_HOME not in said and app.manager.current == "lesson"


def test_home_with_nobody_is_left_alone(app, said):
    shorten(app)
    deadline = time.monotonic() + 3 * SHORT
    while time.monotonic() < deadline:
        drive.settle(1)
    assert ASK not in said and GOING_HOME not in said
    assert app.manager.current == "home"
