"""The console's 语音留言 over real HTTP: a message recorded at the demo terminal and synced is
listed for the operators of its township (branch, when, caller, length), its recording is
served behind the session and scope (403 for another township, 401 signed out), marking it
heard or followed up needs the session's CSRF token and write scope, a follow-up needs a
note (said next to the field), the second follow-up is told who did the first, and each
action is on the operators' trail. The overview counts unheard messages as waiting."""

from __future__ import annotations

import math
import re
import struct

import pytest
from console_fixtures import DEMO, login

from core import calls
from sync import client as sc
from sync.hub import operators
from sync.hub.console import views, views_voice
from sync.hub.operators import Actor


def tone(seconds: float, rate: int = 8000) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(8000 * math.sin(2 * math.pi * 440 * i / rate))
                                   for i in range(n)))


@pytest.fixture
def message(console_hub, demo_store):
    """A message of 张三丰 (QS001) left on the phone line of the demo branch, synced."""
    saved = calls.save_message(demo_store, tone(2.5), 8000, caller="13800000001",
                               member_no="QS001")
    sc.sync_once(demo_store)
    return {**saved, "wav": calls.message_wav(demo_store, saved["message_id"])}


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _actions(hub) -> list[str]:
    return [a["action"] for a in operators.trail(hub.storage)["actions"]]


def test_the_page_lists_and_serves_the_message_in_scope_only(console_hub, message):
    town, _ = login(console_hub, "demo-town")
    assert "/voice" in town.get(console_hub.url + "/queues").text   # linked from 待处理
    page = town.get(console_hub.url + "/voice").text
    assert "清水村党支部：张三丰（QS001）的留言" in page and "长 2.5 秒" in page
    assert "2026-11-15 10:00" in page and "没听过" in page
    src = f'/voice/{message["message_id"]}.wav'
    assert f'<audio controls preload="none" src="{src}"' in page
    r = town.get(console_hub.url + src)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    assert r.content == message["wav"]
    part = town.get(console_hub.url + src, headers={"Range": "bytes=44-143"})
    assert part.status_code == 206 and part.content == message["wav"][44:144]
    assert part.headers["content-range"] == f"bytes 44-143/{len(message['wav'])}"
    assert _actions(console_hub).count("voice_message.played") == 1   # the range is the same play
    other, _ = login(console_hub, "bs-town", "baisha-pass-1")           # 白沙镇
    assert "张三丰" not in other.get(console_hub.url + "/voice").text
    r = other.get(console_hub.url + src)
    assert r.status_code == 403 and r.content != message["wav"]
    import requests
    assert requests.get(console_hub.url + src).status_code == 401
    assert town.get(console_hub.url + "/voice/nope.wav").status_code == 404
    data = town.get(console_hub.url + "/voice", headers={"Accept": "application/json"}).json()
    assert [m["member_no"] for m in data["messages"]] == ["QS001"]


def test_marking_needs_the_token_and_the_write_scope(console_hub, message):
    url = console_hub.url + f"/voice/{message['message_id']}/heard"
    town, _ = login(console_hub, "demo-town")
    r = town.post(url, data={"csrf": "forged"}, allow_redirects=False)
    assert r.status_code == 403
    other, _ = login(console_hub, "bs-town", "baisha-pass-1")
    r = other.post(url, data={"csrf": _csrf(other.get(console_hub.url + "/voice").text)},
                   allow_redirects=False)
    assert r.status_code == 403 and "没有权限" in r.text
    operators.add(console_hub.storage, Actor("test"), username="qs-sec", name="王书记",
                  role="branch_secretary", branch=DEMO, password="qingshui-1")
    sec, _ = login(console_hub, "qs-sec", "qingshui-1")
    page = sec.get(console_hub.url + "/voice").text
    assert "张三丰" in page and "只能查看" in page and "/heard" not in page
    r = sec.post(url, data={"csrf": _csrf(page)}, allow_redirects=False)
    assert r.status_code == 403 and "只能查看" in r.text
    assert console_hub.storage.get_voice_message(message["message_id"])["heard_at"] is None
    r = town.post(url, data={"csrf": _csrf(town.get(console_hub.url + "/voice").text)},
                  allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/voice?done=heard")
    row = console_hub.storage.get_voice_message(message["message_id"])
    assert row["heard_by"] == "demo-town"
    last = operators.trail(console_hub.storage)["actions"][0]
    assert (last["action"], last["operator"], last["source"]) == (
        "voice_message.heard", "demo-town", "127.0.0.1")


def test_a_follow_up_needs_a_note_and_is_done_once(console_hub, message):
    url = console_hub.url + f"/voice/{message['message_id']}/followed-up"
    town, _ = login(console_hub, "demo-town")
    county, _ = login(console_hub, "demo-county")
    county_page = county.get(console_hub.url + "/voice").text
    page = town.get(console_hub.url + "/voice").text
    r = town.post(url, data={"csrf": _csrf(page), "note": "  "}, allow_redirects=False)
    assert r.status_code == 400
    field = re.search(r'<input id="note-v1"[^>]*>\s*<button[^>]*>已跟进</button>\s*'
                      r'<span class="error"[^>]*>([^<]*)</span>', r.text)
    assert field and "请写明怎样跟进的" in field.group(1)
    r = town.post(url, data={"csrf": _csrf(page), "note": "已回电，下周上门收党费"},
                  allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/voice?done=followed")
    assert "张三丰" not in town.get(console_hub.url + "/voice").text      # off the open list
    assert "已回电，下周上门收党费" in town.get(console_hub.url + "/voice?all=1").text
    r = county.post(url, data={"csrf": _csrf(county_page), "note": "我也回电了"},
                    allow_redirects=False)
    assert r.status_code == 409 and "已经由demo-town" in r.text and "回到语音留言" in r.text
    row = console_hub.storage.get_voice_message(message["message_id"])
    assert (row["followed_up_by"], row["follow_note"], row["heard_by"]) == (
        "demo-town", "已回电，下周上门收党费", "demo-town")
    assert _actions(console_hub)[0] == "voice_message.followed_up"


def test_the_overview_counts_unheard_messages_as_waiting(console_hub, message):
    county = operators.list_all(console_hub.storage)
    admin_row = next(o for o in county if o["username"] == "demo-county")
    row = next(b for b in views.overview(console_hub.storage, admin_row)["branches"]
               if b["code"] == DEMO)
    assert row["waiting"]["voice_messages"] == 1 and row["waiting_total"] >= 1
    views_voice.mark_heard(console_hub.storage, admin_row, Actor("demo-county"),
                           message["message_id"])
    row = next(b for b in views.overview(console_hub.storage, admin_row)["branches"]
               if b["code"] == DEMO)
    assert row["waiting"]["voice_messages"] == 0
