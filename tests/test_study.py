"""Study: lessons, sessions, hours and explainable recommendations; and branch notices.

Pins:
  * ``publish_lesson`` refuses a lesson without id/title/body/category, minutes outside
    1-120, more than 5 questions, a question with fewer than 2 or more than 4 choices or an
    answer that is not one of them; republishing replaces the quiz;
  * ``record_session`` grades the answers, saves progress of one sitting under its
    ``session_id`` without counting it twice, records the channel (kiosk/phone);
    ``hours`` sums seconds per member per calendar year (CST);
  * ``grade``: correct count and the 60% pass mark;
  * ``recommend``: assigned-and-unfinished first ("支部布置的学习内容"), then started-and-
    unfinished ("您上次还没有学完"), then unopened lessons round-robin over categories
    (never two of one category in a row while another category still has lessons), then
    finished lessons only as "review" at the end; every reason is non-empty Chinese; a
    member who studies one category still gets the others (no filter bubble);
  * notices: title/body/date required, newest first, republishing by id replaces.
"""

from __future__ import annotations

import re

import pytest

from core import members, notices, study
from core.errors import InvalidInput, NotFound

Q3 = [{"question": f"第{i}题？", "choices": ["对", "错", "不知道"], "answer": i % 2,
       "explain": "说明。"} for i in range(3)]
HANZI = re.compile(r"[\u4e00-\u9fff]")


def publish(store, lesson_id, category="健康生活", *, assigned=False, quiz=Q3, **kw):
    kw.setdefault("title", f"课程{lesson_id}")
    kw.setdefault("minutes", 5)
    kw.setdefault("body", "这是一课的正文。" * 10)
    study.publish_lesson(store, lesson_id=lesson_id, category=category, quiz=quiz,
                         assigned=assigned, actor="hub", **kw)


@pytest.fixture
def member(store):
    members.add(store, member_no="QS001", name="张三丰", category="student", actor="staff:S01")
    return "QS001"


@pytest.fixture
def library(store, member):
    """Nine lessons over four categories; L02 is assigned by the branch."""
    for lid, cat, assigned in [("L01", "党章党规", False), ("L02", "党费知识", True),
                               ("L03", "防范诈骗", False), ("L04", "健康生活", False),
                               ("L05", "健康生活", False), ("L06", "健康生活", False),
                               ("L07", "党章党规", False), ("L08", "防范诈骗", False),
                               ("L09", "健康生活", False)]:
        publish(store, lid, cat, assigned=assigned)
    return store


def rec(store, member_no="QS001", limit=20):
    return study.recommend(store, member_no, limit=limit)


def ids(recs):
    return [r.lesson_id for r in recs]


# -- lessons -----------------------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"lesson_id": ""}, {"title": "  "}, {"body": ""}, {"category": ""},
    {"minutes": 0}, {"minutes": 121}, {"minutes": "5"}, {"minutes": 2.5},
    {"quiz": Q3 * 2},
    {"quiz": [{"question": "？", "choices": ["只有一个"], "answer": 0}]},
    {"quiz": [{"question": "？", "choices": ["a", "b", "c", "d", "e"], "answer": 0}]},
    {"quiz": [{"question": "？", "choices": ["对", "错"], "answer": 2}]},
    {"quiz": [{"question": "？", "choices": ["对", "错"], "answer": -1}]},
    {"quiz": [{"question": "？", "choices": ["对", "错"]}]},
    {"quiz": [{"question": "", "choices": ["对", "错"], "answer": 0}]},
    {"quiz": [{"question": "？", "choices": ["对", ""], "answer": 0}]},
])
def test_publish_lesson_refuses_a_bad_lesson(store, change):
    kw = {"lesson_id": "L01", "title": "标题", "category": "健康生活", "minutes": 5,
          "body": "正文。", "quiz": Q3, **change}
    with pytest.raises(InvalidInput):
        study.publish_lesson(store, actor="hub", **kw)
    assert study.lessons(store) == []


