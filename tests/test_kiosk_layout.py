"""Pins the kiosk's Chinese line breaking and the audit checks built on it:

* ``kiosk.textwrap_zh`` on examples (a fixed width table, no font): closing punctuation
  never starts a line, opening brackets never end one, a number stays with its unit and a
  date stays whole ("48元", "3个月", "2026年8月"), a Latin word (QS004, espeak-ng) stays
  whole, explicit newlines are kept, only a piece wider than the line is cut; no
  paragraph ends with a one-character line (an orphan: the study list at 1280×800 had
  "…方面的内 / 容"), and the audit reports one drawn on a real screen;
* ``bad_break`` names each kind of wrong break and passes good ones;
* with the real font, offscreen: a ``Text`` (ZhLabel) draws its wrapped lines with none of
  those faults where a plain Kivy ``Label`` draws "。" first and splits "48元"; its
  ``text`` stays what was set; markup (the lesson buttons) wraps too;
* the audit reports a bad break in a plain Label on a real screen (so the check can fail);
* the dues-flow layout gives the left column room in landscape and fills the height
  in portrait (the choices are not left in the top third).
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from kiosk_fixtures import needs_kivy

from kiosk import textwrap_zh as tz


def narrow(ch: str) -> float:
    """Hanzi and full-width punctuation 1, ASCII 0.5: roughly the real proportions."""
    return 0.5 if ch.isascii() else 1.0


def lines(text: str, width: float) -> list[str]:
    return tz.wrap(text, narrow, width).split("\n")


def assert_good(out: list[str]) -> None:
    for before, after in pairwise(out):
        assert tz.bad_break(before, after) is None, (before, after, out)


SAMPLES = [
    "您的党费交到2026年8月，还差3个月，一共9角。",
    "刘桂兰同志交3个月党费，一共48元。请工作人员点自己的名字。",
    "同步：还没有登记到服务站，等待同步295条",
    "补交或预交的月数超过了支部规定（补交最多6个月，预交最多12个月）。请工作人员点原因：",
    "语音：espeak-ng 已安装；磁盘：还剩80.6GB，共271GB",
    "党员：刘德才（QS034）金额：17.50元（共1个月）",
]


@pytest.mark.parametrize("width", [6, 7, 8, 9, 10, 12, 15])
@pytest.mark.parametrize("text", SAMPLES)
def test_no_bad_break_at_any_width(text, width):
    out = lines(text, width)
    assert "".join(out).replace(" ", "") == text.replace(" ", "")     # nothing lost
    assert_good(out)
    assert all(sum(narrow(c) for c in line.rstrip()) <= width for line in out), out


def test_examples_pinned():
    assert lines("您的党费交到2026年8月，还差3个月，一共9角。", 6) == \
        ["您的党费交到", "2026年8月，", "还差3个月，", "一共9角。"]
    # greedy Kivy-like char wrapping would give "一共48" / "元。"
    assert lines("一共48元。", 3) == ["一共", "48元。"]
    assert lines("刘桂兰（QS004）", 5) == ["刘桂兰", "（QS004）"]
    assert lines("请点：找党员，今日收款", 3) == ["请点：", "找党", "员，今", "日收款"]
    assert lines("第一行\n第二行很长很长", 4) == ["第一行", "第二行很", "长很长"]
    assert lines("espeak-ng 已安装", 5) == ["espeak-ng", "已安装"]


def test_pieces_keep_numbers_units_and_words():
    assert tz.pieces("还差3个月，一共48元") == ["还", "差", "3个月，", "一", "共", "48元"]
    assert "2026年11月" in tz.pieces("2026年9月至2026年11月")
    assert "80.6GB，" in tz.pieces("还剩80.6GB，共271GB")
    assert "（S02）" in tz.pieces("李春梅（S02）")


def test_only_an_overlong_piece_is_cut_and_not_before_punctuation():
    assert lines("交到2026年8月，还差", 4) == ["交到", "2026年", "8月，", "还差"]
    out = lines("074D8CD1-2026-00112。", 4)
    assert all(sum(narrow(c) for c in line) <= 4 for line in out)
    assert not out[-1].startswith("。") and "".join(out) == "074D8CD1-2026-00112。"


def test_no_one_character_last_line():
    assert lines("您还没有学过方面的内容", 10) == ["您还没有学过方面的", "内容"]
    assert lines("您还没有学过方面的内容。", 10) == ["您还没有学过方面的", "内容。"]
    assert lines("第一段很长很长很长\n第二段", 8) == ["第一段很长很长", "很长", "第二段"]
    assert lines("2026年8月，差", 6) == ["2026年8月，", "差"]     # one piece above: left
    for text in SAMPLES:
        for width in (6, 7, 8, 9, 10, 12, 15):
            out = lines(text, width)
            assert len(out) == 1 or not tz.is_orphan(out[-1]) or \
                len(tz.pieces(out[-2])) == 1, (text, width, out)


def test_bad_break_names_each_fault():
    assert "starts with '，'" in tz.bad_break("还差3个月", "，一共")
    assert "ends with '（'" in tz.bad_break("刘桂兰（", "QS004）")
    assert "number is split" in tz.bad_break("一共48", "元。")
    assert "number is split" in tz.bad_break("党费交到2026年", "8月")
    assert "number is split" in tz.bad_break("还差3个", "月")
    assert "word is split" in tz.bad_break("语音：espe", "ak-ng")
    assert "word is split" in tz.bad_break("QS0", "04）")
    assert tz.bad_break("一共48元，", "还差3个月。") is None
    assert tz.bad_break("党费交到", "2026年8月") is None


# -- with Kivy and the real font --------------------------------------------------------------
def _label_pair(app, text, width, markup=False):
    from kivy.uix.label import Label

    from kiosk import drive
    from kiosk.widgets import Text

    plain = Label(text=text, font_size=40, text_size=(width, None), markup=markup)
    zh = Text(text=text, size_hint_x=None, width=width, markup=markup)
    zh.font_size = 40
    for w in (plain, zh):
        w.texture_update()
    drive.pump(1)
    return plain, zh


@needs_kivy
def test_zh_label_draws_good_breaks_where_kivy_does_not(app):
    from kiosk import usability as audit

    text = "刘桂兰同志交3个月党费，一共48元。请工作人员点自己的名字。"
    faults_plain, checked = 0, 0
    for width in range(240, 720, 20):
        plain, zh = _label_pair(app, text, width)
        faults_plain += len(audit.line_break_problems(plain))
        assert audit.line_break_problems(zh) == [], (width, audit.drawn_lines(zh))
        assert zh.text == text                   # only the drawing has the breaks
        drawn = audit.drawn_lines(zh)
        assert "".join(drawn) == text and len(drawn) > 1
        checked += 1
    assert checked and faults_plain > 0          # Kivy alone does break these badly


@needs_kivy
def test_markup_button_text_wraps_too(app):
    from kiosk import usability as audit
    from kiosk.screens.study_reading import WrapButton

    b = WrapButton(text="《党费怎么交，交多少》\n[size=28]15分钟 · 支部布置的学习内容[/size]",
                   width=300)
    b.texture_update()
    drawn = audit.drawn_lines(b)
    assert len(drawn) > 2 and audit.line_break_problems(b) == [], drawn


@needs_kivy
def test_audit_reports_a_bad_break_on_a_screen(app):
    from kivy.uix.label import Label

    from kiosk import drive
    from kiosk import usability as audit

    app.show("home")
    drive.pump(2)
    box = app.current.children[0]
    found = []
    for width in range(300, 560, 20):           # Kivy's own wrapping, at several widths
        bad = Label(text="一共48元，还差3个月。" * 3, font_size=40, size_hint=(None, None),
                    width=width, height=300, text_size=(width, None))
        box.add_widget(bad, index=len(box.children))
        try:
            drive.pump(2)
            found += [p for p in audit.measure(app)["problems"] if "line break in" in p]
        finally:
            box.remove_widget(bad)
    assert found
    assert not any("line break" in p for p in audit.measure(app)["problems"])


@needs_kivy
def test_study_list_has_no_orphan_and_the_audit_would_see_one(app, monkeypatch):
    """At 1280×800 the study list's reasons ended "…方面的内 / 容"; fixed, and the audit
    (which reads the lines Kivy drew) reports it when the rule is switched off."""
    from kiosk import drive
    from kiosk import usability as audit
    from kiosk.screens import screen_class

    def study_problems():
        out = []
        for page in range(3):
            app.show("study", page=page, **screen_class("study").sample(app))
            drive.pump(3)
            out += [p for p in audit.measure(app)["problems"] if "one-character" in p]
        return out

    assert study_problems() == []
    monkeypatch.setattr(tz, "_no_orphan", lambda *args: None)
    app.show("home")
    assert any("'容'" in p for p in study_problems())


@needs_kivy
def test_panel_layout_uses_width_and_height(app):
    from kivy.metrics import dp

    from kiosk import drive
    from kiosk.screens import screen_class

    for size in ((1280, 800), (1080, 1920)):
        drive.set_size(*size)
        app.show("staff_member", **screen_class("staff_member").sample(app))
        drive.pump(3)
        screen = app.current
        body, grid = screen.ids.body, screen.ids.choices
        if size[0] > size[1]:
            assert body.width >= 0.45 * (size[0] - dp(72)), body.width
        else:
            usable = screen.height
            lowest = drive.window_pos(grid)[1] - drive.window_pos(screen)[1]
            # the choices reach down into the lower half, not the top third
            assert lowest < usable * 0.5, (lowest, usable)
            assert min(b.height for b in grid.children) >= dp(150)
    drive.set_size(1280, 800)
    app.go_home()
