"""Exports, the member page and the printable yearly summary in a real browser (Debian's
chromium, headless, Playwright) against a real hub process: demo-town downloads a table
from the 导出 page and the file opens with openpyxl; the member page opens from the branch
page's member list and is on 操作记录; the summary renders, and printed (print media) it
has no navigation and large print."""

from __future__ import annotations

import csv
import io
import re

import pytest
from console_fixtures import sign_in
from openpyxl import load_workbook

from core import dues
from core.money import yuan_to_fen
from sync.hub import report

DEMO = "DEMO-QSC"




@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                  accept_downloads=True)
    yield context.new_page()
    context.close()


def test_demo_town_downloads_an_export_and_opens_it(console_hub, page, demo_store, tmp_path):
    sign_in(page, console_hub)
    page.get_by_role("link", name="导出").click()
    page.wait_for_url(console_hub.url + "/exports")
    assert "导出表格" in page.get_by_role("heading", level=1).inner_text()
    with page.expect_download() as info:
        page.get_by_role("link", name="下载党费交纳记录（XLSX）").click()
    download = info.value
    assert download.suggested_filename == "清水村党支部-党费交纳记录-2026-11-15.xlsx"
    path = tmp_path / "payments.xlsx"
    download.save_as(path)
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("记录时间", "收据号", "编号", "姓名")
    ledger = demo_store.all("SELECT receipt_no, amount_fen FROM ledger")
    assert sorted(r[1] for r in rows[1:]) == sorted(e["receipt_no"] for e in ledger)
    assert sum(yuan_to_fen(f"{r[6]:.2f}") for r in rows[1:]) == \
        sum(e["amount_fen"] for e in ledger)
    with page.expect_download() as info:
        page.get_by_role("link", name="下载欠交党费的党员（CSV）").click()
    csv_path = tmp_path / "behind.csv"
    info.value.save_as(csv_path)
    body = csv_path.read_bytes()
    assert body.startswith(b"\xef\xbb\xbf") and "欠几个月" in body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    rep = report.build(console_hub.storage, DEMO, "2026-11")
    assert {r[0] for r in rows[1:]} == {m["member_no"] for m in rep["members_behind"]}
    # QS008 owes 7 months before this one: 8 months, the terminal's own figure.
    owed = dues.status(demo_store, "QS008")
    qs008 = next(r for r in rows if r[0] == "QS008")
    assert qs008[2] == str(len(owed.months_owed)) == "8" and yuan_to_fen(qs008[4]) == owed.amount_owed_fen
    # Another township's branch is not on offer, and not to be had by its address.
    assert "白沙" not in page.content()
    response = page.goto(console_hub.url + "/exports?branch=BS-1")
    assert response.status == 403 and "没有权限" in page.get_by_role("alert").inner_text()


def test_the_member_page_opens_from_the_branch_and_is_on_the_trail(console_hub, page):
    sign_in(page, console_hub)
    page.goto(console_hub.url + f"/branch/{DEMO}")
    page.get_by_label("查找党员（姓名、编号或拼音首字母）").fill("QS004")
    page.get_by_role("button", name="查找").click()
    page.locator("table").last.get_by_role("link").first.click()
    page.wait_for_url(console_hub.url + f"/branch/{DEMO}/member/QS004")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert "QS004" in heading
    assert page.get_by_role("heading", name="党费记录").count() == 1
    assert "现金当面交纳" in page.locator("table").first.inner_text()
    assert "工作人员见证" in page.locator("table").last.inner_text()
    assert "argon2" not in page.content()
    page.get_by_role("link", name="操作记录").click()
    row = page.locator("table tbody tr").first
    assert "查看党员信息" in row.inner_text() and f"member:{DEMO}/QS004" in row.inner_text()


def test_the_yearly_summary_renders_and_prints_without_the_navigation(console_hub, page):
    sign_in(page, console_hub)
    page.goto(console_hub.url + f"/branch/{DEMO}")
    page.get_by_role("link", name="2026年党费收缴汇总（可打印）").click()
    page.wait_for_url(console_hub.url + f"/branch/{DEMO}/summary/2026")
    assert "清水村党支部2026年党费收缴情况" in page.get_by_role("heading", level=1).inner_text()
    assert page.locator("svg.chart rect").count() == 22        # 11 months × 2 bars
    assert page.locator("table.summary-table tbody tr").count() == 11
    assert page.get_by_role("navigation").is_visible()
    page.emulate_media(media="print")
    assert not page.get_by_role("navigation").is_visible()
    assert not page.get_by_role("button", name="打印").is_visible()
    size_pt = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") * 0.75
    assert size_pt >= 14
    pdf = page.pdf(prefer_css_page_size=True)      # the stylesheet's own @page: A4
    box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert pdf.startswith(b"%PDF") and box, pdf[:400]
    assert (round(float(box[1])), round(float(box[2]))) == (595, 842)   # A4 in points
