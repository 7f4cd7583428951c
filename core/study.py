"""Lessons, quizzes, study sessions and study hours — and explainable recommendations.

Recommendations never rank by engagement and never narrow what a member sees:
    1. lessons the branch assigned and the member has not finished   "支部布置的学习内容"
    2. lessons the member started and did not finish                 "您上次还没有学完"
    3. lessons not yet opened, round-robin over categories, the least studied first
                                                 "您还没有学过/学得比较少…方面的内容"
    4. if room is left, finished lessons to review                    "学过的内容，可以再温习一遍"
Each item carries its reason in plain Chinese; there are no scores.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from .clock import CST, iso
from .errors import InvalidInput, NotFound
from .events import NotHereYet, Unusable
from .ids import new_id

CHANNELS = ("kiosk", "phone")
PASS_RATIO = 0.6
MAX_QUESTIONS = 5


@dataclass
class Recommendation:
    lesson_id: str
    title: str
    category: str
    minutes: int
    reason: str       # "assigned" | "unfinished" | "new_category" | "least_seen" | "new_lesson" | "review"
    reason_zh: str

    def as_dict(self) -> dict:
        return asdict(self)


def publish_lesson(store, *, lesson_id: str, title: str, category: str, minutes: int, body: str,
                   quiz: list[dict], assigned: bool = False, audio_sha256: str | None = None,
                   actor: str) -> None:
    """Add or replace a lesson and its quiz (lessons come from the hub or the demo).

    A quiz question is ``{"question": str, "choices": [2-4 str], "answer": index,
    "explain": str (optional)}``; a lesson has at most ``MAX_QUESTIONS`` of them."""
    if not isinstance(lesson_id, str) or not lesson_id.strip():
        raise InvalidInput("a lesson needs an id")
    title, body, category = (title or "").strip(), (body or "").strip(), (category or "").strip()
    if not title or not body:
        raise InvalidInput("a lesson needs a title and a body")
    if not category:
        raise InvalidInput("a lesson needs a category")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 120:
        raise InvalidInput("lesson minutes must be a whole number 1-120")
    quiz = list(quiz or [])
    if len(quiz) > MAX_QUESTIONS:
        raise InvalidInput(f"lesson {lesson_id}: at most {MAX_QUESTIONS} quiz questions")
    for i, q in enumerate(quiz):
        where = f"lesson {lesson_id} question {i + 1}"
        if not isinstance(q, dict) or not str(q.get("question") or "").strip():
            raise InvalidInput(f"{where}: no question text")
        choices, answer = q.get("choices"), q.get("answer")
        if (not isinstance(choices, list) or not 2 <= len(choices) <= 4
                or not all(isinstance(c, str) and c.strip() for c in choices)):
            raise InvalidInput(f"{where}: 2-4 non-empty choices")
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(choices):
            raise InvalidInput(f"{where}: the answer is the index of one of the choices")
    quiz = [{**q, "question": q["question"].strip(), "explain": str(q.get("explain") or "").strip()}
            for q in quiz]
    payload = {"lesson_id": lesson_id, "title": title, "category": category, "minutes": minutes,
               "assigned": assigned, "audio_sha256": audio_sha256, "questions": len(quiz),
               "body": body, "quiz": quiz}
    with store.transaction():
        apply_lesson(store, payload, iso(store.now()))
        store.record("lesson.published", payload, actor=actor, subject=f"lesson:{lesson_id}")


def apply_lesson(store, p: dict, at: str) -> None:
    """``lesson.published``, made here (the demo) or by the hub: the one writer of
    ``lesson`` and ``quiz_question``. One without a body (an older terminal's) is unusable."""
    if not isinstance(p.get("body"), str) or not p["body"].strip():
        raise Unusable("lesson without a body")
    lid = p["lesson_id"]
    store.db.execute(
        "INSERT INTO lesson(lesson_id, title, category, minutes, body, assigned, audio_sha256, "
        "published) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(lesson_id) DO UPDATE SET "
        "title = excluded.title, category = excluded.category, minutes = excluded.minutes, "
        "body = excluded.body, assigned = excluded.assigned, "
        "audio_sha256 = excluded.audio_sha256, published = excluded.published",
        [lid, p["title"], p["category"], int(p["minutes"]), p["body"],
         int(bool(p.get("assigned"))), p.get("audio_sha256"), at])
    store.db.execute("DELETE FROM quiz_question WHERE lesson_id = ?", [lid])
    for i, q in enumerate(p.get("quiz") or []):
        store.db.execute(
            "INSERT INTO quiz_question(lesson_id, idx, question, choices, answer, explain) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [lid, i, q["question"], json.dumps(q["choices"], ensure_ascii=False),
             int(q["answer"]), str(q.get("explain") or "")])


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
    correct = sum(1 for q, a in zip(quiz, answers, strict=False)
                  if a is not None and a == q["answer"])
    return correct, len(quiz), bool(quiz) and correct >= PASS_RATIO * len(quiz)


MAX_SITTING_SECONDS = 24 * 3600   # one sitting's study time, at most


def sitting_seconds_ok(seconds) -> bool:
    """A sitting's ``seconds``: a whole number from 0 to a day (the terminal's rule for
    its own sittings, for pulled ones, and the hub's for what it counts)."""
    return (type(seconds) is int and 0 <= seconds <= MAX_SITTING_SECONDS)


