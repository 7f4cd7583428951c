"""Staff confirmation: a staff member picks their name and types their PIN.

One pair of screens serves two purposes:

* a payment (``job`` is a :class:`DuesJob`): the PIN gives ``core.branch.confirm``'s
  confirmation, then :func:`settle` records the cash (``core.dues.pay``);
* entering staff mode (``job`` is None): the confirmation becomes ``app.staff`` (cleared
  by 回首页) and the staff menu opens.

When the payment breaks a branch rule, ``settle`` brings the staff member to one of two
more screens: **override** (back-pay / pay-ahead beyond the branch limit: pick one of a few
fixed reasons — big buttons, no typing) or **clockdate** (the terminal clock looks wrong:
confirm today's date). Wrong staff PIN and lockout are shown and spoken (``err.zh``).
"""

from __future__ import annotations

from core import branch, dues
from core.errors import LianxinError
from core.money import fen_zh

from .base import KioskScreen
from .dues_flow import DuesJob, PanelScreen, settle
from .pin import PIN_MAX, PIN_MIN, PinEntry

STAFF_PER_PAGE = 4
# Reasons a branch accepts for paying back or ahead beyond its limit (DESIGN §4: "with
# branch approval"); fixed so that staff need no keyboard and the audit chain reads alike.
OVERRIDE_REASONS = ("经支部同意补交", "经支部同意预交", "外出务工返乡补交")


def _sample_job(app) -> DuesJob:

    from .base import KioskScreen

    m = KioskScreen.sample_member(app)
    months = len(dues.status(app.store, m["member_no"]).months_owed) or 1
    return DuesJob(m["member_no"], m["name"], months)


def _job_line(app, job: DuesJob | None) -> str:
    if job is None:
        return ""
    todo = dues.plan(app.store, job.member_no, job.months)
    total = sum(r.due_fen - r.paid_fen for r in todo)
    return f"{job.name}同志交{job.months}个月党费，一共{fen_zh(total)}。"


def _job_total(app, job: DuesJob | None) -> str:
    if job is None:
        return ""
    todo = dues.plan(app.store, job.member_no, job.months)
    return fen_zh(sum(r.due_fen - r.paid_fen for r in todo))


def _back(app, job: DuesJob | None) -> None:
    if job is None:
        app.go_back()
    elif job.by_staff:
        app.show("dues", member_no=job.member_no, confirmation=job.confirmation)
    else:
        app.show("dues", member_no=job.member_no)


