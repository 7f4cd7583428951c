"""Pins the kiosk's first journeys on the real Kivy app, offscreen, driven by real touch
events posted through Kivy's event loop to the window, on the demo branch:

* home is drawn in Chinese (a real PNG, not blank, with CJK glyphs that are not boxes);
* a touch on 交党费 opens "who are you", and every press says its label;
* 张 -> 张三丰 -> PIN 1234 -> 确定 logs in (pin.ok in the audit chain) and lands on 我的情况
  with her dues said aloud; PIN digits are never spoken;
* five wrong PINs lock the member: the core's Chinese message is shown AND spoken, and
  the right PIN is refused while locked;
* the member-number keypad finds QS003 from "3"; an unknown number is said and shown;
* the bar: 再听一遍 repeats, 字大/字小 change every scaled text, volume is bounded, 回首页
  forgets the member; 呼叫工作人员 is logged in the journal, shown and spoken.
"""

from __future__ import annotations

import pytest
from kiosk_fixtures import keys, kivy_ready, login, tap, type_digits

kivy_ready()

from core import members  # noqa: E402
from core.errors import Locked  # noqa: E402
from kiosk import drive, theme  # noqa: E402


def _pixels(path):
    from kivy.core.image import Image as CoreImage

    return CoreImage(str(path), keep_data=True)


def test_home_renders_chinese(app, said, tmp_path):
    assert app.manager.current == "home"
    assert said == [app.current.prompt_text()] == ["您好，请点您要办的事。"]
    png = drive.screenshot(tmp_path / "home.png")
    img = _pixels(png)
    assert tuple(img.size) == (1280, 800)
    button = drive.find(app.root, "交党费")
    cx, cy = map(int, drive.window_pos(button, *button.center))
    top = img.height - 1 - cy                   # read_pixel counts rows from the top
    # Inside the button: its blue, and white strokes of the label somewhere along the middle.
    edge = img.read_pixel(int(cx - button.width / 2 + 8), top)
    assert theme.contrast(edge, theme.CHOICE_BG) < 1.05
    row = [img.read_pixel(x, top) for x in range(int(cx - 60), int(cx + 60))]
    assert sum(1 for p in row if theme.contrast(p, "#FFFFFF") < 1.5) >= 4
    colours = {tuple(round(c, 2) for c in img.read_pixel(x, y))
               for x in range(0, 1280, 37) for y in range(0, 800, 23)}
    assert len(colours) >= 4                     # not a blank frame


def test_hanzi_are_glyphs_not_boxes(app):
    """Missing glyphs all draw the same box: distinct characters must draw differently."""
    from kivy.core.text import Label as CoreLabel

    drawn = []
    for ch in "交党费学":
        lbl = CoreLabel(text=ch, font_size=40)
        lbl.refresh()
        drawn.append(bytes(lbl.texture.pixels))
    assert len(set(drawn)) == 4


def test_touch_on_pay_dues_asks_who(app, said):
    tap(app, "交党费")
    assert app.manager.current == "who"
    assert app.pending == "dues"
    assert said[-2:] == ["交党费", app.current.prompt_text()]
    assert said[-1].startswith("请点您的姓")
    labels = [b.text for b in drive.buttons(app.current)]
    assert labels[-2:] == ["更多姓氏", "输入党员编号"] and len(labels) == 6


def _to_pin(app, name="张三丰"):
    # 交党费 now opens the dues screen (tests/test_kiosk_dues.py)
    login(app, "我的情况", name=name, pin=None)


def test_zhang_sanfeng_logs_in_with_1234(app, said, demo_store):
    _to_pin(app)
    member_no = app.current.member["member_no"]
    assert said[-1] == "张三丰，请输入4位密码。"
    for i, d in enumerate("123", start=1):
        tap(app, d)
        assert said[-1] == f"已输入{i}位"
    assert app.current.ids.dots.text == "●●●○"
    tap(app, "4")                                  # the 4th digit is enough: no 确定
    assert app.member == {"member_no": member_no, "name": "张三丰"}
    assert app.manager.current == "status"
    assert said[-1] == app.current.prompt_text() == "党费已交齐。"
    assert app.current.ids.paid.text == "2026年11月"
    assert not any(s in "0123456789" for s in said)            # no digit was spoken
    rows = demo_store.all("SELECT action FROM audit WHERE subject = ? ORDER BY seq DESC LIMIT 1",
                          [f"member:{member_no}"])
    assert rows[0]["action"] == "pin.ok"


