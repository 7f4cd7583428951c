"""The quiz after a lesson, one question per screen, then the result.

A question is shown and said with its choices (2–4 big buttons): the screen's prompt is
short ("第1题，共4题。"), then the question and its choices are read like a lesson's text
(``question_text``), queued right behind it. A touch on a choice says
the choice, then the verdict in words — "答对了" or "答错了，正确答案是…" — with the
lesson's explanation, shown in place of the question (never colour alone), and one button
goes on (下一题, or 看结果 after the last). The answers are written with the sitting
(``study_sitting``): at the end, or, when the member leaves half-way (回首页, idle), as
far as they got. Answering does not make the lesson 学完: reading it does (lesson.py).
"""

from __future__ import annotations

from kivy.clock import Clock
from kivy.utils import escape_markup

from core import study

from .base import KioskScreen
from .study_reading import WrapButton
from .study_sitting import Sitting

RIGHT = "答对了！"
WRONG = "答错了。"


def _sample_sitting(app) -> Sitting:
    from .lesson import LessonScreen

    lesson_id = LessonScreen.sample(app)["lesson_id"]
    return Sitting(app.store, app.member["member_no"], lesson_id)


class QuizScreen(KioskScreen):
    sitting: Sitting | None = None

    def setup(self, sitting: Sitting | None = None, **kwargs) -> None:
        if self.sitting is not None and self.sitting is not sitting:
            self.sitting.save()                       # left half-way: keep what was answered
        super().setup(**kwargs)
        self.sitting = sitting
        self.number = 0
        self.verdict = ""                             # set once the question is answered
        if sitting is not None:
            sitting.answers = []
        self._render()
        if self.question is not None:
            # after the prompt, which app.show says once setup returns
            Clock.schedule_once(lambda _dt: self._read_question(), 0)

    def _read_question(self) -> None:
        if self.question is not None and not self.verdict and self.manager is not None \
                and self.manager.current_screen is self:
            self.app.say(self.question_text())

    def question_text(self) -> str:
        q = self.question
        return f"{q['question']}请选一个：" + "，".join(q["choices"]) + "。" if q else ""

    @property
    def question(self) -> dict | None:
        if self.sitting is None or self.number >= len(self.sitting.quiz):
            return None
        return self.sitting.quiz[self.number]

    def _render(self) -> None:
        q = self.question
        grid = self.ids.choices
        grid.clear_widgets()
        if q is None:
            self.title = self.ids.question.text = self.ids.verdict.text = ""
            self.ids.explain.text = ""
            return
        total = len(self.sitting.quiz)
        self.title = f"第{self.number + 1}题，共{total}题"
        answered = bool(self.verdict)
        self.ids.question.text = "" if answered else q["question"]
        self.ids.verdict.text = self.verdict
        self.ids.explain.text = q.get("explain", "") if answered else ""
        if answered:
            last = self.number + 1 >= total
            b = WrapButton(text="看结果" if last else "下一题")
            b.bind(on_release=lambda _b: self.next_question())
            grid.add_widget(b)
            return
        for i, choice in enumerate(q["choices"]):
            b = WrapButton(text=escape_markup(choice), spoken=choice)
            b.bind(on_release=lambda _b, i=i: self.answer(i))
            grid.add_widget(b)

    def prompt_text(self) -> str:
        """Which question (or, once answered, the verdict); the question itself follows."""
        q = self.question
        if q is None:
            return ""
        return self.verdict or f"{self.title}。"

    def details(self) -> str:
        q = self.question
        if q is None:
            return ""
        return q.get("explain", "") if self.verdict else self.question_text()

    def answer(self, index: int) -> None:
        q = self.question
        if q is None or self.verdict:
            return
        self.sitting.answers.append(index)
        if index == q["answer"]:
            self.verdict = RIGHT
        else:
            self.verdict = f"{WRONG}正确答案是：{q['choices'][q['answer']]}。"
        self._render()
        self.app.say(f"{self.verdict}{q.get('explain', '')}")

    def next_question(self) -> None:
        if self.sitting is None:
            return
        self.number += 1
        self.verdict = ""
        if self.number >= len(self.sitting.quiz):
            sitting, self.sitting = self.sitting, None
            sitting.save()               # 学完 only if the lesson itself was read (lesson.py)
            self.app.show("quiz_result", sitting=sitting)
            return
        self._render()
        self.app.say(self.prompt_text())
        self.app.say(self.question_text())

    @classmethod
    def sample(cls, app) -> dict:
        return {"sitting": _sample_sitting(app)}


def next_lesson(store, member_no: str, done_id: str) -> str | None:
    """The lesson to offer after this one: the first recommendation that is another lesson."""
    for rec in study.recommend(store, member_no, limit=len(study.lessons(store))):
        if rec.lesson_id != done_id:
            return rec.lesson_id
    return None


class QuizResultScreen(KioskScreen):
    """The result, then where the visit goes: 学下一课, 办别的事 (home, still logged in)
    or 完成 (the visit ends)."""

    def setup(self, sitting: Sitting | None = None, **kwargs) -> None:
        super().setup(**kwargs)
        self.title = self.ids.score.text = self.ids.remark.text = ""
        self.ids.choices.clear_widgets()
        if sitting is None:
            return
        correct, total, passed = sitting.grade()
        done = sitting.completed
        self.title = (f"《{sitting.lesson['title']}》学完了" if done
                      else f"《{sitting.lesson['title']}》还没有学完")
        if total:
            self.ids.score.text = f"答对{correct}题，共{total}题"
            self.ids.remark.text = "很好，这一课学会了！" if passed else "没关系，可以再学一遍。"
        if not done:
            from .lesson import DONE_SHARE_ZH

            self.ids.remark.text += DONE_SHARE_ZH
        self.ids.remark.text += "学习记录已经保存好了。"
        nxt = next_lesson(self.app.store, sitting.member_no, sitting.lesson["lesson_id"])
        buttons = []
        if nxt:
            buttons.append(("学下一课", "", lambda: self.app.show("lesson", lesson_id=nxt)))
        buttons += [("办别的事", "回首页，办别的事", self.app.home),
                    ("完成", "完成，退出", self.app.end_visit)]
        for text, spoken, action in buttons:
            b = WrapButton(text=text, spoken=spoken)
            b.bind(on_release=lambda _b, act=action: act())
            self.ids.choices.add_widget(b)

    def prompt_text(self) -> str:
        if not self.title:
            return ""
        return f"{self.ids.score.text}。" if self.ids.score.text else f"{self.title}。"

    def repeat_text(self) -> str:
        score = f"{self.ids.score.text}。" if self.ids.score.text else ""
        return (f"{self.title}。{score}{self.ids.remark.text}"
                "可以点学下一课，办别的事，或者完成。")

    @classmethod
    def sample(cls, app) -> dict:
        sitting = _sample_sitting(app)
        sitting.answers = [q["answer"] for q in sitting.quiz]
        sitting.save(completed=True)
        return {"sitting": sitting}
