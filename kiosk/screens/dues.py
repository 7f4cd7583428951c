"""交党费: the member's dues in huge digits, said aloud, and how many months to pay now.

Shown after the member's PIN (or from staff mode, for a member staff found). The default
is what is owed (one month ahead when nothing is); − and + change it, and every change
says the months and the amount first (core.dues.plan: the oldest unpaid months). Cash is
recorded only after a staff member confirms with their PIN (the confirm screens); in
staff mode that confirmation already exists and the button records it at once.
"""

from __future__ import annotations

from core import dues
from core.clock import month_zh
from core.errors import LianxinError
from core.money import fen_zh

from ..receipt_escpos import months_text
from .base import KioskScreen
from .dues_flow import DuesJob, settle


class DuesScreen(KioskScreen):
    def setup(self, member_no: str | None = None, confirmation=None, **kwargs) -> None:
        super().setup(**kwargs)
        member = self.app.member if self.app else {}
        self.member_no = member_no or member.get("member_no")
        self.confirmation = confirmation           # staff mode: staff already confirmed
        self.status = dues.status(self.app.store, self.member_no) if self.member_no else None
        st = self.status
        self.exempt = bool(st and st.exempt and not st.months_owed)
        self.months = max(1, len(st.months_owed)) if st else 1
        self.title = f"{st.name}同志的党费" if st else ""
        ids = self.ids
        ids.paid.text = month_zh(st.paid_through) if st and st.paid_through else "还没交过"
        ids.owed.text = ("免交" if self.exempt else f"{len(st.months_owed)}个月") if st else ""
        ids.amount.text = fen_zh(st.amount_owed_fen) if st else ""
        ids.confirm.text = "确认收款" if confirmation else "请工作人员确认"
        ids.choose.opacity = 0 if self.exempt or not st else 1
        ids.choose.disabled = self.exempt or not st
        self.plan_line = ""
        if st and not self.exempt:
            self._update_plan()

    def prompt_text(self) -> str:
        """Short: what this payment is. The rest (paid through, how to change, who
        confirms) is on the screen and on 再听一遍."""
        st = self.status
        if not st:
            return ""
        if self.exempt:
            return "您的党费已经免交。"
        return f"这次交{self.months}个月，一共{fen_zh(self.total_fen)}。"

    def details(self) -> str:
        st = self.status
        if not st:
            return ""
        if self.exempt:
            return f"{st.say_zh()}这里不用交钱，请点回首页。"
        ask = ("请工作人员输入密码，确认收到现金。" if self.confirmation is None
               else "收到现金后，请点确认收款。")
        return f"{st.say_zh()}这次交{self.plan_line}。要改月数，请点加号或减号。{ask}"

    @classmethod
    def sample(cls, app) -> dict:
        return cls.sample_logged_in(app)

    # -- choosing months ---------------------------------------------------------------
    def _update_plan(self) -> bool:
        try:
            todo = dues.plan(self.app.store, self.member_no, self.months)
        except LianxinError as err:
            self.tell(err.zh)
            return False
        total = sum(r.due_fen - r.paid_fen for r in todo)
        self.ids.count.text = f"{self.months}个月"
        self.ids.plan.text = f"{months_text([r.month for r in todo])}\n一共{fen_zh(total)}"
        self.plan_line = f"{self.months}个月，{months_text([r.month for r in todo])}，一共{fen_zh(total)}"
        self.total_fen = total
        return True

    def step(self, n: int) -> None:
        wanted = self.months + n
        if not 1 <= wanted <= dues.MAX_MONTHS_PER_PAYMENT:
            self.tell("至少交1个月。" if wanted < 1 else
                      f"一次最多交{dues.MAX_MONTHS_PER_PAYMENT}个月。")
            return
        self.months = wanted
        if self._update_plan():
            self.message = ""
            self.app.say(f"这次交{self.plan_line}。")

    def ask_staff(self) -> None:
        job = DuesJob(self.member_no, self.status.name, self.months,
                      confirmation=self.confirmation, by_staff=self.confirmation is not None)
        if job.confirmation is not None:
            settle(self.app, job)
        else:
            self.app.show("confirm", job=job)
