"""A session's protections as an operator meets them in a real browser (chromium, a real
hub process whose sessions go idle after 3 s: tests/console_fixtures.py): a form whose CSRF
token was tampered with is refused and changes nothing; an idle session sends the operator
back to the sign-in page, which says why."""

from __future__ import annotations

import time

from console_fixtures import sign_in


def test_a_tampered_form_is_refused_and_an_idle_session_ends(console_hub, browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, console_hub)
        # The sign-out form, its token changed as a forged page would send it.
        page.evaluate("document.querySelector('form.who input[name=csrf]').value = 'forged'")
        page.get_by_role("button", name="退出").click()
        assert "页面已过期" in page.locator("main").inner_text()
        page.goto(console_hub.url + "/")                  # still signed in: nothing changed
        assert page.url == console_hub.url + "/"
        assert "清水村党支部" in page.locator("main").inner_text()

        time.sleep(3.5)                                    # past the hub's idle limit
        page.get_by_role("link", name="待处理").click()
        page.wait_for_url("**/login*")
        assert "太久没有操作" in page.get_by_role("alert").inner_text()
    finally:
        context.close()
