"""The 终端 page in a real browser (Debian's chromium, headless, Playwright) against a real
hub process: 青石镇's operator makes an enrollment code on the page, a new terminal store
enrolls with the code and hub address read from the page and syncs; then the operator
revokes it through the confirmation and the terminal's next sync is refused."""

from __future__ import annotations

import pytest
from console_fixtures import sign_in

from core.store import Store
from sync import client as sc


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    yield context.new_page()
    context.close()




def test_enroll_a_terminal_with_a_code_from_the_page_then_revoke_it(console_hub, page,
                                                                      tmp_path):
    sign_in(page, console_hub, "demo-town")
    page.get_by_role("link", name="终端").click()
    page.get_by_label("哪个支部的终端").select_option(label="清水村党支部（DEMO-QSC）")
    page.get_by_role("button", name="生成注册码").click()
    assert "清水村党支部的注册码" in page.get_by_role("heading", level=1).inner_text()
    groups = page.locator(".enroll-code .group").all_inner_texts()
    assert len(groups) == 3 and all(len(g) == 4 for g in groups)
    big = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.enroll-code'))"
                        ".fontSize)")
    assert big >= 40                                   # read out over the phone
    code = page.locator("#enroll-code-text").inner_text()
    hub_url = page.locator("#enroll-hub-url").inner_text()
    assert code == "-".join(groups) and hub_url == console_hub.url

    path = tmp_path / "new" / "terminal.db"
    sc.enroll(path, hub_url, code, label="新终端")
    store = Store.open(path)
    try:
        sc.sync_once(store)
        assert store.one("SELECT count(*) AS n FROM member")["n"] == 34

        page.get_by_role("link", name="回到终端").click()
        row = page.locator("#terminal-rows tr", has_text="新终端")
        row.get_by_role("link", name="停用…").click()
        heading = page.get_by_role("heading", level=2).first.inner_text()
        assert "清水村党支部的终端“新终端”" in heading
        assert "下次联系服务中心时会被拒绝" in page.locator("main").inner_text()
        page.get_by_role("button", name="确认停用这台终端").click()
        assert "已停用这台终端" in page.get_by_role("status").inner_text()
        assert "（已停用）" in page.locator("#terminal-rows tr", has_text="新终端").inner_text()

        with pytest.raises(sc.SyncError) as e:
            sc.sync_once(store)
        assert (e.value.code, e.value.status) == ("terminal_revoked", 403)
    finally:
        store.close()


def test_the_new_pages_fit_a_phone(console_hub, browser, demo_store):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    wide = """() => [...document.body.querySelectorAll('*')]
        .filter(e => !e.closest('table') && e.getBoundingClientRect().right
                     > document.documentElement.clientWidth + 1).map(e => e.tagName)"""
    try:
        sign_in(page, console_hub, "demo-county")
        for path in ("/terminals", f"/terminals/{demo_store.terminal_id}/revoke",
                     "/queues/events?check=1"):
            page.goto(console_hub.url + path)
            assert page.evaluate(wide) == [], path
        page.goto(console_hub.url + "/terminals")
        page.get_by_label("哪个支部的终端").select_option(label="白沙社区党支部（DEMO-BSC）")
        page.get_by_role("button", name="生成注册码").click()
        assert "白沙社区党支部的注册码" in page.get_by_role("heading", level=1).inner_text()
        assert page.evaluate(wide) == []
    finally:
        context.close()


def test_no_serious_axe_violation_on_the_new_pages(console_hub, browser, demo_store):
    from test_console_browser_axe import SIZES, _violations

    found = {}
    for size, viewport in SIZES.items():
        context = browser.new_context(viewport=viewport, locale="zh-CN", bypass_csp=True)
        page = context.new_page()
        try:
            sign_in(page, console_hub, "demo-county")
            for path in (f"/terminals/{demo_store.terminal_id}/revoke",
                         "/queues/events?check=1"):
                page.goto(console_hub.url + path)
                found[(size, path)] = _violations(page)
            page.goto(console_hub.url + "/terminals")
            page.get_by_label("哪个支部的终端").select_option("DEMO-QSC")
            page.get_by_role("button", name="生成注册码").click()
            found[(size, "enroll-code")] = _violations(page)
        finally:
            context.close()
    assert {k: v for k, v in found.items() if v} == {}