def test_five_wrong_pins_lock_shown_and_spoken(app, said, demo_store):
    _to_pin(app)
    member_no = app.current.member["member_no"]
    for left in (4, 3, 2, 1):
        type_digits(app, "0000")
        assert app.current.message == f"密码不对，还可以再试{left}次。"
        assert said[-1] == app.current.message
    type_digits(app, "0000")
    locked = Locked.zh_default
    assert app.current.message == locked and said[-1] == locked
    shown = [w.text for w in drive.walk(app.current) if getattr(w, "text", "") == locked]
    assert shown == [locked]                                  # on screen, not only spoken
    type_digits(app, "1234")                                 # right PIN, still locked
    assert app.manager.current == "pin" and not app.member
    assert said[-1] == locked
    row = demo_store.one("SELECT locked_until FROM member WHERE member_no = ?", [member_no])
    assert row["locked_until"] > "2026-11-15T10:00"


def test_member_number_keypad(app, said):
    tap(app, "我的情况")
    tap(app, "输入党员编号")
    assert app.manager.current == "number"
    keys(app, "99")
    assert app.current.message == "没有找到编号99，请再输一次，或者找工作人员。"
    assert said[-1] == app.current.message
    keys(app, "3")
    want = [m for m in members.list_all(app.store) if m["member_no"].endswith("003")][0]
    assert app.manager.current == "pin" and app.current.member["member_no"] == want["member_no"]


def test_bar_repeat_text_size_volume_home(app, said):
    tap(app, "交党费")
    prompt = said[-1]
    tap(app, "再听一遍")                      # the prompt again, then the details
    assert said[-2:] == ["再听一遍", app.current.repeat_text()] and said[-1].startswith(prompt)
    assert "更多姓氏" in said[-1] and "更多姓氏" not in prompt and "张" in prompt
    choice = drive.buttons(app.current)[0]
    bar = drive.find(app.root, "回首页")
    small, bar_small = choice.font_size, bar.font_size
    tap(app, "字大")
    assert app.text_scale == 1.25 and choice.font_size == pytest.approx(small * 1.25)
    assert bar.font_size == pytest.approx(bar_small * 1.25)     # the bar grows too
    tap(app, "字大")
    tap(app, "字大")
    assert app.text_scale == 1.5 and said[-1] == "已经是最大的字了"
    assert bar.font_size == pytest.approx(bar_small * 1.5)
    labels = [b for b in drive.walk(bar.parent) if hasattr(b, "texture_size")]
    assert all(b.texture_size[1] <= b.height for b in labels)   # two lines fit
    assert bar.parent.height >= max(b.height for b in labels)
    tap(app, "字小")
    assert app.text_scale == 1.25
    for _ in range(6):
        tap(app, "音量 +")
    assert app.volume == theme.VOLUME_LEVELS and said[-2:] == ["音量大一点", "音量5"]
    tap(app, "回首页")
    assert app.manager.current == "home" and app.pending == "" and not app.member


def test_home_after_login_forgets_the_member(app, said):
    _to_pin(app)
    type_digits(app, "1234")
    assert app.current.ids.paid.text == "2026年11月"
    status = app.current
    tap(app, "回首页")
    assert not app.member and status.ids.paid.text == "" and status.title == ""


def test_call_staff_is_logged_shown_and_spoken(app, said, demo_store):
    tap(app, "呼叫工作人员")
    assert app.manager.current == "home"
    assert app.current.message.startswith("已经通知工作人员")
    assert said[-2:] == ["呼叫工作人员", app.current.message]
    row = demo_store.one("SELECT type FROM journal ORDER BY seq DESC LIMIT 1")
    assert row["type"] == "help.requested"
