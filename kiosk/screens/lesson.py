"""The lesson reader: the lesson in large type, read aloud sentence by sentence.

Controls: 暂停/继续, 上一句 (back one sentence and read it), 下一句, 做题 (to the quiz);
the bar's 再听一遍 says the current sentence again. The sentence being read is marked ▶
and underlined (see ``study_reading``).

Progress is saved as the member goes, on one ``study_session`` row (``study_sitting``):
when the lesson opens, on every sentence change, and when the member leaves — by 回首页 or
the idle timeout, both of which clear this screen through ``setup()`` with nothing, which
saves before it forgets.

Study is real: the lesson counts as 学完 only once at least ``DONE_SHARE`` (八成) of its
sentences were read or heard — a sentence counts when it was read aloud to its end, or
when it stayed on screen at least ``READ_S_PER_CHAR`` seconds per character (a quick
reader's pace) before the member moved on. 做题 is there at any time; the quiz alone does
not make a lesson 学完.
"""

from __future__ import annotations

import math
import time

from kivy.properties import BooleanProperty

from core import study
from voice.speech_text import sentences

from .base import KioskScreen
from .study_reading import ReadAloud
from .study_sitting import Sitting

END_WITH_QUIZ = "这一课读完了。请点做题，做几道题。"
END_NO_QUIZ = "这一课读完了。请点学完了。"
DONE_SHARE = 0.8                 # of the sentences, read or heard, for 学完
DONE_SHARE_ZH = "读完八成，才算学完。"
END_SKIPPED = "读到最后一句了，可是跳过的太多。" + DONE_SHARE_ZH + "可以点上一句，再听一听。"
READ_S_PER_CHAR = 0.15           # on screen this long per character counts as read


class LessonScreen(ReadAloud, KioskScreen):
    has_quiz = BooleanProperty(True)
    sitting: Sitting | None = None
    clock = staticmethod(time.monotonic)     # tests may set their own
    heard: set = set()
    _since = 0.0

    def setup(self, lesson_id: str | None = None, **kwargs) -> None:
        self._close()
        super().setup(**kwargs)
        member = self.app.member
        if lesson_id and member:
            self.sitting = Sitting(self.app.store, member["member_no"], lesson_id)
            lesson = self.sitting.lesson
            self.title = f"《{lesson['title']}》"
            self.has_quiz = bool(lesson["quiz"])
            self.heard = set()
            self._since = self.clock()
            self.begin_reading(sentences(lesson["body"]))
            self.start_timer_for(self.prompt_text())
        else:
            self.title = ""
            self.begin_reading([])

    def _close(self) -> None:
        """Save the open sitting (if any) and let it go."""
        self.stop_reading()
        if self.sitting is not None:
            sitting, self.sitting = self.sitting, None
            sitting.save()

    def prompt_text(self) -> str:
        if self.sitting is None:
            return ""
        return f"现在学习{self.title}。"

    def details(self) -> str:
        last = "做题" if self.has_quiz else "学完了"
        return (f"一共{len(self.sentences)}句，{DONE_SHARE_ZH}"
                f"可以点暂停，上一句，下一句；读完了，请点{last}。")

    # -- progress ---------------------------------------------------------------------------
    def leaving(self, index: int, said: bool) -> None:
        if not self.sentences:
            return
        if said or self.clock() - self._since >= len(self.sentences[index]) * READ_S_PER_CHAR:
            self.heard.add(index)
        self._since = self.clock()

    def studied(self) -> bool:
        """Read or heard far enough to count as 学完."""
        n = len(self.sentences)
        return bool(n) and len(self.heard) >= math.ceil(DONE_SHARE * n)

    def moved(self) -> None:
        if self.sitting is not None:
            self.sitting.save(completed=self.studied())

    def reached_end(self) -> None:
        if self.sitting is not None:
            self.sitting.save(completed=self.studied())
        if not self.studied():
            self.tell(END_SKIPPED)
            return
        self.tell(END_WITH_QUIZ if self.has_quiz else END_NO_QUIZ)

    def finish(self) -> None:
        """做题 (or 学完了 for a lesson without questions)."""
        if self.sitting is None:
            return
        self.stop_reading()
        self.playing = False
        self.leaving(self.index, False)          # the sentence on screen, if read
        sitting, self.sitting = self.sitting, None
        sitting.save(completed=self.studied())
        self.app.show("quiz" if sitting.quiz else "quiz_result", sitting=sitting)

    @classmethod
    def sample(cls, app) -> dict:
        from .study import StudyScreen

        StudyScreen.sample(app)
        return {"lesson_id": study.recommend(app.store, app.member["member_no"])[0].lesson_id}
