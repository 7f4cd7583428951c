"""Type your member number on a big keypad (digits only: "7" finds QS007)."""

from __future__ import annotations

from core import members

from .. import roster
from .base import KioskScreen

MAX_DIGITS = 8


class NumberScreen(KioskScreen):
    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        self.title = "请输入您的党员编号"
        self.ids.entry.text = ""

    def prompt_text(self) -> str:
        return "请输入党员编号，再点确定。"

    def on_key(self, key: str) -> None:
        entry = self.ids.entry
        if key == "删除":
            entry.text = entry.text[:-1]
        elif key == "确定":
            self.submit(entry.text)
        elif len(entry.text) < MAX_DIGITS:
            entry.text += key

    def submit(self, typed: str) -> None:
        found = roster.match_number(members.list_all(self.app.store), typed)
        if len(found) == 1:
            self.app.show("pin", member=found[0])
            return
        self.ids.entry.text = ""
        self.tell("请先输入编号。" if not typed else
                  f"没有找到编号{typed}，请再输一次，或者找工作人员。" if not found else
                  f"编号{typed}有好几位，请输入完整的编号。")