def test_publish_lesson_stores_and_replaces_the_quiz(store):
    publish(store, "L01", title=" 冬季保暖 ", body="  正文。  ")
    row = study.lesson(store, "L01")
    assert (row["title"], row["body"], row["minutes"], len(row["quiz"])) == ("冬季保暖", "正文。", 5, 3)
    assert row["quiz"][1] == {"question": "第1题？", "choices": ["对", "错", "不知道"],
                              "answer": 1, "explain": "说明。"}
    publish(store, "L01", quiz=Q3[:2], assigned=True)
    row = study.lesson(store, "L01")
    assert len(row["quiz"]) == 2 and row["assigned"] == 1
    assert len(study.lessons(store)) == 1
    ev = store.one("SELECT type, payload FROM journal ORDER BY seq DESC LIMIT 1")
    assert ev["type"] == "lesson.published" and '"questions":2' in ev["payload"]
    with pytest.raises(NotFound):
        study.lesson(store, "L99")


# -- grading and sessions ---------------------------------------------------------------------

def test_grade_counts_correct_answers_and_the_pass_mark(store):
    publish(store, "L01")
    row = study.lesson(store, "L01")  # answers are 0, 1, 0
    assert study.grade(row, [0, 1, 0]) == (3, 3, True)
    assert study.grade(row, [0, 1, 1]) == (2, 3, True)     # 2/3 >= 60%
    assert study.grade(row, [0, 0, 1]) == (1, 3, False)
    assert study.grade(row, [None, None, None]) == (0, 3, False)
    assert study.grade(row, [0]) == (1, 3, False)
    assert study.grade({"quiz": []}, []) == (0, 0, False)


def test_record_session_grades_answers_and_journals(store, member):
    publish(store, "L01")
    s = study.record_session(store, member_no=member, lesson_id="L01", seconds=300,
                             completed=True, answers=[0, 1, 1], channel="phone")
    assert (s["correct"], s["questions"], s["channel"], s["completed"]) == (2, 3, "phone", True)
    row = store.one("SELECT seconds, completed, correct, questions, channel, answers "
                    "FROM study_session WHERE session_id = ?", [s["session_id"]])
    assert row == {"seconds": 300, "completed": 1, "correct": 2, "questions": 3,
                   "channel": "phone", "answers": "[0, 1, 1]"}
    ev = store.one("SELECT type FROM journal ORDER BY seq DESC LIMIT 1")
    assert ev["type"] == "study.session"


def test_record_session_refuses_bad_input(store, member):
    publish(store, "L01")
    ok = {"member_no": member, "lesson_id": "L01", "seconds": 60, "completed": False}
    for bad in ({"channel": "web"}, {"seconds": -1}, {"seconds": 86401}, {"seconds": 1.5},
                {"answers": [0, 0, 0, 0]}, {"answers": ["a"]}, {"started_at": "yesterday"}):
        with pytest.raises(InvalidInput):
            study.record_session(store, **{**ok, **bad})
    with pytest.raises(NotFound):
        study.record_session(store, **{**ok, "member_no": "QS999"})
    with pytest.raises(NotFound):
        study.record_session(store, **{**ok, "lesson_id": "L99"})
    assert store.one("SELECT COUNT(*) AS n FROM study_session")["n"] == 0


def test_progress_of_one_sitting_is_saved_without_counting_twice(store, member):
    publish(store, "L01")
    s = study.record_session(store, member_no=member, lesson_id="L01", seconds=60, completed=False)
    study.record_session(store, member_no=member, lesson_id="L01", seconds=150, completed=True,
                         session_id=s["session_id"])
    study.record_session(store, member_no=member, lesson_id="L01", seconds=180, completed=False,
                         session_id=s["session_id"])
    h = study.hours(store, member, 2026)
    assert (h["seconds"], h["sessions"], h["lessons_completed"]) == (180, 1, 1)
    with pytest.raises(NotFound):
        study.record_session(store, member_no=member, lesson_id="L01", seconds=1,
                             completed=False, session_id="no-such-session")


