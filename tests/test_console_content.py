"""The console's 内容 page over real HTTP against a real hub process: a lesson with audio,
a notice, the dues policy and staff accounts reach the demo terminal at its next sync; bad
fields come back with a message next to them and change nothing; uploads that are not audio
(by their bytes) or too large are refused; CSRF and write scope on every form; PINs are
never shown back or put on the trail. Also the ``hub staff list|pin`` commands."""

from __future__ import annotations

import io
import json
import re
import wave

import pytest
from click.testing import CliRunner
from console_fixtures import DEMO, login

from cli.main import cli
from core import branch, pins
from core.errors import AuthError, InvalidInput
from sync import client as sc
from sync.hub import admin, content, open_hub, operators
from sync.hub.console import views_content
from sync.hub.operators import Actor


def wav_bytes(seconds: float = 0.5) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x01" * int(16000 * seconds))
    return buf.getvalue()


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _upload(s, hub, data, csrf, code=DEMO, **headers):
    return s.post(f"{hub.url}/content/{code}/audio", data=data,
                  headers={"Content-Type": "application/octet-stream", "X-CSRF-Token": csrf,
                           **headers})


LESSON = {"title": "冬季防火", "category": "健康生活", "minutes": "5",
          "body": "出门关火，睡前关电。", "assigned": "yes",
          "q1": "睡前要做什么？", "q1c1": "关电", "q1c2": "开窗", "q1a": "1",
          "q1e": "睡前关电最安全。"}


def _lessons(storage, code=DEMO) -> int:
    return len(storage.hub_events(code, "lesson.published", limit=1000))


def test_a_lesson_with_audio_reaches_the_terminal(console_hub, demo_store):
    s, _ = login(console_hub, "demo-town")
    page = s.get(console_hub.url + "/content/DEMO-QSC").text
    assert "发布学习课程" in page and "4到6位数字" in page and "S01" in page
    shown = s.get(console_hub.url + "/content/DEMO-QSC",
                  headers={"Accept": "application/json"}).json()   # the same, for programs
    assert [m["staff_no"] for m in shown["staff"]] == ["S01", "S02"]
    assert "pin_hash" not in json.dumps(shown) and shown["can_write"] is True
    audio = wav_bytes()
    r = _upload(s, console_hub, audio, _csrf(page), **{"X-File-Name": "talk.wav"})
    assert r.status_code == 200, r.text
    up = r.json()
    assert (up["kind"], up["size"]) == ("WAV", len(audio))
    r = s.post(console_hub.url + "/content/DEMO-QSC/lesson", allow_redirects=False,
               data={**LESSON, "csrf": _csrf(page), "audio_upload": up["upload"],
                     "audio_wanted": "1", "lesson_id": "09-winter-fire"})
    assert (r.status_code, r.headers["location"]) == (303, "/content/DEMO-QSC?done=lesson#lesson")
    assert "课程已发布" in s.get(console_hub.url + r.headers["location"]).text
    assert not any(views_content.staging_dir(console_hub.storage).iterdir())  # moved in

    sc.sync_once(demo_store)
    row = demo_store.one("SELECT title, minutes, assigned, audio_sha256 FROM lesson "
                         "WHERE lesson_id = '09-winter-fire'")
    assert (row["title"], row["minutes"], row["assigned"]) == ("冬季防火", 5, 1)
    quiz = demo_store.one("SELECT choices, answer FROM quiz_question "
                          "WHERE lesson_id = '09-winter-fire'")
    assert (json.loads(quiz["choices"]), quiz["answer"]) == (["关电", "开窗"], 0)
    from core.replica import media_path
    assert media_path(demo_store, row["audio_sha256"]).read_bytes() == audio
    [act] = [a for a in operators.trail(console_hub.storage)["actions"]
             if a["action"] == "lesson.published"]
    assert act["operator"] == "demo-town" and act["subject"] == "lesson:DEMO-QSC/09-winter-fire"


