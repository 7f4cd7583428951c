"""Home: five huge choices. Personal ones (学习, 交党费, 我的情况) ask who you are first,
once a visit: during a visit home greets the member by name and offers 完成 (end the visit)."""

from __future__ import annotations

from kivy.clock import Clock

from core import assist

from .base import KioskScreen

HELP_COMING = "已经通知工作人员，请您稍等，马上有人来帮您。"
STAFF_HOLD_S = 3.0       # press and hold the title this long: the staff login


class HomeScreen(KioskScreen):
    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        member = self.app.member if self.app else {}
        self.title = f"{member['name']}同志，您好" if member else "连心 · 党员服务"

    def prompt_text(self) -> str:
        member = self.app.member if self.app else {}
        if member:
            return f"{member['name']}，请点您要办的事。"
        return "您好，请点您要办的事。"

    def repeat_text(self) -> str:
        """再听一遍: the choices too (the prompt itself stays short)."""
        done = "办完了，请点完成。" if self.app.member else ""
        return (f"{self.message}{self.prompt_text()}"
                f"有学习，交党费，我的情况，支部通知，呼叫工作人员。{done}")

    @classmethod
    def sample(cls, app) -> dict:
        """Home as the next person finds it: nobody's visit."""
        app.member = {}
        return {}

    # -- the staff door: press and hold the title ------------------------------------------
    _hold = None

    def on_touch_down(self, touch):
        title = self.ids.title
        if title.collide_point(*title.to_widget(*touch.pos)) and self._hold is None:
            self._hold = Clock.schedule_once(lambda _dt: self._staff_door(),
                                             self.app.staff_hold_s)
            touch.ud["lianxin_hold"] = True
        return super().on_touch_down(touch)

    def on_touch_up(self, touch):
        if touch.ud.get("lianxin_hold") and self._hold is not None:
            self._hold.cancel()
            self._hold = None
        return super().on_touch_up(touch)

    def _staff_door(self) -> None:
        self._hold = None
        if self.manager is not None and self.manager.current_screen is self:
            self.app.staff_entry()

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