def test_hours_sum_seconds_per_calendar_year(store, member, clock):
    publish(store, "L01")
    publish(store, "L02")
    for seconds, lesson_id, done in [(1800, "L01", True), (900, "L02", False), (2700, "L02", True)]:
        study.record_session(store, member_no=member, lesson_id=lesson_id, seconds=seconds,
                             completed=done)
    # A sitting late on New Year's Eve, given in UTC, belongs to the next year in CST.
    study.record_session(store, member_no=member, lesson_id="L01", seconds=600, completed=False,
                         started_at="2026-12-31T17:00:00+00:00")
    study.record_session(store, member_no=member, lesson_id="L01", seconds=1200, completed=True,
                         started_at="2025-06-01T09:00:00")
    h = study.hours(store, member, 2026)
    assert h == {"seconds": 5400, "sessions": 3, "lessons_completed": 2, "hours": 1.5,
                 "year": 2026}
    assert study.hours(store, member, 2027)["seconds"] == 600
    assert study.hours(store, member, 2025)["hours"] == round(1200 / 3600, 2)
    assert study.hours(store, member, 2024)["seconds"] == 0


# -- recommendations ---------------------------------------------------------------------------

def assert_reasons_are_chinese(recs):
    for r in recs:
        assert r.reason_zh.strip() and HANZI.search(r.reason_zh), r


def test_recommend_for_a_new_member(library):
    recs = rec(library)
    assert recs[0].lesson_id == "L02"
    assert (recs[0].reason, recs[0].reason_zh) == ("assigned", "支部布置的学习内容")
    rest = recs[1:]
    assert sorted(ids(rest)) == ["L01", "L03", "L04", "L05", "L06", "L07", "L08", "L09"]
    assert {r.reason for r in rest} == {"new_category"}
    assert rest[0].reason_zh == f"您还没有学过“{rest[0].category}”方面的内容"
    assert_reasons_are_chinese(recs)


def no_category_twice_in_a_row_while_others_remain(recs):
    cats = [r.category for r in recs]
    for i in range(1, len(cats)):
        if cats[i] == cats[i - 1]:
            # Allowed only once every other category has been used up.
            assert set(cats[i:]) == {cats[i]}, cats


def test_recommend_round_robins_over_categories(library):
    recs = [r for r in rec(library) if r.reason not in ("assigned", "unfinished")]
    cats = [r.category for r in recs]
    no_category_twice_in_a_row_while_others_remain(recs)
    # 健康生活 has four unopened lessons: they cannot fill the top of the list.
    assert cats[:3].count("健康生活") == 1
    assert cats[-2:] == ["健康生活", "健康生活"]


def test_recommend_order_assigned_then_unfinished_then_new(library, member):
    study.record_session(library, member_no=member, lesson_id="L05", seconds=120, completed=False)
    recs = rec(library)
    assert [(r.lesson_id, r.reason) for r in recs[:2]] == [("L02", "assigned"), ("L05", "unfinished")]
    assert recs[1].reason_zh == "您上次还没有学完"
    # Not yet opened categories come before the one the member already studies.
    new = recs[2:]
    first_health = next(i for i, r in enumerate(new) if r.category == "健康生活")
    assert {r.category for r in new[:first_health]} == {"党章党规", "防范诈骗"}
    assert all(r.reason == "new_category" for r in new[:first_health])
    assert new[first_health].reason == "least_seen" or new[first_health].reason == "new_lesson"
    assert_reasons_are_chinese(recs)


def test_an_assigned_lesson_started_stays_assigned_until_finished(library, member):
    study.record_session(library, member_no=member, lesson_id="L02", seconds=30, completed=False)
    recs = rec(library)
    assert (recs[0].lesson_id, recs[0].reason) == ("L02", "assigned")
    assert "L02" not in ids(recs[1:]) and "unfinished" not in [r.reason for r in recs]
    study.record_session(library, member_no=member, lesson_id="L02", seconds=300, completed=True)
    recs = rec(library)
    assert recs[0].lesson_id != "L02"
    assert [(r.lesson_id, r.reason) for r in recs if r.lesson_id == "L02"] == [("L02", "review")]
    assert recs[-1].lesson_id == "L02"


