"""Pins the kiosk's study side on the real Kivy app, offscreen, driven by real touch
events, on the demo branch:

* 学习 → member number → PIN → the recommended lessons, reasons shown on the buttons and
  said ("支部布置的学习内容"), at most four lessons (+ 更多课程) per page;
* the reader says the lesson sentence by sentence: 暂停/继续, 上一句, 下一句 and the bar's
  再听一遍 (the current sentence again); the current sentence is marked ▶ on screen;
  reading on by itself reaches the end, says so and marks the lesson completed;
* study is real: 做题 at sentence 2 does not make the lesson 学完 (the result says so); a
  lesson skimmed with 下一句 faster than anyone reads does not count either; read at a
  reading pace (a clock the test moves) to 八成 it does;
* progress is saved on one study_session row as the member goes, and kept when she leaves;
* the quiz: one question at a time, every question answered right (answers read from
  ``core.study.lesson``) → "答对了" each time → result → a completed session with
  correct == questions; a wrong answer says and shows the right one in words;
* 支部通知 without a PIN: read aloud, 上一条/下一条;
* layouts hold (audit rules) for the states the audit does not sample (quiz feedback),
  and the reader's own line breaking never starts a line with closing punctuation.
"""

from __future__ import annotations

import json

from kiosk_fixtures import kivy_ready, login, run_until, tap

kivy_ready()

from core import members, notices, study  # noqa: E402
from kiosk import drive  # noqa: E402
from kiosk import usability as audit  # noqa: E402
from kiosk.screens.lesson import END_SKIPPED, END_WITH_QUIZ  # noqa: E402
from kiosk.screens.study_reading import MARKER, NO_START, break_lines  # noqa: E402
from voice.speech_text import sentences  # noqa: E402

MEMBER_NO = "QS001"


def login_for(app, choice="学习"):
    assert login(app, choice, number="1")["member_no"] == MEMBER_NO
    assert app.member["member_no"] == MEMBER_NO


def lesson_buttons(app):
    return [b for b in drive.buttons(app.current) if b.text != "更多课程"]


def sessions(store, lesson_id):
    return store.all("SELECT * FROM study_session WHERE member_no = ? AND lesson_id = ?",
                     [MEMBER_NO, lesson_id])


def test_study_list_shows_and_says_reasons(app, said, demo_store):
    login_for(app)
    assert app.manager.current == "study"
    recs = study.recommend(demo_store, MEMBER_NO, limit=50)
    buttons = lesson_buttons(app)
    assert 1 <= len(buttons) <= 4 and len(drive.buttons(app.current)) <= 6
    assert recs[0].reason_zh == "支部布置的学习内容"
    assert recs[0].title in buttons[0].text and "支部布置的学习内容" in buttons[0].text
    assert f"{recs[0].minutes}分钟" in buttons[0].text
    assert said[-1] == "请点一课来学习。"
    tap(app, "再听一遍")                        # the lessons and their reasons
    assert recs[0].title in said[-1] and "支部布置的学习内容" in said[-1]
    # 更多课程 pages through every lesson: a recommendation hides none.
    seen = {b.text.split("\n")[0] for b in buttons}
    for _ in range(len(recs)):
        tap(app, "更多课程")
        seen |= {b.text.split("\n")[0] for b in lesson_buttons(app)}
    assert seen == {r.title for r in recs}


