"""Reading a roster file: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16) or XLSX, into
rows keyed by the file's own header text, each with the row number a person sees in Excel
or WPS (the header is row 1, or the row it is really on under a title row; blank rows count).

Header matching ignores case, spaces, a ``*`` marking a required column and a unit in
brackets (``月收入（元）``). What the values mean is :mod:`core.roster_import`'s business.

A roster is small, so a file that is not is refused before it costs memory or time: an
XLSX (a zip) whose parts would unpack past :data:`MAX_XLSX_PART` each or
:data:`MAX_XLSX_TOTAL` together (a "zip bomb": 400 KB that unpacks to 400 MB) is refused
before openpyxl opens it, and so is any cell longer than :data:`MAX_CELL` characters.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

from .errors import InvalidInput, LianxinError, NotFound

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 10000
HEADER_SCAN_ROWS = 10  # a title row or two may sit above the header
MAX_XLSX_PART = 20 * 1024 * 1024   # bytes, one part of an .xlsx, unpacked
MAX_XLSX_TOTAL = 50 * 1024 * 1024  # bytes, all its parts together, unpacked
MAX_XLSX_PARTS = 1000              # parts in one .xlsx
MAX_CELL = 2000                    # characters in one cell (a name, a phone list, a long 备注)
MAX_COLUMNS = 200                  # cells in one row, up to its last filled one
_ODD_FILE_ZH = "表格文件太大或内容异常，请检查后重新导出。"

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

_ALIAS_TO_FIELD = {a.lower(): f for f, aliases in FIELDS.items() for a in aliases}
SPACES = re.compile(r"[\s\u3000]+")
_UNIT = re.compile(r"[(（][^)）]*[)）]$")


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
    _check_zip_sizes(data, name, bad)
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
            cells = list(row)
            while cells and cells[-1] is None:  # a stray far-right cell widens every row
                cells.pop()
            if len(cells) > MAX_COLUMNS:
                raise InvalidInput(f"{name}: row {i} has more than {MAX_COLUMNS} columns",
                                   _ODD_FILE_ZH)
            grid.append((i, cells))
        return grid
    except LianxinError:
        raise
    except Exception as e:
        raise bad from e
    finally:
        wb.close()


def _check_zip_sizes(data: bytes, name: str, bad: InvalidInput) -> None:
    """Refuse an .xlsx whose parts would unpack too large, from the sizes its zip directory
    declares (zipfile never unpacks a part past its declared size, so they bind)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            parts = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise bad from e
    total = sum(info.file_size for info in parts)
    biggest = max((info.file_size for info in parts), default=0)
    if len(parts) > MAX_XLSX_PARTS or biggest > MAX_XLSX_PART or total > MAX_XLSX_TOTAL:
        raise InvalidInput(f"{name}: the workbook unpacks too large ({len(parts)} parts, "
                           f"{total} bytes, the largest {biggest}; at most {MAX_XLSX_PARTS}, "
                           f"{MAX_XLSX_TOTAL} and {MAX_XLSX_PART})", _ODD_FILE_ZH)


def _check_cells(grid: list[tuple[int, list]], name: str) -> None:
    for i, row in grid:
        for j, v in enumerate(row):
            if isinstance(v, str) and len(v) > MAX_CELL:
                raise InvalidInput(f"{name}: row {i}, column {j + 1}: a cell longer than "
                                   f"{MAX_CELL} characters",
                                   f"第{i}行第{j + 1}列的内容太长（超过{MAX_CELL}个字），"
                                   "表格文件内容异常，请检查后重新导出。")


def _too_many(name: str) -> InvalidInput:
    return InvalidInput(f"{name}: more than {MAX_ROWS} rows", f"文件超过{MAX_ROWS}行，请分开导入。")


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sheet(grid: list[tuple[int, list]], name: str) -> Sheet:
    _check_cells(grid, name)
    filled = [(i, row) for i, row in grid if any(not blank(v) for v in row)]
    if not filled:
        raise InvalidInput(f"{name}: the file is empty", "文件是空的，没有内容。")
    header_at = 0
    for k, (_, row) in enumerate(filled[:HEADER_SCAN_ROWS]):
        if sum(1 for v in row if field_of(v)) >= 2:
            header_at = k
            break
    header_row, raw_header = filled[header_at]
    header, seen = [], {}
    for v in raw_header:
        h = "" if v is None else SPACES.sub(" ", str(v)).strip()
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
            elif not blank(v):  # a value under no header: keep it so it is not lost silently
                record[f"#col{j + 1}"] = v
        rows.append(record)
    return Sheet(rows, header=[h for h in header if h], header_row=header_row)


def _header_key(text) -> str:
    if text is None:
        return ""
    t = re.sub(r"#\d+$", "", str(text))
    t = SPACES.sub("", t).strip("*＊:：").lower()
    return _UNIT.sub("", t).strip("*＊")


def field_of(header) -> str | None:
    return _ALIAS_TO_FIELD.get(_header_key(header))
