"""支部通知: the branch's recent notices, one per screen, in large type, read aloud.

No PIN: notices are the branch's, not the member's. Each notice is read sentence by
sentence like a lesson (``study_reading``: pages that fit, the sentence being read marked
▶); 上一条 / 下一条 move between notices (newest first), 暂停/继续 stops and resumes the
reading, and the bar's 再听一遍 says the current sentence again.
"""

from __future__ import annotations

from kivy.properties import StringProperty

from core import notices
from voice.speech_text import sentences

from .base import KioskScreen
from .study_reading import ReadAloud

NONE_YET = "现在没有支部通知。"


def _posted_zh(posted: str) -> str:
    """'2026-11-12' -> '11月12日' (recent notices: the month and day are enough)."""
    _y, m, d = posted[:10].split("-")
    return f"{int(m)}月{int(d)}日"


class NoticesScreen(ReadAloud, KioskScreen):
    posted = StringProperty("")           # "第2条，共4条 · 11月10日发布"
    items: list[dict] = []

    def setup(self, number: int = 0, **kwargs) -> None:
        super().setup(**kwargs)
        self.items = notices.recent(self.app.store)
        self.number = number % len(self.items) if self.items else 0
        if not self.items:
            self.title = NONE_YET
            self.posted = ""
            self.begin_reading([])
            return
        item = self.items[self.number]
        self.title = item["title"]
        self.posted = (f"第{self.number + 1}条，共{len(self.items)}条 · "
                       f"{_posted_zh(item['posted'])}发布")
        self.begin_reading(sentences(item["body"]))
        self.start_timer_for(self.prompt_text())

    def prompt_text(self) -> str:
        if not self.items:
            return NONE_YET
        return f"支部通知：{self.title}。"

    def details(self) -> str:
        if not self.items:
            return ""
        return (f"{self.posted}。"
                f"{'可以点上一条，下一条。' if len(self.items) > 1 else ''}")

    def go(self, step: int) -> None:
        if self.items:
            self.app.show("notices", number=self.number + step)

    def reached_end(self) -> None:
        more = len(self.items) > 1
        last = self.number == len(self.items) - 1
        if not more:
            self.tell("这条通知读完了。")
        elif last:
            self.tell("这是最后一条通知，已经读完了。要听前面的，请点上一条。")
        else:
            self.tell("这条通知读完了。要听下一条，请点下一条。")
