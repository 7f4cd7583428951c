"""The operators' console in a real browser: Debian's chromium, headless, driven by
Playwright, against a real hub process (tests/console_fixtures.py). Sign in and out, every
page renders with the demo data at an office PC's 1366×768 and at a phone's width, the
township's scope, sortable tables, and the terminals page updating by itself."""

from __future__ import annotations

import pytest
from console_fixtures import PASSWORD
from playwright.sync_api import expect

from sync import client as sc

SIZES = {"office": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
PAGES = {"/": "总览", "/branch/DEMO-QSC": "清水村党支部", "/queues": "待处理",
         "/terminals": "终端", "/log": "操作记录"}
# Every page of the areas beside the core ones, for the fit check too.
MORE_PAGES = ["/exports", "/branch/DEMO-QSC/member/QS004", "/branch/DEMO-QSC/summary/2026"]


def _sign_in(page, hub, username: str, password: str = PASSWORD) -> None:
    page.goto(hub.url + "/")
    assert page.url.endswith("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(hub.url + "/")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=SIZES["office"], locale="zh-CN")
    yield context.new_page()
    context.close()


def test_sign_in_every_page_and_sign_out(console_hub, page):
    page.goto(console_hub.url + "/")
    page.get_by_label("用户名").fill("demo-town")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    assert "用户名或密码不对" in page.get_by_role("alert").inner_text()
    _sign_in(page, console_hub, "demo-town")
    for path, heading in PAGES.items():
        page.goto(console_hub.url + path)
        assert heading in page.get_by_role("heading", level=1).inner_text(), path
        if path != "/queues":   # 待处理 lists items, not a table
            assert page.get_by_role("table").count() >= 1
    page.goto(console_hub.url + "/")
    assert page.locator("svg.chart rect").count() == 24          # 12 months × 2 bars
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(console_hub.url + "/login")
    page.goto(console_hub.url + "/terminals")
    assert page.url.endswith("/login")


def test_another_townships_branch_is_refused_in_the_browser(console_hub, page):
    _sign_in(page, console_hub, "demo-town")
    assert page.get_by_role("link", name="白沙社区党支部").count() == 0
    response = page.goto(console_hub.url + "/branch/BS-1")
    assert response.status == 403
    assert "没有权限" in page.get_by_role("alert").inner_text()


def test_the_branch_table_sorts_and_the_member_search_finds(console_hub, page):
    _sign_in(page, console_hub, "demo-county")
    page.goto(console_hub.url + "/branch/DEMO-QSC")
    behind = page.locator("table.sortable").first
    months = behind.locator("thead th").nth(2)
    months.click()
    values = [int(t) for t in behind.locator("tbody tr td:nth-child(3)").all_inner_texts()]
    assert values == sorted(values) and len(values) > 1
    months.click()
    values = [int(t) for t in behind.locator("tbody tr td:nth-child(3)").all_inner_texts()]
    assert values == sorted(values, reverse=True)
    page.get_by_label("查找党员（姓名、编号或拼音首字母）").fill("zsf")
    page.get_by_role("button", name="查找").click()
    assert "张三丰" in page.locator("table").last.inner_text()


def test_the_terminals_page_updates_without_a_reload(console_hub, page, demo_store):
    _sign_in(page, console_hub, "demo-town")
    page.goto(console_hub.url + "/terminals?every=2")
    cell = page.locator("#terminal-rows tr").first.locator("td").nth(1)
    before = cell.inner_text()
    page.evaluate("window.__same_page = true")
    console_hub.storage.touch_terminal(demo_store.terminal_id, "2026-11-15T23:59:00+08:00",
                                       None)
    expect(page.locator("#terminal-rows tr td").nth(1)).to_contain_text("23:59",
                                                                       timeout=10_000)
    assert page.evaluate("window.__same_page") is True     # no reload happened
    assert cell.inner_text() != before
    sc.sync_once(demo_store)                              # the hub keeps serving terminals


@pytest.mark.parametrize("size", SIZES)
def test_pages_fit_an_office_screen_and_a_phone(console_hub, browser, size):
    context = browser.new_context(viewport=SIZES[size], locale="zh-CN")
    page = context.new_page()
    try:
        _sign_in(page, console_hub, "demo-county")
        for path in [*PAGES, *MORE_PAGES]:
            page.goto(console_hub.url + path)
            # Nothing wider than the screen but tables, which scroll inside their box.
            wide = page.evaluate("""() => [...document.body.querySelectorAll('*')]
                .filter(e => !e.closest('table') && e.getBoundingClientRect().right
                             > document.documentElement.clientWidth + 1)
                .map(e => e.tagName)""")
            assert wide == [], (path, wide)
            size_px = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
            assert size_px >= 16
    finally:
        context.close()
