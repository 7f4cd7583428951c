"""One visit, one login: journeys on the real Kivy app (offscreen, real touch events, demo
branch) that count touches and hold the budgets of issue 10:

* home -> the staff-confirmation step of "pay 3 months" (刘桂兰, QS004, owes 3 months)
  takes at most 4 touches plus the 4 PIN digits; the PIN is taken at its 4th digit;
* "check my status, then pay": 我的情况 shows the figures large and offers 去交党费, which
  opens the dues screen without a second PIN;
* 学习, 交党费, 我的情况 and 支部通知 move between each other, through 办别的事 or 返回上页
  to home, without a second PIN; home greets the member and offers 完成;
* the visit ends with 完成 / 回首页 / idle: the member is forgotten, the next personal
  choice asks who you are again, and volume and text size are back at the defaults;
* the quiz result offers the next lesson, 办别的事 and 完成.
"""

from __future__ import annotations

import pytest
from kiosk_fixtures import kivy_ready, login, run_until, tap, type_digits

kivy_ready()

from kiosk import drive, theme  # noqa: E402
from kiosk.app import DEFAULT_VOLUME  # noqa: E402

PIN_DIGITS = 4
PAY_BUDGET = 4


class Counter:
    """Real touches counted, and every screen the app showed, in order."""

    def __init__(self, app):
        self.app, self.touches, self.digits, self.screens = app, 0, 0, []
        show = app._show

        def _show(name, kwargs, *, remember):
            self.screens.append(name)
            return show(name, kwargs, remember=remember)

        app._show = _show

    def tap(self, text):
        tap(self.app, text)
        self.touches += 1

    def tap_prefix(self, prefix):
        b = [b for b in drive.buttons(self.app.current) if b.text.startswith(prefix)][0]
        drive.tap(b)
        self.touches += 1

    def pin(self, digits="1234"):
        self.digits += type_digits(self.app, digits)


def test_pay_three_months_within_the_touch_budget(app, said):
    c = Counter(app)
    c.tap("交党费")
    c.tap_prefix("刘")
    c.tap("刘桂兰")
    assert app.manager.current == "pin"
    c.pin()                                 # no 确定: the 4th digit is enough
    assert app.manager.current == "dues" and app.member["member_no"] == "QS004"
    assert app.current.months == 3 and app.current.ids.count.text == "3个月"
    c.tap("请工作人员确认")
    assert app.manager.current == "confirm" and app.current.job.months == 3
    assert (c.touches, c.digits) == (PAY_BUDGET, PIN_DIGITS), (c.touches, c.digits)
    assert c.screens == ["who", "names", "pin", "dues", "confirm"]


def test_pin_is_taken_at_its_fourth_digit(app, said):
    login(app, "我的情况", name="刘桂兰", pin=None)
    type_digits(app, "123")
    assert app.manager.current == "pin" and not app.member
    tap(app, "4")
    assert app.manager.current == "status" and app.member["name"] == "刘桂兰"
    assert not any(s in "0123456789" for s in said)         # no digit was spoken


def test_status_then_pay_without_a_second_pin(app, said):
    c = Counter(app)
    c.tap("我的情况")
    c.tap_prefix("刘")
    c.tap("刘桂兰")
    c.pin()
    assert app.manager.current == "status"
    ids = app.current.ids
    assert (ids.paid.text, ids.owed.text, ids.amount.text) == ("2026年8月", "3个月", "9角")
    for fid in ("paid", "owed", "amount"):                  # the figures, large
        assert getattr(ids, fid).font_size >= 64
    assert said[-1] == app.current.prompt_text() == "党费还差3个月，一共9角。"
    c.tap("去交党费")
    assert app.manager.current == "dues" and app.member["member_no"] == "QS004"
    c.tap("请工作人员确认")
    assert app.manager.current == "confirm"
    assert c.screens.count("pin") == 1 and c.touches == 5


def test_status_without_dues_owed_offers_no_payment(app):
    login(app, "我的情况", name="张三丰")
    labels = [b.text for b in drive.buttons(app.current)]
    assert "去交党费" not in labels and {"去学习", "办别的事", "完成"} <= set(labels)


