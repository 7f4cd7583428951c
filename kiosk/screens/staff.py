"""Staff mode: behind a staff PIN (the confirm screens), entered by holding home's title.

    staff           the menu: 找党员 · 今日收款 · 欠费名单 · 留言 · 终端状态 · 退出
    staff_takings   today's takings with the total (core.dues.takings); 打印日报
    staff_behind    欠费名单: members 3+ months overdue (core.dues.behind), each with the
                    months still unpaid counted as the member's own page counts them
                    ("还差8个月"); the branch decides, the terminal only lists
    staff_terminal  sync (core.outbox.sync_status), speech, vosk model, printer, disk; 试听语音, 试打印

Finding a member and acting for them (dues on their behalf, consent) is in staff_find.py;
the phone line's voice messages (留言) in messages.py.
Every staff screen keeps to six choices; long lists are paged. The staff confirmation is
``app.staff`` (set by the PIN, cleared by 回首页); without it these screens send staff to
the PIN first.
"""

from __future__ import annotations

import re
import shutil

from core import branch, calls, config, dues, outbox
from core.money import fen_zh

from .. import printer
from .. import receipt_escpos as receipt_doc
from .dues_flow import PanelScreen

LINES_PER_PAGE = 4
# Said and shown to staff when core.dues.clock_suspect finds the clock wrong (fast or slow).
CLOCK_WRONG = "终端的时间不准，请核对日期和时间"
CLOCK_WRONG_SAID = "终端的时间不准，请核对。"      # the same, short enough for a prompt


def sample_staff(app) -> dict:
    """For the audit and screenshots: staff mode entered with the demo staff PIN."""
    if getattr(app, "staff", None) is None:
        from core import demo

        first = branch.list_staff(app.store)[0]
        app.staff = branch.confirm(app.store, first["staff_no"], demo.STAFF_PIN)
    return {}


class StaffScreen(PanelScreen):
    """A staff screen: refuses to show anything without a staff confirmation."""

    def setup(self, **kwargs) -> None:
        super().setup()
        self.body = self.figure = self.title = ""
        self.choice_cols = 2
        if getattr(self.app, "staff", None) is None:
            self.set_choices([])
            return
        self.fill(**kwargs)

    def fill(self, **kwargs) -> None:
        raise NotImplementedError

    def prompt_text(self) -> str:
        if not self.title:
            return ""
        return self.speech()

    def speech(self) -> str:
        """The short prompt (<= 8 s said)."""
        raise NotImplementedError

    def details(self) -> str:
        return self.more() if self.title else ""

    def more(self) -> str:
        """What 再听一遍 adds: the figures and the choices."""
        return "请点：" + "，".join(self.choice_labels()) + "。"

    @classmethod
    def sample(cls, app) -> dict:
        return sample_staff(app)

    def menu(self) -> None:
        self.app.show("staff")


class StaffMenuScreen(StaffScreen):
    def fill(self, **kwargs) -> None:
        s = self.app.staff
        role = branch.STAFF_ROLES.get(branch.get_staff(self.app.store, s.staff_no)["role"], "")
        t = dues.takings(self.app.store)
        self.unheard = len(calls.list_messages(self.app.store, unheard_only=True))
        self.title = "工作人员"
        self.clock_wrong = dues.clock_suspect(self.app.store) is not None
        self.body = (f"{s.name}（{role}），您好。\n今天收款{len(t['entries'])}笔，"
                     f"合计{fen_zh(t['total_fen'])}。\n未听的留言{self.unheard}条。"
                     + ("\n" + CLOCK_WRONG if self.clock_wrong else ""))
        self.set_choices([
            ("找党员", "找党员，代交党费或登记同意", lambda: self.app.show("staff_find")),
            ("今日收款", "", lambda: self.app.show("staff_takings")),
            ("欠费名单", "欠费三个月以上的党员", lambda: self.app.show("staff_behind")),
            ("留言", "电话留言", lambda: self.app.show("staff_messages")),
            ("终端状态", "", lambda: self.app.show("staff_terminal")),
            ("退出", "退出工作人员", self.app.go_home),
        ])

    def speech(self) -> str:
        if self.clock_wrong:
            return f"{self.app.staff.name}，{CLOCK_WRONG_SAID}"
        heard = f"有{self.unheard}条新留言。" if self.unheard else "请点要办的事。"
        return f"{self.app.staff.name}，您好。{heard}"

    def more(self) -> str:
        clock = CLOCK_WRONG + "。" if self.clock_wrong else ""
        return f"{clock}请点：找党员，今日收款，欠费名单，留言，终端状态，或者退出。"


