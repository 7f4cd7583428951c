"""The export service without HTTP (sync.hub.exports, yearly, member_record and the
console's views over them): CSV and XLSX encodings, exact money, formula guard, scope and
the trail. Over HTTP and in the browser: tests/test_console_exports.py,
tests/test_console_browser_exports.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core.clock import CST, FixedClock
from core.errors import InvalidInput, NotFound
from sync.hub import admin, exports, operators, yearly
from sync.hub.console import views_exports, views_member
from sync.hub.operators import Actor, Forbidden

CLOCK = FixedClock(datetime(2026, 11, 15, 10, 0, tzinfo=CST))
T = exports.Table("payments", "党费交纳记录",
                  [("姓名", exports.TEXT), ("金额（元）", exports.YUAN), ("次数", exports.INT),
                   ("小时", exports.DECIMAL)],
                  [("张三丰", 30, 2, Decimal("0.58")), ("=HYPERLINK(\"x\")", -1250, 0,
                                                       Decimal("0.00")),
                   ("@李四", None, None, None)])


@pytest.fixture
def hub(hub_storage):
    admin.load_demo(hub_storage, people=True, clock=CLOCK)
    admin.create_branch(hub_storage, code="BS-1", name="白沙社区党支部", township="白沙镇")
    return hub_storage


def _op(hub, username):
    return hub.get_operator(username)


def test_csv_is_utf8_with_a_bom_crlf_rows_exact_yuan_and_no_formulas():
    body = exports.to_csv(T)
    assert body.startswith(b"\xef\xbb\xbf") and b"\r\n" in body
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [["姓名", "金额（元）", "次数", "小时"], ["张三丰", "0.30", "2", "0.58"],
                    ["'=HYPERLINK(\"x\")", "-12.50", "0", "0.00"], ["'@李四", "", "", ""]]


def test_xlsx_money_is_an_exact_decimal_shown_with_two_places_and_text_stays_text():
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(T))).active
    assert sheet.title == "党费交纳记录" and sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == ["姓名", "金额（元）", "次数", "小时"]
    assert sheet["A1"].font.b
    assert sheet["B2"].value == 0.3 and sheet["B2"].number_format == "0.00"
    assert sheet["B3"].value == -12.5 and sheet["C3"].value == 0
    assert sheet["A3"].data_type == "s" and sheet["A3"].value.startswith("'=")
    assert sheet["B4"].value is None


def test_an_export_is_refused_outside_the_scope_and_leaves_no_trail(hub):
    town = _op(hub, "demo-town")
    before = len(operators.trail(hub, limit=1000)["actions"])
    with pytest.raises(Forbidden):
        views_exports.download(hub, town, Actor("demo-town", "10.0.0.9"), "BS-1",
                               "members.csv", clock=CLOCK)
    with pytest.raises(Forbidden):
        views_exports.download(hub, town, Actor("demo-town", "10.0.0.9"), None,
                               "trail.xlsx", clock=CLOCK)
    with pytest.raises(InvalidInput):
        views_exports.download(hub, town, Actor("demo-town"), "DEMO-QSC", "members",
                               clock=CLOCK)
    assert len(operators.trail(hub, limit=1000)["actions"]) == before
    done = views_exports.download(hub, town, Actor("demo-town", "10.0.0.9"), "DEMO-QSC",
                                  "members.csv", clock=CLOCK)
    assert done.rows == 34 and done.filename == "DEMO-QSC-members-2026-11-15.csv"
    assert done.disposition.endswith("filename*=UTF-8''%E6%B8%85%E6%B0%B4%E6%9D%91%E5%85%9A"
                                     "%E6%94%AF%E9%83%A8-%E5%85%9A%E5%91%98%E5%90%8D%E5%8D%95"
                                     "-2026-11-15.csv")
    last = operators.trail(hub, limit=1)["actions"][0]
    assert (last["action"], last["source"], last["subject"]) == (
        "export.downloaded", "10.0.0.9", "branch:DEMO-QSC")


def test_the_export_page_offers_the_branches_in_scope_and_the_trail_to_the_county(hub):
    town = views_exports.page(hub, _op(hub, "demo-town"), clock=CLOCK)
    assert [b["code"] for b in town["branches"]] == ["DEMO-QSC"] and not town["trail"]
    assert town["chosen"]["code"] == "DEMO-QSC" and town["years"] == [2026, 2025]
    county = views_exports.page(hub, _op(hub, "demo-county"), "BS-1", clock=CLOCK)
    assert county["chosen"]["code"] == "BS-1" and county["trail"]
    assert [t["name"] for t in county["tables"]] == list(exports.BRANCH_TABLES)


def test_a_branch_secretary_reads_a_member_and_the_view_is_recorded(hub):
    operators.add(hub, Actor("test"), username="qs-sec", name="王书记",
                  role="branch_secretary", branch="DEMO-QSC", password="qingshui-pass-1")
    sec = _op(hub, "qs-sec")
    out = views_member.member(hub, sec, Actor("qs-sec", "10.0.0.7"), "DEMO-QSC", "QS001",
                              clock=CLOCK)
    assert out["member"]["name"] == "张三丰" and out["member"]["category_zh"] == "离退休"
    assert "pin_hash" not in str(out) and "phones" not in out["member"]
    last = operators.trail(hub, limit=1)["actions"][0]
    assert (last["operator"], last["action"], last["subject"], last["source"]) == (
        "qs-sec", "member.viewed", "member:DEMO-QSC/QS001", "10.0.0.7")
    with pytest.raises(NotFound):
        views_member.member(hub, sec, Actor("qs-sec"), "DEMO-QSC", "QS999", clock=CLOCK)
    with pytest.raises(Forbidden):
        views_member.member(hub, sec, Actor("qs-sec"), "BS-1", "QS001", clock=CLOCK)
    assert operators.trail(hub, limit=1)["actions"][0]["seq"] == last["seq"]


def test_the_summary_of_a_year_without_payments_and_of_a_year_to_come(hub):
    out = yearly.summary(hub, "BS-1", 2026, clock=CLOCK)
    assert len(out["months"]) == 11 and out["totals"]["collected_fen"] == 0
    assert out["totals"]["rate"] is None and out["members"]["active"] == 0
    assert not out["complete"] and yearly.summary(hub, "BS-1", 2025, clock=CLOCK)["complete"]
    with pytest.raises(InvalidInput):
        yearly.summary(hub, "BS-1", 2027, clock=CLOCK)
    with pytest.raises(NotFound):
        yearly.summary(hub, "NO-SUCH", 2026, clock=CLOCK)
    with pytest.raises(InvalidInput):
        views_exports.summary(hub, _op(hub, "demo-county"), "BS-1", "26", clock=CLOCK)


def test_a_members_months_owed_are_the_reports_own(hub, tmp_path, demo_store):
    """The member page counts one member's rows; it must agree with report.build for
    every member (a fresh demo terminal's history, read in as the hub reads a push)."""
    from core import outbox
    from sync.hub import conflicts, member_record, report

    for ev in outbox.journaled(demo_store, ("dues.dues", "dues.voluntary",
                                            "dues.correction")):
        entry = json.loads(ev["payload"])["entry_id"]
        hub.append_log(branch="DEMO-QSC", origin="T-test", event_id=entry,
                       type=ev["type"], payload=ev["payload"], at=ev["at"])
    conflicts.catch_up(hub)
    rep = report.build(hub, "DEMO-QSC", "2026-11")
    behind = {m["member_no"]: (m["months_owed"], m["amount_owed_fen"])
              for m in rep["members_behind"]}
    assert len(behind) >= 5
    for m in hub.report_members("DEMO-QSC"):
        owed = member_record.months_owed(hub, "DEMO-QSC", m, "2026-11")
        assert ((owed["months_owed"], owed["amount_owed_fen"]) if owed else ([], 0)) == \
            behind.get(m["member_no"], ([], 0)), m["member_no"]
