"""Home: five huge choices. Personal ones (学习, 交党费, 我的情况) ask who you are first."""

from __future__ import annotations

from core import assist

from .base import KioskScreen

HELP_COMING = "已经通知工作人员，请您稍等，马上有人来帮您。"


class HomeScreen(KioskScreen):
    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        self.title = "连心 · 党员服务"

    def prompt_text(self) -> str:
        return ("您好，这里是党员服务。请点一下您要办的事："
                "学习，交党费，我的情况，支部通知，或者呼叫工作人员。")

    def choose(self, what: str) -> None:
        if what == "notices":
            self.app.show("notices")          # not personal: no PIN
        elif what == "help":
            self.call_help()
        else:
            self.app.ask_member(what)

    def call_help(self) -> None:
        member = self.app.member or {}
        assist.request_help(self.app.store, where="home", member_no=member.get("member_no"))
        self.tell(HELP_COMING)