class StaffTakingsScreen(StaffScreen):
    def fill(self, page: int = 0, **kwargs) -> None:
        t = self.takings = dues.takings(self.app.store)
        entries = t["entries"]
        pages = max(1, -(-len(entries) // LINES_PER_PAGE))
        self.page = page % pages
        shown = entries[self.page * LINES_PER_PAGE:(self.page + 1) * LINES_PER_PAGE]
        self.title = f"今日收款 {t['day']}"
        lines = [f"共{len(entries)}笔" + (f"（第{self.page + 1}页，共{pages}页）" if pages > 1 else "")]
        lines += [f"{e['name']} {fen_zh(e['amount_fen'])} {e['collected_by']}" for e in shown]
        self.body = "\n".join(lines)
        self.figure = fen_zh(t["total_fen"])
        buttons = [("打印日报", "", self.print_sheet)]
        if pages > 1:
            buttons.append(("下一页", "", lambda: self.app.show("staff_takings", page=self.page + 1)))
        buttons.append(("返回", "返回工作人员菜单", self.menu))
        self.set_choices(buttons)

    def speech(self) -> str:
        t = self.takings
        return f"今天收款{len(t['entries'])}笔，合计{fen_zh(t['total_fen'])}。"

    def more(self) -> str:
        return "要打印日报，请点打印日报。"

    def print_sheet(self) -> None:
        data = receipt_doc.day_sheet_bytes(branch.get(self.app.store).name, self.takings,
                                           _now(self.app))
        try:
            printer.send(data)
        except printer.PrinterError as err:
            self.tell(err.zh)
            return
        self.tell("日报正在打印。")


def _now(app) -> str:
    from core.clock import iso

    return iso(app.store.now())


class StaffBehindScreen(StaffScreen):
    def fill(self, page: int = 0, **kwargs) -> None:
        rows = self.rows = dues.behind(self.app.store)
        pages = max(1, -(-len(rows) // LINES_PER_PAGE))
        self.page = page % pages
        shown = self.shown = rows[self.page * LINES_PER_PAGE:(self.page + 1) * LINES_PER_PAGE]
        self.title = "欠费名单"
        lines = [f"{s.name}（{s.member_no}）还差{len(s.months_owed)}个月"
                 + ("，要提醒" if s.level == "flag" else "") for s in shown]
        self.body = "\n".join(lines) if rows else "没有欠费三个月以上的党员。"
        if pages > 1:
            self.body += f"\n第{self.page + 1}页，共{pages}页"
        self.figure = f"{len(rows)}位"
        buttons = []
        if pages > 1:
            buttons.append(("下一页", "", lambda: self.app.show("staff_behind", page=self.page + 1)))
        buttons.append(("返回", "返回工作人员菜单", self.menu))
        self.set_choices(buttons)

    def speech(self) -> str:
        if not self.rows:
            return "没有欠费三个月以上的党员。"
        return f"欠费名单上有{len(self.rows)}位。"

    def more(self) -> str:
        """This page's names (page 2 says page 2's), then who decides."""
        if not self.rows:
            return ""
        return ("，".join(f"{s.name}还差{len(s.months_owed)}个月" for s in self.shown)
                + "。怎么处理由支部决定。")


def terminal_state(app) -> list[str]:
    """The lines of the terminal-state screen (each fact in words)."""
    store = app.store
    st = outbox.sync_status(store)
    if st["hub_url"]:
        last = receipt_doc.local_time(st["last_success"]) if st["last_success"] else "还没有同步过"
        sync_line = f"同步：上次成功 {last}，等待同步{st['waiting_events']}条"
        error = st["last_error"]
        if error and (not st["last_success"] or error.get("at", "") > st["last_success"]):
            # The hub's own words (a refused batch says why), for staff to act on.
            sync_line += f"。上次同步没有成功：{error.get('zh') or '原因不明'}"
    else:
        sync_line = f"同步：还没有登记到服务站，等待同步{st['waiting_events']}条"
    # In words staff can act on: no engine names, no units such as GB (issue 10).
    speech = "语音：正常" if shutil.which("espeak-ng") else "语音：没有装好，请找技术人员"
    listen = "语音识别：已经打开" if config.get("vosk_model") else "语音识别：没有打开，只用触摸"
    disk = shutil.disk_usage(store.path.parent if hasattr(store.path, "parent") else ".")
    free = round(100 * disk.free / disk.total) if disk.total else 0
    lines = [sync_line, speech, listen, f"打印机：{printer.describe()}",
             f"存储空间：还剩{free}%" + ("，快满了，请找技术人员" if free < 10 else "")]
    if dues.clock_suspect(store):
        lines.insert(1, CLOCK_WRONG)
    return lines


class StaffTerminalScreen(StaffScreen):
    def fill(self, **kwargs) -> None:
        self.title = "终端状态"
        self.lines = terminal_state(self.app)
        self.body = "\n".join(self.lines)
        self.set_choices([("试听语音", "", self.voice_test),
                          ("试打印", "", self.print_test),
                          ("返回", "返回工作人员菜单", self.menu)])

    def speech(self) -> str:
        return CLOCK_WRONG_SAID if CLOCK_WRONG in self.lines else "终端状态，请看屏幕。"

    def more(self) -> str:
        # said without what is in brackets (a device path is no use read out letter by letter)
        return "。".join(re.sub(r"（[^）]*）", "", line) for line in self.lines) + "。"

    def voice_test(self) -> None:
        self.tell(f"这是语音测试：{branch.get(self.app.store).name}，党费一共1元5角。")

    def print_test(self) -> None:
        try:
            printer.send(receipt_doc.sample_page_bytes(branch.get(self.app.store).name))
        except printer.PrinterError as err:
            self.tell(err.zh)
            return
        self.tell("测试页正在打印，请看中文和数字是否清楚。")
