"""The console's 待处理 (queues) over real HTTP and in the browser: a roster proposal made at
a terminal is accepted by an operator and reaches another terminal at its next sync; the
second operator to act is told who decided it first; forms need the session's CSRF token
and the operator's write scope; a branch secretary only reads."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from console_fixtures import DEMO, login

from core import members
from core.clock import CST, FixedClock
from core.store import Store
from sync import client as sc
from sync.hub import admin, operators
from sync.hub.operators import Actor


@pytest.fixture
def proposal(console_hub, demo_store):
    """A member added at the demo terminal, pushed: pending at the hub."""
    members.add(demo_store, member_no="QS099", name="钱新来", category="farmer",
                farmer_fen=50, actor="staff:S01")
    sc.sync_once(demo_store)
    [p] = [p for p in admin.proposals(console_hub.storage, DEMO)
           if p["member_no"] == "QS099"]
    return p


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_an_accepted_proposal_reaches_another_terminal(console_hub, proposal, tmp_path):
    s, _ = login(console_hub, "demo-town")
    page = s.get(console_hub.url + "/queues").text
    assert "钱新来" in page and "接受" in page
    r = s.post(console_hub.url + f"/queues/proposal/{proposal['event_id']}",
               data={"csrf": _csrf(page), "decision": "accept", "note": "核对过档案"},
               allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/queues?done=accepted")
    assert "已接受这条修改申请" in s.get(console_hub.url + r.headers["location"]).text
    decided = console_hub.storage.get_proposal(proposal["event_id"])
    assert (decided["status"], decided["decided_by"]) == ("accepted", "demo-town")
    other = Store.create(tmp_path / "other" / "terminal.db",
                         clock=FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=CST)))
    try:
        code = admin.issue_enroll_code(console_hub.storage, DEMO)["code"]
        sc.enroll(other.path, console_hub.url, code)
        sc.sync_once(other)
        assert other.one("SELECT name FROM member WHERE member_no = 'QS099'")["name"] == "钱新来"
    finally:
        other.close()
    trail = operators.trail(console_hub.storage)["actions"]
    assert trail[0]["action"] == "proposal.accepted" and trail[0]["operator"] == "demo-town"


def test_the_second_operator_is_told_who_decided_first(console_hub, proposal):
    town, _ = login(console_hub, "demo-town")
    county, _ = login(console_hub, "demo-county")
    town_page = town.get(console_hub.url + "/queues").text
    county_page = county.get(console_hub.url + "/queues").text   # both see it pending
    url = console_hub.url + f"/queues/proposal/{proposal['event_id']}"
    r = town.post(url, data={"csrf": _csrf(town_page), "decision": "reject"},
                  allow_redirects=False)
    assert r.headers["location"] == "/queues?done=rejected"
    r = county.post(url, data={"csrf": _csrf(county_page), "decision": "accept"},
                    allow_redirects=False)
    assert r.status_code == 409
    assert "已经由demo-town" in r.text and "不接受" in r.text and "回到待处理" in r.text
    assert console_hub.storage.get_proposal(proposal["event_id"])["status"] == "rejected"


def test_forms_need_the_token_and_the_write_scope(console_hub, proposal):
    url = console_hub.url + f"/queues/proposal/{proposal['event_id']}"
    town, _ = login(console_hub, "demo-town")
    r = town.post(url, data={"csrf": "forged", "decision": "accept"}, allow_redirects=False)
    assert r.status_code == 403
    other, _ = login(console_hub, "bs-town", "baisha-pass-1")          # 白沙镇
    page = other.get(console_hub.url + "/queues").text
    assert "钱新来" not in page
    r = other.post(url, data={"csrf": _csrf(page), "decision": "accept"},
                   allow_redirects=False)
    assert r.status_code == 403 and "没有权限" in r.text
    operators.add(console_hub.storage, Actor("test"), username="qs-sec", name="王书记",
                  role="branch_secretary", branch=DEMO, password="qingshui-1")
    sec, _ = login(console_hub, "qs-sec", "qingshui-1")
    page = sec.get(console_hub.url + "/queues").text
    assert "钱新来" in page and "只能查看" in page and 'value="accept"' not in page
    r = sec.post(url, data={"csrf": _csrf(page), "decision": "accept"}, allow_redirects=False)
    assert r.status_code == 403 and "只能查看" in r.text
    assert console_hub.storage.get_proposal(proposal["event_id"])["status"] == "pending"


def test_a_double_payment_needs_a_note(console_hub):
    town, _ = login(console_hub, "demo-town")
    page = town.get(console_hub.url + "/queues").text
    r = town.post(console_hub.url + "/queues/double-payment",
                  data={"csrf": _csrf(page), "branch": DEMO, "member_no": "QS001",
                        "month": "2026-11", "note": " "}, allow_redirects=False)
    assert r.status_code == 400 and "请写明怎样处理" in r.text


def test_accepting_in_the_browser(console_hub, proposal, browser):
    page = browser.new_context(viewport={"width": 1366, "height": 768},
                               locale="zh-CN").new_page()
    try:
        page.goto(console_hub.url + "/login")
        page.get_by_label("用户名").fill("demo-town")
        page.get_by_label("密码").fill(admin.DEMO_OPERATOR_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_role("link", name="待处理").click()
        item = page.locator("section.item", has_text="钱新来")
        item.get_by_label("说明（可不填）").fill("核对过")
        item.get_by_role("button", name="接受", exact=True).click()
        assert "已接受" in page.get_by_role("status").inner_text()
        assert page.locator("section.item", has_text="钱新来").count() == 0
    finally:
        page.context.close()
