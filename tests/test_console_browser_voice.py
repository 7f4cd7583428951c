"""语音留言 in a real browser (Debian's chromium, headless, Playwright) against a real hub
process: a message left on the demo terminal's phone line and synced is reached from 待处理,
its <audio> element loads the recording from the hub (metadata read: a duration) and plays,
and 已听 marks it heard for the operator who clicked it."""

from __future__ import annotations

import math
import struct

import pytest
from console_fixtures import PASSWORD

from core import calls
from sync import client as sc
from sync.hub import operators


def tone(seconds: float, rate: int = 8000) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(8000 * math.sin(2 * math.pi * 440 * i / rate))
                                   for i in range(n)))


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    yield context.new_page()
    context.close()


def test_the_message_plays_in_the_browser_and_is_marked_heard(console_hub, demo_store, page):
    saved = calls.save_message(demo_store, tone(2.0), 8000, caller="13800000001",
                               member_no="QS001")
    sc.sync_once(demo_store)
    page.goto(console_hub.url + "/login")
    page.get_by_label("用户名").fill("demo-town")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="待处理").click()
    page.get_by_role("link", name="语音留言：来电人留下的话").click()
    item = page.locator("section.item", has_text="张三丰（QS001）")
    assert "长 2.0 秒" in item.inner_text() and "没听过" in item.inner_text()
    audio = item.locator("audio")
    started = audio.evaluate("a => a.play().then(() => 'playing', e => e.name)")
    assert started == "playing", started
    page.wait_for_function(
        "a => a.readyState >= 1 && a.duration > 0 && !a.error", arg=audio.element_handle())
    assert abs(audio.evaluate("a => a.duration") - 2.0) < 0.05
    assert audio.evaluate("a => a.error") is None
    item.get_by_role("button", name="已听").click()
    assert "听过了" in page.get_by_role("status").inner_text()
    item = page.locator("section.item", has_text="张三丰（QS001）")
    assert "已听：demo-town" in item.inner_text() and "没听过" not in item.inner_text()
    row = console_hub.storage.get_voice_message(saved["message_id"])
    assert row["heard_by"] == "demo-town"
    actions = [a["action"] for a in operators.trail(console_hub.storage)["actions"]]
    assert "voice_message.played" in actions and actions[0] == "voice_message.heard"


def test_the_voice_page_fits_a_phone(console_hub, demo_store, browser):
    calls.save_message(demo_store, tone(1.0), 8000, caller="13800000001", member_no="QS001")
    sc.sync_once(demo_store)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(console_hub.url + "/login")
        page.get_by_label("用户名").fill("demo-county")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.goto(console_hub.url + "/voice")
        assert page.locator("section.item audio").count() == 1
        wide = page.evaluate("""() => [...document.body.querySelectorAll('*')]
            .filter(e => e.getBoundingClientRect().right
                         > document.documentElement.clientWidth + 1)
            .map(e => e.tagName)""")
        assert wide == []
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 16
    finally:
        context.close()
