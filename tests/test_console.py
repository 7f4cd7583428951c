"""The operators' console over real HTTP (a real hub process): sign-in and its refusals,
session cookie, CSRF, idle sign-out, scope (403 for another township), the pages' figures
and the action trail. The same pages in a real browser: tests/test_console_browser.py."""

from __future__ import annotations

import re
import time

import pytest
import requests
from console_fixtures import PASSWORD, login

from sync.hub import operators
from sync.hub.operators import Actor


@pytest.fixture
def hub(console_hub):
    return console_hub


def _login(hub, username: str, password: str = PASSWORD):
    return login(hub, username, password)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_pages_need_a_sign_in_and_the_cookie_is_locked_down(hub):
    for path in ("/", "/branch/DEMO-QSC", "/terminals", "/log"):
        r = requests.get(hub.url + path, allow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login"), path
    s, r = _login(hub, "demo-town")
    assert (r.status_code, r.headers["location"]) == (303, "/")
    cookie = r.headers["set-cookie"]
    assert "lianxin_console=" in cookie and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Secure" not in cookie   # plain HTTP here
    page = s.get(hub.url + "/")
    assert page.status_code == 200 and "清水村党支部" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_wrong_unknown_and_forged_sign_ins_are_refused_plainly(hub):
    _, r = _login(hub, "demo-town", "wrong-password")
    assert r.status_code == 401 and "用户名或密码不对" in r.text
    _, r = _login(hub, "nobody-here", "wrong-password")
    assert r.status_code == 401 and "用户名或密码不对" in r.text
    # A sign-in form posted from elsewhere (no login cookie): refused before any check.
    for token in ("x", "-", ""):
        r = requests.post(hub.url + "/login", data={"login_token": token, "username":
                                                    "demo-town", "password": PASSWORD},
                          allow_redirects=False)
        assert r.status_code == 403, token
        assert "lianxin_console" not in r.headers.get("set-cookie", "")


def test_a_township_operator_sees_their_township_only(hub):
    town, _ = _login(hub, "demo-town")
    county, _ = _login(hub, "demo-county")
    overview = town.get(hub.url + "/").text
    assert "清水村党支部" in overview and "白沙社区党支部" not in overview
    assert "白沙社区党支部" in county.get(hub.url + "/").text
    r = town.get(hub.url + "/branch/BS-1")
    assert r.status_code == 403 and "没有权限" in r.text
    assert county.get(hub.url + "/branch/BS-1").status_code == 200
    other, _ = _login(hub, "bs-town", "baisha-pass-1")
    assert other.get(hub.url + "/branch/DEMO-QSC").status_code == 403
    # The terminals page: only the branches in scope.
    assert "村活动室" in town.get(hub.url + "/terminals").text
    assert "村活动室" not in other.get(hub.url + "/terminals").text


def test_the_branch_page_shows_dues_members_behind_and_finds_by_initials(hub, demo_store):
    s, _ = _login(hub, "demo-town")
    page = s.get(hub.url + "/branch/DEMO-QSC").text
    assert "欠交党费的党员" in page and "近12个月党费" in page and "<svg" in page
    found = s.get(hub.url + "/branch/DEMO-QSC", params={"q": "zsf"}).text
    members = re.findall(r"<td>(QS\d{3})</td><th", found.split("党员名单")[1])
    assert members == ["QS001"]   # 张三丰
    everyone = s.get(hub.url + "/branch/DEMO-QSC").text.split("党员名单")[1]
    assert len(re.findall(r"<td>(QS\d{3})</td><th", everyone)) == 34


def test_sign_out_needs_the_form_token_and_ends_the_session(hub):
    s, _ = _login(hub, "demo-town")
    page = s.get(hub.url + "/").text
    r = s.post(hub.url + "/logout", data={"csrf": "forged"}, allow_redirects=False)
    assert r.status_code == 403 and "页面已过期" in r.text
    assert s.get(hub.url + "/", allow_redirects=False).status_code == 200
    old = dict(s.cookies)
    r = s.post(hub.url + "/logout", data={"csrf": _csrf(page)}, allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    replay = requests.get(hub.url + "/", cookies=old, allow_redirects=False)
    assert replay.status_code == 303


def test_an_idle_session_ends_and_a_disabled_operator_is_signed_out(hub):
    s, _ = _login(hub, "demo-town")               # idle limit here: 3 s
    assert s.get(hub.url + "/", allow_redirects=False).status_code == 200
    time.sleep(3.5)
    r = s.get(hub.url + "/", allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?idle=1")
    assert "太久没有操作" in s.get(hub.url + r.headers["location"]).text
    s, _ = _login(hub, "demo-county")
    operators.disable(hub.storage, Actor("cli:test"), "demo-county")
    assert s.get(hub.url + "/", allow_redirects=False).status_code == 303


def test_sign_ins_are_limited_per_address_and_recorded(hub):
    codes: list[int] = []
    while 429 not in codes and len(codes) < 60:   # 20 at once, then one every 3 s
        codes.append(_login(hub, f"nobody-{len(codes)}", "wrong-password")[1].status_code)
    assert codes[-1] == 429 and set(codes[:-1]) == {401} and len(codes) > 20
    trail = operators.trail(hub.storage, limit=500)
    failed = [a for a in trail["actions"] if a["action"] == "login.failed"]
    # (a try that got 429 was never checked; the bucket refills one try every 3 s)
    assert len(failed) == codes.count(401) and {a["source"] for a in failed} == {"127.0.0.1"}
    assert trail["chain_broken_at"] is None


def test_the_log_page_shows_the_trail_to_the_county_and_own_rows_to_others(hub):
    county, _ = _login(hub, "demo-county")
    town, _ = _login(hub, "demo-town")
    page = county.get(hub.url + "/log").text
    assert "记录完整" in page and "demo-town" in page and "demo-county" in page
    mine = town.get(hub.url + "/log").text
    assert "demo-town" in mine and "demo-county" not in mine


def test_every_page_answers_json_behind_the_same_session_and_scope(hub):
    """Anything the console shows, a program reads as JSON (Accept: application/json)."""
    js = {"Accept": "application/json"}
    r = requests.get(hub.url + "/", headers=js, allow_redirects=False)
    assert r.status_code == 401 and r.json()["error"] == "SignedOut"
    town, _ = _login(hub, "demo-town")
    overview = town.get(hub.url + "/", headers=js)
    assert overview.headers["content-type"].startswith("application/json")
    codes = [b["code"] for b in overview.json()["branches"]]
    assert "DEMO-QSC" in codes and "BS-1" not in codes
    branch = town.get(hub.url + "/branch/DEMO-QSC", headers=js).json()
    assert branch["branch"]["code"] == "DEMO-QSC" and branch["members"]
    refused = town.get(hub.url + "/branch/BS-1", headers=js)
    assert refused.status_code == 403 and "没有权限" in refused.json()["message"]
    for path in ("/terminals", "/queues", "/log"):
        assert town.get(hub.url + path, headers=js).status_code == 200, path
    # A browser's own Accept (text/html first) still gets the page.
    html = town.get(hub.url + "/", headers={"Accept": "text/html,application/json;q=0.9"})
    assert html.headers["content-type"].startswith("text/html")


def test_every_action_on_the_trail_has_operators_words():
    """操作记录 says each action in Chinese: every action name the hub or the CLI records
    has its words (a new action without them fails here)."""
    from pathlib import Path

    from sync.hub.console.views import ACTIONS_ZH

    root = Path(__file__).resolve().parent.parent
    said = set()
    for path in [*root.glob("sync/**/*.py"), *root.glob("cli/*.py")]:
        text = path.read_text(encoding="utf-8")
        said |= set(re.findall(r'(?:record|trail)\([^"\n]*"([a-z_]+(?:\.[a-z_]+)?)"', text))
    said = {a for a in said if "." in a or a in ("login", "logout")}   # not actors' names
    assert said and said <= set(ACTIONS_ZH), sorted(said - set(ACTIONS_ZH))
