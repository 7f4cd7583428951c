"""Pins staff mode on the real Kivy app (offscreen, real touch events, demo branch):

* the staff door is home's title held for 3 s (not a button beside the red 呼叫工作人员:
  the bar has none); a tap on the title does nothing; the door asks for a staff PIN
  first; a wrong PIN is shown and spoken and does not open staff mode; 王志刚 (S01) / 2468
  opens the menu, and 回首页 leaves staff mode; a member's visit ends only once a staff
  PIN was accepted (返回 from the staff login goes back to her visit);
* staff find 陈建军 (QS017) by pinyin initials typed on the letter keypad (C J J), and
  record his 5 owed months on his behalf — no second PIN, the ledger entry is collected
  by S01 — then come back to his page;
* the member-number keypad finds QS004;
* today's takings show the total and print a day sheet (GB18030 bytes, cut);
* members 3+ months behind are listed, months counted as on their own page (张玉兰
  还差8个月), and page 2 says page 2's names;
* consent: 来电识别 withdrawn for 张三丰 through staff, with S01 as witness;
* the terminal state names sync (events waiting), speech, the vosk model and the printer,
  and the voice test speaks;
* every staff screen stays within six choices.
"""

from __future__ import annotations

import pytest
from kiosk_fixtures import enter_staff, keys, kivy_ready, login, staff_door, tap

kivy_ready()

from escpos.constants import PAPER_FULL_CUT  # noqa: E402

from core import consent, dues  # noqa: E402
from kiosk import usability as audit  # noqa: E402


@pytest.fixture
def app(kiosk, paper, monkeypatch):
    monkeypatch.delenv("LIANXIN_VOSK_MODEL", raising=False)     # the state names no model
    return kiosk()


def test_staff_pin_guards_staff_mode(app, said):
    enter_staff(app, pin="9999", expect="confirm_pin")
    assert app.manager.current == "confirm_pin" and app.staff is None
    assert app.current.message == said[-1] == "密码不对，还可以再试4次。"
    keys(app, "2468")
    assert app.manager.current == "staff" and app.staff.staff_no == "S01"
    assert said[-1].startswith("王志刚，您好。")
    assert audit.count_choices(app.current) <= 6
    tap(app, "回首页")
    assert app.staff is None and app.manager.current == "home"
    staff_door(app)
    assert app.manager.current == "confirm"          # the PIN again


def test_staff_door_is_held_not_tapped(app, said):
    from kiosk import drive

    assert "工作人员" not in [b.text for b in drive.buttons(app.root)]   # no button for it
    title = app.current.ids.title
    drive.tap(title)
    drive.hold(title, 1.0)                           # a member resting a finger: nothing
    assert app.manager.current == "home"
    drive.hold(title, 3.2)                           # the real hold time
    assert app.manager.current == "confirm" and said[-1] == "工作人员专用。党员请点返回。"


def test_a_member_is_not_logged_out_by_the_staff_door(app, said):
    login(app, "我的情况", name="刘桂兰")
    tap(app, "办别的事")
    staff_door(app)
    assert app.manager.current == "confirm" and app.member["name"] == "刘桂兰"
    tap(app, "返回")                                  # pressed by mistake: back to her visit
    assert app.manager.current == "home" and app.member["name"] == "刘桂兰"
    staff_door(app)
    tap(app, "王志刚")
    keys(app, "2468")
    assert app.manager.current == "staff" and not app.member      # her visit is over now


def test_find_by_initials_and_record_dues_for_him(app, said, demo_store):
    enter_staff(app)
    tap(app, "找党员")
    assert app.manager.current == "staff_find"
    for letter in "CJJ":
        tap(app, letter)
    assert app.current.ids.entry.text == "CJJ"
    tap(app, "查找")
    assert app.manager.current == "staff_found"
    assert "陈建军（QS017）" in app.current.body
    tap(app, "陈建军")
    assert app.manager.current == "staff_member"
    assert said[-1] == "陈建军，请点要办的事。"
    tap(app, "再听一遍")
    assert "陈建军同志的党费交到2026年6月，还差5个月" in said[-1]
    tap(app, "代交党费")
    assert app.manager.current == "dues"
    assert app.current.ids.count.text == "5个月"
    tap(app, "确认收款")                                  # staff already confirmed
    assert app.manager.current == "receipt"
    new = [e for e in dues.history(demo_store, "QS017") if e["recorded_at"].startswith("2026-11-15")]
    assert len(new) == 1
    assert new[0]["months"] == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert (new[0]["amount_fen"], new[0]["collected_by"]) == (100, "S01")
    tap(app, "完成")
    assert app.manager.current == "staff_member" and app.staff is not None
    assert "已经交齐了" in app.current.body
    # the search was an audited staff read
    assert demo_store.one("SELECT 1 FROM audit WHERE actor = 'staff:S01' AND detail LIKE '%QS017%'")


def test_find_by_number(app):
    enter_staff(app)
    tap(app, "找党员")
    tap(app, "按编号找")
    keys(app, "4")
    assert app.manager.current == "staff_found" and "刘桂兰（QS004）" in app.current.body


