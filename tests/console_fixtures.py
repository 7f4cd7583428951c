"""The console test family (a pytest plugin, registered in tests/conftest.py).

* ``console_hub`` — a real hub process holding what ``lianxin hub demo`` loads (the demo
  branch of 青石镇, and 白沙镇's ``DEMO-BSC`` with its history), one more branch of 白沙镇
  (``BS-1``, also named 白沙社区党支部) with its operator ``bs-town``, and the demo
  terminal enrolled and synced once; sessions go idle after 3 s.
* :func:`login` — a signed-in ``requests`` session over plain HTTP; :func:`sign_in` — the
  same in a browser page, through the sign-in form.
* ``browser`` — Debian's chromium, headless, driven by Playwright (module-wide).
"""

from __future__ import annotations

import re
import shutil

import pytest
import requests

from sync import client as sc
from sync.hub import admin, operators
from sync.hub.operators import Actor

DEMO = "DEMO-QSC"
PASSWORD = admin.DEMO_OPERATOR_PASSWORD
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root in a container, without the networking Chromium does by itself at start.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture
def console_hub(hub_storage, hub_server, demo_store):
    admin.load_demo(hub_storage, people=True)
    admin.create_branch(hub_storage, code="BS-1", name="白沙社区党支部", township="白沙镇")
    operators.add(hub_storage, Actor("test"), username="bs-town", name="白沙组织委员",
                  role="township_operator", township="白沙镇", password="baisha-pass-1")
    h = hub_server(hub_storage, env={"LIANXIN_HUB_CONSOLE_IDLE_MINUTES": "0.05"})
    code = admin.issue_enroll_code(hub_storage, DEMO)["code"]
    sc.enroll(demo_store.path, h.url, code, label="村活动室")
    sc.sync_once(demo_store)
    return h


def login(hub, username: str, password: str = PASSWORD) -> tuple[requests.Session,
                                                                  requests.Response]:
    s = requests.Session()
    form = s.get(hub.url + "/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text).group(1)
    r = s.post(hub.url + "/login", data={"login_token": token, "username": username,
                                        "password": password}, allow_redirects=False)
    return s, r


def sign_in(page, hub, username: str = "demo-town", password: str = PASSWORD) -> None:
    """Sign ``page`` in through the sign-in form, as an operator does; lands on 总览."""
    page.goto(hub.url + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(hub.url + "/")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
