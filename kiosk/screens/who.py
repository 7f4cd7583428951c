"""Who are you: pick your surname, then your name (big buttons, a few per page).

At most 6 choices on each screen: four surnames + 更多姓氏 + 输入党员编号, then four names +
更多名字 (when there are more) + 重新选姓. Surnames with the most members come first.
"""

from __future__ import annotations

from core import members

from .. import roster
from ..widgets import ChoiceButton
from .base import KioskScreen

SURNAMES_PER_PAGE = 4
NAMES_PER_PAGE = 4


def _fill(grid, buttons: list[tuple[str, str, object]]) -> None:
    grid.clear_widgets()
    for text, spoken, action in buttons:
        b = ChoiceButton(text=text, spoken=spoken)
        b.bind(on_release=lambda _b, act=action: act())
        grid.add_widget(b)


class WhoScreen(KioskScreen):
    def setup(self, page: int = 0, **kwargs) -> None:
        super().setup(**kwargs)
        self.title = "请问您是哪一位？"
        self.groups = roster.by_surname(members.list_all(self.app.store))
        names = list(self.groups)
        shown, self.pages = roster.page(names, page, SURNAMES_PER_PAGE)
        self.page = page % self.pages
        self.shown = shown
        buttons = [(f"{s}（{len(self.groups[s])}位）", f"姓{s}",
                    lambda s=s: self.app.show("names", surname=s)) for s in shown]
        if self.pages > 1:
            buttons.append(("更多姓氏", "", lambda: self.app.show("who", page=self.page + 1)))
        buttons.append(("输入党员编号", "", lambda: self.app.show("number")))
        _fill(self.ids.choices, buttons)

    def prompt_text(self) -> str:
        """The surnames themselves (four single characters: ~5.5 s), for those who cannot
        read the buttons; the rest on 再听一遍."""
        return "请点您的姓：" + "，".join(self.shown) + "。"

    def details(self) -> str:
        return (("没有您的姓，请点更多姓氏。" if self.pages > 1 else "")
                + "也可以点输入党员编号。")


class NamesScreen(KioskScreen):
    def setup(self, surname: str = "", page: int = 0, **kwargs) -> None:
        super().setup(**kwargs)
        self.surname = surname
        rows = roster.by_surname(members.list_all(self.app.store)).get(surname, []) if surname else []
        self.shown, self.pages = roster.page(rows, page, NAMES_PER_PAGE)
        self.page = page % self.pages
        self.title = f"姓{surname}的党员" if surname else ""
        buttons = [(r["name"], "", lambda r=r: self.app.show("pin", member=r)) for r in self.shown]
        if self.pages > 1:
            buttons.append(("更多名字", "",
                            lambda: self.app.show("names", surname=surname, page=self.page + 1)))
        buttons.append(("重新选姓", "", lambda: self.app.show("who")))
        _fill(self.ids.choices, buttons)

    def prompt_text(self) -> str:
        return "请点您的名字。"

    def details(self) -> str:
        return ("，".join(r["name"] for r in self.shown) + "。"
                + ("没有您的名字，请点更多名字。" if self.pages > 1 else "")
                + "姓不对，请点重新选姓。")

    @classmethod
    def sample(cls, app) -> dict:
        return {"surname": next(iter(roster.by_surname(members.list_all(app.store))), "")}
