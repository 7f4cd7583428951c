"""Roster import from CSV and XLSX: what a branch's spreadsheet may look like, and the report.

Pins: UTF-8, UTF-8 with BOM and GBK CSV all read the same; XLSX with Chinese headers, number
cells (money via Decimal(str()), never float) and date cells; row numbers are the sheet's
(header = row 1, blank rows still count); a file with any bad row imports nothing (every
problem listed) unless skip_bad_rows, which imports exactly the good rows; duplicates within
the file and against the store; a missing required column is one problem at row 1; damaged,
empty, header-only, binary and unknown-type files give an InvalidInput with a Chinese message,
never a traceback; a dry run writes nothing; each member is added via members.add (journal
``member.added``, audit chain intact) with no PIN.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from core import audit, dues, members, roster_file
from core import roster_import as ri
from core.errors import InvalidInput, NotFound

HEADER = "member_no,name,category,income_yuan,farmer_yuan,joined,probation,phones,paid_through"
GOOD_ROWS = [
    "T001,张三,employed,3000.00,,2010-07-01,no,13800138000,2026-10",
    "T002,李四,retired,5000.01,,1985-03-15,否,13900139000;0571-88001234,",
    "T003,王五,farmer,,0.50,2001-06-30,,,",
    "T004,赵六,student,,,2026-05-01,是,,",
]


def write_csv(tmp_path, lines, name="roster.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return p


def journal_count(store, event_type="member.added"):
    return store.one("SELECT count(*) AS n FROM journal WHERE type = ?", [event_type])["n"]


def numbers(store):
    return [m["member_no"] for m in members.list_all(store)]


# -- good files ----------------------------------------------------------------------------

def test_good_csv_imports_every_member(store):
    path = write_csv(store.path.parent, [HEADER, *GOOD_ROWS])
    report = ri.import_file(store, path, actor="staff:S01")

    assert report.ok()
    assert (report.rows, report.imported, report.skipped) == (4, 4, 0)
    assert report.member_nos == ["T001", "T002", "T003", "T004"]
    assert numbers(store) == ["T001", "T002", "T003", "T004"]
    assert journal_count(store) == 4
    assert audit.verify(store).ok

    t1 = members.get(store, "T001")
    assert (t1["name"], t1["category"], t1["phones"]) == ("张三", "employed", ["13800138000"])
    assert t1["rates"][0]["monthly_fen"] == 1500          # 0.5% of 3000.00, band edge
    assert t1["dues_from"] == "2026-11"                   # paid through 2026-10
    t2 = members.get(store, "T002")
    assert t2["rates"][0]["monthly_fen"] == 5000          # 1% of a 5000.01 pension
    assert t2["phones"] == ["057188001234", "13900139000"]
    assert members.get(store, "T003")["rates"][0]["monthly_fen"] == 50
    t4 = members.get(store, "T004")
    assert t4["probation"] is True and t4["dues_from"] == "2026-05"
    assert dues.status(store, "T001").paid_through == "2026-10"
    # No PIN is set by an import.
    assert store.one("SELECT count(*) AS n FROM member WHERE pin_hash IS NOT NULL")["n"] == 0


def test_csv_with_bom_and_chinese_headers(store):
    lines = ["党员编号, 姓名 ,类别,月收入（元）,入党日期,预备党员,电话,党费交至",
             "C01,张  三,在职,\"3,000.50\",2020/5/1,否,138 0013 8000；13900139000,2026年9月",
             "C02,欧阳·娜娜,下岗失业,,2019.7.1,0,,",
             "C03,李四,低保,,,,,"]
    path = write_csv(store.path.parent, lines, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report = ri.import_file(store, path, actor="staff:S01")

    assert report.ok(), report.problems
    assert report.imported == 3
    c1 = members.get(store, "C01")
    assert c1["name"] == "张三"                            # alignment spaces dropped
    assert c1["phones"] == ["13800138000", "13900139000"]  # "138 0013 8000" is one number
    assert c1["rates"][0]["monthly_fen"] == 3001           # 1% of 3000.50 = 30.005, half-up
    assert c1["dues_from"] == "2026-10"
    assert members.get(store, "C02")["category"] == "unemployed"
    assert members.get(store, "C03")["category"] == "subsistence"


def test_gbk_csv_reads_like_utf8(store, tmp_path):
    lines = ["编号,姓名,类别,农民党费", "G01,孙七,农民,1.00", "G02,周八,救济,"]
    gbk = write_csv(tmp_path, lines, name="gbk.csv", encoding="gbk")
    utf = write_csv(tmp_path, lines, name="utf.csv")
    with pytest.raises(UnicodeDecodeError):
        gbk.read_bytes().decode("utf-8")
    assert [dict(r) for r in ri.read_rows(gbk)] == [dict(r) for r in ri.read_rows(utf)]

    report = ri.import_file(store, gbk, actor="staff:S01")
    assert report.ok() and report.imported == 2
    assert members.get(store, "G01")["name"] == "孙七"
    assert members.get(store, "G02")["category"] == "relief"


def test_xlsx_with_chinese_headers_number_and_date_cells(store, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某某村党支部党员花名册"])                 # a title row above the header
    ws.append(["党员编号", "姓名", "类别", "工资", "入党日期", "预备党员", "电话", "党费交至", "备注"])
    ws.append([1001, "张三", "在职", 3000.01, datetime(2010, 7, 1), False, 13800138000,
               date(2026, 9, 1), "组长"])
    ws.append([])                                          # a blank row still counts
    ws.append([1002.0, "李四", "退休", 4999, date(1980, 1, 2), "否", None, "2026-11", None])
    ws.append(["X3", "王五", "农民", None, "2026/5/1", True, "13900139000, 13700137000",
               None, None])
    ws.append(["X4", "赵六", "在职", 3000.005, None, None, None, None, None])
    path = tmp_path / "roster.xlsx"
    wb.save(path)

    rows = ri.read_rows(path)
    assert rows.header_row == 2
    assert [r["_row"] for r in rows] == [3, 5, 6, 7]

    report = ri.import_file(store, path, actor="staff:S01")
    # X3 is a farmer without a farmer amount; X4's income has more than two decimals.
    assert [(p.row, p.field) for p in report.problems] == [(6, "farmer_yuan"), (7, "income_yuan")]
    assert report.problems[0].message_zh == "农民党员的党费由支部在2角到1元之间确定。"
    assert report.problems[1].message_zh == "金额格式不对。"
    assert report.problems[1].column == "工资"
    assert report.imported == 0 and numbers(store) == []

    report = ri.import_file(store, path, skip_bad_rows=True, actor="staff:S01")
    assert (report.imported, report.skipped) == (2, 2)
    assert numbers(store) == ["1001", "1002"]
    m1 = members.get(store, "1001")
    assert m1["rates"][0]["monthly_fen"] == 3000           # 1% of 3000.01 exactly
    assert m1["phones"] == ["13800138000"]
    assert m1["dues_from"] == "2026-10"
    m2 = members.get(store, "1002")
    assert m2["rates"][0]["monthly_fen"] == 2500           # 0.5% of 4999.00 = 24.995, half-up
    assert m2["dues_from"] == "2026-12"
    assert store.one("SELECT joined FROM member WHERE member_no = '1002'")["joined"] == "1980-01-02"


# -- bad rows ------------------------------------------------------------------------------

def test_two_bad_rows_import_nothing_and_name_both_rows(store):
    lines = [HEADER, GOOD_ROWS[0],
             "T002,Li Si,employed,3000,,,,,",           # row 3: name not Hanzi
             GOOD_ROWS[2],
             "T005,钱九,employed,,,2030-01-01,,,"]      # row 5: no income, joined in future
    path = write_csv(store.path.parent, lines)
    report = ri.import_file(store, path, actor="staff:S01")

    assert not report.ok()
    assert (report.rows, report.imported, report.skipped) == (4, 0, 4)
    assert [(p.row, p.field) for p in report.problems] == [
        (3, "name"), (5, "income_yuan"), (5, "joined")]
    assert report.problems[0].message_zh == "姓名应该是汉字。"
    assert report.problems[1].message_zh == "请填写每月收入。"
    assert report.problems[2].message_zh == "入党日期不能晚于今天。"
    assert numbers(store) == [] and journal_count(store) == 0

    d = report.as_dict()
    assert d["ok"] is False and d["imported"] == 0
    assert d["problems"][0] == {"row": 3, "column": "name", "field": "name",
                                "message": "a member name is 1-10 Chinese characters: 'Li Si'",
                                "message_zh": "姓名应该是汉字。"}


def test_skip_bad_rows_imports_the_good_ones(store):
    lines = [HEADER, GOOD_ROWS[0],
             "T002,Li Si,employed,3000,,,,,",
             GOOD_ROWS[2],
             "T005,钱九,farmer,,1.50,,maybe,12,2026-13"]
    path = write_csv(store.path.parent, lines)
    report = ri.import_file(store, path, skip_bad_rows=True, actor="staff:S01")

    assert (report.rows, report.imported, report.skipped) == (4, 2, 2)
    assert report.member_nos == ["T001", "T003"]
    assert numbers(store) == ["T001", "T003"]
    assert journal_count(store) == 2
    assert {(p.row, p.field) for p in report.problems} == {
        (3, "name"), (5, "farmer_yuan"), (5, "probation"), (5, "phones"), (5, "paid_through")}
    assert audit.verify(store).ok


def test_duplicates_within_file_and_against_store(store):
    members.add(store, member_no="T001", name="老党员", category="student", actor="test")
    lines = [HEADER,
             "t001,张三,student,,,,,,",       # row 2: T001 is on the terminal (any case)
             "T007,李四,student,,,,,,",
             "T008,王五,student,,,,,,",
             "T007,赵六,student,,,,,,"]       # row 5: repeats row 3
    path = write_csv(store.path.parent, lines)
    report = ri.import_file(store, path, actor="staff:S01")

    assert [(p.row, p.field) for p in report.problems] == [(2, "member_no"), (5, "member_no")]
    assert report.problems[0].message_zh == "党员编号T001已经有了，不能重复导入。"
    assert report.problems[1].message_zh == "党员编号T007和第3行重复了。"
    assert numbers(store) == ["T001"]

    report = ri.import_file(store, path, skip_bad_rows=True, actor="staff:S01")
    assert report.member_nos == ["T007", "T008"]
    assert members.get(store, "T007")["name"] == "李四"    # the first of the two is kept


def test_missing_required_column_is_one_problem_at_row_1(store):
    path = write_csv(store.path.parent, ["编号,电话", "T001,13800138000", "T002,13900139000"])
    report = ri.import_file(store, path, skip_bad_rows=True, actor="staff:S01")
    assert len(report.problems) == 1
    p = report.problems[0]
    assert (p.row, p.column) == (1, "name, category")
    assert p.message_zh == "缺少必填的列：姓名、类别。请在第一行写上列名。"
    assert report.imported == 0 and numbers(store) == []


def test_conflicting_alias_columns_and_blank_rows_keep_sheet_numbers(store):
    lines = ["编号,姓名,类别,工资,养老金",
             "T001,张三,在职,3000,",
             "",
             "T002,李四,退休,,4000",
             "T003,王五,在职,3000,3500"]        # row 5: the two income columns disagree
    path = write_csv(store.path.parent, lines)
    report = ri.import_file(store, path, actor="staff:S01")
    assert [(p.row, p.field, p.column) for p in report.problems] == [(5, "income_yuan", "工资")]
    assert report.rows == 3


# -- files that cannot be read -------------------------------------------------------------

def test_corrupt_xlsx_is_a_clear_invalid_input(store, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["编号", "姓名", "类别"])
    good = tmp_path / "good.xlsx"
    wb.save(good)
    truncated = tmp_path / "cut.xlsx"
    truncated.write_bytes(good.read_bytes()[:700])
    with pytest.raises(InvalidInput) as e:
        ri.import_file(store, truncated, actor="staff:S01")
    assert e.value.zh == "这个Excel文件已损坏或不完整，打不开。请重新导出或另存为CSV后再导入。"

    # A zip that is not a workbook at all.
    fake = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(InvalidInput, match="damaged"):
        ri.read_rows(fake)

    # Not a zip.
    text = tmp_path / "text.xlsx"
    text.write_text("编号,姓名\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as e:
        ri.read_rows(text)
    assert "不是真正的.xlsx" in e.value.zh


def test_a_zip_bomb_xlsx_is_refused_before_it_unpacks(store, tmp_path, monkeypatch):
    wb = openpyxl.Workbook()
    wb.active.append(["编号", "姓名", "类别"])
    wb.active.append(["T001", "张三", "BOMB"])
    plain = tmp_path / "plain.xlsx"
    wb.save(plain)
    # The cell becomes shared string 0: ~3 MB of "党", which compresses to almost nothing.
    big = "党" * (1024 * 1024)
    strings = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats'
               f'.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>{big}</t></si>'
               '</sst>').encode()
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<c r="C2" t="inlineStr"><is><t>BOMB</t></is></c>',
                                    b'<c r="C2" t="s"><v>0</v></c>')
                assert b'<v>0</v>' in data
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", (
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                    b"</Types>"))
            z.writestr(info.filename, data)
        z.writestr("xl/sharedStrings.xml", strings)
    assert bomb.stat().st_size < 100_000
    check = openpyxl.load_workbook(bomb, read_only=True)
    assert check.worksheets[0]["C2"].value == big   # a valid workbook: openpyxl reads it
    check.close()

    monkeypatch.setattr(roster_file, "MAX_XLSX_PART", 1024 * 1024)
    with pytest.raises(InvalidInput) as e:
        ri.import_file(store, bomb, dry_run=True, actor="staff:S01")
    assert e.value.zh == "表格文件太大或内容异常，请检查后重新导出。"
    assert "unpacks too large" in str(e.value)
    monkeypatch.setattr(roster_file, "MAX_XLSX_PART", 20 * 1024 * 1024)
    monkeypatch.setattr(roster_file, "MAX_XLSX_TOTAL", 2 * 1024 * 1024)
    with pytest.raises(InvalidInput, match="unpacks too large"):
        ri.import_file(store, bomb, actor="staff:S01")
    monkeypatch.setattr(roster_file, "MAX_XLSX_TOTAL", 50 * 1024 * 1024)
    with pytest.raises(InvalidInput) as e:   # within the sizes: the cell is too long
        ri.import_file(store, bomb, actor="staff:S01")
    assert "第2行第3列的内容太长" in e.value.zh
    assert journal_count(store) == 0 and numbers(store) == []


def test_over_long_cells_and_over_wide_rows_import_nothing(store, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["编号", "姓名", "类别"])
    wb.active.append(["T001", "张三", "employed"])
    wb.active.append(["T002", "李" * (roster_file.MAX_CELL + 1), "employed"])
    long_cell = tmp_path / "long.xlsx"
    wb.save(long_cell)
    with pytest.raises(InvalidInput) as e:
        ri.import_file(store, long_cell, skip_bad_rows=True, actor="staff:S01")
    assert f"第3行第2列的内容太长（超过{roster_file.MAX_CELL}个字）" in e.value.zh

    path = write_csv(tmp_path, [HEADER, GOOD_ROWS[0], "T002," + "x" * (roster_file.MAX_CELL + 1) + ",retired,,,,,,"])
    with pytest.raises(InvalidInput, match="longer than"):
        ri.import_file(store, path, skip_bad_rows=True, actor="staff:S01")

    wb = openpyxl.Workbook()
    wb.active.append(["编号", "姓名", "类别"])
    wb.active.append(["T001", "张三", "employed"])
    wb.active.cell(row=2, column=roster_file.MAX_COLUMNS + 1, value="远")
    wide = tmp_path / "wide.xlsx"
    wb.save(wide)
    with pytest.raises(InvalidInput, match="columns") as e:
        ri.import_file(store, wide, actor="staff:S01")
    assert e.value.zh == "表格文件太大或内容异常，请检查后重新导出。"
    assert journal_count(store) == 0 and numbers(store) == []

    # A blank far-right cell does not count.
    wb.active.cell(row=2, column=roster_file.MAX_COLUMNS + 1).value = None
    wb.active.cell(row=2, column=roster_file.MAX_COLUMNS + 5).number_format = "0.00"
    wb.save(wide)
    assert [r["编号"] for r in ri.read_rows(wide)] == ["T001"]


@pytest.mark.parametrize("name, content, zh_part", [
    ("empty.csv", b"", "文件是空的"),
    ("blank.csv", b"\n \n,,\n", "文件是空的"),
    ("roster.pdf", b"%PDF-1.4", "只能导入CSV或Excel"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "旧版Excel"),
    ("binary.csv", bytes(range(256)) * 4, "不是UTF-8或GBK"),
    ("latin.csv", b"\x81\x30\xff\xfe\x80" * 10, "不是UTF-8或GBK"),
])
def test_unreadable_files(tmp_path, name, content, zh_part):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InvalidInput) as e:
        ri.read_rows(p)
    assert zh_part in e.value.zh


def test_missing_file_is_not_found(tmp_path):
    with pytest.raises(NotFound):
        ri.read_rows(tmp_path / "nope.csv")


def test_header_only_file_reports_no_rows(store):
    path = write_csv(store.path.parent, [HEADER])
    report = ri.import_file(store, path, actor="staff:S01")
    assert report.rows == 0 and report.imported == 0
    assert [(p.row, p.message_zh) for p in report.problems] == [
        (1, "文件里只有表头，没有党员数据。")]


# -- dry run and validate ------------------------------------------------------------------

def test_dry_run_writes_nothing(store):
    path = write_csv(store.path.parent, [HEADER, *GOOD_ROWS, "T009,Bad,student,,,,,,"])
    head_before = store.meta("audit_head")
    report = ri.import_file(store, path, dry_run=True, skip_bad_rows=True, actor="staff:S01")

    assert report.dry_run is True
    assert (report.rows, report.imported, report.skipped) == (5, 0, 1)
    assert report.member_nos == ["T001", "T002", "T003", "T004"]
    assert [p.row for p in report.problems] == [6]
    assert numbers(store) == [] and journal_count(store) == 0
    assert store.meta("audit_head") == head_before


def test_validate_returns_kwargs_for_members_add(store):
    rows = ri.read_rows(write_csv(store.path.parent, [HEADER, GOOD_ROWS[0], GOOD_ROWS[2]]))
    good, problems = ri.validate(store, rows)
    assert problems == []
    assert good[0] == {"member_no": "T001", "name": "张三", "category": "employed",
                       "income_fen": 300000, "farmer_fen": None, "joined": "2010-07-01",
                       "probation": False, "phones": ["13800138000"], "dues_from": "2026-11"}
    assert good[1]["farmer_fen"] == 50
    assert numbers(store) == []                            # the rehearsal left nothing behind
    members.add(store, **good[0], actor="test")
    assert numbers(store) == ["T001"]


def test_a_crash_midway_rolls_back_the_whole_import(store):
    # A real database error on the third member's audit entry (only for this actor, so the
    # rehearsal passes): the two members already added must disappear with it.
    store.db.execute(
        "CREATE TEMP TRIGGER crash BEFORE INSERT ON audit "
        "WHEN NEW.actor = 'staff:CRASH' AND NEW.subject = 'member:T003' "
        "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    path = write_csv(store.path.parent, [HEADER, *GOOD_ROWS])
    with pytest.raises(Exception, match="disk on fire"):
        ri.import_file(store, path, actor="staff:CRASH")
    assert numbers(store) == [] and journal_count(store) == 0
    assert audit.verify(store).ok
    assert ri.import_file(store, path, actor="staff:S01").imported == 4


@pytest.mark.parametrize("cell, joined", [
    ("2020-05-01", "2020-05-01"), ("2020/5/1", "2020-05-01"), ("2020.5.1", "2020-05-01"),
    ("2020年5月1日", "2020-05-01"), ("20200501", "2020-05-01"), (43952, "2020-05-01"),
    (datetime(2020, 5, 1, 8, 30), "2020-05-01"), ("", None)])
def test_joined_date_forms(store, cell, joined):
    good, problems = ri.validate(store, [
        {"_row": 2, "编号": "T1", "姓名": "张三", "类别": "学生", "入党日期": cell}])
    assert problems == []
    assert good[0]["joined"] == joined


@pytest.mark.parametrize("cell", ["2020-02-30", "2020-13-01", "05/01/2020", "去年", 43952.5])
def test_bad_joined_dates(store, cell):
    good, problems = ri.validate(store, [
        {"_row": 7, "编号": "T1", "姓名": "张三", "类别": "学生", "入党日期": cell}])
    assert good == []
    assert [(p.row, p.column, p.field) for p in problems] == [(7, "入党日期", "joined")]


@pytest.mark.parametrize("cell, dues_from", [
    ("2026-10", "2026-11"), ("2026/9", "2026-10"), ("2025年12月", "2026-01"),
    (date(2026, 3, 31), "2026-04"), ("2027-05", "2027-06")])
def test_paid_through_sets_dues_from(store, cell, dues_from):
    good, problems = ri.validate(store, [
        {"_row": 2, "编号": "T1", "姓名": "张三", "类别": "学生", "党费交至": cell}])
    assert problems == []
    assert good[0]["dues_from"] == dues_from


def test_paid_through_limits(store):
    rows = [{"_row": 2, "编号": "T1", "姓名": "张三", "类别": "学生", "党费交至": "2027-06"},
            {"_row": 3, "编号": "T2", "姓名": "李四", "类别": "学生", "入党日期": "2020-05-01",
             "党费交至": "2020-03"},
            {"_row": 4, "编号": "T3", "姓名": "王五", "类别": "学生", "入党日期": "2020-05-01",
             "党费交至": "2020-04"}]
    good, problems = ri.validate(store, rows)
    assert [kw["member_no"] for kw in good] == ["T3"]       # paid through the month before
    assert [(p.row, p.field) for p in problems] == [(2, "paid_through"), (3, "paid_through")]
    assert "6个月" in problems[0].message_zh                  # the branch's pay-ahead limit


def test_a_shifted_row_is_flagged_not_guessed(store):
    # An extra comma pushes a value past the last header: that row is reported, not imported.
    path = write_csv(store.path.parent, ["编号,姓名,类别", "T001,张三,学生", "T002,李四,,学生"])
    report = ri.import_file(store, path, skip_bad_rows=True, actor="staff:S01")
    assert report.member_nos == ["T001"]
    assert [(p.row, p.field) for p in report.problems] == [(3, None), (3, "category")]
    assert report.problems[0].message_zh.startswith("第4列有内容")
