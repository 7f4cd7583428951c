"""SIP messages (RFC 3261 §7, §20): parse bytes into a ``SipMessage``, build replies.

    parse(data)          -> SipMessage, or SipParseError (with .message when enough of the
                            headers were read to answer 400, else None: then drop)
    frame(buffer)        -> one whole message off a TCP byte stream (Content-Length framing)
    response(req, code)  -> a reply that copies Via/From/To/Call-ID/CSeq (§8.2.6)
    SipMessage.to_bytes  -> wire form, Content-Length always recomputed

Lenient where RFC 3261 asks for it (compact header names, folded lines, LF-only line ends,
case-insensitive names, extra bytes after the body on UDP), strict where a wrong guess
would misroute a call (start line, CSeq, Content-Length, the five headers every request
must carry).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["SipMessage", "SipParseError", "frame", "name_addr", "param", "parse",
           "response", "split_commas", "uri_host_port", "uri_user"]

COMPACT = {"i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
           "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
           "v": "Via", "o": "Event", "u": "Allow-Events", "r": "Refer-To"}
_CANONICAL = {n.lower(): n for n in (
    "Call-ID", "CSeq", "WWW-Authenticate", "Proxy-Authenticate", "Proxy-Authorization",
    "Max-Forwards", "Record-Route", "User-Agent", "Content-Length", "Content-Type", "Via",
    "From", "To", "Contact", "Route", "Allow", "Accept", "Supported", "Authorization",
    "Expires", "Server", "Event", "Subject")}
REASONS = {100: "Trying", 180: "Ringing", 200: "OK", 400: "Bad Request", 401: "Unauthorized",
           404: "Not Found", 405: "Method Not Allowed", 407: "Proxy Authentication Required",
           415: "Unsupported Media Type", 480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
           482: "Loop Detected", 486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
           491: "Request Pending", 500: "Server Internal Error", 503: "Service Unavailable"}
REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
_MULTI = {"via", "route", "record-route", "contact"}   # may be comma-joined on one line
MAX_SIZE = 65535


class SipParseError(ValueError):
    """Bytes that are not a usable SIP message; ``message`` is set when a 400 can be sent."""

    def __init__(self, detail: str, message: SipMessage | None = None):
        super().__init__(detail)
        self.message = message


@dataclass
class SipMessage:
    method: str | None = None          # requests
    uri: str | None = None
    status: int | None = None          # responses
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return self.method is not None

    def get(self, name: str, default: str | None = None) -> str | None:
        key = _canonical(name).lower()
        for n, v in self.headers:
            if n.lower() == key:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        key = _canonical(name).lower()
        out: list[str] = []
        for n, v in self.headers:
            if n.lower() == key:
                out.extend(split_commas(v) if key in _MULTI else [v])
        return out

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self.headers.append((_canonical(name), value))

    def add(self, name: str, value: str) -> None:
        self.headers.append((_canonical(name), value))

    def remove(self, name: str) -> None:
        key = _canonical(name).lower()
        self.headers = [(n, v) for n, v in self.headers if n.lower() != key]

    @property
    def call_id(self) -> str:
        return self.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        number, method = (self.get("CSeq") or "").split()
        return int(number), method.upper()

    @property
    def branch(self) -> str:
        vias = self.get_all("Via")
        return param(vias[0], "branch") or "" if vias else ""

    def to_bytes(self) -> bytes:
        if self.is_request:
            lines = [f"{self.method} {self.uri} SIP/2.0"]
        else:
            lines = [f"SIP/2.0 {self.status} {self.reason or REASONS.get(self.status, '')}"]
        lines += [f"{n}: {v}" for n, v in self.headers if n.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


def _canonical(name: str) -> str:
    name = name.strip()
    if len(name) == 1:
        name = COMPACT.get(name.lower(), name)
    return _CANONICAL.get(name.lower(), name)


def parse(data: bytes) -> SipMessage:
    if len(data) > MAX_SIZE:
        raise SipParseError(f"message of {len(data)} bytes is too large")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SipParseError(f"header section is not UTF-8: {e}") from None
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():       # RFC 3261 §7.5: ignore leading CRLFs
        lines.pop(0)
    if not lines:
        raise SipParseError("empty message")
    msg = _start_line(lines[0])
    bad_line = None                  # read on past a bad line so a 400 can be addressed
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and msg.headers:      # folded continuation
            n, v = msg.headers[-1]
            msg.headers[-1] = (n, f"{v} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.match(name.strip()):
            bad_line = bad_line or line
            continue
        msg.headers.append((_canonical(name), value.strip()))
    if bad_line is not None:
        raise SipParseError(f"bad header line {bad_line[:60]!r}", _answerable(msg))
    missing = [h for h in REQUIRED if msg.get(h) is None]
    if missing:
        raise SipParseError(f"missing {', '.join(missing)}", None)
    try:
        number, method = msg.cseq
    except ValueError:
        raise SipParseError(f"bad CSeq {msg.get('CSeq')!r}", _answerable(msg)) from None
    if number < 0 or number >= 2**31 or (msg.is_request and method != msg.method):
        raise SipParseError(f"CSeq {msg.get('CSeq')!r} does not match", _answerable(msg))
    length = msg.get("Content-Length")
    if length is not None:
        if not length.isdigit():
            raise SipParseError(f"bad Content-Length {length!r}", _answerable(msg))
        if int(length) > len(body):
            raise SipParseError(f"body shorter than Content-Length {length}", _answerable(msg))
        body = body[: int(length)]
    msg.body = bytes(body)
    return msg


def _start_line(line: str) -> SipMessage:
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[0] == "SIP/2.0":
        if not (parts[1].isdigit() and len(parts[1]) == 3 and 100 <= int(parts[1]) <= 699):
            raise SipParseError(f"bad status line {line[:60]!r}")
        return SipMessage(status=int(parts[1]), reason=parts[2])
    if (len(parts) != 3 or parts[2].strip() != "SIP/2.0" or not _TOKEN.match(parts[0])
            or ":" not in parts[1]):
        raise SipParseError(f"bad start line {line[:60]!r}")
    return SipMessage(method=parts[0].upper(), uri=parts[1])


def _answerable(msg: SipMessage) -> SipMessage | None:
    """The partial request when it has what a 400 reply must copy, else None."""
    if msg.is_request and msg.method != "ACK" and all(msg.get(h) for h in REQUIRED):
        return msg
    return None


def frame(buffer: bytearray) -> bytes | None:
    """Take one complete message off the front of a TCP stream buffer, or None for "more".

    Raises SipParseError when the stream cannot be framed (no Content-Length, oversized);
    the connection is then closed, as RFC 3261 §18.3 says.
    """
    while buffer[:2] == b"\r\n":                 # keep-alive CRLFs between messages
        del buffer[:2]
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_SIZE:
            raise SipParseError("header section too large")
        return None
    head = bytes(buffer[:end]).decode("utf-8", "replace")
    m = re.search(r"^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$", head, re.I | re.M)
    if not m:
        raise SipParseError("no Content-Length on a stream transport")
    total = end + 4 + int(m.group(1))
    if total > MAX_SIZE:
        raise SipParseError("message too large")
    if len(buffer) < total:
        return None
    data = bytes(buffer[:total])
    del buffer[:total]
    return data


def response(req: SipMessage, status: int, reason: str | None = None, *,
             to_tag: str | None = None, headers: list[tuple[str, str]] = (),
             body: bytes = b"") -> SipMessage:
    """A response copying the headers §8.2.6 names; ``to_tag`` added if To has none."""
    resp = SipMessage(status=status, reason=reason or REASONS.get(status, ""))
    for v in req.get_all("Via"):
        resp.add("Via", v)
    to = req.get("To") or ""
    if to_tag and param(to, "tag") is None and status > 100:
        to = f"{to};tag={to_tag}"
    resp.add("From", req.get("From") or "")
    resp.add("To", to)
    resp.add("Call-ID", req.call_id)
    resp.add("CSeq", req.get("CSeq") or "")
    if req.method == "INVITE" and 200 <= status < 300:
        for rr in req.get_all("Record-Route"):
            resp.add("Record-Route", rr)
    for n, v in headers:
        resp.add(n, v)
    resp.body = body
    return resp


def split_commas(value: str) -> list[str]:
    """Split a header value on commas outside quotes and <...>."""
    out, cur, quote, angle = [], [], False, False
    for ch in value:
        if ch == '"':
            quote = not quote
        elif ch == "<" and not quote:
            angle = True
        elif ch == ">" and not quote:
            angle = False
        elif ch == "," and not quote and not angle:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def name_addr(value: str) -> tuple[str, str, str]:
    """'"Bob" <sip:bob@x>;tag=1' -> ('Bob', 'sip:bob@x', ';tag=1')."""
    value = value.strip()
    if "<" in value:
        display, _, rest = value.partition("<")
        uri, _, params = rest.partition(">")
        return display.strip().strip('"'), uri.strip(), params.strip()
    uri, semi, params = value.partition(";")
    return "", uri.strip(), (semi + params).strip()


def param(value: str, name: str) -> str | None:
    """A ;name=value parameter of a header value (outside any <...>), or None."""
    tail = value.rsplit(">", 1)[-1] if "<" in value else value
    for part in tail.split(";")[1:] if "<" not in value else tail.split(";"):
        key, eq, val = part.strip().partition("=")
        if key.lower() == name.lower() and key:
            return val.strip() if eq else ""
    return None


def uri_user(uri: str) -> str:
    """'sip:+8613800000000@gw;user=phone' -> '+8613800000000' ('' when there is no user)."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    return rest.split("@", 1)[0].split(";", 1)[0] if "@" in rest else ""


def uri_host_port(uri: str, default_port: int = 5060) -> tuple[str, int]:
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    hostport = rest.split("@", 1)[-1].split(";", 1)[0].split("?", 1)[0]
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = hostport.partition(":")
    return host, int(port) if port.isdigit() else default_port
