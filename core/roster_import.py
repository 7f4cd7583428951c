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

import csv
import io
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from . import audit, dues_rules, members
from . import branch as branch_mod
from .clock import add_months, month_of, months_between, parse_month
from .errors import InvalidInput, LianxinError, NotFound
from .money import yuan_to_fen

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 10000
HEADER_SCAN_ROWS = 10  # a title row or two may sit above the header

# Canonical field -> header aliases (compared after _header_key()).
FIELDS: dict[str, tuple[str, ...]] = {
    "member_no": ("member_no", "党员编号", "编号", "党员号"),
    "name": ("name", "姓名", "党员姓名"),
    "category": ("category", "类别", "党员类别", "人员类别"),
    "income_yuan": ("income_yuan", "income", "月收入", "工资", "养老金", "税后工资", "离退休费"),
    "farmer_yuan": ("farmer_yuan", "农民党费"),
    "joined": ("joined", "入党日期", "入党时间"),
    "probation": ("probation", "预备党员"),
    "phones": ("phones", "phone", "电话", "手机", "联系电话", "手机号"),
    "paid_through": ("paid_through", "党费交至", "党费缴至", "已交至"),
}
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

_ALIAS_TO_FIELD = {a.lower(): f for f, aliases in FIELDS.items() for a in aliases}
_SPACES = re.compile(r"[\s\u3000]+")
_UNIT = re.compile(r"[(（][^)）]*[)）]$")
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


class Sheet(list):
    """The rows of a file (a list of dicts keyed by header text, plus ``_row``) with its header."""

    def __init__(self, rows=(), *, header: list[str] | None = None, header_row: int = 1):
        super().__init__(rows)
        self.header = list(header or [])
        self.header_row = header_row


# -- reading ------------------------------------------------------------------------------

def read_rows(path) -> Sheet:
    """Read a CSV (UTF-8, UTF-8 with BOM, UTF-16 with BOM, or GBK/GB18030) or an XLSX file
    (first sheet). Returns a :class:`Sheet`: dicts keyed by the header text as written (a
    repeated header gets ``#2``…), each with ``_row``; fully blank rows are left out.
    Raises :class:`InvalidInput` (or :class:`NotFound`) when the file cannot be read."""
    p = Path(path)
    if not p.exists():
        raise NotFound(f"no such file: {p}", f"找不到这个文件：{p.name}")
    if not p.is_file():
        raise InvalidInput(f"not a file: {p}", f"这不是一个文件：{p.name}")
    suffix = p.suffix.lower()
    if suffix == ".xls":
        raise InvalidInput(f"{p.name}: old .xls workbooks are not supported; save as .xlsx or CSV",
                           "不支持旧版Excel（.xls）文件，请在Excel或WPS里另存为.xlsx或CSV后再导入。")
    if suffix not in CSV_SUFFIXES + XLSX_SUFFIXES:
        raise InvalidInput(f"{p.name}: unknown file type {suffix or '(none)'}; use .csv or .xlsx",
                           "文件类型不对，只能导入CSV或Excel（.xlsx）文件。")
    if p.stat().st_size > MAX_BYTES:
        raise InvalidInput(f"{p.name}: file larger than {MAX_BYTES // (1024 * 1024)} MB",
                           "文件太大了，请检查是不是选错了文件。")
    data = p.read_bytes()
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: an .xls, or an .xlsx with a password
        raise InvalidInput(f"{p.name}: an old .xls or a password-protected workbook",
                           "这个文件是旧版Excel文件或设置了密码，请去掉密码、另存为.xlsx或CSV后再导入。")
    if data.startswith(b"PK\x03\x04"):  # a zip: an .xlsx, whatever its name says
        grid = _xlsx_grid(data, p.name)
    elif suffix in XLSX_SUFFIXES:
        raise InvalidInput(f"{p.name}: not an .xlsx workbook (damaged or renamed)",
                           "这个Excel文件已损坏或不是真正的.xlsx文件，请重新导出后再试。")
    else:
        grid = _csv_grid(_decode(data, p.name), p.name)
    return _sheet(grid, p.name)