def test_bad_lesson_fields_are_shown_next_to_them(console_hub):
    s, _ = login(console_hub, "demo-town")
    page = s.get(console_hub.url + "/content/DEMO-QSC").text
    before = _lessons(console_hub.storage)
    r = s.post(console_hub.url + "/content/DEMO-QSC/lesson",
               data={**LESSON, "csrf": _csrf(page), "title": " ", "minutes": "abc",
                     "q1a": "", "q2c1": "只有选项"})
    assert r.status_code == 400
    assert 'id="lesson-title-error">请填写标题。' in r.text
    assert "学习时长请填1到120之间的整数" in r.text
    assert "第1题：请选出正确答案" in r.text and "第2题：请填写题目" in r.text
    assert "出门关火，睡前关电。" in r.text            # what was typed stays
    assert '<details class="quiz" open>' in r.text     # the quiz opened at its errors
    assert 'aria-invalid="true" aria-describedby="lesson-title-error"' in r.text
    assert _lessons(console_hub.storage) == before


def test_uploads_that_are_not_audio_or_too_large_are_refused(console_hub, tmp_path):
    s, _ = login(console_hub, "demo-town")
    csrf = _csrf(s.get(console_hub.url + "/content/DEMO-QSC").text)
    before = _lessons(console_hub.storage)
    text = "这是一份会议记录，不是录音。\n".encode() * 50        # saved as notes.mp3
    r = _upload(s, console_hub, text, csrf, **{"X-File-Name": "notes.mp3"})
    assert r.status_code == 400 and "这不是音频文件" in r.json()["message"]
    big = b"ID3" + bytes(content.MAX_AUDIO_BYTES)                 # one MP3 past the limit
    r = _upload(s, console_hub, big, csrf)
    assert r.status_code == 413 and "太大" in r.json()["message"]
    r = _upload(s, console_hub, iter([big[:1 << 20]] * 21), csrf)   # no length said: counted
    assert r.status_code == 413
    assert not any(views_content.staging_dir(console_hub.storage).iterdir())
    # The form sent anyway (the file was chosen, nothing arrived): nothing is published.
    r = s.post(console_hub.url + "/content/DEMO-QSC/lesson",
               data={**LESSON, "csrf": csrf, "audio_wanted": "1", "audio_upload": ""})
    assert r.status_code == 400 and "录音没有上传成功" in r.text
    r = s.post(console_hub.url + "/content/DEMO-QSC/lesson",
               data={**LESSON, "csrf": csrf, "audio_upload": "A" * 22})   # made up
    assert r.status_code == 400
    assert _lessons(console_hub.storage) == before
    # The CLI refuses the same file.
    fake = tmp_path / "notes.mp3"
    fake.write_bytes(text)
    lesson = tmp_path / "l.toml"
    lesson.write_text('title = "t"\ncategory = "c"\nminutes = 3\nbody = "b"\n', encoding="utf-8")
    with pytest.raises(content.NotAudio):
        content.publish_lesson_file(console_hub.storage, DEMO, lesson, audio=fake)
    assert _lessons(console_hub.storage) == before