def test_finished_lessons_come_back_only_as_review_at_the_end(library, member):
    for lid in ("L01", "L03", "L04"):
        study.record_session(library, member_no=member, lesson_id=lid, seconds=300, completed=True)
    recs = rec(library)
    reasons = [r.reason for r in recs]
    first_review = reasons.index("review")
    assert set(reasons[first_review:]) == {"review"}
    assert sorted(ids(recs[first_review:])) == ["L01", "L03", "L04"]
    assert all(r.reason_zh == "学过的内容，可以再温习一遍" for r in recs[first_review:])
    # With a short list, there is no room for review at all.
    assert "review" not in [r.reason for r in rec(library, limit=6)]
    assert len(rec(library, limit=6)) == 6


def test_studying_one_category_does_not_narrow_recommendations(library, member):
    # The member only ever studies health lessons, many times.
    for lid in ("L04", "L05", "L06"):
        for _ in range(3):
            study.record_session(library, member_no=member, lesson_id=lid, seconds=600,
                                 completed=True)
    recs = rec(library, limit=6)
    cats = [r.category for r in recs]
    assert recs[0].lesson_id == "L02"
    assert {"党章党规", "防范诈骗"} <= set(cats[1:4])
    assert cats.index("健康生活") > cats.index("党章党规")
    health = [r for r in recs if r.category == "健康生活"]
    assert [(r.lesson_id, r.reason) for r in health] == [("L09", "new_lesson")]
    assert health[0].reason_zh == "“健康生活”方面还有您没学过的一课"
    assert_reasons_are_chinese(recs)


def test_least_seen_reason_is_only_for_the_least_studied_category(library, member):
    study.record_session(library, member_no=member, lesson_id="L01", seconds=60, completed=True)
    study.record_session(library, member_no=member, lesson_id="L03", seconds=60, completed=True)
    study.record_session(library, member_no=member, lesson_id="L08", seconds=60, completed=True)
    by_id = {r.lesson_id: r for r in rec(library)}
    assert (by_id["L07"].reason, by_id["L07"].reason_zh) == ("least_seen", "“党章党规”方面的内容您学得比较少")
    assert by_id["L04"].reason == "new_category"


def test_recommend_for_unknown_member_or_empty_library(store, member):
    assert study.recommend(store, member) == []
    with pytest.raises(NotFound):
        study.recommend(store, "QS999")


# -- notices ------------------------------------------------------------------------------------

def test_notices_newest_first_and_replace_by_id(store):
    a = notices.post(store, title=" 交党费 ", body="本月十日收党费。", posted="2026-11-02", actor="staff:S01")
    notices.post(store, title="冬季防火", body="注意用火安全。", posted="2026-11-10", actor="staff:S01")
    assert [n["title"] for n in notices.recent(store)] == ["冬季防火", "交党费"]
    notices.post(store, title="交党费（更正）", body="改到十二日。", posted="2026-11-12",
                 actor="staff:S01", notice_id=a)
    got = notices.recent(store)
    assert [(n["notice_id"] == a, n["title"]) for n in got] == [(True, "交党费（更正）"),
                                                                 (False, "冬季防火")]
    assert len(notices.recent(store, limit=1)) == 1
    ev = store.one("SELECT type FROM journal ORDER BY seq DESC LIMIT 1")
    assert ev["type"] == "notice.posted"


@pytest.mark.parametrize("kw", [{"title": ""}, {"body": "  "}, {"posted": "11月2日"},
                                {"posted": ""}, {"posted": "2026-13-01"}])
def test_notices_refuse_missing_title_body_or_bad_date(store, kw):
    with pytest.raises(InvalidInput):
        notices.post(store, **{"title": "通知", "body": "内容。", "posted": "2026-11-02",
                               "actor": "staff:S01", **kw})
    assert notices.recent(store) == []