def record_session(store, *, member_no: str, lesson_id: str, seconds: int, completed: bool,
                   answers: list[int | None] = (), channel: str = "kiosk",
                   started_at: str | None = None, session_id: str | None = None) -> dict:
    """Write one study session: ``seconds`` studied in this sitting, whether the member got
    to the end, and the quiz answers (chosen indexes, None = not answered).

    Progress is saved as the member goes: the first call returns the session, and later
    calls with its ``session_id`` replace that sitting's figures (``seconds`` is the
    sitting's total so far, not an increment), so study hours are never counted twice.
    Each call journals a ``study.session`` event carrying the whole session; the newest
    event for a ``session_id`` is the one that counts.
    """
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {CHANNELS}")
    if not sitting_seconds_ok(seconds):
        raise InvalidInput(f"seconds must be a whole number 0-{MAX_SITTING_SECONDS}")
    if not store.one("SELECT 1 FROM member WHERE member_no = ?", [member_no]):
        raise NotFound(f"no member {member_no}", "没有找到这位党员。")
    row = lesson(store, lesson_id)
    answers = list(answers or [])
    if len(answers) > len(row["quiz"]) or not all(
            a is None or (isinstance(a, int) and not isinstance(a, bool)) for a in answers):
        raise InvalidInput(f"answers are one choice index (or None) per question of {lesson_id}")
    correct, questions, _ = grade(row, answers)
    previous = None
    if session_id is not None:
        previous = store.one("SELECT member_no, lesson_id, started_at, completed FROM study_session "
                             "WHERE session_id = ?", [session_id])
        if previous is None:
            raise NotFound(f"no study session {session_id}")
        if (previous["member_no"], previous["lesson_id"]) != (member_no, lesson_id):
            raise InvalidInput(f"study session {session_id} belongs to another member or lesson")
    if previous:
        started = previous["started_at"]
        completed = bool(completed) or bool(previous["completed"])  # finishing is not undone
    elif started_at:
        try:
            started_dt = datetime.fromisoformat(started_at)
        except (TypeError, ValueError) as e:
            raise InvalidInput(f"started_at is not an ISO time: {started_at!r}") from e
        started = iso(started_dt if started_dt.tzinfo else started_dt.replace(tzinfo=CST))
    else:
        started = iso(store.now())
    session = {
        "session_id": session_id or new_id(), "member_no": member_no,
        "lesson_id": lesson_id, "started_at": started, "seconds": seconds,
        "completed": bool(completed), "answers": answers, "correct": correct,
        "questions": questions, "channel": channel, "terminal_id": store.terminal_id,
    }
    with store.transaction():
        apply_session(store, session, session["started_at"])
        store.record("study.session", session, actor=f"member:{member_no}",
                     subject=f"member:{member_no}")
    return session


def apply_session(store, p: dict, at: str) -> None:
    """``study.session``, a sitting here or pulled from another terminal: the one writer of
    ``study_session``. Upserted by session id (each event carries the whole sitting so
    far); a finished sitting stays finished."""
    if not sitting_seconds_ok(p["seconds"]):
        raise Unusable(f"seconds {str(p['seconds'])[:40]} is not a whole number "
                       f"0-{MAX_SITTING_SECONDS}")
    if not store.one("SELECT 1 FROM member WHERE member_no = ?", [p["member_no"]]):
        raise NotHereYet(f"member {p['member_no']} not here yet")
    if not store.one("SELECT 1 FROM lesson WHERE lesson_id = ?", [p["lesson_id"]]):
        raise NotHereYet(f"lesson {p['lesson_id']} not here yet")
    store.db.execute(
        "INSERT INTO study_session(session_id, member_no, lesson_id, started_at, seconds, "
        "completed, answers, correct, questions, channel, terminal_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET "
        "seconds = excluded.seconds, completed = max(completed, excluded.completed), "
        "answers = excluded.answers, correct = excluded.correct, "
        "questions = excluded.questions, channel = excluded.channel",
        [p["session_id"], p["member_no"], p["lesson_id"], p["started_at"], p["seconds"],
         int(bool(p["completed"])), json.dumps(p.get("answers") or []), int(p.get("correct", 0)),
         int(p.get("questions", 0)), p["channel"], p["terminal_id"]])


def hours(store, member_no: str, year: int) -> dict:
    row = store.one("SELECT COALESCE(SUM(seconds), 0) AS seconds, COUNT(*) AS sessions, "
                    "COUNT(DISTINCT CASE WHEN completed THEN lesson_id END) AS lessons_completed "
                    "FROM study_session WHERE member_no = ? AND substr(started_at, 1, 4) = ?",
                    [member_no, f"{year:04d}"])
    row["hours"] = round(row["seconds"] / 3600, 2)
    row["year"] = year
    return row


def recommend(store, member_no: str, limit: int = 6) -> list[Recommendation]:
    """Up to ``limit`` lessons, each with its reason: assigned and not finished, then
    started and not finished, then lessons not yet opened taken round-robin over their
    categories (least studied category first, so no topic fills the list), then, if room is
    left, finished lessons to review."""
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
    # "Studied less" is said of an opened category only when another was studied more.
    most = max(seen_per_category.values(), default=0)
    while any(by_cat.values()):
        for cat in order:
            if by_cat[cat]:
                row = by_cat[cat].pop(0)
                seen = seen_per_category.get(cat, 0)
                if seen == 0:
                    out.append(rec(row, "new_category", f"您还没有学过“{cat}”方面的内容"))
                elif seen < most:
                    out.append(rec(row, "least_seen", f"“{cat}”方面的内容您学得比较少"))
                else:
                    out.append(rec(row, "new_lesson", f"“{cat}”方面还有您没学过的一课"))
    if len(out) < limit:
        for row in all_lessons:
            if row["lesson_id"] in done and not any(r.lesson_id == row["lesson_id"] for r in out):
                out.append(rec(row, "review", "学过的内容，可以再温习一遍"))
    return out[:limit]