def test_scope_csrf_and_the_read_only_secretary(console_hub):
    storage = console_hub.storage
    url = console_hub.url + "/content/DEMO-QSC"
    policy = (storage.get_branch(DEMO)["back_pay_limit"], storage.get_branch(DEMO)["pay_ahead_limit"])
    notices = len(storage.hub_events(DEMO, "notice.posted", limit=1000))
    other, _ = login(console_hub, "bs-town", "baisha-pass-1")          # 白沙镇
    own = other.get(console_hub.url + "/content").text
    assert "白沙社区党支部" in own and "清水村" not in own
    assert other.get(url).status_code == 403
    assert other.get(url, headers={"Accept": "application/json"}).status_code == 403
    csrf = _csrf(other.get(console_hub.url + "/content/BS-1").text)
    for path, data in (("/notice", {"title": "t", "body": "b", "posted": "2026-11-20"}),
                       ("/policy", {"back_pay_limit": "1", "pay_ahead_limit": "1"}),
                       ("/staff/S01/pin", {"pin": "9753", "pin_again": "9753"})):
        r = other.post(url + path, data={**data, "csrf": csrf}, allow_redirects=False)
        assert r.status_code == 403 and "没有权限" in r.text
    assert _upload(other, console_hub, wav_bytes(), csrf).status_code == 403

    town, _ = login(console_hub, "demo-town")
    town.get(url)
    r = town.post(url + "/notice", data={"csrf": "forged", "title": "t", "body": "b",
                                          "posted": "2026-11-20"}, allow_redirects=False)
    assert r.status_code == 403 and "页面已过期" in r.text
    assert _upload(town, console_hub, wav_bytes(), "forged").status_code == 403

    operators.add(storage, Actor("test"), username="qs-sec", name="王书记",
                  role="branch_secretary", branch=DEMO, password="qingshui-1")
    sec, _ = login(console_hub, "qs-sec", "qingshui-1")
    page = sec.get(url).text
    assert "只能查看" in page and "S01" in page and 'action="/content/DEMO-QSC/policy"' not in page
    r = sec.post(url + "/policy", data={"csrf": _csrf(page), "back_pay_limit": "1",
                                        "pay_ahead_limit": "1"}, allow_redirects=False)
    assert r.status_code == 403 and "只能查看" in r.text
    assert _upload(sec, console_hub, wav_bytes(), _csrf(page)).status_code == 403
    assert (storage.get_branch(DEMO)["back_pay_limit"],
            storage.get_branch(DEMO)["pay_ahead_limit"]) == policy
    assert len(storage.hub_events(DEMO, "notice.posted", limit=1000)) == notices


def test_notice_and_policy_reach_the_terminal(console_hub, demo_store):
    s, _ = login(console_hub, "demo-town")
    url = console_hub.url + "/content/DEMO-QSC"
    csrf = _csrf(s.get(url).text)
    r = s.post(url + "/notice", data={"csrf": csrf, "title": "开会", "body": "",
                                      "posted": "11月20日"})
    assert r.status_code == 400
    assert "请填写通知内容" in r.text and "日期请写成" in r.text
    r = s.post(url + "/policy", data={"csrf": csrf, "back_pay_limit": "-1",
                                      "pay_ahead_limit": "x"})
    assert r.status_code == 400 and r.text.count("请填0或正整数") == 2
    r = s.post(url + "/notice", data={"csrf": csrf, "title": "开会", "posted": "2026-11-20",
                                      "body": "周五下午开党员大会。"}, allow_redirects=False)
    assert r.status_code == 303
    r = s.post(url + "/policy", data={"csrf": csrf, "back_pay_limit": "3",
                                      "pay_ahead_limit": "12"}, allow_redirects=False)
    assert r.status_code == 303
    assert "补交最多 <strong>3</strong> 个月" in s.get(url).text
    sc.sync_once(demo_store)
    b = branch.get(demo_store)
    assert (b.back_pay_limit, b.pay_ahead_limit) == (3, 12)
    assert demo_store.one("SELECT posted FROM notice WHERE title = '开会'")["posted"] == \
        "2026-11-20"
    actions = [a["action"] for a in operators.trail(console_hub.storage)["actions"]]
    assert "notice.posted" in actions and "policy.set" in actions


