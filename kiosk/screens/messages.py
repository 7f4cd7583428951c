"""Staff mode 留言: the voice messages callers left on the phone line, one per screen.

Newest first (``core.calls.list_messages``, read as the confirmed staff member so the
listing is an audited read). Each message shows, in words, whether it was heard (未听 /
已听, never colour alone), who left it (the member if the caller proved who they are,
else the number they called from), when, and how long it is. 播放 plays it through the
kiosk's speaker (``core.calls.message_audio``, which checks the file is the one recorded;
a touch stops it like any speech); 标为已听 records that this staff member listened
(``core.calls.mark_heard``); 上一条 / 下一条 move between messages. Five choices at most.
"""

from __future__ import annotations

from core import calls
from core.errors import LianxinError

from ..receipt_escpos import local_time
from .base import member_no_said
from .staff import StaffScreen, sample_staff

NO_SOUND = "这台终端没有接扬声器，放不了录音。"


def _reader(app) -> str:
    return f"staff:{app.staff.staff_no}"


def _when_zh(iso_text: str) -> str:
    """'2026-11-15T10:02:00+08:00' -> '11月15日10点02分' (China time)."""
    day, clock = local_time(iso_text).split(" ")
    _y, m, d = day.split("-")
    hh, mm = clock.split(":")
    return f"{int(m)}月{int(d)}日{int(hh)}点{mm}分"


def who_left(row: dict, *, said: bool = False) -> str:
    """Who left a message, as shown; ``said``: as spoken (the member number by its digits
    only, never its letters' names)."""
    if row["member_no"]:
        no = member_no_said(row["member_no"]) if said else row["member_no"]
        return f"{row['member_name'] or '党员'}（{no}）"
    return f"来电 {row['caller']}" if row["caller"] else "没有留下号码的来电"


class StaffMessagesScreen(StaffScreen):
    rows: list[dict] = []
    number = 0

    def fill(self, number: int = 0, **kwargs) -> None:
        calls.housekeep(self.app.store)  # the retention rule staff set
        self.rows = calls.list_messages(self.app.store, reader=_reader(self.app))
        unheard = sum(1 for r in self.rows if not r["heard_at"])
        self.figure = f"{unheard}条未听"
        if not self.rows:
            self.number = 0
            self.title = "留言"
            self.body = "现在没有留言。"
            self.set_choices([("返回", "返回工作人员菜单", self.menu)])
            return
        self.number = number % len(self.rows)
        r = self.row
        self.title = f"留言 第{self.number + 1}条，共{len(self.rows)}条"
        heard = "未听" if not r["heard_at"] else f"已听（{r['heard_by']}）"
        self.body = "\n".join([f"【{heard}】", f"留言人：{who_left(r)}",
                               f"时间：{_when_zh(r['recorded_at'])}", f"长度：{r['seconds']:g}秒"])
        if not r["audio"]:
            self.body += "\n录音已过保存期限，删掉了。"
        buttons = [("播放", "播放留言", self.play)] if r["audio"] else []
        if not r["heard_at"]:
            buttons.append(("标为已听", "", self.mark_heard))
        if len(self.rows) > 1:
            buttons += [("上一条", "", lambda: self.go(-1)), ("下一条", "", lambda: self.go(1))]
        buttons.append(("返回", "返回工作人员菜单", self.menu))
        self.set_choices(buttons)

    @property
    def row(self) -> dict:
        return self.rows[self.number]

    def speech(self) -> str:
        if not self.rows:
            return "现在没有留言。请点返回。"
        r = self.row
        state = "还没有听过" if not r["heard_at"] else "已经听过"
        return f"留言，第{self.number + 1}条，共{len(self.rows)}条，{state}。"

    def more(self) -> str:
        if not self.rows:
            return ""
        r = self.row
        return (f"{who_left(r, said=True)}留的，{_when_zh(r['recorded_at'])}，{r['seconds']:g}秒。"
                f"请点：{'，'.join(self.choice_labels())}。")

    def go(self, step: int) -> None:
        self.app.show("staff_messages", number=self.number + step)

    def play(self) -> None:
        play_audio = getattr(self.app.speak, "play_audio", None)
        try:
            pcm, rate = calls.message_audio(self.app.store, self.row["message_id"],
                                            reader=_reader(self.app))
        except LianxinError as err:
            self.tell(err.zh)
            return
        if play_audio is None:
            self.tell(NO_SOUND)
            return
        self.tell("现在播放留言，摸一下屏幕就停。")
        play_audio(pcm, rate)

    def mark_heard(self) -> None:
        try:
            calls.mark_heard(self.app.store, self.row["message_id"],
                             staff_no=self.app.staff.staff_no)
        except LianxinError as err:
            self.tell(err.zh)
            return
        self.fill(number=self.number)
        self.tell("这条留言已经标为已听。")

    @classmethod
    def sample(cls, app) -> dict:
        """Staff mode, and one message to show (a second of a quiet tone) when there is none."""
        kwargs = sample_staff(app)
        if not calls.list_messages(app.store, limit=1):
            import math
            from array import array

            from core import members

            tone = array("h", (int(3000 * math.sin(2 * math.pi * 440 * i / 8000))
                               for i in range(8000)))
            first = members.list_all(app.store)[0]["member_no"]
            calls.save_message(app.store, tone.tobytes(), 8000, caller="13800000000",
                               member_no=first, actor="demo")
        return kwargs
