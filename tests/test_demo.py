"""The demo branch (assets/demo) as loaded into a real terminal by ``core.demo.load``.

Pins what the issue promises of it: at least 30 members covering all 7 categories, 2 staff,
at least 8 lessons of 300-800 Chinese characters with at least 3 quiz questions each,
members owing 1 to 7 months with the right warning level (warning from 3 overdue months,
flag at 6), one hardship case who is exempt, an audit chain that verifies, the demo
credentials (member PIN 1234, staff S01 PIN 2468) working, lookup on the demo names, and
recommendations for a demo member. Each test gets a copy of one session-wide demo store.
"""

from __future__ import annotations

import re
import tomllib

import pytest

from core import audit, branch, demo, dues, members, notices, pins, study
from core.dues_rules import CATEGORIES
from core.errors import AuthError

SPEC = tomllib.loads((demo.DEMO_DIR / "branch.toml").read_text(encoding="utf-8"))
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_members_cover_every_category(demo_store):
    roster = members.list_all(demo_store, status=None)
    assert len(roster) >= 30
    assert len(roster) == len(SPEC["members"]) == 34
    assert {m["category"] for m in roster} == set(CATEGORIES)
    assert [m["member_no"] for m in roster] == [f"QS{i:03d}" for i in range(1, 35)]


def test_two_staff(demo_store):
    assert [(s["staff_no"], s["role"]) for s in branch.list_staff(demo_store)] == [
        ("S01", "secretary"), ("S02", "collector")]
    assert branch.get(demo_store).name == "清水村党支部"


def test_lessons_are_short_chinese_texts_with_quizzes(demo_store):
    all_lessons = study.lessons(demo_store)
    assert len(all_lessons) >= 8
    for row in all_lessons:
        lesson = study.lesson(demo_store, row["lesson_id"])
        chars = len(CJK.findall(lesson["body"]))
        assert 300 <= chars <= 800, (row["lesson_id"], chars)
        assert len(lesson["quiz"]) >= 3, row["lesson_id"]
        for q in lesson["quiz"]:
            assert 0 <= q["answer"] < len(q["choices"])
    assert len({row["category"] for row in all_lessons}) >= 6
    assert sum(row["assigned"] for row in all_lessons) >= 1


@pytest.mark.parametrize("member_no, overdue, level", [
    ("QS001", 0, "ok"), ("QS006", 1, "ok"), ("QS004", 2, "ok"), ("QS010", 3, "warning"),
    ("QS017", 4, "warning"), ("QS027", 5, "warning"), ("QS021", 6, "flag"), ("QS008", 7, "flag"),
])
def test_dues_status_levels(demo_store, member_no, overdue, level):
    st = dues.status(demo_store, member_no)
    assert (st.overdue_months, st.level) == (overdue, level)
    # Months owed count the current month (2026-11) when it is unpaid.
    assert len(st.months_owed) == (overdue + 1 if overdue else 0)
    assert st.amount_owed_fen == len(st.months_owed) * st.monthly_fen


def test_owing_members_match_the_demo_spec(demo_store):
    owing = {m["member_no"]: m["owes_months"] for m in SPEC["members"] if m["owes_months"]}
    assert set(owing.values()) >= {1, 7}
    for member_no, owes in owing.items():
        assert dues.status(demo_store, member_no).overdue_months == owes, member_no
    paid_up = [m["member_no"] for m in SPEC["members"]
               if not m["owes_months"] and not m.get("hardship_reason")]
    assert len(paid_up) >= 15
    for member_no in paid_up:
        st = dues.status(demo_store, member_no)
        assert st.months_owed == [] and st.paid_through >= "2026-11", member_no
    assert [s.member_no for s in dues.behind(demo_store)] == ["QS008", "QS021", "QS027",
                                                              "QS017", "QS010"]


def test_one_hardship_case_is_exempt(demo_store):
    hardship = [m for m in SPEC["members"] if m.get("hardship_reason")]
    assert [m["member_no"] for m in hardship] == ["QS018"]
    st = dues.status(demo_store, "QS018")
    assert (st.exempt, st.monthly_fen, st.months_owed) == (True, 0, [])
    assert st.say_zh() == "您经支部批准免交党费。"
    rate = members.get(demo_store, "QS018")["rates"][-1]
    assert rate["hardship_ref"] == hardship[0]["hardship_ref"]
    assert rate["hardship_reason"] == hardship[0]["hardship_reason"]


def test_audit_chain_verifies(demo_store):
    verdict = audit.verify(demo_store)
    assert verdict.ok, verdict.problems
    assert verdict.entries > 150
    # Every journal event has its audit entry.
    journal = demo_store.one("SELECT COUNT(*) AS n FROM journal")["n"]
    audited = demo_store.one("SELECT COUNT(*) AS n FROM audit WHERE detail LIKE '%event_id%'")["n"]
    assert journal == audited


def test_demo_credentials(demo_store):
    # argon2 is slow: two members and one staff account are enough.
    pins.verify(demo_store, "member", "QS001", "1234")
    pins.verify(demo_store, "member", "QS034", "1234")
    confirmation = branch.confirm(demo_store, "S01", "2468")
    assert confirmation.staff_no == "S01"
    with pytest.raises(AuthError):
        pins.verify(demo_store, "member", "QS001", "2468")


def test_lookup_on_demo_names(demo_store):
    assert [m["member_no"] for m in members.lookup(demo_store, "zsf")] == ["QS001"]
    assert [m["member_no"] for m in members.lookup(demo_store, "三丰")] == ["QS001"]
    assert len(members.lookup(demo_store, "秀")) >= 2


def test_recommend_for_a_demo_member(demo_store):
    recs = study.recommend(demo_store, "QS001")
    assert [r.reason for r in recs[:2]] == ["assigned", "assigned"]
    assert all(r.reason_zh for r in recs)
    assert len({r.category for r in recs}) >= 4


def test_notices(demo_store):
    got = notices.recent(demo_store)
    assert len(got) == len(SPEC.get("notices", [])) >= 1
    assert [n["posted"] for n in got] == sorted((n["posted"] for n in got), reverse=True)
