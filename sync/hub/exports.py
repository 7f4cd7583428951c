"""Every table an operator needs, per branch, as XLSX or CSV (the console's 导出 page and
``lianxin hub export``; both call :func:`export`).

    members      党员名单            the roster as the hub holds it (no PIN hash, no phones)
    payments     党费交纳记录        every payment: months, amount, method, receipt, who confirmed
    behind       欠交党费的党员      months still owed (this month included) and how much
    study        学习记录            every study sitting
    study_hours  学习时长（按党员）   sittings, hours and lessons finished per member
    terminals    终端                the branch's terminals
    trail        操作记录            the operators' action trail (the hub's, county admin only)

Headers are Chinese. Money is integer fen to the end and written as yuan with two decimals:
``fen_to_yuan`` text in CSV, an exact ``Decimal`` with the format ``0.00`` in XLSX (never a
float; the XLSX file is written by :mod:`sync.hub.xlsx_sheet`, 30-100 times faster than
openpyxl's writer, which the tests use to read it). CSV is UTF-8 with a byte-order mark, so Excel opens it as UTF-8. Text that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is written with a
leading apostrophe. Exporting is personal data leaving the hub: every export goes on the
operators' trail (``export.downloaded``: which table, format, rows).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from core.clock import default_clock, month_of
from core.dues_rules import CATEGORIES
from core.errors import InvalidInput, NotFound
from core.money import fen_to_yuan

from . import admin, member_record, operators, report, xlsx_sheet
from .storage import HubStorage

TEXT, INT, YUAN, DECIMAL = "text", "int", "yuan", "decimal"
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8"}
TITLES = {"members": "党员名单", "payments": "党费交纳记录", "behind": "欠交党费的党员",
          "study": "学习记录", "study_hours": "学习时长（按党员）", "terminals": "终端",
          "trail": "操作记录"}
BRANCH_TABLES = tuple(t for t in TITLES if t != "trail")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: list[tuple[str, str]]    # (header, kind)
    rows: list[tuple]


@dataclass(frozen=True)
class Export:
    body: bytes
    media_type: str
    filename: str          # ASCII, for old clients
    filename_zh: str       # UTF-8 (filename*)
    rows: int

    @property
    def disposition(self) -> str:
        return (f'attachment; filename="{self.filename}"; '
                f"filename*=UTF-8''{quote(self.filename_zh, safe='')}")


def _yes(flag) -> str:
    return "是" if flag else "否"


def _members(storage: HubStorage, code: str, year: int) -> Table:
    details = member_record.roster_details(storage, code)
    rates = {r["member_no"]: r["monthly_fen"] for r in storage.report_rates(code)
             if r["year"] == year}
    rows = []
    for m in storage.report_members(code):
        d = details.get(m["member_no"], {})
        rows.append((m["member_no"], m["name"],
                     CATEGORIES.get(d.get("category"), d.get("category") or ""),
                     d.get("joined", ""), _yes(d.get("probation")),
                     member_record.STATUSES.get(m["status"], m["status"]), m["dues_from"],
                     rates.get(m["member_no"]),
                     member_record.STATES.get(m["state"], m["state"])))
    return Table("members", TITLES["members"],
                 [("编号", TEXT), ("姓名", TEXT), ("类别", TEXT), ("入党日期", TEXT),
                  ("预备党员", TEXT), ("状态", TEXT), ("从哪个月交党费", TEXT),
                  (f"{year}年每月党费（元）", YUAN), ("名单", TEXT)], rows)


def _names(storage: HubStorage, code: str) -> dict[str, str]:
    return {m["member_no"]: m["name"] for m in storage.report_members(code)}


def _payments(storage: HubStorage, code: str) -> Table:
    names = _names(storage, code)
    rows = []
    for p in storage.export_payments(code):
        r = member_record.payment_row(p, names)
        rows.append((r["recorded_at"][:16].replace("T", " "), r["receipt_no"],
                     r["member_no"], r["name"], r["kind_zh"], "、".join(r["months"]),
                     r["amount_fen"], r["method_zh"], r["paid_by"] or "",
                     r["confirmed_by"], r["terminal_id"], r["note"] or ""))
    return Table("payments", TITLES["payments"],
                 [("记录时间", TEXT), ("收据号", TEXT), ("编号", TEXT), ("姓名", TEXT),
                  ("类型", TEXT), ("交的月份", TEXT), ("金额（元）", YUAN), ("交纳方式", TEXT),
                  ("代交人", TEXT), ("确认的工作人员", TEXT), ("终端", TEXT),
                  ("备注", TEXT)], rows)


def _behind(storage: HubStorage, code: str, month: str, clock) -> Table:
    rep = report.build(storage, code, month, clock=clock)
    rows = [(m["member_no"], m["name"], len(m["months_owed"]), "、".join(m["months_owed"]),
             m["amount_owed_fen"])
            for m in sorted(rep["members_behind"],
                            key=lambda m: (-len(m["months_owed"]), m["member_no"]))]
    return Table("behind", TITLES["behind"],
                 [("编号", TEXT), ("姓名", TEXT), ("欠几个月", INT), ("欠交的月份", TEXT),
                  ("欠多少（元）", YUAN)], rows)


def _study(storage: HubStorage, code: str) -> Table:
    names, titles = _names(storage, code), storage.lesson_titles(code)
    rows = [(s["started_at"][:16].replace("T", " "), s["member_no"],
             names.get(s["member_no"], ""), titles.get(s["lesson_id"], s["lesson_id"]),
             (s["seconds"] + 59) // 60, _yes(s["completed"]), s["terminal_id"])
            for s in storage.export_study(code)]
    return Table("study", TITLES["study"],
                 [("开始时间", TEXT), ("编号", TEXT), ("姓名", TEXT), ("课程", TEXT),
                  ("时长（分钟）", INT), ("学完", TEXT), ("终端", TEXT)], rows)


def _study_hours(storage: HubStorage, code: str) -> Table:
    per: dict[str, dict] = {}
    for s in storage.export_study(code):
        acc = per.setdefault(s["member_no"], {"sittings": 0, "seconds": 0, "done": set(),
                                              "last": ""})
        acc["sittings"] += 1
        acc["seconds"] += s["seconds"]
        acc["last"] = max(acc["last"], s["started_at"])
        if s["completed"]:
            acc["done"].add(s["lesson_id"])
    rows = []
    for m in storage.report_members(code):
        acc = per.get(m["member_no"], {"sittings": 0, "seconds": 0, "done": set(),
                                       "last": ""})
        rows.append((m["member_no"], m["name"], acc["sittings"],
                     member_record.hours(acc["seconds"]), len(acc["done"]),
                     acc["last"][:10]))
    return Table("study_hours", TITLES["study_hours"],
                 [("编号", TEXT), ("姓名", TEXT), ("学习次数", INT), ("学习时长（小时）", DECIMAL),
                  ("学完的课程数", INT), ("最近一次学习", TEXT)], rows)


def _terminals(storage: HubStorage, code: str) -> Table:
    rows = [(t["label"], t["terminal_id"], (t["enrolled_at"] or "")[:16].replace("T", " "),
             (t["last_seen"] or "从未")[:16].replace("T", " "), t["pending"],
             "正常" if t["chain"] == "ok" else "被拒绝", "正常" if t["clock"] == "ok" else "快了",
             _yes(t["revoked"]))
            for t in admin.list_terminals(storage, code)]
    return Table("terminals", TITLES["terminals"],
                 [("名称", TEXT), ("终端编号", TEXT), ("登记时间", TEXT), ("最后联系", TEXT),
                  ("待同步事件", INT), ("记录链", TEXT), ("时钟", TEXT), ("已停用", TEXT)], rows)


def _trail(storage: HubStorage) -> Table:
    rows = [(a["seq"], a["at"][:19].replace("T", " "), a["operator"], a["source"], a["action"],
             a["subject"], "" if a["detail"] in ("", "{}") else a["detail"])
            for a in reversed(storage.list_actions(limit=1 << 62))]
    return Table("trail", TITLES["trail"],
                 [("序号", INT), ("时间", TEXT), ("操作员", TEXT), ("地址", TEXT),
                  ("操作", TEXT), ("对象", TEXT), ("详情", TEXT)], rows)


def table(storage: HubStorage, code: str | None, name: str, *, clock=None) -> Table:
    """One table of branch ``code`` (the trail: the whole hub's), no scope check."""
    if name not in TITLES:
        raise InvalidInput(f"unknown table {name!r} (one of {', '.join(TITLES)})",
                           "没有这种表格。")
    if name == "trail":
        return _trail(storage)
    if not code or storage.get_branch(code) is None:
        raise NotFound(f"no branch {code!r} at this hub", "服务中心没有这个支部。")
    month = month_of((clock or default_clock()).now())
    if name == "members":
        return _members(storage, code, int(month[:4]))
    if name == "payments":
        return _payments(storage, code)
    if name == "behind":
        return _behind(storage, code, month, clock)
    if name == "study":
        return _study(storage, code)
    if name == "study_hours":
        return _study_hours(storage, code)
    return _terminals(storage, code)


def _text(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(t: Table) -> bytes:
    """UTF-8 with a byte-order mark (Excel), CRLF rows, money as yuan text."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([h for h, _ in t.columns])
    for row in t.rows:
        w.writerow([("" if v is None else fen_to_yuan(v)) if kind == YUAN
                    else ("" if v is None else str(v)) if kind in (INT, DECIMAL)
                    else _text(v) for v, (_, kind) in zip(row, t.columns, strict=True)])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(t: Table) -> bytes:
    """One sheet, header row bold and frozen; money as exact decimals shown ``0.00``
    (:mod:`sync.hub.xlsx_sheet`)."""
    widths = [(h, max(10, 2 * len(h) + 2) if kind != TEXT else max(12, 2 * len(h) + 4))
              for h, kind in t.columns]
    kinds = [kind for _, kind in t.columns]

    def cells(row):
        for v, kind in zip(row, kinds, strict=True):
            if v is None:
                yield None
            elif kind == YUAN:
                yield Decimal(int(v)).scaleb(-2)       # 1250 -> Decimal("12.50"), exact
            elif kind in (INT, DECIMAL):
                yield v
            else:
                yield _text(v)

    return xlsx_sheet.sheet(t.title, widths, (list(cells(row)) for row in t.rows))


def export(storage: HubStorage, actor: operators.Actor, code: str | None, name: str,
           fmt: str, *, operator: dict | None = None, clock=None) -> Export:
    """Table ``name`` of branch ``code`` as ``fmt`` (xlsx or csv), on the operators' trail.
    With ``operator`` (the console), only inside their scope (:class:`operators.Forbidden`
    otherwise; the trail only for a county admin); without (the CLI on the hub's own
    machine), any branch."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r} (xlsx or csv)", "只能导出XLSX或CSV文件。")
    if name == "trail":
        code = None
        if operator is not None and operator["role"] != "county_admin":
            raise operators.Forbidden(f"operator {operator['username']} may not export the "
                                      "trail", "只有县级管理员能导出全部操作记录。")
    elif operator is not None:
        operators.require_branch(storage, operator, code or "")
    t = table(storage, code, name, clock=clock)
    body = to_csv(t) if fmt == "csv" else to_xlsx(t)
    day = (clock or default_clock()).now().date().isoformat()
    if code:
        branch = storage.get_branch(code)
        ascii_name = f"{_ascii(code)}-{name}-{day}.{fmt}"
        zh_name = f"{branch['name']}-{t.title}-{day}.{fmt}"
    else:
        ascii_name, zh_name = f"hub-{name}-{day}.{fmt}", f"服务中心-{t.title}-{day}.{fmt}"
    operators.record(storage, actor, "export.downloaded",
                     f"branch:{code}" if code else "hub",
                     {"table": name, "format": fmt, "rows": len(t.rows)}, clock=clock)
    return Export(body, FORMATS[fmt], ascii_name, zh_name, len(t.rows))


def _ascii(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in text)


def catalogue(storage: HubStorage, operator: dict) -> dict:
    """What the operator may export: per branch in scope, each table in each format (the
    console's 导出 page), and the trail for a county admin."""
    names = {b["code"]: b for b in storage.branch_names()}
    return {"branches": [{"code": c, "name": names[c]["name"],
                          "township": names[c]["township"]}
                         for c in operators.branches_in_scope(storage, operator)],
            "tables": [{"name": t, "title": TITLES[t]} for t in BRANCH_TABLES],
            "formats": list(FORMATS), "trail": operator["role"] == "county_admin"}
