"""我的情况: the identified member's dues and this year's study, shown big and said aloud.

Until the dues and study screens arrive (their own issue), every personal choice on
home lands here after the PIN.
"""

from __future__ import annotations

from core import dues, study
from core.clock import month_zh
from core.money import fen_zh

from .base import KioskScreen


def summary(store, member_no: str) -> dict[str, str]:
    st = dues.status(store, member_no)
    year = store.now().year
    hours = study.hours(store, member_no, year)
    paid = f"党费交到{month_zh(st.paid_through)}" if st.paid_through else "还没有交过党费"
    if st.exempt:
        owed = "您的党费已经免交"
    elif st.months_owed:
        owed = f"还差{len(st.months_owed)}个月，一共{fen_zh(st.amount_owed_fen)}"
    else:
        owed = "已经交齐了"
    learned = f"今年学习了{hours['hours']:g}小时，学完{hours['lessons_completed']}课"
    return {"name": st.name, "dues": f"{paid}，{owed}", "study": learned}


class StatusScreen(KioskScreen):
    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        member = self.app.member
        self.info = summary(self.app.store, member["member_no"]) if member else {}
        self.title = f"{self.info['name']}同志的情况" if self.info else ""
        self.ids.dues.text = self.info.get("dues", "")
        self.ids.study.text = self.info.get("study", "")

    def prompt_text(self) -> str:
        if not self.info:
            return ""
        return f"{self.info['name']}同志，您的{self.info['dues']}。{self.info['study']}。"

    @classmethod
    def sample(cls, app) -> dict:
        return cls.sample_logged_in(app)