def test_study_lesson_and_quiz_journey(app, said, demo_store):
    login_for(app)
    first = study.recommend(demo_store, MEMBER_NO)[0]
    lesson = study.lesson(demo_store, first.lesson_id)
    body = sentences(lesson["body"])
    drive.tap(lesson_buttons(app)[0])
    reader = app.current
    assert app.manager.current == "lesson"
    assert said[-2] == f"{first.title}，{first.minutes}分钟，{first.reason_zh}"  # the press
    assert said[-1] == f"现在学习《{first.title}》。"           # the prompt: short
    tap(app, "暂停")
    tap(app, "继续")                                           # the first sentence comes next
    assert said[-2:] == ["继续", body[0]] and reader.index == 0
    assert MARKER + "[u]" in reader.ids.para.text and body[0] in reader.ids.para.text
    assert reader.playing and sessions(demo_store, first.lesson_id)[0]["completed"] == 0

    tap(app, "暂停")
    assert said[-1] == "暂停" and not reader.playing
    drive.find(app.root, "继续")                         # the label says what it will do
    assert "已暂停" in reader.where
    tap(app, "下一句")
    assert said[-2:] == ["下一句", body[1]] and reader.index == 1
    shown = reader.ids.para.text.replace("[/u]\n[u]", "").replace("\n", "")
    assert f"{MARKER}[u]{body[1]}[/u]" in shown
    tap(app, "下一句")
    tap(app, "上一句")
    assert said[-2:] == ["上一句", body[1]] and reader.index == 1
    tap(app, "再听一遍")
    assert said[-2:] == ["再听一遍", body[1]]
    rows = sessions(demo_store, first.lesson_id)
    assert len(rows) == 1 and rows[0]["completed"] == 0       # progress, same session
    tap(app, "继续")
    assert said[-2:] == ["继续", body[1]] and reader.playing

    tap(app, "做题")
    assert app.manager.current == "quiz"
    assert sessions(demo_store, first.lesson_id)[0]["completed"] == 0      # not 学完 at sentence 2
    quiz = app.current
    for n, q in enumerate(lesson["quiz"], start=1):
        assert quiz.title == f"第{n}题，共{len(lesson['quiz'])}题"
        drive.settle(1)
        assert said[-2] == quiz.prompt_text() == f"第{n}题，共{len(lesson['quiz'])}题。"
        assert said[-1].startswith(q["question"]) and all(c in said[-1] for c in q["choices"])
        tap(app, "再听一遍")
        assert said[-1].endswith(quiz.question_text())
        choices = [b for b in drive.buttons(quiz)]
        assert 2 <= len(choices) <= 4
        tap(app, q["choices"][q["answer"]])
        assert said[-2] == q["choices"][q["answer"]]
        assert said[-1].startswith("答对了") and q["explain"] in said[-1]
        assert quiz.ids.verdict.text.startswith("答对了")
        tap(app, "看结果" if n == len(lesson["quiz"]) else "下一题")
    assert app.manager.current == "quiz_result"
    total = len(lesson["quiz"])
    assert f"答对{total}题，共{total}题" in said[-1]
    assert app.current.title == f"《{first.title}》还没有学完" and "八成" in app.current.ids.remark.text
    rows = sessions(demo_store, first.lesson_id)
    assert len(rows) == 1
    row = rows[0]
    assert row["completed"] == 0 and row["correct"] == row["questions"] == total
    assert json.loads(row["answers"]) == [q["answer"] for q in lesson["quiz"]]
    tap(app, "学下一课")
    assert app.manager.current == "lesson"


def test_wrong_answer_says_the_right_one(app, said, demo_store):
    login_for(app)
    drive.tap(lesson_buttons(app)[0])
    lesson = app.current.sitting.lesson
    tap(app, "做题")
    q = lesson["quiz"][0]
    wrong = next(c for i, c in enumerate(q["choices"]) if i != q["answer"])
    tap(app, wrong)
    right = q["choices"][q["answer"]]
    assert said[-1].startswith(f"答错了。正确答案是：{right}")
    assert app.current.ids.verdict.text == f"答错了。正确答案是：{right}。"   # shown in words


