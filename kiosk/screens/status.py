"""我的情况: the identified member's dues in large figures and this year's study, said
aloud; from here the visit goes on (去交党费 when something is owed, 去学习, 办别的事) or
ends (完成), without a second PIN.
"""

from __future__ import annotations

from core import dues, study
from core.clock import month_zh
from core.money import fen_zh

from .base import KioskScreen
from .dues_flow import PanelScreen


def minutes_zh(seconds: int) -> str:
    """Study time the one way it is shown and said: "25分钟", "1小时5分钟" (never 0.1小时)."""
    minutes = int(seconds) // 60
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest}分钟"
    return f"{hours}小时" + (f"{rest}分钟" if rest else "")


def summary(store, member_no: str) -> dict:
    st = dues.status(store, member_no)
    hours = study.hours(store, member_no, store.now().year)
    return {"name": st.name, "status": st,
            "paid": month_zh(st.paid_through) if st.paid_through else "还没交过",
            "owed": ("免交" if st.exempt and not st.months_owed
                     else f"{len(st.months_owed)}个月" if st.months_owed else "已交齐"),
            "amount": fen_zh(st.amount_owed_fen) if st.months_owed else "",
            "study": f"今年学习了{minutes_zh(hours['seconds'])}\n学完{hours['lessons_completed']}课"}


class StatusScreen(KioskScreen):
    # PanelScreen's choices without its layout (kv rules add up along the class tree)
    set_choices = PanelScreen.set_choices
    _size_choices = PanelScreen._size_choices
    on_size = PanelScreen.on_size

    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        member = self.app.member if self.app else {}
        self.info = summary(self.app.store, member["member_no"]) if member else {}
        info = self.info
        self.title = f"{info['name']}同志的情况" if info else ""
        self.ids.paid.text = info.get("paid", "")
        self.ids.owed.text = info.get("owed", "")
        self.ids.amount.text = info.get("amount", "")
        self.ids.study.text = info.get("study", "")
        buttons = []
        if info and info["status"].months_owed:
            buttons.append(("去交党费", "", lambda: self.app.open_personal("dues")))
        if info:
            buttons += [("去学习", "", lambda: self.app.open_personal("study")),
                        ("办别的事", "回首页，办别的事", self.app.home),
                        ("完成", "完成，退出", self.app.end_visit)]
        self.set_choices(buttons)

    def prompt_text(self) -> str:
        info = self.info
        if not info:
            return ""
        if info["amount"]:
            return f"党费还差{info['owed']}，一共{info['amount']}。"
        return f"党费{info['owed']}。" if info["owed"] != "还没交过" else "党费已交齐。"

    def repeat_text(self) -> str:
        """再听一遍: everything on the page, the way it is shown."""
        info = self.info
        if not info:
            return ""
        dues_line = info["status"].say_zh()
        study_line = info["study"].replace("\n", "，")
        return f"{info['name']}同志，{dues_line}{study_line}。"

    @classmethod
    def sample(cls, app) -> dict:
        return cls.sample_logged_in(app)
