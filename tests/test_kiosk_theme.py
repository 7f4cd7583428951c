"""Pins the kiosk's measurable rules that need no window: the WCAG contrast formula (known
reference ratios), every text/background pair of the theme at >= 7:1, the size floors
(body >= 28 sp, large step >= 40 sp, targets >= 96x60 dp), the CJK font lookup (clear error
when missing), and the roster helpers (surname groups incl. compound surnames, wrapping
pages, digits-only member numbers: "7" finds QS007 but not QS017)."""

from __future__ import annotations

import pytest

from kiosk import roster, theme


def test_contrast_reference_values():
    assert theme.contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert theme.contrast("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)
    # WCAG's own example: #777777 on white fails AA body text at 4.48:1
    assert theme.contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)
    assert theme.contrast((1, 1, 1, 1), "#000000") == pytest.approx(21.0)
    assert theme.luminance("#FFFFFF") == pytest.approx(1.0)
    assert theme.luminance("#808080") == pytest.approx(0.2159, abs=1e-4)


@pytest.mark.parametrize("fg,bg", [
    (theme.TEXT, theme.BG), (theme.MUTED_TEXT, theme.BG), (theme.ERROR_TEXT, theme.BG),
    (theme.CHOICE_TEXT, theme.CHOICE_BG), (theme.CHOICE_TEXT, theme.CHOICE_DOWN),
    (theme.CHOICE_TEXT, theme.HELP_BG), (theme.CHOICE_TEXT, theme.HELP_DOWN),
    (theme.KEY_TEXT, theme.KEY_BG), (theme.KEY_TEXT, theme.KEY_DOWN),
    (theme.BAR_TEXT, theme.BAR_BUTTON_BG), (theme.BAR_TEXT, theme.BAR_BUTTON_DOWN),
])
def test_every_theme_pair_is_at_least_7_to_1(fg, bg):
    assert theme.contrast(fg, bg) >= 7.0


def test_size_floors():
    assert theme.BODY_SP >= 28 and theme.LARGE_SP >= 40
    assert min(theme.BODY_SP, theme.LARGE_SP, theme.TITLE_SP, theme.KEY_SP, theme.DIGITS_SP) == 28
    assert theme.TARGET_H_DP >= 96 and theme.TARGET_W_DP >= 60
    assert min(theme.CHOICE_H_DP, theme.BAR_H_DP) >= theme.TARGET_H_DP
    assert theme.TEXT_SCALES[0] == 1.0 and theme.LARGE_SP * theme.TEXT_SCALES[-1] >= 40


def test_rgba_rejects_short_colours():
    assert theme.rgba("#FF0000") == (1.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        theme.rgba("#F00")


def test_font_found_and_missing(monkeypatch, tmp_path):
    monkeypatch.delenv(theme.ENV_FONT, raising=False)
    font = theme.find_cjk_font()
    assert font.is_file() and font.suffix in (".ttc", ".ttf", ".otf")
    monkeypatch.setenv(theme.ENV_FONT, str(tmp_path / "nope.ttf"))
    with pytest.raises(theme.FontMissing, match="not a file"):
        theme.find_cjk_font()


def test_font_missing_names_the_debian_package(monkeypatch):
    monkeypatch.delenv(theme.ENV_FONT, raising=False)
    monkeypatch.setattr(theme, "DEBIAN_FONTS", ())
    monkeypatch.setattr(theme.shutil, "which", lambda _name: None)
    with pytest.raises(theme.FontMissing, match="fonts-wqy-microhei"):
        theme.find_cjk_font()


def _rows(*pairs):
    return [{"member_no": no, "name": name} for no, name in pairs]


def test_surnames_grouped_biggest_first_with_compound_surnames():
    rows = _rows(("QS001", "王志刚"), ("QS002", "欧阳修"), ("QS003", "李春梅"),
                 ("QS004", "王秀英"), ("QS005", "欧阳锋"), ("QS006", "王小军"))
    groups = roster.by_surname(rows)
    assert list(groups) == ["王", "欧阳", "李"]
    assert [r["name"] for r in groups["欧阳"]] == ["欧阳修", "欧阳锋"]
    assert roster.surname_of("单雄信") == "单"


def test_pages_wrap_round():
    items = list("abcdefghij")
    assert roster.page(items, 0, 4) == (list("abcd"), 3)
    assert roster.page(items, 2, 4) == (list("ij"), 3)
    assert roster.page(items, 3, 4) == (list("abcd"), 3)
    assert roster.page([], 5, 4) == ([], 1)


def test_member_number_from_digits():
    rows = _rows(("QS007", "甲"), ("QS017", "乙"), ("QS070", "丙"), ("X7", "丁"))
    assert [r["name"] for r in roster.match_number(rows, "007")] == ["甲", "丁"]
    assert [r["name"] for r in roster.match_number(rows, "qs017")] == ["乙"]
    assert roster.match_number(rows, "70")[0]["member_no"] == "QS070"
    assert roster.match_number(rows, "") == [] and roster.match_number(rows, "99") == []
