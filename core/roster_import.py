"""Roster import: a branch's member list from a CSV or XLSX file, checked row by row.

    read_rows()    the file as dicts keyed by its own header text, each with its sheet row
    validate()     every rule, every row: normalized rows ready for ``members.add`` + problems
    import_file()  read, validate, and add the good rows in one transaction

Row numbers are the ones a person sees in Excel or WPS: the header is row 1 (or the row it
is really on, when a title row sits above it), and blank rows still count.

Headers may be English or Chinese (``member_no`` / 党员编号 / 编号 …); matching ignores case,
spaces, a ``*`` marking a required column and a unit in brackets (``月收入（元）``). Columns
the import does not know (性别, 备注 …) are ignored.

The rules themselves live in :mod:`core.members`, :mod:`core.dues_rules` and
:mod:`core.money`; this module only turns what a spreadsheet holds (GBK text, number cells,
Excel dates, ``2026/5/1``, ``是/否``) into the values they check. Each row that passes is then
rehearsed through ``members.add`` inside a savepoint that is always rolled back, so a row
reported as good is one ``members.add`` accepts.

With any problem the import adds nothing unless ``skip_bad_rows``. No PINs are set: members
get one later at the terminal, with staff.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from . import audit, dues_rules, members
from . import branch as branch_mod
from .clock import add_months, month_of, months_between, parse_month
from .errors import InvalidInput, LianxinError
from .money import yuan_to_fen
from .roster_file import (  # noqa: F401  (read_rows and Sheet are part of this module's API)
    FIELDS,
    Sheet,
    read_rows,
)
from .roster_file import SPACES as _SPACES
from .roster_file import blank as _blank
from .roster_file import field_of as _field_of

REQUIRED = ("member_no", "name", "category")
FIELD_ZH = {
    "member_no": "党员编号", "name": "姓名", "category": "类别", "income_yuan": "月收入",
    "farmer_yuan": "农民党费", "joined": "入党日期", "probation": "预备党员", "phones": "电话",
    "paid_through": "党费交至",
}

CATEGORY_ALIASES: dict[str, str] = {
    **{k: k for k in dues_rules.CATEGORIES},
    **{zh: k for k, zh in dues_rules.CATEGORIES.items()},
    "退休": "retired", "离休": "retired", "失业": "unemployed", "救济": "relief",
    "抚恤": "relief", "低保": "subsistence",
}
_YES = {"是", "yes", "y", "true", "1", "√", "✓", "预备", "预备党员"}
_NO = {"否", "no", "n", "false", "0", "", "正式", "正式党员"}

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_DATE8 = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_PHONE_SEP = re.compile(r"[;；,，、/]+")
_BETWEEN_HANZI = re.compile(r"(?<=[\u3400-\u9fff])[\s\u3000]+(?=[\u3400-\u9fff])")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


# -- report -------------------------------------------------------------------------------

@dataclass
class RowProblem:
    row: int                 # the sheet row a person sees (header = row 1)
    column: str | None       # the column's header as written in the file (or the field name)
    message: str             # English, for logs and --json
    message_zh: str          # what staff read
    field: str | None = None  # canonical field (member_no, name, …); None for a whole row/file

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ImportReport:
    """``imported`` counts members really added (0 in a dry run); ``member_nos`` lists them,
    or in a dry run those that would be added; ``skipped`` counts data rows not (to be) added."""

    rows: int
    imported: int
    skipped: int
    problems: list[RowProblem]
    dry_run: bool
    member_nos: list[str] = field(default_factory=list)

    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok(), "rows": self.rows, "imported": self.imported,
                "skipped": self.skipped, "dry_run": self.dry_run, "member_nos": list(self.member_nos),
                "problems": [p.as_dict() for p in self.problems]}


# -- turning cells into values ------------------------------------------------------------

def _bad(detail: str, zh: str) -> InvalidInput:
    return InvalidInput(detail, zh)


def _text(value) -> str:
    """A cell as text: a number cell 1001 or 1001.0 is '1001'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return format(Decimal(str(value)), "f")
    return str(value).strip()


