"""One sitting with one lesson: reading it, then its quiz — one ``study_session`` row.

The reader opens the sitting (a session row with 0 seconds, so an interrupted lesson is
recommended again as "您上次还没有学完"), saves progress as the member goes, and hands the
sitting to the quiz, which adds the answers. Every save passes the same ``session_id`` and
the sitting's total seconds so far, so study hours are never counted twice
(``core.study.record_session``). Seconds are wall time on the kiosk (a monotonic clock),
not the store's clock: the store's may be pinned (demo, tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core import study


class Sitting:
    def __init__(self, store, member_no: str, lesson_id: str, *,
                 monotonic: Callable[[], float] = time.monotonic):
        self.store = store
        self.member_no = member_no
        self.lesson = study.lesson(store, lesson_id)
        self._monotonic = monotonic
        self._t0 = monotonic()
        self.answers: list[int | None] = []
        self.completed = False
        session = study.record_session(store, member_no=member_no, lesson_id=lesson_id,
                                       seconds=0, completed=False)
        self.session_id = session["session_id"]

    @property
    def quiz(self) -> list[dict]:
        return self.lesson["quiz"]

    def seconds(self) -> int:
        return max(0, int(self._monotonic() - self._t0))

    def save(self, *, completed: bool = False) -> dict:
        """Write the sitting so far; once completed it stays completed."""
        self.completed = self.completed or completed
        return study.record_session(
            self.store, member_no=self.member_no, lesson_id=self.lesson["lesson_id"],
            seconds=min(self.seconds(), 24 * 3600), completed=self.completed,
            answers=list(self.answers), session_id=self.session_id)

    def grade(self) -> tuple[int, int, bool]:
        return study.grade(self.lesson, self.answers)
