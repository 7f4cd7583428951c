"""The double-payment journey in a real browser: two terminals of the demo branch each take
the same member-month in cash and sync; the hub flags it; an operator writes what was done
on 待处理 and the flag is closed (with who and the note at the hub and on the trail)."""

from __future__ import annotations

from datetime import datetime

from console_fixtures import DEMO, sign_in

from core import branch, dues
from core.clock import CST, FixedClock
from core.store import Store
from sync import client as sc
from sync.hub import admin, conflicts, operators


def test_a_double_payment_resolved_in_the_browser(console_hub, demo_store, browser, tmp_path):
    other = Store.create(tmp_path / "other" / "terminal.db",
                         clock=FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=CST)))
    try:
        sc.enroll(other.path, console_hub.url,
                  admin.issue_enroll_code(console_hub.storage, DEMO)["code"], label="党员家中")
        sc.sync_once(other)
        month = dues.status(demo_store, "QS004").months_owed[0]
        for t in (demo_store, other):
            dues.pay(t, "QS004", months=1, confirmation=branch.confirm(t, "S02", "2468"))
            sc.sync_once(t)
    finally:
        other.close()
    [flag] = conflicts.flags(console_hub.storage, DEMO)
    assert (flag["member_no"], flag["month"]) == ("QS004", month)

    page = browser.new_context(viewport={"width": 1366, "height": 768},
                               locale="zh-CN").new_page()
    try:
        sign_in(page, console_hub, "demo-town")
        page.get_by_role("link", name="待处理").click()
        item = page.locator("section.item", has_text=f"QS004 {month} 交了两次")
        item.get_by_role("button", name="记下处理结果").click()      # no note yet:
        note = item.get_by_role("textbox")                             # the browser asks
        assert note.evaluate("e => e.validity.valueMissing")
        assert conflicts.flags(console_hub.storage, DEMO)               # nothing sent
        note.fill("多交的一个月转为预交")
        item.get_by_role("button", name="记下处理结果").click()
        assert "已记下处理结果" in page.get_by_role("status").inner_text()
        assert page.locator("section.item", has_text="交了两次").count() == 0
    finally:
        page.context.close()
    [done] = conflicts.flags(console_hub.storage, DEMO, status=None)
    assert (done["status"], done["resolved_by"], done["note"]) == \
        ("resolved", "demo-town", "多交的一个月转为预交")
    trail = operators.trail(console_hub.storage)["actions"]
    assert trail[0]["action"] == "double_payment.resolved"
