"""The 终端 page over real HTTP (a real hub process): an enrollment code made on the page
enrolls a real terminal; revoking goes through a confirmation and the terminal's next sync is
refused; forms need the session's CSRF token and write scope (403 for another township's
terminal, a branch secretary sees no buttons and is refused); both actions on the trail.
The same journey in a real browser: tests/test_console_browser_terminals.py."""

from __future__ import annotations

import html
import re

import pytest
from console_fixtures import DEMO, login

from core.store import Store
from sync import client as sc
from sync.hub import admin, operators
from sync.hub.console import views_terminals
from sync.hub.operators import Actor


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _issued_code(page: str) -> str:
    return html.unescape(re.search(r'id="enroll-code-text">([^<]+)<', page).group(1))


@pytest.fixture
def secretary(console_hub):
    operators.add(console_hub.storage, Actor("test"), username="qs-sec", name="王书记",
                  role="branch_secretary", branch=DEMO, password="qingshui-1")
    s, _ = login(console_hub, "qs-sec", "qingshui-1")
    return s


def test_an_enrollment_code_from_the_page_enrolls_a_terminal(console_hub, tmp_path):
    s, _ = login(console_hub, "demo-town")
    page = s.get(console_hub.url + "/terminals").text
    assert "生成注册码" in page and 'value="BS-1"' not in page   # 白沙镇 is not theirs
    r = s.post(console_hub.url + "/terminals/enroll-code",
               data={"csrf": _csrf(page), "branch": DEMO})
    assert r.status_code == 200 and "清水村党支部的注册码" in r.text
    code = _issued_code(r.text)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert r.text.count('class="group"') == 3 and "小时内有效" in r.text
    assert re.search(r"有效期到</dt><dd>\d{4}年\d+月\d+日（星期.）(上午|下午|晚上)", r.text)
    assert f'id="enroll-hub-url" class="hub-url">{console_hub.url}<' in r.text
    path = tmp_path / "new" / "terminal.db"
    result = sc.enroll(path, console_hub.url, code, label="新活动室")
    assert result["branch"]["code"] == DEMO
    store = Store.open(path)
    try:
        sc.sync_once(store)
        assert store.one("SELECT count(*) AS n FROM member")["n"] == 34
    finally:
        store.close()
    [row] = [a for a in operators.trail(console_hub.storage)["actions"]
             if a["action"] == "terminal.enroll_code"]
    assert (row["operator"], row["subject"]) == ("demo-town", f"branch:{DEMO}")
    assert code not in row["detail"] and code.replace("-", "") not in row["detail"]


def test_no_branch_chosen_is_told_beside_the_field(console_hub):
    s, _ = login(console_hub, "demo-town")
    page = s.get(console_hub.url + "/terminals").text
    r = s.post(console_hub.url + "/terminals/enroll-code",
               data={"csrf": _csrf(page), "branch": ""})
    assert r.status_code == 400
    assert re.search(r'id="enroll-branch-error"[^>]*>请选择支部。<', r.text)
    assert not [a for a in operators.trail(console_hub.storage)["actions"]
                if a["action"] == "terminal.enroll_code"]


