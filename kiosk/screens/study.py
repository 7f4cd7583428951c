"""学习: the lessons recommended to the identified member, at most four to a page (fewer
when the text is made larger), reasons shown and said.

The list comes from ``core.study.recommend`` — every lesson, in its explainable order
(assigned, unfinished, least-studied topics, then review), so paging through 更多课程
reaches all of them: a recommendation never hides a lesson. Each button shows the title,
the minutes and the reason ("支部布置的学习内容"), and says all three when pressed.
"""

from __future__ import annotations

from kivy.clock import Clock
from kivy.core.text.markup import MarkupLabel
from kivy.properties import NumericProperty
from kivy.utils import escape_markup

from core import study

from .. import theme
from .base import KioskScreen
from .study_reading import WrapButton

PER_PAGE = 4


def _label(rec, scale: float) -> str:
    from kivy.metrics import sp

    detail = f"{rec.minutes}分钟 · {rec.reason_zh}"
    return (f"{escape_markup(rec.title)}\n"
            f"[size={int(sp(theme.BODY_SP) * scale)}]{escape_markup(detail)}[/size]")


def _button_height(rec, col_w: float, scale: float) -> float:
    from kivy.metrics import dp, sp

    label = MarkupLabel(text=_label(rec, scale), font_size=sp(theme.LARGE_SP) * scale,
                        text_size=(col_w - dp(32), None), halign="center")
    label.refresh()
    return max(dp(theme.CHOICE_H_DP), label.texture.height + dp(28))


class StudyScreen(KioskScreen):
    recs: list = []
    shown: list = []
    first = 0                       # index in ``recs`` of the first lesson shown
    per_page = PER_PAGE
    cols = NumericProperty(2)

    def setup(self, page: int = 0, **kwargs) -> None:
        super().setup(**kwargs)
        member = self.app.member
        self.recs = (study.recommend(self.app.store, member["member_no"],
                                     limit=len(study.lessons(self.app.store)))
                     if member else [])
        if member:
            self.title = "请选一课来学习" if self.recs else "现在还没有可以学的课"
        else:
            self.title = ""
        self.per_page = self.capacity()
        pages = max(1, -(-len(self.recs) // self.per_page))
        self.first = (page % pages) * self.per_page
        self._fill()

    @property
    def page(self) -> int:
        return self.first // self.per_page

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.recs) // self.per_page))

    def _fill(self) -> None:
        self.shown = self.recs[self.first:self.first + self.per_page]
        grid = self.ids.choices
        grid.clear_widgets()
        scale = self.app.text_scale if self.app else 1
        for rec in self.shown:
            b = WrapButton(text=_label(rec, scale),
                           spoken=f"{rec.title}，{rec.minutes}分钟，{rec.reason_zh}")
            b.bind(on_release=lambda _b, lid=rec.lesson_id: self.app.show("lesson", lesson_id=lid))
            grid.add_widget(b)
        if self.pages > 1:
            more = WrapButton(text="更多课程")
            more.bind(on_release=lambda _b: self.app.show("study", page=self.page + 1))
            grid.add_widget(more)

    # -- how many lessons fit --------------------------------------------------------------
    def capacity(self) -> int:
        """At most ``PER_PAGE`` lessons; fewer when the text size or the screen needs it,
        so a page never runs off the screen (measured with the real font). Sets ``cols``:
        two columns when wide, unless one column (unwrapped lines) fits more."""
        if not self.recs:
            return PER_PAGE
        from kivy.metrics import dp, sp

        w, h = self.manager.size if self.manager is not None else self.size
        scale = self.app.text_scale
        pad, gap = dp(24), dp(16)
        avail = h - 2 * pad - sp(theme.TITLE_SP) * scale * 1.4 - 3 * gap
        best = (0, 1)
        for cols in ((2, 1) if w > h else (1,)):
            col_w = (w - 2 * pad - (cols - 1) * gap) / cols
            button = max(_button_height(rec, col_w, scale) for rec in self.recs)
            for n in range(PER_PAGE, 0, -1):
                cells = n + (1 if n < len(self.recs) else 0)          # + 更多课程
                rows = -(-cells // cols)
                if rows * button + (rows - 1) * gap <= avail:
                    break
            if n > best[0]:
                best = (n, cols)
        self.cols = best[1]
        return max(1, best[0])

    def _refit(self, *_):
        if not self.recs:
            return
        n = self.capacity()
        if n != self.per_page:
            self.per_page = n
            self.first -= self.first % n
        self._fill()

    def on_kv_post(self, base_widget):
        super().on_kv_post(base_widget)
        refit = Clock.create_trigger(self._refit, 0)
        self.bind(size=refit)
        self.app.bind(text_scale=refit)

    def prompt_text(self) -> str:
        if not self.shown:
            return self.title
        return "请点一课来学习。"

    def details(self) -> str:
        if not self.shown:
            return ""
        items = "；".join(f"{rec.title}，{rec.minutes}分钟，{rec.reason_zh}" for rec in self.shown)
        more = "想看别的课，请点更多课程。" if self.pages > 1 else ""
        return f"{items}。{more}"

    @classmethod
    def sample(cls, app) -> dict:
        return cls.sample_logged_in(app)
