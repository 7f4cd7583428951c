"""Pins the printed receipt's bytes and the printer connections (no Kivy needed):

* a real payment's receipt (demo branch, 刘桂兰 QS004, 3 months, staff S02) starts with
  ESC @ then FS & (Chinese mode) and carries 清水村党支部, her name and 收据 encoded as
  GB18030 — never UTF-8 — plus the amount, receipt number and check code, and ends with
  python-escpos's own full-cut command;
* the amount in capitals follows the receipt-writing rules (玖角整, 壹元零伍分, 壹万零伍元整);
* the bytes reach a python-escpos ``Dummy``, a ``file:`` printer and a ``net:`` printer
  (a real TCP listener on 127.0.0.1) unchanged; an unreachable or unconfigured printer
  is a PrinterError with a Chinese sentence; bad settings are refused;
* the day sheet carries every entry of the day and the total.
"""

from __future__ import annotations

import socket
import threading

import pytest
from escpos.constants import HW_INIT, PAPER_FULL_CUT
from escpos.printer import Dummy

from core import branch, dues
from kiosk import printer
from kiosk import receipt_escpos as rc


@pytest.fixture
def paid(demo_store):
    ok = branch.confirm(demo_store, "S02", "2468")
    return dues.pay(demo_store, "QS004", months=3, confirmation=ok)


def gb(text: str) -> bytes:
    return text.encode("gb18030")


def test_receipt_bytes(paid):
    data = rc.receipt_bytes(paid)
    assert data.startswith(HW_INIT + b"\x1c&")
    for text in ("清水村党支部", "刘桂兰", "收据", "李春梅", "人民币玖角整", "2026年9月至2026年11月"):
        assert gb(text) in data, text
    assert "收据".encode() not in data               # not UTF-8: the printer would print junk
    assert b"0.90" in data
    assert paid.receipt_no.encode() in data and paid.check_code.encode() in data
    assert len(paid.check_code) == 8
    assert data.endswith(PAPER_FULL_CUT)
    # the screen shows the same facts as the paper
    shown = dict(rc.receipt_lines(paid))
    assert shown["金额"] == "0.90元（共3个月）" and shown["校验码"] == paid.check_code


@pytest.mark.parametrize("fen,text", [
    (0, "人民币零元整"), (5, "人民币伍分"), (90, "人民币玖角整"), (150, "人民币壹元伍角整"),
    (105, "人民币壹元零伍分"), (2000, "人民币贰拾元整"), (1000500, "人民币壹万零伍元整"),
    (1001000, "人民币壹万零壹拾元整"), (1234567, "人民币壹万贰仟叁佰肆拾伍元陆角柒分"),
])
def test_amount_capital(fen, text):
    assert rc.amount_capital(fen) == text


def test_months_text_runs():
    assert rc.months_text(["2026-11", "2026-09", "2026-10", "2027-02"]) == \
        "2026年9月至2026年11月、2027年2月"


def test_dummy_and_file_printers(paid, tmp_path):
    data = rc.receipt_bytes(paid)
    d = Dummy()
    printer.send(data, printer=d)
    assert d.output == data
    out = tmp_path / "lp0"
    printer.send(data, spec=f"file:{out}")
    assert out.read_bytes() == data


def test_network_printer_on_loopback(paid):
    data = rc.receipt_bytes(paid)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = bytearray()

    def serve():
        conn, _ = srv.accept()
        with conn:
            while chunk := conn.recv(65536):
                got.extend(chunk)

    t = threading.Thread(target=serve)
    t.start()
    printer.send(data, spec=f"net:127.0.0.1:{srv.getsockname()[1]}")
    t.join(10)
    srv.close()
    assert bytes(got) == data


def test_unreachable_and_unconfigured(monkeypatch):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                        # nothing listens there now
    with pytest.raises(printer.PrinterError) as e:
        printer.send(b"x", spec=f"net:127.0.0.1:{port}")
    assert "打印机" in e.value.zh
    monkeypatch.delenv("LIANXIN_PRINTER", raising=False)
    with pytest.raises(printer.PrinterError) as e:
        printer.send(b"x")
    assert e.value.zh == "这台终端没有接打印机。"


def test_parse_settings():
    assert printer.parse("usb:0416:5011") == ("usb", {"idVendor": 0x0416, "idProduct": 0x5011})
    assert printer.parse("serial:/dev/ttyUSB0") == ("serial", {"devfile": "/dev/ttyUSB0"})
    assert printer.parse("net:10.0.0.5") == ("net", {"host": "10.0.0.5", "port": 9100})
    assert printer.parse("net:printer.local:9101") == ("net", {"host": "printer.local", "port": 9101})
    assert printer.parse("file:/dev/usb/lp0") == ("file", {"devfile": "/dev/usb/lp0"})
    for bad in ("usb:zz:1", "lpt:1", "net:", "file:", "net:h:port"):
        with pytest.raises(ValueError):
            printer.parse(bad)
    assert printer.describe("net:10.0.0.5") == "网络打印机（10.0.0.5）"
    assert printer.describe("") == "没有设置打印机"


def test_day_sheet(paid, demo_store):
    t = dues.takings(demo_store)
    data = rc.day_sheet_bytes("清水村党支部", t, "2026-11-15T18:00:00+08:00")
    assert data.startswith(HW_INIT + b"\x1c&") and data.endswith(PAPER_FULL_CUT)
    assert gb("党费收款日报") in data and gb("刘桂兰") in data
    assert gb(f"共{len(t['entries'])}笔，合计{t['total_yuan']}元") in data
    assert t["total_fen"] == 90