def test_revoking_goes_through_a_confirmation_and_the_next_sync_is_refused(
        console_hub, demo_store):
    s, _ = login(console_hub, "demo-town")
    tid = demo_store.terminal_id
    page = s.get(console_hub.url + "/terminals").text
    assert f'href="/terminals/{tid}/revoke"' in page
    assert f"<td>{sc.CLIENT_VERSION}</td>" in page     # the release the terminal said
    confirm = s.get(console_hub.url + f"/terminals/{tid}/revoke")
    assert confirm.status_code == 200
    assert "清水村党支部的终端“村活动室”" in confirm.text and "会被拒绝" in confirm.text
    assert console_hub.storage.get_terminal(tid)["revoked_at"] is None   # not yet
    r = s.post(console_hub.url + f"/terminals/{tid}/revoke",
               data={"csrf": _csrf(confirm.text)}, allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/terminals?done=revoked")
    after = s.get(console_hub.url + r.headers["location"]).text
    assert "已停用这台终端" in after and "（已停用）" in after
    assert f'href="/terminals/{tid}/revoke"' not in after
    again = s.get(console_hub.url + f"/terminals/{tid}/revoke").text
    assert "已经在" in again and "停用了" in again and "确认停用" not in again
    with pytest.raises(sc.SyncError) as e:
        sc.sync_once(demo_store)
    assert (e.value.code, e.value.status) == ("terminal_revoked", 403)
    [row] = [a for a in operators.trail(console_hub.storage)["actions"]
             if a["action"] == "terminal.revoked"]
    assert (row["operator"], row["subject"]) == ("demo-town", f"terminal:{tid}")
    assert '"branch":"DEMO-QSC"' in row["detail"]


def test_forms_need_the_token_and_the_write_scope(console_hub, demo_store, secretary):
    tid = demo_store.terminal_id
    town, _ = login(console_hub, "demo-town")
    for path, data in ((f"/terminals/{tid}/revoke", {}),
                       ("/terminals/enroll-code", {"branch": DEMO})):
        r = town.post(console_hub.url + path, data={"csrf": "forged", **data},
                      allow_redirects=False)
        assert r.status_code == 403 and "页面已过期" in r.text, path
        r = town.post(console_hub.url + path, data=data, allow_redirects=False)
        assert r.status_code == 403, path
    other, _ = login(console_hub, "bs-town", "baisha-pass-1")          # 白沙镇
    page = other.get(console_hub.url + "/terminals").text
    assert "村活动室" not in page
    assert other.get(console_hub.url + f"/terminals/{tid}/revoke").status_code == 403
    for path, data in ((f"/terminals/{tid}/revoke", {}),
                       ("/terminals/enroll-code", {"branch": DEMO})):
        r = other.post(console_hub.url + path, data={"csrf": _csrf(page), **data},
                       allow_redirects=False)
        assert r.status_code == 403 and "没有权限" in r.text, path
    page = secretary.get(console_hub.url + "/terminals").text
    assert "村活动室" in page and "只能查看" in page
    assert "生成注册码" not in page and "/revoke" not in page
    assert secretary.get(console_hub.url + f"/terminals/{tid}/revoke").status_code == 403
    for path, data in ((f"/terminals/{tid}/revoke", {}),
                       ("/terminals/enroll-code", {"branch": DEMO})):
        r = secretary.post(console_hub.url + path, data={"csrf": _csrf(page), **data},
                           allow_redirects=False)
        assert r.status_code == 403 and "只能查看" in r.text, path
    assert console_hub.storage.get_terminal(tid)["revoked_at"] is None
    assert not [a for a in operators.trail(console_hub.storage)["actions"]
                if a["action"].startswith("terminal.")]
    sc.sync_once(demo_store)   # still a live terminal


def test_an_unknown_terminal_is_not_found(console_hub):
    s, _ = login(console_hub, "demo-county")
    assert s.get(console_hub.url + "/terminals/nobody/revoke").status_code == 404


def test_the_expiry_is_said_in_plain_chinese():
    # 2026-12-10 15:05 in China: a Thursday afternoon.
    ms = 1796886300000
    assert views_terminals.when_zh(ms) == "2026年12月10日（星期四）下午3点05分"


def test_the_page_as_json_says_what_the_operator_may_do(console_hub):
    s, _ = login(console_hub, "demo-county")
    data = s.get(console_hub.url + "/terminals",
                 headers={"Accept": "application/json"}).json()
    assert data["can_act"] is True
    assert {b["code"] for b in data["branches"]} >= {DEMO, "BS-1"}
    assert any(t["label"] == "村活动室" for t in data["terminals"])
    assert admin.CODE_TTL_HOURS == data["code_hours"]


def test_the_views_without_http(hub_storage):
    """views_terminals and views_events on a hub with no server: scope and read-only
    refusals come from the same functions the pages call."""
    from core.errors import InvalidInput
    from sync.hub.console import views_events

    admin.load_demo(hub_storage, people=True, second_township=False)
    admin.create_branch(hub_storage, code="BS-1", name="白沙社区党支部", township="白沙镇")
    actor = Actor("test")
    town = operators.add(hub_storage, actor, username="t1", name="甲", password="qingshi-1",
                         role="township_operator", township="青石镇")
    sec = operators.add(hub_storage, actor, username="s1", name="乙", password="qingshui-1",
                        role="branch_secretary", branch=DEMO)
    assert [b["code"] for b in views_terminals.page(hub_storage, town)["branches"]] == [DEMO]
    assert views_terminals.page(hub_storage, sec)["branches"] == []
    issued = views_terminals.issue_code(hub_storage, town, actor, DEMO, hub_url="https://hub",
                                        now_ms=lambda: 1796886300000 - 72 * 3_600_000)
    assert issued["expires_zh"] == "2026年12月10日（星期四）下午3点05分"
    assert issued["groups"] == issued["code"].split("-") and issued["hub_url"] == "https://hub"
    assert issued["hub_url_local"] is False
    assert views_terminals.issue_code(hub_storage, town, actor, DEMO,
                                      hub_url="http://127.0.0.1:8440")["hub_url_local"]
    with pytest.raises(InvalidInput):
        views_terminals.issue_code(hub_storage, town, actor, " ", hub_url="x")
    for who, branch in ((town, "BS-1"), (sec, DEMO)):
        with pytest.raises(operators.Forbidden):
            views_terminals.issue_code(hub_storage, who, actor, branch, hub_url="x")
    queue = views_events.queue(hub_storage, sec)
    assert queue["can_act"] is False and queue["checked"] is None
    assert views_events.queue(hub_storage, town, check=True)["checked"] == []
    assert views_events.event_zh("dues.dues") == "交党费"
    assert views_events.why_zh("audit_chain_broken") == "留痕记录被改动过，已拒绝。"
