"""Members: what ``members.add`` refuses, and lookup the three ways people search.

Pins:
  * add validation: member number format, a Hanzi name, a duplicate number, a joined date
    in the future, phone numbers normalized ("138-0000 0001" -> "13800000001"); a refused
    add writes nothing (no member row, no journal event);
  * lookup by exact number (any letter case) and number prefix; by the whole name, by any
    1- or 2-character piece of it ("三", "三丰", "张三" -> 张三丰) and by 3+ characters;
    by pinyin initials ("zsf") and their prefix ("zs"), including every reading of a
    polyphonic character (单雄信: "sxx" and "dxx"; 曾: "z" and "c"); no false hits;
  * a lookup with ``reader`` is audited, one without is not;
  * ``by_phone`` for caller recognition, active members who consented only;
  * ``update`` re-indexes the name (the old piece stops finding, the new one finds) and
    changes status and phones; ``rate_for`` carries a year's amount over to the next;
    ``fix_rate`` will not re-price a year once any of its months is paid, even months paid
    ahead at an amount carried over (hardship approvals excepted).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from core import audit, consent, dues, members
from core.clock import CST
from core.errors import InvalidInput, NotFound


def add(store, member_no, name, **kw):
    kw.setdefault("category", "student")
    return members.add(store, member_no=member_no, name=name, actor="staff:S01", **kw)


def nos(rows):
    return [r["member_no"] for r in rows]


def count(store, sql, params=()):
    return store.db.execute(sql, params).fetchone()[0]


@pytest.fixture
def roster(store):
    for no, name in [("QS001", "张三丰"), ("QS002", "张三"), ("QS003", "李三丰"),
                     ("QS004", "王秀英"), ("QS005", "单雄信"), ("QS006", "曾国藩"),
                     ("QS010", "欧阳秀兰"), ("QS011", "赵四")]:
        add(store, no, name)
    return store


# -- add: validation ------------------------------------------------------------------------

@pytest.mark.parametrize("member_no", ["", "QS 001", "QS/001", "党员001", "A" * 21])
def test_add_refuses_a_bad_member_number(store, member_no):
    with pytest.raises(InvalidInput) as e:
        add(store, member_no, "张三丰")
    assert e.value.zh == "党员编号格式不对。"
    assert count(store, "SELECT COUNT(*) FROM member") == 0


@pytest.mark.parametrize("name", ["", "   ", "Zhang San", "张3丰", "张三丰丰丰丰丰丰丰丰丰", "张 三"])
def test_add_refuses_a_name_that_is_not_1_to_10_hanzi(store, name):
    with pytest.raises(InvalidInput) as e:
        add(store, "QS001", name)
    assert e.value.zh == "姓名应该是汉字。"


def test_add_accepts_a_name_with_a_middle_dot_and_strips_spaces(store):
    m = add(store, "QS001", " 买买提·艾力 ")
    assert m["name"] == "买买提·艾力"
    assert nos(members.lookup(store, "提艾")) == ["QS001"]
    assert nos(members.lookup(store, "艾力")) == ["QS001"]


def test_add_accepts_rare_characters_beyond_the_basic_block(store):
    # 𠙶 is in CJK extension B (outside the BMP): rare characters do occur in village names.
    add(store, "QS001", "王𠙶")
    assert nos(members.lookup(store, "𠙶")) == ["QS001"]
    assert nos(members.lookup(store, "王𠙶")) == ["QS001"]
    for bad in ("·", "张·", "·张"):
        with pytest.raises(InvalidInput):
            add(store, "QS002", bad)


def test_add_refuses_a_duplicate_member_number_and_keeps_the_first(store):
    add(store, "QS001", "张三丰")
    events = count(store, "SELECT COUNT(*) FROM journal")
    with pytest.raises(InvalidInput) as e:
        add(store, "QS001", "李四")
    assert e.value.zh == "这个党员编号已经有了。"
    assert members.get(store, "QS001")["name"] == "张三丰"
    assert count(store, "SELECT COUNT(*) FROM journal") == events
    assert members.lookup(store, "李四") == []


def test_add_refuses_a_joined_date_in_the_future(store):
    # The fixture clock is 2026-11-15.
    with pytest.raises(InvalidInput) as e:
        add(store, "QS001", "张三丰", joined="2026-11-16")
    assert e.value.zh == "入党日期不能晚于今天。"
    with pytest.raises(InvalidInput):
        add(store, "QS001", "张三丰", joined="2026/11/01")
    m = add(store, "QS001", "张三丰", joined="2026-11-15")
    assert m["joined"] == "2026-11-15"
    # Admitted this year: dues are asked from the admission month.
    assert m["dues_from"] == "2026-11"


def test_add_dues_from_defaults(store):
    old = add(store, "QS001", "张三丰", joined="1978-07-01")
    probation = add(store, "QS002", "李四", joined="2026-03-20", probation=True)
    assert old["dues_from"] == "2026-11"
    assert probation["dues_from"] == "2026-03" and probation["probation"] is True


def test_add_refuses_an_unknown_category(store):
    with pytest.raises(InvalidInput) as e:
        add(store, "QS001", "张三丰", category="farmer_rich")
    assert e.value.zh == "党员类别不对。"


def test_add_normalizes_phone_numbers_and_refuses_bad_ones(store):
    m = add(store, "QS001", "张三丰", phones=["138-0000 0001", "(0571) 8800-0104", "13800000001"])
    assert m["phones"] == ["057188000104", "13800000001"]
    with pytest.raises(InvalidInput) as e:
        add(store, "QS002", "李四", phones=["call me"])
    assert e.value.zh == "电话号码格式不对。"
    with pytest.raises(NotFound):
        members.get(store, "QS002")


def test_add_fixes_this_years_amount_and_journals_it(store):
    m = add(store, "QS001", "张三丰", category="retired", income_fen=320000)
    assert m["rates"] == [{"year": 2026, "monthly_fen": 1600, "rule": m["rates"][0]["rule"],
                           "hardship_ref": None, "hardship_reason": None}]
    row = store.one("SELECT type, payload FROM journal ORDER BY seq DESC LIMIT 1")
    assert row["type"] == "member.added" and '"member_no":"QS001"' in row["payload"]
    assert audit.verify(store).ok


# -- lookup -----------------------------------------------------------------------------------

def test_lookup_by_exact_member_number_in_any_case(roster):
    assert nos(members.lookup(roster, "QS001")) == ["QS001"]
    assert nos(members.lookup(roster, "qs001")) == ["QS001"]
    assert members.lookup(roster, "QS999") == []


def test_lookup_by_member_number_prefix_puts_the_exact_match_first(roster):
    assert nos(members.lookup(roster, "QS01")) == ["QS010", "QS011"]
    assert nos(members.lookup(roster, "qs00")) == ["QS001", "QS002", "QS003", "QS004",
                                                   "QS005", "QS006"]
    add(roster, "QS0011", "钱七")
    assert nos(members.lookup(roster, "QS001")) == ["QS001", "QS0011"]


def test_lookup_by_full_name(roster):
    assert nos(members.lookup(roster, "张三丰")) == ["QS001"]
    assert nos(members.lookup(roster, "王秀英")) == ["QS004"]


@pytest.mark.parametrize("query, expected", [
    ("三", ["QS002", "QS001", "QS003"]),       # shorter names first: 张三, then 张三丰, 李三丰
    ("丰", ["QS001", "QS003"]),
    ("三丰", ["QS001", "QS003"]),
    ("张三", ["QS002", "QS001"]),
    ("张", ["QS002", "QS001"]),
    ("秀", ["QS004", "QS010"]),
    ("秀兰", ["QS010"]),
    ("欧阳秀", ["QS010"]),
    ("阳秀兰", ["QS010"]),
    ("欧阳秀兰", ["QS010"]),
])
def test_lookup_by_part_of_a_name(roster, query, expected):
    assert nos(members.lookup(roster, query)) == expected


@pytest.mark.parametrize("query", ["丰三", "张丰", "三丰张", "孙", "欧秀", "张三丰丰"])
def test_lookup_by_name_has_no_false_hits(roster, query):
    assert members.lookup(roster, query) == []


def test_lookup_by_pinyin_initials_and_their_prefix(roster):
    assert nos(members.lookup(roster, "zsf")) == ["QS001"]
    assert nos(members.lookup(roster, "ZSF")) == ["QS001"]
    assert nos(members.lookup(roster, "zs")) == ["QS002", "QS011", "QS001"]  # 张三 赵四 张三丰
    assert nos(members.lookup(roster, "lsf")) == ["QS003"]
    assert nos(members.lookup(roster, "wxy")) == ["QS004"]
    assert nos(members.lookup(roster, "oyxl")) == ["QS010"]
    assert members.lookup(roster, "zsg") == []
    assert members.lookup(roster, "qq") == []


def test_lookup_finds_every_reading_of_a_polyphonic_surname(roster):
    # 单 is "shan" as a surname, "dan" elsewhere; 曾 is "zeng" as a surname, "ceng" elsewhere.
    assert nos(members.lookup(roster, "sxx")) == ["QS005"]
    assert nos(members.lookup(roster, "dxx")) == ["QS005"]
    assert nos(members.lookup(roster, "zgf")) == ["QS006"]
    assert nos(members.lookup(roster, "cgf")) == ["QS006"]
    # The surname reading is the one shown as the member's initials.
    assert members.get(roster, "QS005")["initials"] == "sxx"
    assert members.get(roster, "QS006")["initials"] == "zgf"


def test_initials_of_covers_all_combinations_of_a_short_name():
    # 单 d/s/c, 重 z/c/t, 行 x/h: 18 spellings, none lost to a cap.
    spellings = members.initials_of("单重行")
    assert len(spellings) == len(set(spellings)) == 18
    assert {"szx", "dch", "scx"} <= set(spellings)
    assert members.initials_of("张三丰") == ["zsf"]


def test_lookup_of_blank_or_odd_queries_finds_nothing(roster):
    for q in ("", "   ", None, "%", "_", "张%", "'; DROP TABLE member; --"):
        assert members.lookup(roster, q) == []


def test_lookup_respects_the_limit(store):
    with store.transaction():
        for i in range(12):
            add(store, f"W{i:03d}", "王" + "一二三四五六七八九十百千"[i])
    assert len(members.lookup(store, "王")) == 12
    assert len(members.lookup(store, "王", limit=5)) == 5
    assert len(members.lookup(store, "w", limit=5)) == 5


def test_lookup_with_a_reader_is_audited_and_without_is_not(roster):
    before = count(roster, "SELECT COUNT(*) FROM audit")
    members.lookup(roster, "张三")
    assert count(roster, "SELECT COUNT(*) FROM audit") == before
    members.lookup(roster, "张三", reader="staff:S01")
    row = roster.one("SELECT actor, action, subject, detail FROM audit ORDER BY seq DESC LIMIT 1")
    assert (row["actor"], row["action"], row["subject"]) == ("staff:S01", "read", "members")
    assert "QS001" in row["detail"] and "QS002" in row["detail"]
    assert count(roster, "SELECT COUNT(*) FROM audit") == before + 1
    members.lookup(roster, "没有这人", reader="staff:S01")  # shows nobody: nothing read
    assert count(roster, "SELECT COUNT(*) FROM audit") == before + 1
    assert audit.verify(roster).ok


def test_get_with_a_reader_is_audited(roster):
    members.get(roster, "QS001", reader="staff:S01")
    row = roster.one("SELECT actor, action, subject FROM audit ORDER BY seq DESC LIMIT 1")
    assert row == {"actor": "staff:S01", "action": "read", "subject": "member:QS001"}


# -- phones ------------------------------------------------------------------------------------

def test_by_phone_finds_active_members_with_any_spelling_of_the_number(store):
    add(store, "QS001", "张三丰", phones=["13800000001"])
    add(store, "QS002", "王秀英", phones=["13800000001", "0571-88000104"])
    assert members.by_phone(store, "13800000001") == []  # not without their consent
    for no in ("QS001", "QS002"):
        consent.grant(store, no, "phone_recognition", method="staff", witness="S01")
    assert sorted(nos(members.by_phone(store, "138-0000 0001"))) == ["QS001", "QS002"]
    assert nos(members.by_phone(store, "057188000104")) == ["QS002"]
    assert members.by_phone(store, "13900000000") == []
    assert members.by_phone(store, "unknown") == []
    members.update(store, "QS001", status="deceased", actor="staff:S01")
    assert nos(members.by_phone(store, "13800000001")) == ["QS002"]


# -- update ------------------------------------------------------------------------------------

def test_update_name_reindexes_pieces_and_initials(roster):
    m = members.update(roster, "QS011", name="钱德明", actor="staff:S01")
    assert m["name"] == "钱德明" and m["initials"] == "qdm"
    assert members.lookup(roster, "赵四") == []
    assert members.lookup(roster, "四") == []
    assert members.lookup(roster, "zs") and "QS011" not in nos(members.lookup(roster, "zs"))
    assert nos(members.lookup(roster, "德明")) == ["QS011"]
    assert nos(members.lookup(roster, "qdm")) == ["QS011"]
    ev = roster.one("SELECT type, payload FROM journal ORDER BY seq DESC LIMIT 1")
    assert ev["type"] == "member.updated" and "钱德明" in ev["payload"]


def test_update_status_and_phones(roster):
    m = members.update(roster, "QS001", status="transferred", phones=["139 0000 0009"],
                       actor="staff:S01")
    assert m["status"] == "transferred" and m["phones"] == ["13900000009"]
    assert "QS001" not in nos(members.list_all(roster))
    assert "QS001" in nos(members.list_all(roster, status=None))
    # Lookup still finds a transferred member (staff need to see them), with the status.
    assert members.lookup(roster, "zsf")[0]["status"] == "transferred"
    members.update(roster, "QS001", phones=[], actor="staff:S01")
    assert members.get(roster, "QS001")["phones"] == []


def test_update_refuses_bad_values_and_writes_nothing(roster):
    events = count(roster, "SELECT COUNT(*) FROM journal")
    with pytest.raises(InvalidInput):
        members.update(roster, "QS001", status="expelled", actor="staff:S01")
    with pytest.raises(InvalidInput):
        members.update(roster, "QS001", name="Zhang", actor="staff:S01")
    with pytest.raises(NotFound):
        members.update(roster, "QS999", name="张三", actor="staff:S01")
    # No change at all: no event.
    members.update(roster, "QS001", name="张三丰", status="active", actor="staff:S01")
    assert count(roster, "SELECT COUNT(*) FROM journal") == events


# -- rates ------------------------------------------------------------------------------------

def test_rate_for_carries_the_nearest_earlier_year_over(store):
    add(store, "QS001", "张三丰", category="farmer", farmer_fen=50)
    assert members.rate_for(store, "QS001", 2026)["monthly_fen"] == 50
    assert members.rate_for(store, "QS001", 2027) == {"year": 2026, "monthly_fen": 50,
                                                       "rule": members.rate_for(store, "QS001", 2026)["rule"]}
    # Before the first fixed year: the nearest later one.
    assert members.rate_for(store, "QS001", 2024)["year"] == 2026
    members.fix_rate(store, "QS001", 2027, farmer_fen=80, actor="staff:S01")
    assert members.rate_for(store, "QS001", 2027)["monthly_fen"] == 80
    assert members.rate_for(store, "QS001", 2030)["monthly_fen"] == 80
    assert members.rate_for(store, "QS001", 2026)["monthly_fen"] == 50
    with pytest.raises(NotFound):
        members.rate_for(store, "QS999", 2026)


def test_fix_rate_refuses_to_reprice_months_paid_ahead_at_a_carried_amount(store, staff_ok, clock):
    clock.at = datetime(2026, 12, 10, 9, 0, tzinfo=CST)
    add(store, "QS001", "张三丰", category="farmer", farmer_fen=50, dues_from="2026-12")
    dues.pay(store, "QS001", months=2, confirmation=staff_ok)  # 2027-01 paid at the carried 0.50
    with pytest.raises(InvalidInput) as e:
        members.fix_rate(store, "QS001", 2027, farmer_fen=80, actor="staff:S01")
    assert e.value.zh == "2027年的党费金额已经确定，年内不再调整。"
    assert members.rate_for(store, "QS001", 2027)["monthly_fen"] == 50
    # Fixing the year at the amount its paid months carried is allowed and recorded.
    members.fix_rate(store, "QS001", 2027, farmer_fen=50, actor="staff:S01")
    assert members.rate_for(store, "QS001", 2027)["year"] == 2027
    # A hardship approval may still change it.
    members.fix_rate(store, "QS001", 2027, farmer_fen=50, hardship_fen=0,
                     approval_ref="镇党委〔2027〕1号", reason="重病", actor="staff:S01")
    assert members.rate_for(store, "QS001", 2027)["monthly_fen"] == 0