def _fen(value) -> int | None:
    """Yuan in a cell -> fen, through money.yuan_to_fen (never float arithmetic)."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise _bad(f"not an amount in yuan: {value!r}", "金额格式不对。")
    if isinstance(value, float):
        return yuan_to_fen(format(Decimal(str(value)), "f"))
    if isinstance(value, int):
        return yuan_to_fen(str(value))
    text = _SPACES.sub("", str(value)).lstrip("¥￥").removesuffix("元")
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    return yuan_to_fen(text)


def _excel_day(serial) -> date:
    from openpyxl.utils.datetime import from_excel

    return from_excel(serial).date()


def _date(value) -> str | None:
    """A date cell, 2026-05-01, 2026/5/1, 2026.5.1, 2026年5月1日 or 20260501 -> ISO."""
    if _blank(value):
        return None
    bad = _bad(f"joined date must be a date like 2026-05-01: {value!r}",
               "入党日期格式不对，应该像2026-05-01这样。")
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        raise bad
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not value.is_integer():
            raise bad
        n = int(value)
        if 1 <= n <= 2958465:  # an Excel serial day number left unformatted
            return _excel_day(n).isoformat()
        value = str(n)
    text = _SPACES.sub("", str(value))
    m = _DATE.match(text) or _DATE8.match(text)
    if not m:
        raise bad
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError as e:
        raise bad from e


def _month(value) -> str | None:
    """2026-10, 2026/10, 2026.10, 2026年10月 or a date cell -> 'YYYY-MM'."""
    if _blank(value):
        return None
    if isinstance(value, (datetime, date)):
        return f"{value.year:04d}-{value.month:02d}"
    text = _SPACES.sub("", _text(value))
    m = _MONTH.match(text)
    if m:
        text = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    parse_month(text)  # the rule lives in core.clock
    return text


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _bad(f"probation must be yes/no: {value!r}", "预备党员一栏请填“是”或“否”。")


def _phones(value) -> list[str]:
    """Several numbers separated by ; ， , 、 / or spaces; each must pass members.normalize_phone.
    A number written with spaces (0571 8800 1234) stays one number when it is a valid one."""
    if _blank(value):
        return []
    out = []
    for part in _PHONE_SEP.split(_text(value)):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(members.normalize_phone(part))
        except InvalidInput:
            out.extend(members.normalize_phone(p) for p in _SPACES.split(part) if p)
    return out


def _name(value) -> str:
    # Rosters often pad two-character names for alignment ("张  三"); the dot of a
    # minority name has several look-alikes.
    text = _BETWEEN_HANZI.sub("", _text(value))
    text = re.sub(r"[•・‧．.]", "·", text)
    return members._check_name(text)


def _member_no(value) -> str:
    text = _text(value)
    if not members._MEMBER_NO.match(text):
        raise _bad(f"member number must be 1-20 letters/digits: {text!r}", "党员编号格式不对。")
    return text


def _category(value) -> str:
    text = _SPACES.sub("", _text(value))
    cat = CATEGORY_ALIASES.get(text) or CATEGORY_ALIASES.get(text.lower())
    if cat is None:
        dues_rules.quote(text or "(blank)")  # raises the rule's own "党员类别不对"
    return cat


# -- validating ---------------------------------------------------------------------------

class _Rehearsal(Exception):
    """Raised to roll back a rehearsal of members.add."""


def validate(store, rows, *, taken=None) -> tuple[list[dict], list[RowProblem]]:
    """Check every row. Returns the good rows as keyword arguments for ``members.add`` (without
    ``actor``) and every problem found, in row order. ``taken`` (optional) is asked about each
    member number the store does not hold: a roster kept elsewhere (the hub's) answers with
    the error to report for a number it already has, or None."""
    good, problems = _validate(store, rows, taken)
    return [kw for _, kw in good], problems


def _validate(store, rows, taken=None) -> tuple[list[tuple[int, dict]], list[RowProblem]]:
    header = list(getattr(rows, "header", None) or dict.fromkeys(
        k for r in rows for k in r if k != "_row"))
    header_row = getattr(rows, "header_row", 1)
    columns: dict[str, list[str]] = {}
    for h in header:
        f = _field_of(h)
        if f:
            columns.setdefault(f, []).append(h)
    problems: list[RowProblem] = []
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        names_zh = "、".join(FIELD_ZH[f] for f in missing)
        problems.append(RowProblem(
            header_row, ", ".join(missing),
            f"missing required column(s): {', '.join(missing)}",
            f"缺少必填的列：{names_zh}。请在第一行写上列名。", None))
        return [], problems
    if not rows:
        problems.append(RowProblem(header_row, None, "the file has a header but no member rows",
                                   "文件里只有表头，没有党员数据。", None))
        return [], problems

    now = store.now()
    pay_ahead = _pay_ahead_limit(store)
    first_row_of: dict[str, int] = {}
    checked: list[tuple[int, dict, list[RowProblem]]] = []
    for k, rec in enumerate(rows):
        row = rec.get("_row") or header_row + 1 + k  # plain dicts: the k-th row under the header
        row_problems: list[RowProblem] = []

        def problem(f, err, _row=row, _out=row_problems):
            col = columns[f][0] if f in columns else f
            _out.append(RowProblem(_row, col, err.detail, err.zh, f))

        def cell(f, _rec=rec, _row=row, _out=row_problems):
            vals = [(h, _rec.get(h)) for h in columns.get(f, ())]
            vals = [(h, v) for h, v in vals if not _blank(v)]
            if f == "phones":
                return ";".join(_text(v) for _, v in vals) or None
            if len({_text(v) for _, v in vals}) > 1:
                cols = "、".join(h for h, _ in vals)
                _out.append(RowProblem(_row, vals[0][0],
                                       f"columns {', '.join(h for h, _ in vals)} disagree",
                                       f"{cols}几列填的不一样，请只留一个。", f))
            return vals[0][1] if vals else None

        def attempt(f, fn, value):
            try:
                return fn(value), True
            except LianxinError as e:
                problem(f, e)
                return None, False

        stray = [k for k in rec if k.startswith("#col")]
        if stray:
            row_problems.append(RowProblem(
                row, None, f"values in column(s) {', '.join(k[4:] for k in stray)}, which have no header",
                f"第{'、'.join(k[4:] for k in stray)}列有内容，但这一列没有列名，请检查这一行是不是错位了。",
                None))

        raw_no = cell("member_no")
        member_no = None
        if _blank(raw_no):
            problem("member_no", _bad("member number is blank", "党员编号没有填。"))
        else:
            member_no, _ = attempt("member_no", _member_no, raw_no)
        if member_no:
            key = member_no.upper()
            if key in first_row_of:
                problem("member_no", _bad(
                    f"member number {member_no} repeats row {first_row_of[key]}",
                    f"党员编号{member_no}和第{first_row_of[key]}行重复了。"))
            else:
                first_row_of[key] = row
                found = store.one("SELECT member_no FROM member WHERE member_no = ? "
                                  "COLLATE NOCASE", [member_no])
                if found:
                    problem("member_no", _bad(
                        f"member {found['member_no']} already exists on this terminal",
                        f"党员编号{found['member_no']}已经有了，不能重复导入。"))
                elif taken is not None and (err := taken(member_no)) is not None:
                    problem("member_no", err)

        raw_name = cell("name")
        if _blank(raw_name):
            problem("name", _bad("name is blank", "姓名没有填。"))
            name = None
        else:
            name, _ = attempt("name", _name, raw_name)

        raw_cat = cell("category")
        category = None
        if _blank(raw_cat):
            problem("category", _bad("category is blank", "党员类别没有填。"))
        else:
            category, _ = attempt("category", _category, raw_cat)

        income_fen = farmer_fen = None
        if category in ("employed", "retired", "farmer"):
            f = "farmer_yuan" if category == "farmer" else "income_yuan"
            amount, ok = attempt(f, _fen, cell(f))
            if ok:
                try:
                    dues_rules.quote(category, income_fen=amount if f == "income_yuan" else None,
                                     farmer_fen=amount if f == "farmer_yuan" else None)
                    income_fen, farmer_fen = ((amount, None) if f == "income_yuan"
                                              else (None, amount))
                except LianxinError as e:
                    problem(f, e)

        joined, _ = attempt("joined", _date, cell("joined"))
        if joined and date.fromisoformat(joined) > now.date():
            problem("joined", _bad(f"joined date {joined} is in the future",
                                   "入党日期不能晚于今天。"))
        probation, _ = attempt("probation", _flag, cell("probation"))
        phones, _ = attempt("phones", _phones, cell("phones"))

        paid_through, _ = attempt("paid_through", _month, cell("paid_through"))
        dues_from = None
        if paid_through:
            dues_from = add_months(paid_through, 1)
            ahead = months_between(month_of(now), paid_through)
            if joined and paid_through < add_months(joined[:7], -1):
                problem("paid_through", _bad(
                    f"paid through {paid_through} is before joining ({joined})",
                    "党费交至的月份早于入党时间，请核对。"))
            elif ahead > pay_ahead:
                problem("paid_through", _bad(
                    f"paid through {paid_through} is more than {pay_ahead} months ahead",
                    f"党费交至的月份超过了支部允许预交的{pay_ahead}个月，请核对。"))

        kwargs = {"member_no": member_no, "name": name, "category": category,
                  "income_fen": income_fen, "farmer_fen": farmer_fen, "joined": joined,
                  "probation": bool(probation), "phones": phones or [], "dues_from": dues_from}
        checked.append((row, kwargs, row_problems))

    good: list[tuple[int, dict]] = []
    for row, kwargs, row_problems in checked:
        if not row_problems:
            try:
                _rehearse(store, kwargs)
            except LianxinError as e:
                row_problems.append(RowProblem(row, None, e.detail, e.zh, None))
        if row_problems:
            problems.extend(row_problems)
        else:
            good.append((row, kwargs))
    return good, problems


def _pay_ahead_limit(store) -> int:
    try:
        return branch_mod.get(store).pay_ahead_limit
    except LianxinError:
        return 6


def _rehearse(store, kwargs: dict) -> None:
    """Run members.add for one row and roll it back: the last word on whether it is good."""
    try:
        with store.transaction():
            members.add(store, **kwargs, actor="import:check")
            raise _Rehearsal
    except _Rehearsal:
        pass


# -- importing ----------------------------------------------------------------------------

class _Abort(Exception):
    pass


def import_file(store, path, *, skip_bad_rows: bool = False, dry_run: bool = False,
                actor: str, taken=None) -> ImportReport:
    """Import a roster file. With any problem nothing is added unless ``skip_bad_rows`` (then
    the good rows are). ``dry_run`` only checks. Everything happens in one transaction.
    ``taken``: see :func:`validate` (the hub checks its own roster this way)."""
    rows = read_rows(path)
    n = len(rows)
    added: list[str] = []
    problems: list[RowProblem] = []
    try:
        with store.transaction():
            good, problems = _validate(store, rows, taken)
            if problems and not skip_bad_rows:
                return ImportReport(n, 0, n, problems, dry_run)
            if dry_run:
                return ImportReport(n, 0, n - len(good), problems, True,
                                    [kw["member_no"] for _, kw in good])
            for row, kwargs in good:
                try:
                    members.add(store, **kwargs, actor=actor)
                    added.append(kwargs["member_no"])
                except LianxinError as e:  # validated a moment ago; kept as a row problem
                    problems.append(RowProblem(row, None, e.detail, e.zh, None))
                    if not skip_bad_rows:
                        raise _Abort from e
            problems.sort(key=lambda p: p.row)
            if added:
                audit.append(store, actor=actor, action="member.import",
                             subject=f"file:{Path(path).name}",
                             detail={"rows": n, "imported": len(added), "skipped": n - len(added)})
    except _Abort:
        return ImportReport(n, 0, n, problems, False)
    return ImportReport(n, len(added), n - len(added), problems, False, added)
