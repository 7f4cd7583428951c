"""Exports, the printable yearly summary and the member page over real HTTP (a real hub
process, the demo terminal enrolled and synced): CSV with a byte-order mark and Chinese
headers, XLSX that openpyxl opens with the rows, scope (403 for another township), every
export and every member page opened on the operators' trail, the summary's figures equal
to report.trend's. In a real browser: tests/test_console_browser_exports.py."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import unquote

import pytest
import requests
from click.testing import CliRunner
from console_fixtures import login
from openpyxl import load_workbook

from cli.main import cli
from core import branch, dues, study
from core.money import yuan_to_fen
from sync import client as sc
from sync.hub import operators, report

DEMO = "DEMO-QSC"


@pytest.fixture
def hub(console_hub, demo_store):
    """The demo hub with a little more history synced: two study sittings of QS004, a
    voluntary payment and a corrected payment of QS002, so every table has rows."""
    staff = branch.confirm(demo_store, "S02", "2468")
    study.record_session(demo_store, member_no="QS004", lesson_id="02-party-dues",
                         seconds=1500, completed=True)
    study.record_session(demo_store, member_no="QS004", lesson_id="03-phone-scams",
                         seconds=600, completed=False)
    dues.pay_voluntary(demo_store, "QS001", amount_fen=5000, confirmation=staff,
                       note="=1+1")   # text a spreadsheet would run as a formula
    last = dues.history(demo_store, "QS002")[-1]
    dues.correct(demo_store, last["entry_id"], reason="重复收取，已退还", confirmation=staff)
    sc.sync_once(demo_store)
    return console_hub


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))


def _fen(text: str) -> int:
    return -yuan_to_fen(text[1:]) if text.startswith("-") else yuan_to_fen(text)


def _actions(hub, action: str) -> list[dict]:
    return [a for a in operators.trail(hub.storage, limit=500)["actions"]
            if a["action"] == action]


def test_a_csv_export_opens_in_excel_with_chinese_headers_and_exact_yuan(hub, demo_store):
    s, _ = login(hub, "demo-town")
    r = s.get(hub.url + f"/exports/{DEMO}/payments.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="DEMO-QSC-payments-2026-11-15.csv"')
    zh = re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1)
    assert unquote(zh) == "清水村党支部-党费交纳记录-2026-11-15.csv"
    rows = _csv_rows(r.content)
    assert rows[0] == ["记录时间", "收据号", "编号", "姓名", "类型", "交的月份", "金额（元）",
                       "交纳方式", "代交人", "确认的工作人员", "终端", "备注"]
    ledger = demo_store.all("SELECT amount_fen FROM ledger")
    assert len(rows) - 1 == len(ledger) > 100
    assert all(re.fullmatch(r"-?\d+\.\d\d", row[6]) for row in rows[1:])
    assert sum(_fen(row[6]) for row in rows[1:]) == sum(e["amount_fen"] for e in ledger)
    fix = next(row for row in rows if row[4] == "更正")       # a correction: negative
    assert fix[2] == "QS002" and fix[6].startswith("-") and fix[11] == "重复收取，已退还"
    gift = next(row for row in rows if row[4] == "自愿多交")
    assert gift[2:4] == ["QS001", "张三丰"] and gift[6] == "50.00"
    assert gift[7] == "现金当面交纳" and gift[9] == "李春梅（S02）" and gift[11] == "'=1+1"
    (done,) = _actions(hub, "export.downloaded")
    assert (done["operator"], done["source"], done["subject"]) == ("demo-town", "127.0.0.1",
                                                                  f"branch:{DEMO}")
    assert '"table":"payments"' in done["detail"] and f'"rows":{len(ledger)}' in done["detail"]


def test_xlsx_exports_open_with_openpyxl_and_hold_the_rows(hub):
    s, _ = login(hub, "demo-town")
    r = s.get(hub.url + f"/exports/{DEMO}/members.xlsx")
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "姓名", "类别") and len(rows) - 1 == 34
    assert ("QS001", "张三丰", "离退休") == rows[1][:3]
    behind = load_workbook(io.BytesIO(s.get(hub.url + f"/exports/{DEMO}/behind.xlsx")
                                      .content)).active
    cells = list(behind.iter_rows(min_row=2))
    rep = report.build(hub.storage, DEMO, "2026-11")
    assert len(cells) == len(rep["members_behind"]) > 0
    owed = sum(yuan_to_fen(f"{c[4].value:.2f}") for c in cells)
    assert owed == sum(m["amount_owed_fen"] for m in rep["members_behind"])
    assert all(c[4].number_format == "0.00" for c in cells)
    hours = load_workbook(io.BytesIO(s.get(hub.url + f"/exports/{DEMO}/study_hours.xlsx")
                                     .content)).active
    qs004 = next(r for r in hours.iter_rows(min_row=2, values_only=True) if r[0] == "QS004")
    assert qs004[2:5] == (2, 0.58, 1)   # 2 sittings, 2100 s, one lesson finished
    for name in ("study", "terminals"):
        sheet = load_workbook(io.BytesIO(s.get(hub.url + f"/exports/{DEMO}/{name}.xlsx")
                                         .content)).active
        assert sheet.max_row >= 2, name


def test_exports_keep_to_the_operators_scope(hub):
    town, _ = login(hub, "demo-town")
    county, _ = login(hub, "demo-county")
    r = town.get(hub.url + "/exports/BS-1/members.csv")
    assert r.status_code == 403 and "没有权限" in r.text
    assert town.get(hub.url + "/exports/BS-1/members.csv",
                    headers={"Accept": "application/json"}).status_code == 403
    assert county.get(hub.url + "/exports/BS-1/members.csv").status_code == 200
    assert town.get(hub.url + "/exports/trail.csv").status_code == 403
    trail = _csv_rows(county.get(hub.url + "/exports/trail.csv").content)
    assert trail[0][:3] == ["序号", "时间", "操作员"] and len(trail) > 3
    assert town.get(hub.url + f"/exports/{DEMO}/nothing.csv").status_code == 400
    assert town.get(hub.url + f"/exports/{DEMO}/members.pdf").status_code == 400
    page = town.get(hub.url + "/exports").text
    assert f"/exports/{DEMO}/payments.xlsx" in page and "BS-1" not in page
    assert "/exports/trail.csv" not in page and "/exports/trail.csv" in county.get(
        hub.url + "/exports").text
    assert town.get(hub.url + "/exports?branch=BS-1").status_code == 403
    signed_out = requests.get(hub.url + f"/exports/{DEMO}/members.csv", allow_redirects=False)
    assert signed_out.status_code == 303
    # Only what was handed out is on the trail: the refused tries are not exports.
    done = [(a["operator"], a["subject"]) for a in _actions(hub, "export.downloaded")]
    assert sorted(done) == [("demo-county", "branch:BS-1"), ("demo-county", "hub")]


def test_the_member_page_shows_dues_study_consents_and_is_on_the_trail(hub):
    town, _ = login(hub, "demo-town")
    branch_page = town.get(hub.url + f"/branch/{DEMO}").text
    assert f'href="/branch/{DEMO}/member/QS004"' in branch_page
    r = town.get(hub.url + f"/branch/{DEMO}/member/QS004")
    assert r.status_code == 200
    page = r.text
    assert "党费记录" in page and "现金当面交纳" in page and "李春梅（S02）" in page
    assert "学完的课程：党费怎么交，交多少</p>" in page and "接到这些电话，马上挂断" in page
    assert "工作人员见证" in page and "王志刚（S01）" in page and "保存党费和学习记录" in page
    data = town.get(hub.url + f"/branch/{DEMO}/member/QS004",
                    headers={"Accept": "application/json"}).json()
    assert data["member"]["member_no"] == "QS004" and data["study"]["hours"] == "0.58"
    assert all(e["receipt_no"] and e["confirmed_by"] for e in data["dues"]["entries"])
    assert len(data["dues"]["months_owed"]) == 3            # owes 2 months + this one
    for text in (page, str(data)):
        assert "pin_hash" not in text and "$argon2" not in text
    viewed = _actions(hub, "member.viewed")
    assert len(viewed) == 2 and {(a["operator"], a["source"], a["subject"]) for a in viewed} \
        == {("demo-town", "127.0.0.1", f"member:{DEMO}/QS004")}
    log = town.get(hub.url + "/log").text
    assert "member.viewed" in log and f"member:{DEMO}/QS004" in log
    other, _ = login(hub, "bs-town", "baisha-pass-1")
    assert other.get(hub.url + f"/branch/{DEMO}/member/QS004").status_code == 403
    assert town.get(hub.url + f"/branch/{DEMO}/member/QS999").status_code == 404
    assert len(_actions(hub, "member.viewed")) == 2         # refused opens are not views


def test_a_corrected_payment_shows_on_the_member_page_with_its_reason(hub, demo_store):
    town, _ = login(hub, "demo-town")
    data = town.get(hub.url + f"/branch/{DEMO}/member/QS002",
                    headers={"Accept": "application/json"}).json()
    entries = data["dues"]["entries"]
    fix = entries[-1]
    assert (fix["kind_zh"], fix["note"]) == ("更正", "重复收取，已退还")
    assert fix["amount_fen"] == -entries[-2]["amount_fen"] < 0
    assert fix["amount_yuan"].startswith("-")
    assert sum(e["amount_fen"] for e in entries) == sum(
        e["amount_fen"] for e in dues.history(demo_store, "QS002"))
    page = town.get(hub.url + f"/branch/{DEMO}/member/QS002").text
    assert "重复收取，已退还" in page and fix["amount_yuan"] in page


@pytest.mark.parametrize("year, last", [(2026, "2026-11"), (2025, "2025-12")])
def test_the_yearly_summary_equals_the_trend_and_prints(hub, year, last):
    town, _ = login(hub, "demo-town")
    data = town.get(hub.url + f"/branch/{DEMO}/summary/{year}",
                    headers={"Accept": "application/json"}).json()
    trend = report.trend(hub.storage, DEMO, last, months=int(last[5:]))
    assert [(m["month"], m["expected_fen"], m["collected_fen"]) for m in data["months"]] == \
        [(t["month"], t["expected_fen"], t["collected_fen"]) for t in trend]
    assert data["totals"]["expected_fen"] == sum(t["expected_fen"] for t in trend) > 0
    assert data["totals"]["collected_fen"] == sum(t["collected_fen"] for t in trend) > 0
    rep = report.build(hub.storage, DEMO, last)
    members = data["members"]
    assert members["behind"] == len(rep["members_behind"])
    assert members["paid_up"] + members["behind"] == rep["members"]["active"]
    page = town.get(hub.url + f"/branch/{DEMO}/summary/{year}").text
    assert f"清水村党支部{year}年党费收缴情况" in page and "/static/exports.css" in page
    assert data["totals"]["collected_yuan"] in page and "data-print" in page
    if year == 2026:
        assert data["totals"]["voluntary_fen"] == 5000 and "自愿多交" in page


def test_the_summary_refuses_other_townships_and_odd_years(hub):
    town, _ = login(hub, "demo-town")
    assert town.get(hub.url + "/branch/BS-1/summary/2026").status_code == 403
    assert town.get(hub.url + f"/branch/{DEMO}/summary/2031").status_code == 400
    assert town.get(hub.url + f"/branch/{DEMO}/summary/nian").status_code == 400
    r = town.get(hub.url + f"/branch/{DEMO}/summary", allow_redirects=False)
    assert r.headers["location"] == f"/branch/{DEMO}/summary/2026"
    css = town.get(hub.url + "/static/exports.css").text
    assert "@media print" in css and "size: A4" in css


def test_the_cli_writes_the_same_file_and_summary_as_the_console(hub, tmp_path):
    """``lianxin hub export|summary|member-record`` call the console's functions."""
    town, _ = login(hub, "demo-town")
    db = str(hub.storage.path)

    def run(*args):
        r = CliRunner().invoke(cli, ["hub", "--db", db, *args])
        assert r.exit_code == 0, r.output
        return r.output

    out = tmp_path / "payments.csv"
    said = run("export", "--branch", DEMO, "--table", "payments", "--format", "csv",
               "--out", str(out))
    assert "已导出党费交纳记录" in said and str(out) in said
    assert out.read_bytes() == town.get(hub.url + f"/exports/{DEMO}/payments.csv").content
    xlsx = tmp_path / "trail.xlsx"
    run("export", "--table", "trail", "--format", "xlsx", "--out", str(xlsx))
    assert load_workbook(xlsx).active["A1"].value == "序号"
    r = CliRunner().invoke(cli, ["hub", "--db", db, "export", "--table", "members",
                                 "--format", "csv", "--out", str(out)])
    assert r.exit_code == 2 and "--branch" in r.output
    summary = json.loads(run("summary", "--branch", DEMO, "--year", "2026", "--json"))
    page = town.get(hub.url + f"/branch/{DEMO}/summary/2026",
                    headers={"Accept": "application/json"}).json()
    assert summary["months"] == page["months"] and summary["totals"] == page["totals"]
    assert "收缴率" in run("summary", "--branch", DEMO, "--year", "2026")
    shown = run("member-record", "--branch", DEMO, "QS004")
    assert "QS004" in shown and "现金当面交纳" in shown and "$argon2" not in shown
    by_cli = [(a["action"], a["subject"]) for a in operators.trail(hub.storage)["actions"]
              if a["operator"].startswith("cli")]
    assert sorted(by_cli) == [("export.downloaded", "branch:DEMO-QSC"),
                              ("export.downloaded", "hub"),
                              ("member.viewed", "member:DEMO-QSC/QS004")]
