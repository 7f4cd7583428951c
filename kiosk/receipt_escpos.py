"""The printed dues receipt and the day sheet, as ESC/POS bytes.

Common Chinese thermal printers (58/80 mm, the Xprinter / Gprinter / HPRT kind of
firmware) print Hanzi only in their *Chinese character mode*, from double-byte GB codes:
``FS &`` enters that mode and the text is sent encoded as GB18030 (a superset of GBK and
GB2312, so names in GB2312 print on every one of them). python-escpos's "magic encoding"
chooses among single-byte code pages and cannot do this, so the bytes are built here, by
hand, and :mod:`kiosk.printer` only writes them to the device.

Nothing here needs Kivy or a printer: tests read the bytes directly. Layout is for the
narrow 58 mm paper (32 half-width columns, a Hanzi takes two); an 80 mm printer prints
the same lines with a wider margin.
"""

from __future__ import annotations

from datetime import datetime

from core.clock import CST, month_zh
from core.money import fen_to_yuan, fen_zh

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
INIT = ESC + b"@"                      # reset modes, clear the buffer
CHINESE_ON = FS + b"&"                 # Chinese character mode: GB double-byte codes
CHINESE_OFF = FS + b"."
ALIGN = {"left": ESC + b"a\x00", "center": ESC + b"a\x01"}
BOLD = {True: ESC + b"E\x01", False: ESC + b"E\x00"}
# GS ! sizes the ASCII characters, FS ! the Hanzi (Chinese mode keeps its own size).
SIZE = {False: GS + b"!\x00" + FS + b"!\x00", True: GS + b"!\x11" + FS + b"!\x0c"}
CUT = GS + b"V\x00"                    # full cut (python-escpos's PAPER_FULL_CUT)
ENCODING = "gb18030"
WIDTH = 32                             # half-width columns on 58 mm paper

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿")


def _group_capital(n: int) -> str:
    """0 < n < 10000 in capital numerals, zeros inside collapsed ("壹仟零伍")."""
    out, zero = "", False
    for i in range(3, -1, -1):
        d = n // 10 ** i % 10
        if d == 0:
            zero = bool(out)
        else:
            out += ("零" if zero else "") + _DIGITS[d] + _SMALL_UNITS[i]
            zero = False
    return out


def amount_capital(fen: int) -> str:
    """The amount in 大写 as written on Chinese receipts (会计基础工作规范 §52):
    90 -> 人民币玖角整, 150 -> 人民币壹元伍角整, 105 -> 人民币壹元零伍分, 0 -> 人民币零元整."""
    if fen < 0:
        return "负" + amount_capital(-fen)
    yuan, jiao, f = fen // 100, fen // 10 % 10, fen % 10
    whole = ""
    groups = []
    n = yuan
    while n:
        groups.append(n % 10000)
        n //= 10000
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            continue
        if whole and g < 1000:
            whole += "零"
        whole += _group_capital(g) + _BIG_UNITS[i]
    text = whole + "元" if whole else ""
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif f and whole:
        text += "零"
    if f:
        text += _DIGITS[f] + "分"
    elif text:
        text += "整"
    return "人民币" + (text or "零元整")


def months_text(months: list[str]) -> str:
    """Runs of consecutive months: 2026年9月至2026年11月、2027年2月."""
    runs: list[list[str]] = []
    for m in sorted(months):
        y, mo = int(m[:4]), int(m[5:7])
        if runs:
            py, pm = int(runs[-1][-1][:4]), int(runs[-1][-1][5:7])
            if (y * 12 + mo) - (py * 12 + pm) == 1:
                runs[-1].append(m)
                continue
        runs.append([m])
    return "、".join(month_zh(r[0]) if len(r) == 1 else f"{month_zh(r[0])}至{month_zh(r[-1])}"
                    for r in runs)


def local_time(iso_text: str) -> str:
    """'2026-11-15T10:00:00+08:00' -> '2026-11-15 10:00' (China time)."""
    dt = datetime.fromisoformat(iso_text)
    dt = dt.replace(tzinfo=CST) if dt.tzinfo is None else dt.astimezone(CST)
    return dt.strftime("%Y-%m-%d %H:%M")