def _decode(data: bytes, name: str) -> str:
    if not data.strip():
        raise InvalidInput(f"{name}: the file is empty", "文件是空的，没有内容。")
    text = None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" is UTF-16
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = None
    elif b"\x00" not in data:
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
    if text is None or _looks_binary(text):
        raise InvalidInput(f"{name}: not a text file in UTF-8 or GBK",
                           "文件不是UTF-8或GBK编码的表格文字，请用Excel或WPS另存为CSV或.xlsx后再导入。")
    return text


def _looks_binary(text: str) -> bool:
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n")
    return controls > 0 and controls * 100 > len(text)  # more than 1% control characters


def _csv_grid(text: str, name: str) -> list[tuple[int, list]]:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        return [(i, row) for i, row in enumerate(csv.reader(io.StringIO(text, newline=""),
                                                            delimiter=delimiter), start=1)]
    except csv.Error as e:
        raise InvalidInput(f"{name}: not a readable CSV: {e}",
                           "CSV文件格式有问题，请用Excel或WPS重新另存为CSV后再导入。") from e


def _xlsx_grid(data: bytes, name: str) -> list[tuple[int, list]]:
    import openpyxl  # imported here: only imports need it, and it is slow to load

    bad = InvalidInput(f"{name}: the workbook is damaged or incomplete",
                       "这个Excel文件已损坏或不完整，打不开。请重新导出或另存为CSV后再导入。")
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds on a damaged file
        raise bad from e
    try:
        if not wb.worksheets:
            raise InvalidInput(f"{name}: the workbook has no sheet", "这个Excel文件里没有工作表。")
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # trust the cells, not a stale <dimension> tag
        grid = []
        for i, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            if i > MAX_ROWS + HEADER_SCAN_ROWS:
                raise _too_many(name)
            grid.append((i, list(row)))
        return grid
    except LianxinError:
        raise
    except Exception as e:
        raise bad from e
    finally:
        wb.close()


def _too_many(name: str) -> InvalidInput:
    return InvalidInput(f"{name}: more than {MAX_ROWS} rows", f"文件超过{MAX_ROWS}行，请分开导入。")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sheet(grid: list[tuple[int, list]], name: str) -> Sheet:
    filled = [(i, row) for i, row in grid if any(not _blank(v) for v in row)]
    if not filled:
        raise InvalidInput(f"{name}: the file is empty", "文件是空的，没有内容。")
    header_at = 0
    for k, (_, row) in enumerate(filled[:HEADER_SCAN_ROWS]):
        if sum(1 for v in row if _field_of(v)) >= 2:
            header_at = k
            break
    header_row, raw_header = filled[header_at]
    header, seen = [], {}
    for v in raw_header:
        h = "" if v is None else _SPACES.sub(" ", str(v)).strip()
        seen[h] = seen.get(h, 0) + 1
        header.append(h if seen[h] == 1 else f"{h}#{seen[h]}")
    rows = []
    for i, row in filled[header_at + 1:]:
        if len(rows) >= MAX_ROWS:
            raise _too_many(name)
        record = {"_row": i}
        for j, v in enumerate(row):
            if j < len(header) and header[j]:
                record[header[j]] = v.strip() if isinstance(v, str) else v
            elif not _blank(v):  # a value under no header: keep it so it is not lost silently
                record[f"#col{j + 1}"] = v
        rows.append(record)
    return Sheet(rows, header=[h for h in header if h], header_row=header_row)


def _header_key(text) -> str:
    if text is None:
        return ""
    t = re.sub(r"#\d+$", "", str(text))
    t = _SPACES.sub("", t).strip("*＊:：").lower()
    return _UNIT.sub("", t).strip("*＊")


def _field_of(header) -> str | None:
    return _ALIAS_TO_FIELD.get(_header_key(header))


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


def validate(store, rows) -> tuple[list[dict], list[RowProblem]]:
    """Check every row. Returns the good rows as keyword arguments for ``members.add`` (without
    ``actor``) and every problem found, in row order."""
    good, problems = _validate(store, rows)
    return [kw for _, kw in good], problems


def _validate(store, rows) -> tuple[list[tuple[int, dict]], list[RowProblem]]:
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
                actor: str) -> ImportReport:
    """Import a roster file. With any problem nothing is added unless ``skip_bad_rows`` (then
    the good rows are). ``dry_run`` only checks. Everything happens in one transaction."""
    rows = read_rows(path)
    n = len(rows)
    added: list[str] = []
    problems: list[RowProblem] = []
    try:
        with store.transaction():
            good, problems = _validate(store, rows)
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
