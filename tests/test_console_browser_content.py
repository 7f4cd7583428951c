"""The console's 内容 page in a real browser (Debian's chromium via Playwright) against a
real hub process: demo-town publishes a lesson with an audio file (the progress bar shows
the upload) and the demo terminal has the lesson and its audio after its next sync; a text
file named .mp3 is refused next to the field and nothing is published; a staff PIN reset
in the browser is the PIN the terminal accepts after its next sync; a lesson's draft is
kept in the browser until it is published."""

from __future__ import annotations

import pytest
from console_fixtures import PASSWORD
from playwright.sync_api import expect
from test_console_content import wav_bytes

from core import branch
from core.errors import AuthError
from core.replica import media_path
from sync import client as sc

DEMO_URL = "/content/DEMO-QSC"


@pytest.fixture
def page(browser, console_hub):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.goto(console_hub.url + "/login")
    page.get_by_label("用户名").fill("demo-town")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(console_hub.url + "/")
    yield page
    context.close()


def _lessons(console_hub) -> int:
    return len(console_hub.storage.hub_events("DEMO-QSC", "lesson.published", limit=1000))


def test_a_lesson_with_audio_published_in_the_browser_reaches_the_terminal(
        console_hub, page, demo_store, tmp_path):
    audio = tmp_path / "冬季防火.wav"
    audio.write_bytes(wav_bytes(seconds=60))                 # ~1.9 MB
    page.get_by_role("link", name="内容").click()
    page.get_by_role("link", name="清水村党支部").click()
    form = page.locator("#lesson-form")
    form.get_by_label("标题", exact=True).fill("冬季防火")
    form.get_by_label("分类").fill("健康生活")
    form.get_by_label("学习时长（分钟）").fill("5")
    form.get_by_label("课程内容（终端会读出来，请用短句）").fill("出门关火，睡前关电。")
    form.get_by_label("是，必学").check()
    form.get_by_text("测验题（可不填").click()
    first = form.locator("fieldset.question").first
    first.get_by_label("题目").fill("睡前要做什么？")
    first.get_by_label("选项A").fill("关电")
    first.get_by_label("选项B").fill("开窗")
    first.get_by_label("正确答案").select_option(label="选项A")
    form.get_by_label("录音（可不填）").set_input_files(str(audio))
    status = page.locator("#lesson-audio-status")
    expect(status).to_contain_text("录音已上传（WAV")
    bar = page.locator("#lesson-audio-progress")
    expect(bar).to_be_visible()
    assert bar.evaluate("b => b.value") == 100
    form.get_by_role("button", name="发布课程").click()
    expect(page.get_by_role("status")).to_contain_text("课程已发布")
    row = page.locator("table.data tr", has_text="冬季防火")
    expect(row).to_contain_text("KB")
    page.goto(console_hub.url + DEMO_URL)                   # published: no draft left
    assert form.get_by_label("标题", exact=True).input_value() == ""

    sc.sync_once(demo_store)
    lesson = demo_store.one("SELECT lesson_id, assigned, audio_sha256 FROM lesson "
                            "WHERE title = '冬季防火'")
    assert lesson["assigned"] == 1
    assert media_path(demo_store, lesson["audio_sha256"]).read_bytes() == audio.read_bytes()
    assert demo_store.one("SELECT count(*) AS n FROM quiz_question WHERE lesson_id = ?",
                          [lesson["lesson_id"]])["n"] == 1


def test_a_text_file_named_mp3_is_refused_and_nothing_is_published(console_hub, page,
                                                                   tmp_path):
    fake = tmp_path / "讲话.mp3"
    fake.write_text("这是会议记录，不是录音。\n" * 40, encoding="utf-8")
    before = _lessons(console_hub)
    page.goto(console_hub.url + DEMO_URL)
    form = page.locator("#lesson-form")
    form.get_by_label("标题", exact=True).fill("会议精神")
    form.get_by_label("分类").fill("理论学习")
    form.get_by_label("学习时长（分钟）").fill("5")
    form.get_by_label("课程内容（终端会读出来，请用短句）").fill("传达会议精神。")
    form.get_by_label("录音（可不填）").set_input_files(str(fake))
    status = page.locator("#lesson-audio-status")
    expect(status).to_contain_text("这不是音频文件")
    expect(page.locator("#lesson-audio-progress")).to_be_hidden()
    form.get_by_role("button", name="发布课程").click()
    expect(status).to_contain_text("录音没有上传成功")
    assert page.url.endswith(DEMO_URL) and _lessons(console_hub) == before


def test_a_staff_pin_reset_in_the_browser_is_honoured_after_sync(console_hub, page,
                                                                 demo_store):
    page.goto(console_hub.url + DEMO_URL)
    page.get_by_text("为王志刚重设密码").click()
    reset = page.locator("details.pin", has_text="为王志刚重设密码")
    reset.get_by_label("密码（4到6位数字）").fill("8642")
    reset.get_by_label("再输一次密码").fill("8642")
    reset.get_by_role("button", name="设置新密码").click()
    expect(page.get_by_role("status")).to_contain_text("新密码已设置")
    assert "8642" not in page.content()
    sc.sync_once(demo_store)
    assert branch.confirm(demo_store, "S01", "8642").name == "王志刚"
    with pytest.raises(AuthError):
        branch.confirm(demo_store, "S01", "2468")


def test_a_lesson_draft_survives_leaving_the_page(console_hub, page):
    page.goto(console_hub.url + DEMO_URL)
    form = page.locator("#lesson-form")
    form.get_by_label("标题", exact=True).fill("长课程")
    form.get_by_label("课程内容（终端会读出来，请用短句）").fill("第一段。" * 200)
    form.get_by_label("是，必学").check()
    page.goto(console_hub.url + "/")                         # away, and back
    page.goto(console_hub.url + DEMO_URL)
    expect(page.locator("#lesson-draft-note")).to_be_visible()
    assert form.get_by_label("标题", exact=True).input_value() == "长课程"
    assert form.get_by_label("课程内容（终端会读出来，请用短句）").input_value() == "第一段。" * 200
    assert form.get_by_label("是，必学").is_checked()
    page.get_by_role("button", name="清空重填").click()
    assert form.get_by_label("标题", exact=True).input_value() == ""
    page.reload()
    expect(page.locator("#lesson-draft-note")).to_be_hidden()
