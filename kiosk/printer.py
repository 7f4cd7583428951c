"""The receipt printer: the ``printer`` setting (LIANXIN_PRINTER) opened with python-escpos.

    usb:VID:PID          escpos.printer.Usb   (hex ids, e.g. usb:0416:5011; needs pyusb)
    serial:/dev/ttyUSB0  escpos.printer.Serial (9600 8N1, the usual default; needs pyserial)
    net:HOST[:PORT]      escpos.printer.Network (raw port 9100 by default)
    file:/path           escpos.printer.File   (a device node such as /dev/usb/lp0, or a file)

python-escpos is used for the connection only: the bytes (Chinese mode, GB18030, cut)
come ready-made from :mod:`kiosk.receipt_escpos` and are written with the printer's raw write,
because its text encoding cannot produce the double-byte Chinese mode that common Chinese
thermal printers need. A printer that cannot be reached raises :class:`PrinterError` with
a sentence to show and say; the payment is recorded either way (the receipt can be
reprinted from the ledger).
"""

from __future__ import annotations

from core import config
from core.errors import LianxinError

NET_TIMEOUT_S = 5          # the kiosk waits this long at most for a network printer


class PrinterError(LianxinError):
    zh_default = "打印机没有连上，收据没有打印出来，请找工作人员。"


def parse(spec: str) -> tuple[str, dict]:
    """'net:10.0.0.5:9100' -> ('net', {'host': '10.0.0.5', 'port': 9100}); ValueError if bad."""
    kind, _, rest = spec.partition(":")
    if kind == "usb":
        vid, _, pid = rest.partition(":")
        try:
            return "usb", {"idVendor": int(vid, 16), "idProduct": int(pid, 16)}
        except ValueError:
            raise ValueError(f"usb printer needs usb:VID:PID in hex, got {spec!r}") from None
    if kind == "serial" and rest:
        return "serial", {"devfile": rest}
    if kind == "net" and rest:
        host, _, port = rest.rpartition(":") if rest.count(":") == 1 else (rest, "", "")
        try:
            return "net", {"host": host, "port": int(port) if port else 9100}
        except ValueError:
            raise ValueError(f"bad port in {spec!r}") from None
    if kind == "file" and rest:
        return "file", {"devfile": rest}
    raise ValueError(f"printer must be usb:VID:PID, serial:DEV, net:HOST[:PORT] or file:PATH, "
                     f"got {spec!r}")


def configured() -> str | None:
    return config.get("printer")


def open_printer(spec: str):
    """An opened python-escpos printer for ``spec``."""
    from escpos import printer as ep

    kind, args = parse(spec)
    if kind == "usb":
        p = ep.Usb(args["idVendor"], args["idProduct"])
    elif kind == "serial":
        p = ep.Serial(devfile=args["devfile"])
    elif kind == "net":
        p = ep.Network(args["host"], port=args["port"], timeout=NET_TIMEOUT_S)
    else:
        p = ep.File(devfile=args["devfile"])
    p.open()
    return p


def send(data: bytes, printer=None, spec: str | None = None) -> None:
    """Write ESC/POS ``data`` to ``printer`` (an escpos printer, e.g. ``Dummy`` in tests) or
    to the configured one. Raises PrinterError when none is configured or it fails."""
    own = printer is None
    if own:
        spec = spec or configured()
        if not spec:
            raise PrinterError("no printer configured (LIANXIN_PRINTER)", "这台终端没有接打印机。")
        try:
            printer = open_printer(spec)
        except Exception as err:   # DeviceNotFoundError, USB/serial/socket errors, bad spec
            raise PrinterError(f"cannot open printer {spec}: {err}") from err
    try:
        # Escpos._raw is the one write every connection type implements; the public
        # text methods would re-encode our GB18030 bytes.
        printer._raw(data)
    except Exception as err:
        raise PrinterError(f"printer write failed: {err}") from err
    finally:
        if own:
            try:
                printer.close()
            except Exception:   # closing a device that already went away
                pass


def describe(spec: str | None = None) -> str:
    """The printer line of the staff screen's terminal state, in Chinese."""
    spec = spec if spec is not None else configured()
    if not spec:
        return "没有设置打印机"
    try:
        kind, _ = parse(spec)
    except ValueError:
        return f"打印机设置不对：{spec}"
    where = {"usb": "USB接口", "serial": "串口", "net": "网络", "file": "文件"}[kind]
    return f"{where}打印机（{spec.partition(':')[2]}）"
