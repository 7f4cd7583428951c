"""What every kiosk screen has: a background, a title, a spoken prompt, a message line.

``setup(**kwargs)`` fills the screen before it is shown (the app calls it, then switches
to it, then speaks ``prompt_text()``). ``sample(app)`` gives the arguments the audit and
the screenshots use to show the screen with realistic content (demo branch).
"""

from __future__ import annotations

import re

from kivy.app import App
from kivy.properties import ColorProperty, StringProperty
from kivy.uix.screenmanager import Screen

from .. import theme


def member_no_said(member_no: str) -> str:
    """A member number as spoken: "编号004" for QS004 — its digits, never letter names
    (``voice.speech_text`` reads the digits after 编号 one by one)."""
    digits = "".join(re.findall(r"\d", member_no))
    return f"编号{digits}" if digits else ""


class KioskScreen(Screen):
    bg_color = ColorProperty(theme.rgba(theme.BG))
    title = StringProperty("")
    message = StringProperty("")       # an error or notice, shown and spoken

    @property
    def app(self):
        return App.get_running_app()

    def setup(self, **kwargs) -> None:
        self.message = ""

    def prompt_text(self) -> str:
        """What is said when the screen opens: short (<= 8 s said, checked by the audit)."""
        raise NotImplementedError

    def details(self) -> str:
        """What 再听一遍 adds after the prompt (the choices, the figures); '' for nothing."""
        return ""

    def repeat_text(self) -> str:
        """再听一遍: the message line, the prompt, then the details."""
        return "".join(t for t in (self.message, self.prompt_text(), self.details()) if t)

    @classmethod
    def sample(cls, app) -> dict:
        return {}

    @staticmethod
    def sample_member(app) -> dict:
        """The member the audit and screenshots show: the first one who owes dues, so the
        pictures of status, dues and confirmation tell one consistent story."""
        from core import dues, members

        roster = members.list_all(app.store)
        owing = [m for m in roster if dues.status(app.store, m["member_no"]).months_owed]
        return (owing or roster)[0]

    @classmethod
    def sample_logged_in(cls, app) -> dict:
        """Sample for a personal screen: the sample member logged in (if nobody is)."""
        if not app.member:
            m = cls.sample_member(app)
            app.member = {"member_no": m["member_no"], "name": m["name"]}
        return {}

    def tell(self, text: str) -> None:
        """Show ``text`` on the message line and say it."""
        self.message = text
        self.app.say(text)