class ConfirmScreen(PanelScreen):
    """Which staff member is confirming: one big button per active staff account."""

    def setup(self, job: DuesJob | None = None, page: int = 0, **kwargs) -> None:
        super().setup(**kwargs)
        self.job = job
        staff = [s for s in branch.list_staff(self.app.store) if s["active"]]
        pages = max(1, -(-len(staff) // STAFF_PER_PAGE))
        self.page = page % pages
        self.shown = staff[self.page * STAFF_PER_PAGE:(self.page + 1) * STAFF_PER_PAGE]
        self.title = "请工作人员确认收款" if job else "工作人员登录"
        self.body = (_job_line(self.app, job) + "\n" if job else "") + "请工作人员点自己的名字。"
        self.figure = _job_total(self.app, job)
        buttons = [(s["name"], "", lambda s=s: self.app.show("confirm_pin", job=job, staff=s))
                   for s in self.shown]
        if pages > 1:
            buttons.append(("更多", "更多工作人员",
                            lambda: self.app.show("confirm", job=job, page=self.page + 1)))
        buttons.append(("返回", "", lambda: _back(self.app, job)))
        self.choice_cols = 2
        self.set_choices(buttons)

    def prompt_text(self) -> str:
        return "请工作人员点自己的名字。" if self.job else "工作人员专用。党员请点返回。"

    def details(self) -> str:
        names = "，".join(s["name"] for s in self.shown)
        lead = (_job_line(self.app, self.job) + "请工作人员确认收到现金。") if self.job else ""
        return f"{lead}工作人员有：{names}。"

    @classmethod
    def sample(cls, app) -> dict:
        return {"job": _sample_job(app)}


class ConfirmPinScreen(PinEntry, KioskScreen):
    """The staff PIN on the big keypad (digits never shown or said)."""

    def setup(self, job: DuesJob | None = None, staff: dict | None = None, **kwargs) -> None:
        super().setup(**kwargs)
        self.job, self.staff, self.pin = job, staff, ""
        self.title = f"{staff['name']}，请输入工作人员密码" if staff else ""
        self._show_dots()

    def prompt_text(self) -> str:
        if not self.staff:
            return ""
        return f"{self.staff['name']}，请输入密码，再点确定。"

    @classmethod
    def sample(cls, app) -> dict:
        return {"job": _sample_job(app), "staff": branch.list_staff(app.store)[0]}

    def other_staff(self) -> None:
        self.app.show("confirm", job=self.job)

    def submit(self) -> None:
        pin, self.pin = self.pin, ""
        self._show_dots()
        if len(pin) < PIN_MIN:
            self.tell(f"密码是{PIN_MIN}到{PIN_MAX}位数字，请输完再点确定。")
            return
        try:
            confirmation = branch.confirm(self.app.store, self.staff["staff_no"], pin)
        except LianxinError as err:          # AuthError (wrong PIN), Locked, NotFound
            self.tell(err.zh)
            return
        if self.job is None:
            self.app.staff_in(confirmation)
        else:
            self.job.confirmation = confirmation
            settle(self.app, self.job)


class OverrideScreen(PanelScreen):
    """Beyond the branch's back-pay / pay-ahead limit: staff pick the reason."""

    def setup(self, job: DuesJob | None = None, **kwargs) -> None:
        super().setup(**kwargs)
        self.job = job
        self.title = "需要填写原因" if job else ""
        if job is None:
            self.body, self.figure = "", ""
            self.set_choices([])
            return
        b = branch.get(self.app.store)
        self.body = (f"{_job_line(self.app, job)}\n补交或预交的月数超过了支部规定"
                     f"（补交最多{b.back_pay_limit}个月，预交最多{b.pay_ahead_limit}个月）。"
                     "\n请工作人员点原因：")
        self.figure = ""
        self.set_choices([(r, "", lambda r=r: self.choose(r)) for r in OVERRIDE_REASONS]
                         + [("取消", "取消，不交了", lambda: _back(self.app, job))])

    def prompt_text(self) -> str:
        if self.job is None:
            return ""
        return "超过了支部规定，请工作人员选原因。"

    def details(self) -> str:
        if self.job is None:
            return ""
        return ("补交或预交的月数超过了支部规定。请点："
                + "，".join(OVERRIDE_REASONS) + "。或者点取消。")

    @classmethod
    def sample(cls, app) -> dict:
        return {"job": _sample_job(app)}

    def choose(self, reason: str) -> None:
        self.job.override_reason = reason
        settle(self.app, self.job)


class ClockDateScreen(PanelScreen):
    """The terminal clock looks wrong (earlier than what it already recorded)."""

    def setup(self, job: DuesJob | None = None, **kwargs) -> None:
        super().setup(**kwargs)
        self.job = job
        now = self.app.store.now()
        self.today = f"{now.year}年{now.month}月{now.day}日"
        self.title = "请核对今天的日期" if job else ""
        self.body = "终端的时间可能不准。\n请工作人员看一看，今天是不是这一天：" if job else ""
        self.figure = self.today if job else ""
        self.choice_cols = 1
        self.set_choices([("日期对，确认", "", self.confirm_date),
                          ("日期不对", "日期不对，先不收", self.wrong_date)] if job else [])

    def prompt_text(self) -> str:
        if self.job is None:
            return ""
        return "请工作人员核对今天的日期。"

    def details(self) -> str:
        if self.job is None:
            return ""
        return (f"终端的时间可能不准。今天是{self.today}吗？"
                "对，请点日期对，确认；不对，请点日期不对。")

    @classmethod
    def sample(cls, app) -> dict:
        return {"job": _sample_job(app)}

    def confirm_date(self) -> None:
        self.job.date_confirmed = True
        settle(self.app, self.job)

    def wrong_date(self) -> None:
        self.tell("请先把终端的时间调对，再收党费。这次没有记账。")
        self.set_choices([("返回", "", lambda: _back(self.app, self.job))])
