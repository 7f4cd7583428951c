"""The quiz after a lesson, one question per screen, then the result.

A question is shown and said with its choices (2–4 big buttons). A touch on a choice says
the choice, then the verdict in words — "答对了" or "答错了，正确答案是…" — with the
lesson's explanation, shown in place of the question (never colour alone), and one button
goes on (下一题, or 看结果 after the last). The answers are written with the sitting
(``study_sitting``): at the end with ``completed=True``, or, when the member leaves
half-way (回首页, idle), as far as they got.
"""

from __future__ import annotations

from kivy.utils import escape_markup

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
        q = self.question
        if q is None:
            return ""
        if self.verdict:
            return f"{self.verdict}{q.get('explain', '')}"
        return (f"{self.title}。{q['question']}请选一个：" + "，".join(q["choices"]) + "。")

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
        self.app.say(self.prompt_text())

    def next_question(self) -> None:
        if self.sitting is None:
            return
        self.number += 1
        self.verdict = ""
        if self.number >= len(self.sitting.quiz):
            sitting, self.sitting = self.sitting, None
            sitting.save(completed=True)
            self.app.show("quiz_result", sitting=sitting)
            return
        self._render()
        self.app.say(self.prompt_text())

    @classmethod
    def sample(cls, app) -> dict:
        return {"sitting": _sample_sitting(app)}


class QuizResultScreen(KioskScreen):
    def setup(self, sitting: Sitting | None = None, **kwargs) -> None:
        super().setup(**kwargs)
        self.title = self.ids.score.text = self.ids.remark.text = ""
        if sitting is None:
            return
        correct, total, passed = sitting.grade()
        self.title = f"《{sitting.lesson['title']}》学完了"
        if total:
            self.ids.score.text = f"答对{correct}题，共{total}题"
            self.ids.remark.text = "很好，这一课学会了！" if passed else "没关系，可以再学一遍。"
        self.ids.remark.text += "学习记录已经保存好了。"

    def prompt_text(self) -> str:
        if not self.title:
            return ""
        score = f"{self.ids.score.text}。" if self.ids.score.text else ""
        return f"{self.title}。{score}{self.ids.remark.text}想再学，请点再学一课。"

    @classmethod
    def sample(cls, app) -> dict:
        sitting = _sample_sitting(app)
        sitting.answers = [q["answer"] for q in sitting.quiz]
        sitting.save(completed=True)
        return {"sitting": sitting}