def test_takings_and_day_sheet(app, said, demo_store, paper):
    enter_staff(app)
    tap(app, "找党员")
    for letter in "LGL":
        tap(app, letter)
    tap(app, "查找")
    tap(app, "刘桂兰")
    tap(app, "代交党费")
    tap(app, "确认收款")
    tap(app, "完成")
    tap(app, "返回")
    tap(app, "今日收款")
    assert app.manager.current == "staff_takings"
    assert app.current.figure == "9角" and "刘桂兰 9角 S01" in app.current.body
    assert said[-1].startswith("今天收款1笔，合计9角。")
    paper.unlink()
    tap(app, "打印日报")
    assert said[-1] == "日报正在打印。"
    data = paper.read_bytes()
    assert data.startswith(b"\x1b@\x1c&") and data.endswith(PAPER_FULL_CUT)
    assert "党费收款日报".encode("gb18030") in data and "合计0.90元".encode("gb18030") in data


def test_behind_list(app, said):
    enter_staff(app)
    tap(app, "欠费名单")
    assert app.manager.current == "staff_behind"
    # months behind counted as the member's own page counts them (还差8个月 for 张玉兰)
    assert "张玉兰（QS008）还差8个月，要提醒" in app.current.body
    assert said[-1] == "欠费名单上有5位。"
    tap(app, "再听一遍")
    assert "张玉兰还差8个月" in said[-1] and "支部决定" in said[-1]
    tap(app, "下一页")                                 # page 2 says page 2's names
    assert "刘志强（QS010）还差4个月" in app.current.body
    tap(app, "再听一遍")
    assert "刘志强还差4个月" in said[-1] and "张玉兰" not in said[-1]


def test_consent_through_staff(app, said, demo_store):
    assert consent.current(demo_store, "QS001")["phone_recognition"] is True
    enter_staff(app)
    tap(app, "找党员")
    for letter in "ZSF":
        tap(app, letter)
    tap(app, "查找")
    tap(app, "张三丰")
    tap(app, "同意登记")
    assert app.manager.current == "staff_consent"
    assert audit.count_choices(app.current) <= 6
    tap(app, "来电识别")                       # the button says the scope in full
    assert said[-2:] == ["打电话时，用我的电话号码认出我", "请问张三丰同志，您同意吗？"]
    tap(app, "不同意")
    assert said[-1] == "已经登记：张三丰不同意来电识别。"
    assert consent.current(demo_store, "QS001")["phone_recognition"] is False
    row = demo_store.one("SELECT method, witness FROM consent WHERE member_no = 'QS001' "
                         "ORDER BY at DESC, rowid DESC LIMIT 1")
    assert row == {"method": "staff", "witness": "S01"}
    assert "来电识别：未同意" in app.current.body


def test_staff_are_told_when_the_clock_is_wrong(app, said, demo_store):
    from kiosk.screens.staff import CLOCK_WRONG, CLOCK_WRONG_SAID

    enter_staff(app)
    assert CLOCK_WRONG not in app.current.body
    with demo_store.transaction():  # the last sync found this terminal an hour fast
        demo_store.set_meta("sync.clock_offset_ms", str(-3_600_000))
    tap(app, "终端状态")
    assert app.current.body.splitlines()[1] == CLOCK_WRONG and said[-1] == CLOCK_WRONG_SAID
    tap(app, "返回")
    assert CLOCK_WRONG in app.current.body and CLOCK_WRONG_SAID in said[-1]


def test_staff_see_why_the_last_sync_failed_until_one_succeeds(app, said, demo_store):
    import json

    with demo_store.transaction():
        demo_store.set_meta("sync.hub_url", "https://hub.example")
        demo_store.set_meta("sync.last_success", "2026-11-14T22:00:00.000+08:00")
        demo_store.set_meta("sync.last_error", json.dumps(
            {"at": "2026-11-15T02:00:00.000+08:00", "error": "not_authorized: ...",
             "zh": "这项内容由服务中心统一管理，终端发来的修改已被拒收，请联系服务中心。"}))
    enter_staff(app)
    tap(app, "终端状态")
    first = app.current.body.splitlines()[0]
    assert first.endswith("上次同步没有成功：这项内容由服务中心统一管理，终端发来的修改已被拒收，"
                          "请联系服务中心。")
    with demo_store.transaction():
        demo_store.set_meta("sync.last_success", "2026-11-15T03:00:00.000+08:00")
    tap(app, "返回")
    tap(app, "终端状态")
    assert "没有成功" not in app.current.body


def test_terminal_state_and_voice_test(app, said):
    enter_staff(app)
    tap(app, "终端状态")
    body = app.current.body
    assert "同步：还没有登记到服务站，等待同步" in body
    assert "语音识别：没有打开，只用触摸" in body and "语音：正常" in body
    assert "打印机：文件打印机" in body and "存储空间：还剩" in body
    tap(app, "再听一遍")
    for word in ("GB", "espeak", "vosk", "/"):       # nothing a staff member cannot act on
        assert word not in said[-1] and (word == "/" or word not in body)
    tap(app, "试听语音")
    assert said[-1].startswith("这是语音测试：清水村党支部")