def test_moving_between_personal_screens_asks_no_second_pin(app, said):
    login(app, "学习", name="刘桂兰")
    assert app.manager.current == "study"
    c = Counter(app)
    c.tap("返回上页")                          # back past the first screen: home, visit goes on
    assert app.manager.current == "home" and app.member["name"] == "刘桂兰"
    assert app.current.title == "刘桂兰同志，您好" and said[-1] == "刘桂兰，请点您要办的事。"
    done = drive.find(app.root, "完成")
    assert done.opacity == 1 and not done.disabled
    for choice, screen in (("交党费", "dues"), ("我的情况", "status"), ("支部通知", "notices"),
                           ("学习", "study")):
        c.tap(choice)
        assert app.manager.current == screen, choice
        if screen == "status":
            c.tap("办别的事")
        else:
            c.tap("返回上页")
        assert app.manager.current == "home" and app.member["name"] == "刘桂兰"
    assert "pin" not in c.screens and "who" not in c.screens


@pytest.mark.parametrize("how", ["完成", "回首页", "idle"])
def test_a_visit_ends_and_nothing_carries_over(kiosk, said, how):
    app = kiosk(idle=(60, 60))
    login(app, "我的情况", name="刘桂兰")
    tap(app, "字大")
    tap(app, "字大")
    tap(app, "音量 +")
    assert app.text_scale == theme.TEXT_SCALES[-1] and app.volume == DEFAULT_VOLUME + 1
    if how == "完成":
        tap(app, "完成")
    elif how == "回首页":
        tap(app, "回首页")
    else:
        app.idle.ask_after = app.idle.home_after = 0.2
        app.idle.poke()
        run_until(lambda: app.manager.current == "home", timeout=10)
        drive.pump(2)                              # frames go on while nobody touches
    assert app.manager.current == "home" and not app.member
    assert app.text_scale == theme.TEXT_SCALES[0] and app.volume == DEFAULT_VOLUME
    assert app.current.title == "连心 · 党员服务"
    done = drive.find(app.root, "完成")
    assert done.opacity == 0 and done.disabled
    tap(app, "我的情况")
    assert app.manager.current == "who"              # a new visit asks again


def test_quiz_result_offers_next_lesson_and_home(app, said):
    from core import study

    login(app, "学习", name="张三丰")
    first = app.current.shown[0]
    drive.tap(drive.buttons(app.current)[0])
    assert app.manager.current == "lesson"
    lesson = app.current
    while not lesson.at_end():
        lesson.next_sentence()
    tap(app, "做题")
    while app.manager.current == "quiz":
        quiz = app.current
        tap(app, quiz.question["choices"][quiz.question["answer"]])
        tap(app, "看结果" if quiz.number + 1 >= len(quiz.sitting.quiz) else "下一题")
    assert app.manager.current == "quiz_result"
    labels = [b.text for b in drive.buttons(app.current)]
    assert labels == ["学下一课", "办别的事", "完成"]
    tap(app, "学下一课")
    assert app.manager.current == "lesson"
    assert app.current.sitting.lesson["lesson_id"] != first.lesson_id
    assert study.lesson(app.store, app.current.sitting.lesson["lesson_id"])
    tap(app, "回首页")
    assert not app.member


def test_text_size_chosen_before_login_survives_back_but_not_idle(kiosk, said):
    """字大 pressed before the PIN stays when 返回上页 reaches home (no surprise), and the
    idle watch still clears it for the next person (home is watched while it differs)."""
    app = kiosk(idle=(60, 60))
    tap(app, "交党费")
    tap(app, "字大")
    tap(app, "返回上页")
    assert app.manager.current == "home" and app.text_scale == theme.TEXT_SCALES[1]
    app.idle.ask_after = app.idle.home_after = 0.2
    app.idle.poke()
    run_until(lambda: app.text_scale == theme.TEXT_SCALES[0], timeout=10)
    assert app.manager.current == "home" and app.volume == DEFAULT_VOLUME
