"""Pins the member's dues journey on the real Kivy app (offscreen, real touch events, demo
branch), with the receipt printer set to a ``file:`` printer for the test:

* 刘桂兰 (QS004) finds her name, enters PIN 1234, hears "这次交3个月，一共9角" (the
  whole story on 再听一遍), sees the figures in the one form she hears ("9角"), pays the 3 owed months with staff confirmation (李春梅 S02 /
  2468), and gets a receipt — shown, spoken and printed (ESC/POS bytes: FS &, GB18030 name,
  receipt number, check code, cut) — the receipt spoken as its amount and months, never
  its number or check code; the ledger holds one entry for 2026-09..11, 90 fen,
  collected by S02;
* − and + change the months and say the new plan before anything is paid;
* a wrong staff PIN is shown and spoken and records nothing;
* 张玉兰 (QS008) owes 8 months, beyond the 6-month back-pay limit: recording asks for an
  override reason, and the chosen reason is in the ledger and in the audit chain;
* 孙福来 (QS018), exempt, is told so and cannot start a payment.
"""

from __future__ import annotations

import pytest
from kiosk_fixtures import keys, kivy_ready, login, tap

kivy_ready()

from escpos.constants import PAPER_FULL_CUT  # noqa: E402

from core import dues  # noqa: E402
from kiosk import drive  # noqa: E402


@pytest.fixture
def app(kiosk, paper):
    return kiosk()


def staff_confirms(app, staff_name="李春梅", pin="2468"):
    tap(app, "请工作人员确认")
    assert app.manager.current == "confirm"
    tap(app, staff_name)
    assert app.manager.current == "confirm_pin"
    keys(app, pin)


def test_liu_guilan_pays_three_months(app, said, demo_store, paper):
    login(app, name="刘桂兰")
    assert app.manager.current == "dues"
    assert said[-1] == app.current.prompt_text() == "这次交3个月，一共9角。"
    tap(app, "再听一遍")
    assert "您的党费交到2026年8月，还差3个月，一共9角。" in said[-1]
    ids = app.current.ids
    assert (ids.paid.text, ids.owed.text, ids.amount.text, ids.count.text) == \
        ("2026年8月", "3个月", "9角", "3个月")
    assert "2026年9月至2026年11月" in ids.plan.text and "一共9角" in ids.plan.text

    staff_confirms(app)
    assert app.manager.current == "receipt"
    entries = dues.history(demo_store, "QS004")
    new = [e for e in entries if e["recorded_at"].startswith("2026-11-15")]
    assert len(new) == 1
    e = new[0]
    assert e["months"] == ["2026-09", "2026-10", "2026-11"]
    assert (e["amount_fen"], e["collected_by"], e["kind"]) == (90, "S02", "dues")
    assert dues.status(demo_store, "QS004").months_owed == []

    r = dues.receipt(demo_store, e["entry_id"])
    screen = app.current
    assert r.receipt_no in screen.body and r.check_code in screen.body
    assert "金额：9角（共3个月）" in screen.body and "李春梅" in screen.body
    assert "0.90" not in screen.body and "玖角" not in screen.body     # one form on screen
    assert screen.figure == "9角"
    assert said[-1] == screen.prompt_text() == "收到党费9角，3个月。收据已经打印。"
    tap(app, "再听一遍")
    assert "2026年9月至2026年11月" in said[-1] and "李春梅" in said[-1]
    for code in (r.receipt_no, r.check_code, r.member_no):
        assert all(code not in s for s in said)                 # no code is spoken

    data = paper.read_bytes()
    assert data.startswith(b"\x1b@\x1c&") and data.endswith(PAPER_FULL_CUT)
    for text in ("清水村党支部", "刘桂兰", "收据"):
        assert text.encode("gb18030") in data
    assert r.receipt_no.encode() in data and r.check_code.encode() in data and b"0.90" in data

    paper.unlink()
    tap(app, "再打印一张")
    assert paper.read_bytes() == data                # a reprint is the same receipt
    tap(app, "完成")
    assert app.manager.current == "home" and app.member == {}


