"""Staff mode: find a member, then act for them.

    staff_find     pinyin initials on a letter keypad ("lgl" finds 刘桂兰; core.members.lookup)
    staff_number   the member number on the digit keypad ("4" finds QS004)
    staff_found    the matches (four names a page)
    staff_member   the member's dues; 代交党费 (the dues screen with the staff confirmation
                   already given) and 同意登记
    staff_consent  each consent scope read out in full; 同意 / 不同意 recorded with method
                   "staff" and the confirming staff member as witness (core.consent)

Searches are audited as staff reads (``reader``), as the core does for every lookup.
"""

from __future__ import annotations

from kivy.metrics import dp

from core import consent, dues, members
from core.errors import LianxinError
from core.money import fen_zh

from .. import roster
from ..widgets import ChoiceButton, KeyButton, Keypad
from .base import KioskScreen
from .staff import StaffScreen, sample_staff

LETTERS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
SPOKEN_KEYS = {"删除": "删除一个字母", "查找": "查找"}
NAMES_PER_PAGE = 4
SCOPE_LABELS = {"terminal_records": "保存记录", "phone_recognition": "来电识别",
                "voice_messages": "语音留言"}


class LetterPad(Keypad):
    """A–Z, 删除 and 查找 on a 7-column grid: one choice, like the digit keypad."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.clear_widgets()
        for key in (*LETTERS, "删除", "查找"):
            b = KeyButton(text=key, spoken=SPOKEN_KEYS.get(key, key))
            b.base_sp = 40          # two-character keys must fit 7 to a row at 1280×800
            b.bind(on_release=lambda btn: self.dispatch("on_key", btn.text))
            self.add_widget(b)


def _reader(app) -> str:
    return f"staff:{app.staff.staff_no}"


class SearchScreen(KioskScreen):
    """A keypad on the right, what was typed on the left, and two choices below it."""

    pad_class: type = Keypad
    max_len = 8

    def on_kv_post(self, base_widget):
        super().on_kv_post(base_widget)
        pad = self.pad_class(size_hint_x=None)
        pad.bind(on_key=lambda _p, key: self.on_key(key))
        box = self.ids.pad_box
        box.bind(width=lambda *_: setattr(pad, "width", min(box.width, self.pad_width())))
        box.add_widget(pad)
        for text, spoken, action in self.switches():
            b = ChoiceButton(text=text, spoken=spoken)
            b.bind(on_release=lambda _b, act=action: act())
            self.ids.switch.add_widget(b)

    def pad_width(self) -> float:
        return dp(640)

    def switches(self) -> list[tuple]:
        return [("返回", "返回工作人员菜单", lambda: self.app.show("staff"))]

    def setup(self, **kwargs) -> None:
        super().setup(**kwargs)
        self.title = self.heading() if getattr(self.app, "staff", None) else ""
        self.ids.entry.text = ""

    @classmethod
    def sample(cls, app) -> dict:
        return sample_staff(app)

    def on_key(self, key: str) -> None:
        entry = self.ids.entry
        if key == "删除":
            entry.text = entry.text[:-1]
        elif key in ("查找", "确定"):
            self.search(entry.text)
        elif len(entry.text) < self.max_len:
            entry.text += key


class StaffFindScreen(SearchScreen):
    pad_class = LetterPad
    max_len = 6

    def heading(self) -> str:
        return "按拼音首字母找党员"

    def pad_width(self) -> float:
        return dp(840)

    def switches(self) -> list[tuple]:
        return [("按编号找", "按党员编号找", lambda: self.app.show("staff_number"))] \
            + super().switches()

    def prompt_text(self) -> str:
        if not self.title:
            return ""
        return "请输入名字的拼音首字母，再点查找。"

    def details(self) -> str:
        return "按编号找，请点按编号找。" if self.title else ""

    def search(self, typed: str) -> None:
        if not typed:
            self.tell("请先输入拼音首字母。")
            return
        found = members.lookup(self.app.store, typed.lower(), reader=_reader(self.app))
        found = [r for r in found if r["status"] == "active"]
        if not found:
            self.ids.entry.text = ""
            self.tell(f"没有找到首字母是{typed}的党员，请再输一次。")
            return
        self.app.show("staff_found", found=found, query=typed)


class StaffNumberScreen(SearchScreen):
    def heading(self) -> str:
        return "按党员编号找"

    def switches(self) -> list[tuple]:
        return [("按拼音找", "按拼音首字母找", lambda: self.app.show("staff_find"))] \
            + super().switches()

    def prompt_text(self) -> str:
        return "请输入党员编号，再点确定。" if self.title else ""

    def details(self) -> str:
        return "按拼音找，请点按拼音找。" if self.title else ""

    def search(self, typed: str) -> None:
        found = roster.match_number(members.list_all(self.app.store), typed)
        if not found:
            self.ids.entry.text = ""
            self.tell("没有找到这个编号，请再输一次。")
            return
        self.app.store.audit_read(_reader(self.app), "members",
                                  "number " + ",".join(r["member_no"] for r in found))
        self.app.show("staff_found", found=found, query=typed)


class StaffFoundScreen(StaffScreen):
    def fill(self, found: list | None = None, query: str = "", page: int = 0, **kwargs) -> None:
        found = found or []
        pages = max(1, -(-len(found) // NAMES_PER_PAGE))
        self.page = page % pages
        self.shown = found[self.page * NAMES_PER_PAGE:(self.page + 1) * NAMES_PER_PAGE]
        self.found_n = len(found)
        self.title = f"找到{len(found)}位党员"
        self.body = "\n".join(f"{r['name']}（{r['member_no']}）" for r in self.shown)
        buttons = [(r["name"], "", lambda r=r: self.app.show("staff_member", member_no=r["member_no"]))
                   for r in self.shown]
        if pages > 1:
            buttons.append(("更多", "更多名字", lambda: self.app.show(
                "staff_found", found=found, query=query, page=self.page + 1)))
        buttons.append(("重新找", "重新查找", lambda: self.app.show("staff_find")))
        self.set_choices(buttons)

    def speech(self) -> str:
        return f"找到{self.found_n}位，请点名字。"

    def more(self) -> str:
        return "，".join(r["name"] for r in self.shown) + "。"

    @classmethod
    def sample(cls, app) -> dict:
        sample_staff(app)
        return {"found": members.list_all(app.store)[:6]}


class StaffMemberScreen(StaffScreen):
    def fill(self, member_no: str = "", **kwargs) -> None:
        if not member_no:
            return
        self.member_no = member_no
        st = self.status = dues.status(self.app.store, member_no, reader=_reader(self.app))
        agreed = consent.current(self.app.store, member_no)
        self.title = f"{st.name}（{member_no}）"
        self.body = st.say_zh() + "\n同意：" + ("、".join(
            SCOPE_LABELS[k] for k, v in agreed.items() if v) or "还没有登记")
        self.figure = fen_zh(st.amount_owed_fen) if st.months_owed else ""
        buttons = [("代交党费", "", self.pay),
                   ("同意登记", "", lambda: self.app.show("staff_consent", member_no=member_no)),
                   ("找别人", "找别的党员", lambda: self.app.show("staff_find")),
                   ("返回", "返回工作人员菜单", self.menu)]
        self.set_choices(buttons)

    def speech(self) -> str:
        if not getattr(self, "status", None):
            return ""
        return f"{self.status.name}，请点要办的事。"

    def more(self) -> str:
        if not getattr(self, "status", None):
            return ""
        said = self.status.say_zh()
        said = f"{self.status.name}同志" + (said[1:] if said.startswith("您") else "，" + said)
        return said + "请点：代交党费，同意登记，找别人，或者返回。"

    def setup(self, **kwargs) -> None:
        self.status = None
        super().setup(**kwargs)

    @classmethod
    def sample(cls, app) -> dict:
        sample_staff(app)
        return {"member_no": members.list_all(app.store)[3]["member_no"]}

    def pay(self) -> None:
        self.app.show("dues", member_no=self.member_no, confirmation=self.app.staff)


class StaffConsentScreen(StaffScreen):
    def fill(self, member_no: str = "", scope: str = "", **kwargs) -> None:
        if not member_no:
            return
        self.member_no, self.scope = member_no, scope
        self.member_name = members.get(self.app.store, member_no)["name"]
        state = consent.current(self.app.store, member_no)
        self.title = f"{self.member_name} 同意登记"
        if not scope:
            self.body = "\n".join(f"{SCOPE_LABELS[k]}：{'已同意' if v else '未同意'}"
                                  for k, v in state.items())
            self.set_choices([(SCOPE_LABELS[k], consent.SCOPES[k],
                               lambda k=k: self.app.show("staff_consent", member_no=member_no,
                                                         scope=k)) for k in consent.SCOPES]
                             + [("返回", "", lambda: self.app.show("staff_member",
                                                                    member_no=member_no))])
            return
        self.body = (f"{consent.SCOPES[scope]}。\n现在：{'已同意' if state[scope] else '未同意'}。"
                     "\n请党员本人说同意或不同意，工作人员点下面的按钮。")
        self.set_choices([("同意", f"{self.member_name}同意", lambda: self.record(True)),
                          ("不同意", f"{self.member_name}不同意", lambda: self.record(False)),
                          ("返回", "", lambda: self.app.show("staff_consent",
                                                            member_no=member_no))])

    def speech(self) -> str:
        if not self.scope:
            return "请点要登记的一项。"
        return f"请问{self.member_name}同志，您同意吗？"

    def more(self) -> str:
        if not self.scope:
            return f"{self.member_name}的同意登记：保存记录，来电识别，语音留言。"
        return f"{consent.SCOPES[self.scope]}。同意，请点同意；不同意，请点不同意。"

    @classmethod
    def sample(cls, app) -> dict:
        sample_staff(app)
        return {"member_no": cls.sample_member(app)["member_no"]}

    def record(self, agree: bool) -> None:
        fn = consent.grant if agree else consent.withdraw
        try:
            fn(self.app.store, self.member_no, self.scope, method="staff",
               witness=self.app.staff.staff_no)
        except LianxinError as err:
            self.tell(err.zh)
            return
        what = SCOPE_LABELS[self.scope]
        self.app.show("staff_consent", member_no=self.member_no)
        self.tell(f"已经登记：{self.member_name}{'同意' if agree else '不同意'}{what}。")