def test_reading_on_by_itself_reaches_the_end(app, said, demo_store):
    login_for(app)
    drive.tap(lesson_buttons(app)[0])
    reader = app.current
    lesson_id = reader.sitting.lesson["lesson_id"]
    body = list(reader.sentences)
    reader.seconds_per_char, reader.gap_seconds = 0.0, 0.01
    reader.start_timer_for("")
    run_until(lambda: said[-1] == END_WITH_QUIZ)
    spoken = [s for s in said if s in body]
    assert spoken[-len(body):] == body                          # every sentence, in order
    assert reader.index == len(body) - 1 and not reader.playing
    assert reader.message == END_WITH_QUIZ                      # shown as well as said
    assert sessions(demo_store, lesson_id)[0]["completed"] == 1


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_skimming_is_not_studying_but_reading_is(app, said, demo_store):
    login_for(app)
    drive.tap(lesson_buttons(app)[0])
    reader = app.current
    clock = reader.clock = FakeClock()
    reader._since = clock.now
    lesson_id = reader.sitting.lesson["lesson_id"]
    tap(app, "暂停")
    while not reader.at_end():                 # 下一句 through it all, no time passing
        tap(app, "下一句")
    tap(app, "下一句")                           # at the end: not said to be 读完了
    assert said[-1] == reader.message == END_SKIPPED
    tap(app, "做题")
    assert sessions(demo_store, lesson_id)[0]["completed"] == 0
    tap(app, "回首页")

    login_for(app)
    drive.tap(next(b for b in lesson_buttons(app) if b.text.startswith(reader.title[1:-1])))
    reader = app.current
    clock = reader.clock = FakeClock()
    reader._since = clock.now
    lesson_id = reader.sitting.lesson["lesson_id"]
    tap(app, "暂停")
    need = -(-len(reader.sentences) * 8 // 10)             # 八成
    for i in range(need):
        clock.now += len(reader.sentences[i]) * 0.2         # a reading pace
        if i < need - 1:
            tap(app, "下一句")
            assert not any(r["completed"] for r in sessions(demo_store, lesson_id))
    tap(app, "做题")
    assert [r["completed"] for r in sessions(demo_store, lesson_id)] == [0, 1]   # skim, read
    assert study.hours(demo_store, MEMBER_NO, 2026)["lessons_completed"] >= 1


def test_leaving_a_lesson_keeps_the_progress(app, said, demo_store):
    login_for(app)
    drive.tap(lesson_buttons(app)[0])
    lesson_id = app.current.sitting.lesson["lesson_id"]
    tap(app, "暂停")
    tap(app, "下一句")
    tap(app, "回首页")
    assert app.manager.current == "home" and not app.member
    rows = sessions(demo_store, lesson_id)
    assert len(rows) == 1 and rows[0]["completed"] == 0
    events = demo_store.all("SELECT payload FROM journal WHERE type = 'study.session'")
    assert len(events) >= 3                                     # opened, moved, left


def test_notices_without_login(app, said, demo_store):
    items = notices.recent(demo_store)
    tap(app, "支部通知")
    screen = app.current
    assert app.manager.current == "notices" and not app.member
    first = sentences(items[0]["body"])
    assert said[-1] == f"支部通知：{items[0]['title']}。"
    screen.seconds_per_char, screen.gap_seconds = 0.0, 0.01
    run_until(lambda: said[-1] == first[0])                    # then the notice itself
    screen.seconds_per_char, screen.gap_seconds = 0.42, 0.8
    assert screen.title == items[0]["title"]
    assert MARKER in screen.ids.para.text
    tap(app, "下一条")
    assert screen.title == items[1]["title"] and items[1]["title"] in said[-1]
    tap(app, "上一条")
    tap(app, "上一条")                                          # wraps round to the oldest
    assert screen.title == items[-1]["title"]
    tap(app, "暂停")
    assert not screen.playing
    tap(app, "再听一遍")
    assert said[-1] == sentences(items[-1]["body"])[0]


def test_feedback_and_reader_layouts_hold(app, demo_store):
    app.member = {"member_no": MEMBER_NO, "name": members.get(demo_store, MEMBER_NO)["name"]}
    lesson_id = study.recommend(demo_store, MEMBER_NO)[0].lesson_id
    problems = []
    for size in audit.SIZES:
        drive.set_size(*size)
        for scale in (1.0, 1.5):
            app.text_scale = scale
            reader = app.show("lesson", lesson_id=lesson_id)
            drive.pump(3)
            for _ in range(12):                                  # pages further on
                reader.next_sentence()
            drive.pump(2)
            problems += [f"lesson {size} x{scale}: {p}" for p in audit.measure(app)["problems"]]
            assert reader.ids.para.height <= reader.ids.area.height + 1
            reader.finish()
            q = app.current.question
            app.current.answer((q["answer"] + 1) % len(q["choices"]))   # a wrong answer
            drive.pump(3)
            problems += [f"feedback {size} x{scale}: {p}" for p in audit.measure(app)["problems"]]
    assert problems == []


def test_lesson_lines_are_one_and_a_half_apart(app, demo_store):
    """WCAG 1.4.8: line spacing at least 1.5 within a paragraph, measured as drawn."""
    from kiosk.screens.study_reading import text_height

    app.member = {"member_no": MEMBER_NO, "name": members.get(demo_store, MEMBER_NO)["name"]}
    lesson_id = study.recommend(demo_store, MEMBER_NO)[0].lesson_id
    for scale in (1.0, 1.5):
        app.text_scale = scale
        reader = app.show("lesson", lesson_id=lesson_id)
        drive.pump(3)
        para = reader.ids.para
        px = para.font_size
        assert para.line_height > 1.25                      # the old spacing was short of it
        pitch = text_height(2, px) - text_height(1, px)
        assert pitch >= 1.5 * px, (pitch, px)
        lines = len(audit.drawn_lines(para))
        assert lines > 1 and para.texture_size[1] >= text_height(lines, px) - 1


def test_line_breaking_keeps_punctuation_off_line_starts(demo_store):
    from kivy.core.text import Label as CoreLabel  # noqa: F401  (the font is registered)

    from kiosk import theme

    theme.register_font()
    for row in study.lessons(demo_store):
        text = "".join(sentences(study.lesson(demo_store, row["lesson_id"])["body"]))
        for font_px, width in ((40, 600), (60, 1000), (50, 333)):
            starts = break_lines(text, font_px, width)
            assert starts[0] == 0 and len(starts) > 1
            assert all(text[s] not in NO_START for s in starts)
