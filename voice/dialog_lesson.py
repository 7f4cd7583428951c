"""Listening to a lesson: the steps of ``Dialog`` for LESSON_CHOOSE, LESSON, LESSON_PAUSED.

A mixin of ``voice.dialog.Dialog`` (see ``dialog_identify`` for why).

The recommended lesson is offered first, with its reason (``core.study.recommend``); 2 offers
the next one. A lesson is read one sentence at a time (``speech_text.sentences``): * goes
back one sentence, # pauses and resumes (at the start of the sentence), 0 stops. Listening
time is measured from the events: from the moment a sentence is sent until it finishes, is
stopped, or the caller hangs up; pauses, the controls prompt and the menus do not count.
It is written through ``core.study.record_session`` (channel "phone") as ONE sitting: the
first write returns the session id and every later write (each pause, every
``CHECKPOINT_S`` of listening, the stop, the end, the hang-up) replaces its figures.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from core import study
from core.clock import iso
from core.errors import LianxinError

from .dialog_types import PlaySentence, State
from .speech_text import sentences

log = logging.getLogger("voice.dialog")

CHECKPOINT_S = 60         # listening saved at least this often (a dropped call loses less)
LESSON_STATES = frozenset({State.LESSON_CHOOSE, State.LESSON, State.LESSON_PAUSED})


class LessonSteps:
    """Steps of ``Dialog`` that offer and read a lesson and count the listening."""

    def _choose_lesson(self) -> None:
        self._recs = study.recommend(self.store, self.member_no)
        self._rec_i = 0
        if not self._recs:
            self._mark("lesson_none")
            self._say("lesson.none")
            self._enter(State.MENU)
        else:
            self._enter(State.LESSON_CHOOSE)

    def _key_lesson_choose(self, key: str) -> None:
        self._stop()
        if key == "1":
            self._start_lesson(self._recs[self._rec_i].lesson_id)
        elif key == "2":
            self._rec_i = (self._rec_i + 1) % len(self._recs)
            self._failures = 0
            self._ask()
        elif key == "0":
            self._enter(State.MENU)
        elif key == "9":
            self._ask()
        else:
            self._fail("key.invalid")

    def _start_lesson(self, lesson_id: str) -> None:
        row = study.lesson(self.store, lesson_id)
        parts = sentences(row["body"])
        if not parts:
            self._say("lesson.none")
            self._enter(State.MENU)
            return
        self._lesson = {"lesson_id": lesson_id, "sentences": parts, "index": 0,
                        "reading": False, "since": None, "listened": 0.0, "session_id": None,
                        "saved": (0, False), "completed": False, "t0": self._t}
        self._mark(f"lesson:{lesson_id}")
        self._enter(State.LESSON)

    def _read(self) -> None:
        lesson = self._lesson
        i, parts = lesson["index"], lesson["sentences"]
        self._out.append(PlaySentence(self._next_seq(), lesson["lesson_id"], i, len(parts),
                                      parts[i], parts[i + 1] if i + 1 < len(parts) else ""))
        lesson["reading"], lesson["since"] = True, self._t

    def _account(self) -> None:
        """Add the listening since the current sentence began (reading stopped or ended)."""
        lesson = self._lesson
        if lesson and lesson["since"] is not None:
            lesson["listened"] += max(0.0, self._t - lesson["since"])
            lesson["since"] = None
            lesson["reading"] = False

    def _after_sentence(self) -> None:
        lesson = self._lesson
        if lesson["index"] >= len(lesson["sentences"]):
            lesson["completed"] = True
            self._save_session()
            self._say("lesson.done")
            self._enter(State.MENU)
            return
        if lesson["listened"] - lesson["saved"][0] >= CHECKPOINT_S:
            self._save_session()
        self._read()

    def _key_lesson(self, key: str) -> None:
        if key == "*":
            self._stop()
            self._lesson["index"] = max(0, self._lesson["index"] - 1)
            self._read()
        elif key == "#":
            self._stop()
            self._save_session()
            self._enter(State.LESSON_PAUSED)
        elif key == "0":
            self._stop()
            self._say("lesson.stopped")
            self._enter(State.MENU)
        # other keys: ignored, the sentence goes on

    def _key_lesson_paused(self, key: str) -> None:
        self._stop()
        if key in "#*":
            if key == "*":
                self._lesson["index"] = max(0, self._lesson["index"] - 1)
            self._enter(State.LESSON, announce=False)
            self._read()
        elif key == "0":
            self._say("lesson.stopped")
            self._enter(State.MENU)
        elif key == "9":
            self._ask()
        else:
            self._fail("key.invalid")

    def _save_session(self) -> None:
        lesson = self._lesson
        seconds = int(round(lesson["listened"]))
        if (seconds, lesson["completed"]) == lesson["saved"]:
            return
        started = None
        if lesson["session_id"] is None:
            started = iso(self._wall0 + timedelta(seconds=lesson["t0"] - self._t0))
        try:
            session = study.record_session(
                self.store, member_no=self.member_no, lesson_id=lesson["lesson_id"],
                seconds=seconds, completed=lesson["completed"], channel="phone",
                started_at=started, session_id=lesson["session_id"])
        except LianxinError as e:
            log.warning("study session of call %s not saved: %s", self.call_id, e.detail)
            return
        lesson["session_id"] = session["session_id"]
        lesson["saved"] = (seconds, lesson["completed"])

    def _leave_lesson(self) -> None:
        if self._lesson is not None:
            self._account()
            self._save_session()
            self._lesson = None