def test_months_minus_plus_say_the_plan(app, said, demo_store):
    before = len(dues.history(demo_store, "QS004"))
    login(app, name="刘桂兰")
    tap(app, "−")
    assert said[-2] == "少交一个月"
    assert said[-1] == "这次交2个月，2026年9月至2026年10月，一共6角。"
    assert app.current.ids.count.text == "2个月"
    tap(app, "+")
    tap(app, "+")
    assert said[-1] == "这次交4个月，2026年9月至2026年12月，一共1元2角。"
    for _ in range(3):
        tap(app, "−")
    tap(app, "−")
    assert said[-1] == "至少交1个月。" and app.current.message == "至少交1个月。"
    assert app.current.ids.count.text == "1个月"
    assert len(dues.history(demo_store, "QS004")) == before     # choosing records nothing


def test_wrong_staff_pin_shown_and_spoken(app, said, demo_store):
    before = len(dues.history(demo_store, "QS004"))
    login(app, name="刘桂兰")
    staff_confirms(app, pin="1111")
    assert app.manager.current == "confirm_pin"
    assert app.current.message == "密码不对，还可以再试4次。"
    assert said[-1] == "密码不对，还可以再试4次。"
    assert len(dues.history(demo_store, "QS004")) == before
    assert "1" not in [s for s in said if s.isdigit()]          # digits never spoken
    keys(app, "2468")                                            # the right PIN still works
    assert app.manager.current == "receipt"


def test_back_pay_beyond_limit_needs_a_reason(app, said, demo_store):
    login(app, number="8")
    assert app.manager.current == "dues"
    assert said[-1] == "这次交8个月，一共1元6角。" and app.current.ids.owed.text == "8个月"
    staff_confirms(app)
    assert app.manager.current == "override"
    assert said[-1] == app.current.prompt_text() == "超过了支部规定，请工作人员选原因。"
    assert not [e for e in dues.history(demo_store, "QS008")
                if e["recorded_at"].startswith("2026-11-15")]
    tap(app, "经支部同意补交")
    assert app.manager.current == "receipt"
    new = [e for e in dues.history(demo_store, "QS008") if e["recorded_at"].startswith("2026-11-15")]
    assert len(new) == 1 and len(new[0]["months"]) == 8
    assert new[0]["override_reason"] == "经支部同意补交" and new[0]["amount_fen"] == 160
    row = demo_store.one("SELECT detail FROM audit WHERE action = 'dues.override' "
                         "ORDER BY rowid DESC LIMIT 1")
    assert "经支部同意补交" in row["detail"]


def test_exempt_member_is_told(app, said):
    login(app, number="18")
    assert app.manager.current == "dues"
    assert said[-1] == "您的党费已经免交。"
    assert app.current.ids.owed.text == "免交"
    button = drive.find(app.root, "请工作人员确认")
    assert button.disabled
    drive.tap(button)
    assert app.manager.current == "dues"


def test_clock_behind_the_ledger_asks_staff_to_confirm_the_date(app, said, demo_store):
    """A terminal clock that ran back (earlier than events it already wrote) must not
    date a payment silently: staff confirm today's date first, or nothing is recorded."""
    from datetime import datetime

    from core.clock import CST, FixedClock

    demo_store.clock = FixedClock(datetime(2026, 11, 1, 9, 0, tzinfo=CST))
    assert dues.clock_suspect(demo_store)
    before = len(dues.history(demo_store, "QS004"))
    login(app, name="刘桂兰")
    staff_confirms(app)
    assert app.manager.current == "clockdate"
    assert app.current.figure == "2026年11月1日" and said[-1] == "请工作人员核对今天的日期。"
    tap(app, "再听一遍")
    assert "今天是2026年11月1日吗" in said[-1]
    tap(app, "日期不对")
    assert said[-1] == app.current.message == "请先把终端的时间调对，再收党费。这次没有记账。"
    assert len(dues.history(demo_store, "QS004")) == before
    tap(app, "返回")
    assert app.manager.current == "dues"
    staff_confirms(app)
    tap(app, "日期对，确认")
    assert app.manager.current == "receipt"
    assert len(dues.history(demo_store, "QS004")) == before + 1