def test_staff_added_and_a_pin_reset_the_terminal_honours(console_hub, demo_store):
    pins.set_pin(demo_store, "staff", "S01", "1111", actor="staff:S01")   # changed there
    sc.sync_once(demo_store)
    [proposed] = [p for p in admin.proposals(console_hub.storage, DEMO)
                  if p["type"] == "staff.pin_set"]
    s, _ = login(console_hub, "demo-town")
    url = console_hub.url + "/content/DEMO-QSC"
    csrf = _csrf(s.get(url).text)
    r = s.post(url + "/staff", data={"csrf": csrf, "staff_no": "S 03", "name": "赵会计",
                                     "role": "", "pin": "86421", "pin_again": "86412"})
    assert r.status_code == 400 and "请选择岗位" in r.text
    assert "工作人员编号只能用字母、数字" in r.text and "两次输入的密码不一样" in r.text
    r = s.post(url + "/staff", data={"csrf": csrf, "staff_no": "S03", "name": "赵会计",
                                     "role": "collector", "pin": "86421", "pin_again": "86412"})
    assert r.status_code == 400 and "两次输入的密码不一样" in r.text
    assert "86421" not in r.text and "86412" not in r.text and "赵会计" in r.text
    r = s.post(url + "/staff", data={"csrf": csrf, "staff_no": "S03", "name": "赵会计",
                                     "role": "collector", "pin": "86421",
                                     "pin_again": "86421"}, allow_redirects=False)
    assert r.status_code == 303
    r = s.post(url + "/staff/S01/pin", data={"csrf": csrf, "pin": "12ab", "pin_again": "12ab"})
    assert r.status_code == 400 and "密码要是4到6位数字" in r.text and "12ab" not in r.text
    r = s.post(url + "/staff/S01/pin", data={"csrf": csrf, "pin": "97531",
                                             "pin_again": "97531"}, allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/content/DEMO-QSC?done=pin#staff")
    page = s.get(console_hub.url + r.headers["location"]).text
    assert "新密码已设置" in page and "97531" not in page and "86421" not in page

    sc.sync_once(demo_store)
    assert branch.confirm(demo_store, "S01", "97531").staff_no == "S01"
    for old in ("2468", "1111"):
        with pytest.raises(AuthError):
            branch.confirm(demo_store, "S01", old)
    assert branch.confirm(demo_store, "S03", "86421").name == "赵会计"
    closed = console_hub.storage.get_proposal(proposed["event_id"])   # cannot come back
    assert (closed["status"], closed["decided_by"]) == ("rejected", "demo-town")
    trail = operators.trail(console_hub.storage)
    rows = [a for a in trail["actions"] if a["action"].startswith("staff.")]
    assert [a["action"] for a in rows] == ["staff.pin_reset", "staff.added"]
    assert all("97531" not in json.dumps(a) and "86421" not in json.dumps(a) for a in rows)
    assert trail["chain_broken_at"] is None


def test_the_views_refuse_without_http(console_hub):
    storage = console_hub.storage
    bs = storage.get_operator("bs-town")
    with pytest.raises(operators.Forbidden):
        views_content.page(storage, bs, DEMO)
    town = storage.get_operator("demo-town")
    with pytest.raises(views_content.FormErrors) as e:
        views_content.set_policy(storage, town, Actor("demo-town"), DEMO,
                                 {"back_pay_limit": "1000", "pay_ahead_limit": "2"})
    assert set(e.value.errors) == {"back_pay_limit"}
    with pytest.raises(InvalidInput):
        content.check_audio(__file__)
    assert content.audio_kind(b"OggS" + bytes(12)) == "OGG"
    assert content.audio_kind(b"\x00\x00\x00\x20ftypM4A " + bytes(4)) == "M4A"
    assert content.audio_kind(b"\xff\xfb\x90\x64" + bytes(8)) == "MP3"
    assert content.audio_kind(b"\xff\xf1\x50\x80" + bytes(8)) is None      # AAC, not MP3


def test_hub_staff_list_and_pin_commands(console_hub):
    db = str(console_hub.storage.path)

    def hub_cli(*args, input=None):
        return CliRunner().invoke(cli, ["hub", "--db", db, *args], input=input,
                                  catch_exceptions=False)

    r = hub_cli("staff", "pin", "--branch", DEMO, "S02", input="13579\n13579\n")
    assert r.exit_code == 0 and "13579" not in r.output
    r = hub_cli("staff", "list", "--branch", DEMO, "--json")
    rows = {s["staff_no"]: s for s in json.loads(r.output)}
    assert rows["S02"]["pin_set_at"] and rows["S01"]["pin_set_at"] is None
    assert "pin_hash" not in r.output
    r = hub_cli("staff", "pin", "--branch", DEMO, "S99", input="13579\n13579\n")
    assert r.exit_code != 0
    storage = open_hub(db)
    try:
        assert operators.trail(storage)["actions"][0]["action"] == "staff.pin_reset"
    finally:
        storage.close()
