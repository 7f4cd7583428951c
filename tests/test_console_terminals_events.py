"""被拒或隔离的记录 (/queues/events, linked from 待处理) over real HTTP: a terminal whose push
was refused, an event a real terminal could not apply (skip report) quarantined and released
with a reason, the stored-event check; CSRF, the other township's 403, a branch secretary's
read-only view; each action on the trail."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from console_fixtures import DEMO, login

from core import consent
from core.store import Store
from sync import client as sc
from sync.hub import admin, operators
from sync.hub.operators import Actor


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


@pytest.fixture
def poisoned(console_hub, demo_store, tmp_path):
    """A payment without its amounts in DEMO-QSC's log, as a hub before today's push rules
    stored it; a new terminal pulls it, cannot apply it and reports the skip."""
    hub = console_hub
    event_id = str(uuid.uuid4())
    seq = hub.storage.get_terminal(demo_store.terminal_id)["stored_seq"] + 1000
    with hub.storage.transaction():
        hub.storage._run(
            "INSERT INTO branch_log(branch, origin, seq, event_id, type, payload, at, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [DEMO, demo_store.terminal_id, seq, event_id, "dues.dues",
             json.dumps({"member_no": "QS001"}), "2026-11-30T09:00:00.000+08:00",
             "2026-11-30T09:05:00.000+08:00"])
    path = tmp_path / "second" / "terminal.db"
    sc.enroll(path, hub.url, admin.issue_enroll_code(hub.storage, DEMO)["code"], label="二号机")
    store = Store.open(path)
    try:
        sc.sync_once(store)   # pull: skipped
        sc.sync_once(store)   # the skip is reported
    finally:
        store.close()
    [row] = admin.list_events(hub.storage, DEMO, skipped=True)
    assert row["event_id"] == event_id
    return event_id


def test_a_skipped_event_is_quarantined_and_released_with_a_reason(console_hub, poisoned):
    s, _ = login(console_hub, "demo-town")
    assert 'href="/queues/events"' in s.get(console_hub.url + "/queues").text
    page = s.get(console_hub.url + "/queues/events").text
    assert "终端用不了的记录（1）" in page and "清水村党支部：交党费 QS001" in page
    assert "终端“二号机”用不了这条记录" in page
    url = console_hub.url + f"/queues/events/{poisoned}/quarantine"
    r = s.post(url, data={"csrf": _csrf(page), "reason": " "}, allow_redirects=False)
    assert r.status_code == 400 and "请写明隔离的原因" in r.text
    assert not console_hub.storage.log_event(poisoned)["quarantined"]
    r = s.post(url, data={"csrf": _csrf(page), "reason": "缺少金额"}, allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/queues/events?done=quarantined")
    page = s.get(console_hub.url + r.headers["location"]).text
    assert "已隔离这条记录" in page and "已隔离的记录（1）" in page
    assert "由 demo-town 隔离，原因：缺少金额" in page and "终端用不了的记录（0）" in page
    assert console_hub.storage.log_event(poisoned)["quarantined"]
    url = console_hub.url + f"/queues/events/{poisoned}/release"
    r = s.post(url, data={"csrf": _csrf(page), "reason": ""}, allow_redirects=False)
    assert r.status_code == 400 and "请写明为什么解除隔离" in r.text
    r = s.post(url, data={"csrf": _csrf(page), "reason": "已核对"}, allow_redirects=False)
    assert r.headers["location"] == "/queues/events?done=released"
    assert not console_hub.storage.log_event(poisoned)["quarantined"]
    actions = [(a["action"], a["operator"], json.loads(a["detail"])["reason"])
               for a in operators.trail(console_hub.storage)["actions"]
               if a["action"].startswith("event.")]
    assert actions == [("event.released", "demo-town", "已核对"),
                       ("event.quarantined", "demo-town", "缺少金额")]


def test_the_check_finds_the_stored_event_that_breaks_the_rules(console_hub, poisoned):
    s, _ = login(console_hub, "demo-county")
    page = s.get(console_hub.url + "/queues/events").text
    assert "开始检查" in page and "检查完毕" not in page
    page = s.get(console_hub.url + "/queues/events?check=1").text
    assert "有 1 条记录不符合现在的规则" in page and "收款金额不对" in page


def test_a_refused_terminal_is_listed_with_why(console_hub, demo_store):
    consent.grant(demo_store, "QS001", "terminal_records", method="staff", witness="S01")
    client = sc.open_client(demo_store)
    events, entries = sc._batch(demo_store, 0, 500)
    entries[-1]["actor"] = "staff:S99"   # an audit entry altered after it was written
    with pytest.raises(sc.SyncError) as e:
        client.request("POST", "/v1/push", body={"events": events, "audit": entries})
    assert e.value.code == "audit_chain_broken"
    s, _ = login(console_hub, "demo-town")
    page = s.get(console_hub.url + "/queues/events").text
    assert "上传被拒的终端（1）" in page and "清水村党支部：终端“村活动室”" in page
    assert "原因：留痕记录被改动过" in page
    assert f'href="/terminals/{demo_store.terminal_id}/revoke"' in page


def test_forms_need_the_token_and_the_write_scope(console_hub, poisoned):
    town, _ = login(console_hub, "demo-town")
    url = console_hub.url + f"/queues/events/{poisoned}/quarantine"
    r = town.post(url, data={"csrf": "forged", "reason": "x"}, allow_redirects=False)
    assert r.status_code == 403
    other, _ = login(console_hub, "bs-town", "baisha-pass-1")          # 白沙镇
    page = other.get(console_hub.url + "/queues/events").text
    assert "QS001" not in page
    r = other.post(url, data={"csrf": _csrf(page), "reason": "x"}, allow_redirects=False)
    assert r.status_code == 403 and "没有权限" in r.text
    operators.add(console_hub.storage, Actor("test"), username="qs-sec", name="王书记",
                  role="branch_secretary", branch=DEMO, password="qingshui-1")
    sec, _ = login(console_hub, "qs-sec", "qingshui-1")
    page = sec.get(console_hub.url + "/queues/events").text
    assert "QS001" in page and "只能查看" in page and "/quarantine" not in page
    r = sec.post(url, data={"csrf": _csrf(page), "reason": "x"}, allow_redirects=False)
    assert r.status_code == 403 and "只能查看" in r.text
    r = town.post(console_hub.url + f"/queues/events/{poisoned}/delete",
                  data={"csrf": _csrf(page)}, allow_redirects=False)
    assert r.status_code == 404
    assert not console_hub.storage.log_event(poisoned)["quarantined"]
