"""voice.speech_text: numbers are said the Chinese way, exactly.

Pins the cases espeak-ng 1.51 gets wrong on its own (the 零 inside 101/1001, anything with
万, years read as quantities, phone numbers and PINs read as one huge number, decimals,
percent, clock times) and the split of lesson bodies into sentences for * (back one).
"""

from __future__ import annotations

import pytest

from core.money import fen_zh
from voice.speech_text import digits_zh, for_speech, integer_zh, money_zh, month_zh, sentences


@pytest.mark.parametrize("n, said", [
    (0, "零"), (1, "一"), (2, "二"), (10, "十"), (11, "十一"), (15, "十五"), (20, "二十"),
    (100, "一百"), (101, "一百零一"), (110, "一百一十"), (123, "一百二十三"),
    (1001, "一千零一"), (1010, "一千零一十"), (2026, "二千零二十六"),
    (10000, "一万"), (10001, "一万零一"), (10010, "一万零一十"), (10500, "一万零五百"),
    (12345, "一万二千三百四十五"), (100000, "十万"), (110000, "十一万"),
    (250000, "二十五万"), (10010000, "一千零一万"), (100000001, "一亿零一"),
    (123456789, "一亿二千三百四十五万六千七百八十九"), (-3, "负三"),
])
def test_integers(n, said):
    assert integer_zh(n) == said


def test_digits_one_by_one():
    assert digits_zh("13812345678") == "一三八一二三四五六七八"
    assert digits_zh("0001") == "零零零一"
    with pytest.raises(ValueError):
        digits_zh("12a")


def test_months():
    assert month_zh("2026-08") == "二零二六年八月"
    assert month_zh("2027-12") == "二零二七年十二月"
    with pytest.raises(ValueError):
        month_zh("2026-13")


@pytest.mark.parametrize("fen, said", [
    (150, "一元五角"), (5, "五分"), (2000, "二十元"), (0, "零元"), (105, "一元零五分"),
    (1234, "十二元三角四分"), (10050, "一百元五角"), (-150, "负一元五角"),
    (1_000_000, "一万元"),
])
def test_money(fen, said):
    assert money_zh(fen) == said
    # The display form from core.money reads the same once it goes through for_speech.
    assert for_speech(fen_zh(fen)) == said


def test_money_is_integer_fen():
    with pytest.raises(TypeError):
        money_zh(1.5)


@pytest.mark.parametrize("shown, said", [
    ("2026年8月", "二零二六年八月"),
    ("2026-08", "二零二六年八月"),
    ("2026-08-15", "二零二六年八月十五日"),
    ("2026年度", "二零二六年度"),
    ("您的党费已经交到2026-08，还有3个月没有交，一共4元5角。",
     "您的党费已经交到二零二六年八月，还有三个月没有交，一共四元五角。"),
    ("电话13812345678", "电话一三八一二三四五六七八"),
    ("密码1234", "密码一二三四"),
    ("电话：6543", "电话：六五四三"),
    ("编号QS001", "编号Q S 零零一"),
    ("收据TERMIN-2026-00001", "收据T E R M I N 二零二六 零零零零一"),
    ("¥1.50", "一元五角"),
    ("共1.5元", "共一元五角"),
    ("12000元", "一万二千元"),
    ("下午3:05开会", "下午三点零五分开会"),
    ("10:00", "十点"),
    ("完成50%", "完成百分之五十"),
    ("2.5小时", "二点五小时"),
    # a decimal before letters: no literal dot (was "八十.四 G B")
    ("还剩80.4GB", "还剩八十点四GB"),
    ("重2.5kg", "重二点五kg"),
    ("编号QS004.", "编号Q S 零零四."),
    ("第3课，15日，30分钟", "第三课，十五日，三十分钟"),
    ("您有3条留言", "您有三条留言"),
    ("没有数字的句子。", "没有数字的句子。"),
])
def test_for_speech(shown, said):
    assert for_speech(shown) == said


def test_sentences_split_on_chinese_stops_and_newlines():
    body = "第一句。第二句！\n第三句？他说：“好。”然后；最后\n\n。"
    assert sentences(body) == ["第一句。", "第二句！", "第三句？", "他说：“好。”", "然后；", "最后。"]


def test_sentences_keep_text_without_stop_and_drop_blanks():
    assert sentences("  \n\n") == []
    assert sentences("只有一句没有句号") == ["只有一句没有句号"]
    assert sentences("一行\n二行") == ["一行", "二行"]
    assert sentences("等一下……好的。") == ["等一下……", "好的。"]
