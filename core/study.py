"""Lessons, quizzes, study sessions and study hours — and explainable recommendations.

Recommendations never rank by engagement and never narrow what a member sees (DESIGN.md §5):
    1. lessons the branch assigned and the member has not finished   "支部布置的学习内容"
    2. lessons the member started and did not finish                 "您上次还没有学完"
    3. everything else, categories the member has seen least first   "您还没学过/很少学…方面的内容"
Each item carries its reason in plain Chinese.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass

from .clock import iso
from .errors import InvalidInput, NotFound

CHANNELS = ("kiosk", "phone")
PASS_RATIO = 0.6


@dataclass
class Recommendation:
    lesson_id: str
    title: str
    category: str
    minutes: int
    reason: str       # "assigned" | "unfinished" | "new_category" | "least_seen" | "review"
    reason_zh: str

    def as_dict(self) -> dict:
        return asdict(self)


def publish_lesson(store, *, lesson_id: str, title: str, category: str, minutes: int, body: str,
                   quiz: list[dict], assigned: bool = False, audio_sha256: str | None = None,
                   actor: str) -> None:
    """Add or replace a lesson and its quiz (lessons come from the hub or the demo)."""
    if not title.strip() or not body.strip():
        raise InvalidInput("a lesson needs a title and a body")
    if not 1 <= minutes <= 120:
        raise InvalidInput("lesson minutes must be 1-120")
    for i, q in enumerate(quiz):
        if not 2 <= len(q["choices"]) <= 4 or not 0 <= q["answer"] < len(q["choices"]):
            raise InvalidInput(f"lesson {lesson_id} question {i + 1}: 2-4 choices and a valid answer")
    at = iso(store.now())
    with store.transaction():
        store.db.execute(
            "INSERT INTO lesson(lesson_id, title, category, minutes, body, assigned, audio_sha256, "
            "published) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(lesson_id) DO UPDATE SET "
            "title = excluded.title, category = excluded.category, minutes = excluded.minutes, "
            "body = excluded.body, assigned = excluded.assigned, "
            "audio_sha256 = excluded.audio_sha256, published = excluded.published",
            [lesson_id, title, category, minutes, body.strip(), int(assigned), audio_sha256, at])
        store.db.execute("DELETE FROM quiz_question WHERE lesson_id = ?", [lesson_id])
        for i, q in enumerate(quiz):
            store.db.execute(
                "INSERT INTO quiz_question(lesson_id, idx, question, choices, answer, explain) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [lesson_id, i, q["question"], json.dumps(q["choices"], ensure_ascii=False),
                 q["answer"], q.get("explain", "")])
        store.record("lesson.published", {"lesson_id": lesson_id, "title": title,
                                           "category": category, "minutes": minutes,
                                           "assigned": assigned, "audio_sha256": audio_sha256,
                                           "questions": len(quiz)},
                     actor=actor, subject=f"lesson:{lesson_id}")


def lessons(store) -> list[dict]:
    return store.all("SELECT lesson_id, title, category, minutes, assigned FROM lesson "
                     "ORDER BY lesson_id")


def lesson(store, lesson_id: str) -> dict:
    row = store.one("SELECT lesson_id, title, category, minutes, body, assigned, audio_sha256 "
                    "FROM lesson WHERE lesson_id = ?", [lesson_id])
    if row is None:
        raise NotFound(f"no lesson {lesson_id}", "没有找到这一课。")
    row["quiz"] = [
        {"question": q["question"], "choices": json.loads(q["choices"]), "answer": q["answer"],
         "explain": q["explain"]}
        for q in store.all("SELECT question, choices, answer, explain FROM quiz_question "
                           "WHERE lesson_id = ? ORDER BY idx", [lesson_id])]
    return row


def grade(lesson_row: dict, answers: list[int | None]) -> tuple[int, int, bool]:
    """(correct, questions, passed) for a list of chosen indexes (None = not answered)."""
    quiz = lesson_row["quiz"]
    correct = sum(1 for q, a in zip(quiz, answers, strict=False) if a == q["answer"])
    return correct, len(quiz), bool(quiz) and correct >= PASS_RATIO * len(quiz)


def record_session(store, *, member_no: str, lesson_id: str, seconds: int, completed: bool,
                   answers: list[int | None] = (), channel: str = "kiosk",
                   started_at: str | None = None) -> dict:
    """Write one study session (progress saved as the member goes: call again with more)."""
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {CHANNELS}")
    if not isinstance(seconds, int) or seconds < 0 or seconds > 24 * 3600:
        raise InvalidInput("seconds must be 0-86400")
    if not store.one("SELECT 1 FROM member WHERE member_no = ?", [member_no]):
        raise NotFound(f"no member {member_no}", "没有找到这位党员。")
    row = lesson(store, lesson_id)
    answers = list(answers)
    correct, questions, _ = grade(row, answers) if answers else (0, len(row["quiz"]), False)
    session = {
        "session_id": str(uuid.uuid4()), "member_no": member_no, "lesson_id": lesson_id,
        "started_at": started_at or iso(store.now()), "seconds": seconds,
        "completed": bool(completed), "answers": answers, "correct": correct,
        "questions": questions, "channel": channel, "terminal_id": store.terminal_id,
    }
    with store.transaction():
        store.db.execute(
            "INSERT INTO study_session(session_id, member_no, lesson_id, started_at, seconds, "
            "completed, answers, correct, questions, channel, terminal_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [session["session_id"], member_no, lesson_id, session["started_at"], seconds,
             int(completed), json.dumps(answers), correct, questions, channel, store.terminal_id])
        store.record("study.session", session, actor=f"member:{member_no}",
                     subject=f"member:{member_no}")
    return session


def hours(store, member_no: str, year: int) -> dict:
    row = store.one("SELECT COALESCE(SUM(seconds), 0) AS seconds, COUNT(*) AS sessions, "
                    "COUNT(DISTINCT CASE WHEN completed THEN lesson_id END) AS lessons_completed "
                    "FROM study_session WHERE member_no = ? AND substr(started_at, 1, 4) = ?",
                    [member_no, f"{year:04d}"])
    row["hours"] = round(row["seconds"] / 3600, 2)
    row["year"] = year
    return row


def recommend(store, member_no: str, limit: int = 6) -> list[Recommendation]:
    if not store.one("SELECT 1 FROM member WHERE member_no = ?", [member_no]):
        raise NotFound(f"no member {member_no}", "没有找到这位党员。")
    progress = {r["lesson_id"]: r for r in store.all(
        "SELECT lesson_id, MAX(completed) AS done, COUNT(*) AS n FROM study_session "
        "WHERE member_no = ? GROUP BY lesson_id", [member_no])}
    seen_per_category: dict[str, int] = {}
    all_lessons = lessons(store)
    for row in all_lessons:
        seen_per_category.setdefault(row["category"], 0)
        if row["lesson_id"] in progress:
            seen_per_category[row["category"]] += progress[row["lesson_id"]]["n"]

    def rec(row, reason, zh):
        return Recommendation(row["lesson_id"], row["title"], row["category"], row["minutes"],
                              reason, zh)

    out: list[Recommendation] = []
    done = {lid for lid, p in progress.items() if p["done"]}
    for row in all_lessons:
        if row["assigned"] and row["lesson_id"] not in done:
            out.append(rec(row, "assigned", "支部布置的学习内容"))
    for row in all_lessons:
        if row["lesson_id"] in progress and row["lesson_id"] not in done and not row["assigned"]:
            out.append(rec(row, "unfinished", "您上次还没有学完"))
    fresh = [r for r in all_lessons if r["lesson_id"] not in progress and not r["assigned"]]
    # Round-robin over categories, least seen first, so one topic never fills the list.
    by_cat: dict[str, list[dict]] = {}
    for row in fresh:
        by_cat.setdefault(row["category"], []).append(row)
    order = sorted(by_cat, key=lambda c: (seen_per_category.get(c, 0), c))
    while any(by_cat.values()):
        for cat in order:
            if by_cat[cat]:
                row = by_cat[cat].pop(0)
                if seen_per_category.get(cat, 0) == 0:
                    out.append(rec(row, "new_category", f"您还没有学过“{cat}”方面的内容"))
                else:
                    out.append(rec(row, "least_seen", f"“{cat}”方面的内容您学得比较少"))
    if len(out) < limit:
        for row in all_lessons:
            if row["lesson_id"] in done and not any(r.lesson_id == row["lesson_id"] for r in out):
                out.append(rec(row, "review", "学过的内容，可以再温习一遍"))
    return out[:limit]