class Doc:
    """A receipt being written: init + Chinese mode first, feed + cut last."""

    def __init__(self):
        self.buf = bytearray(INIT + CHINESE_ON)

    def line(self, text: str = "", *, align: str = "left", big: bool = False,
             bold: bool = False) -> Doc:
        self.buf += ALIGN[align] + SIZE[big] + BOLD[bold]
        self.buf += text.encode(ENCODING) + b"\n"
        if big or bold:
            self.buf += SIZE[False] + BOLD[False]
        return self

    def rule(self) -> Doc:
        return self.line("-" * WIDTH)

    def finish(self) -> bytes:
        self.buf += ALIGN["left"] + ESC + b"d\x05" + CUT
        return bytes(self.buf)


def receipt_lines(r, *, screen: bool = False) -> list[tuple[str, str]]:
    """(label, value) rows of a receipt (a ``core.dues.Receipt``), shared by the screen.
    On the screen (``screen``) an amount has one form, the one said ("9角"); the paper
    keeps yuan with two decimals and the capital form."""
    rows = [("收据号", r.receipt_no), ("党员", f"{r.member_name}（{r.member_no}）")]
    if r.months:
        rows.append(("月份", months_text(r.months)))
    count = f"（共{len(r.months)}个月）" if r.months else ""
    if screen:
        rows.append(("金额", f"{fen_zh(r.amount_fen)}{count}"))
    else:
        rows += [("金额", f"{fen_to_yuan(r.amount_fen)}元{count}"),
                 ("大写", amount_capital(r.amount_fen))]
    rows += [("收款人", f"{r.collector_name}（{r.collected_by}）"),
             ("时间", local_time(r.recorded_at))]
    if r.override_reason:
        rows.append(("说明", r.override_reason))
    if r.paid_by:
        rows.append(("代交人", r.paid_by))
    rows.append(("校验码", r.check_code))
    return rows


def receipt_bytes(r) -> bytes:
    """The receipt of a ledger entry (``core.dues.Receipt``) ready for the printer."""
    doc = Doc()
    doc.line(r.branch_name, align="center", big=True, bold=True)
    doc.line("党费收据" if r.kind == "dues" else "党费收据（自愿多交）"
             if r.kind == "voluntary" else "党费更正单", align="center", big=True)
    doc.rule()
    for label, value in receipt_lines(r):
        doc.line(f"{label}：{value}", bold=label in ("金额", "校验码"))
    doc.rule()
    doc.line(f"终端：{r.terminal_id[:8].upper()}")
    doc.line("请妥善保管本收据", align="center")
    return doc.finish()


def day_sheet_bytes(branch_name: str, takings: dict, printed_at: str) -> bytes:
    """Today's takings (``core.dues.takings``) for the collector's cash count."""
    doc = Doc()
    doc.line(branch_name, align="center", big=True, bold=True)
    doc.line("党费收款日报", align="center", big=True)
    doc.line(takings["day"], align="center")
    doc.rule()
    for e in takings["entries"]:
        doc.line(f"{e['receipt_no'][-5:]} {e['name']}（{e['member_no']}）")
        doc.line(f"    {fen_to_yuan(e['amount_fen'])}元  收款人{e['collected_by']}")
    doc.rule()
    doc.line(f"共{len(takings['entries'])}笔，合计{fen_to_yuan(takings['total_fen'])}元", bold=True)
    doc.line(amount_capital(takings["total_fen"]))
    doc.line(f"打印时间：{local_time(printed_at)}")
    doc.line("收款人签字：")
    return doc.finish()


def sample_page_bytes(branch_name: str) -> bytes:
    """The staff screen's printer test: Chinese, digits, and the cut."""
    doc = Doc()
    doc.line(branch_name, align="center", big=True, bold=True)
    doc.line("打印机测试", align="center")
    doc.line("中文：清水村党支部 党费收据")
    doc.line("数字：0123456789 1.50元")
    return doc.finish()
