"""Version 4 of the pull: pages as columns, in lines a terminal applies as they arrive.

A v3 page of rows (``protocol_wire.pull_rows``) repeats every payload's keys, and a
terminal applies it only once the whole answer is in. A v4 answer
(``GET /v1/pull?form=cols``) is lines of JSON (``application/x-ndjson``, compressed as
:func:`answer` says), each line a page of at most :data:`PULL_LINE` events::

    {"cols": {"cursor": [d, ...], "origin": [...], "event_id": [...], "type": [...],
              "at": [...], "shape": [k or -1, ...], "shapes": [[keys, columns], ...],
              "raw": [payload, ...]},
     "next_cursor": N, "more": true|false}

* ``cursor``: each event's cursor minus the one before it (the first: minus 0).
* A payload that is a JSON object written canonically (``canonical_json``: how terminals
  and the hub write every payload) travels as its values, in the columns of its shape:
  ``shapes[k]`` holds the sorted keys and one list of values per key. The terminal writes
  it back byte for byte (the hub checks that it will). Any other payload travels as its
  text, in ``raw`` (``shape`` -1), in order.
* Every line but the last has ``more`` true and its own last cursor as ``next_cursor``;
  the last line carries the page's ``next_cursor`` and ``more``.

The terminal decodes the stream as it arrives and applies each line in its own
transaction: a month's page is applied while the link still carries the rest of it, and
a cut keeps every line applied before it (the next pull resumes after them).
"""

from __future__ import annotations

import json
import lzma
import zlib
from collections.abc import Iterable, Iterator

from .protocol_batch import canonical_json
from .protocol_wire import XZ_ANSWER_FROM, compress, encoding_for, xz_decoder

PULL_LINE = 250           # most events in one line of a v4 pull answer (see answer)
MAX_LINE = 8 * 1024 * 1024   # a longer line is not a page this hub would send
_COLUMNS = ("cursor", "origin", "event_id", "type", "at")


# -- the hub -----------------------------------------------------------------------------

def _shape_of(text: str) -> tuple | None:
    """The payload's (sorted keys, parsed) if it travels as columns, else None."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if type(value) is not dict:
        return None
    try:
        if canonical_json(value) != text:
            return None
    except (ValueError, TypeError):
        return None
    return tuple(value), value


def cols_of(rows: list[dict]) -> dict:
    """Log rows (``HubStorage.log_page``) as one line's ``cols``."""
    shapes: dict[tuple, int] = {}
    columns: list[list[list]] = []
    shape, raw, before = [], [], 0
    cursors = []
    for r in rows:
        cursors.append(r["cursor"] - before)
        before = r["cursor"]
        found = _shape_of(r["payload"])
        if found is None:
            shape.append(-1)
            raw.append(r["payload"])
            continue
        keys, value = found
        k = shapes.get(keys)
        if k is None:
            k = shapes[keys] = len(shapes)
            columns.append([[] for _ in keys])
        shape.append(k)
        for column, key in zip(columns[k], keys, strict=True):
            column.append(value[key])
    out = {"cursor": cursors}
    out.update({name: [r[name] for r in rows] for name in _COLUMNS[1:]})
    out.update(shape=shape, shapes=[[list(keys), columns[k]] for keys, k in shapes.items()],
               raw=raw)
    return out


def _lines(page: list[dict], next_cursor: int, more: bool,
           line_events: int) -> Iterator[bytes]:
    for i in range(0, len(page), line_events) or [0]:
        part = page[i:i + line_events]
        last = i + line_events >= len(page)
        line = {"cols": cols_of(part),
                "next_cursor": next_cursor if last else part[-1]["cursor"],
                "more": more if last else True}
        yield json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def pull_lines(page: list[dict], next_cursor: int, more: bool,
               line_events: int = PULL_LINE) -> bytes:
    """A page of the branch log as the lines of a v4 answer, ``line_events`` a line."""
    return b"".join(_lines(page, next_cursor, more, line_events))


# xz for text: no 2- or 4-byte alignment to model (pb=0), more context (lc=4): 1 % less.
_XZ_TEXT = [{"id": lzma.FILTER_LZMA2, "preset": 6, "lc": 4, "pb": 0}]


def answer(page: list[dict], next_cursor: int, more: bool, accept: str,
           line_events: int = PULL_LINE) -> tuple[str | None, Iterator[bytes]]:
    """A page as the body of a v4 answer, compressed as ``accept`` allows (as
    ``protocol_wire.compress`` would decide for the page in rows): its encoding and its
    chunks, made as they are sent.

    An xz answer (a month's catch-up) is two xz streams: the first line alone, made and
    sent at once, then the rest, sent as the compressor gives it out. The terminal starts
    on the first line while the hub still works on the others (for a month, the tenth of a
    second most of the hub's work takes); one stream would keep the first byte until the
    whole answer was made, and a stream per line would cost a sixth more bytes."""
    lines = _lines(page, next_cursor, more, line_events)
    rows_size = sum(len(r["payload"]) + len(r["event_id"]) + len(r["origin"]) + len(r["type"])
                    + len(r["at"]) + 24 for r in page)
    if encoding_for(rows_size, accept, xz_from=XZ_ANSWER_FROM) != "xz":
        data, encoding = compress(b"".join(lines), accept, xz_from=XZ_ANSWER_FROM)
        return encoding, iter([data])

    def chunks() -> Iterator[bytes]:
        yield lzma.compress(next(lines), format=lzma.FORMAT_XZ, filters=_XZ_TEXT)
        rest = lzma.LZMACompressor(format=lzma.FORMAT_XZ, filters=_XZ_TEXT)
        for line in lines:
            if out := rest.compress(line):
                yield out
        yield rest.flush()
    return "xz", chunks()


# -- the terminal ------------------------------------------------------------------------

def _list(cols: dict, name: str, n: int | None = None) -> list:
    value = cols.get(name)
    if type(value) is not list or (n is not None and len(value) != n):
        raise ValueError(f"cols.{name} must be a list" + (f" of {n}" if n is not None else ""))
    return value


def unpack_cols(cols) -> list[dict]:
    """One line's ``cols`` back as event objects (``cursor, origin, event_id, type,
    payload, at``); a malformed line raises ValueError."""
    if type(cols) is not dict:
        raise ValueError("cols must be an object")
    deltas = _list(cols, "cursor")
    n = len(deltas)
    origin, event_id, type_, at = (_list(cols, name, n) for name in _COLUMNS[1:])
    shape, shapes, raw = _list(cols, "shape", n), _list(cols, "shapes"), _list(cols, "raw")
    readers = []
    for k, s in enumerate(shapes):
        if (type(s) is not list or len(s) != 2 or type(s[0]) is not list
                or type(s[1]) is not list or len(s[0]) != len(s[1])
                or any(type(key) is not str for key in s[0])
                or any(type(c) is not list for c in s[1])):
            raise ValueError(f"cols.shapes[{k}] must be [keys, columns]")
        readers.append((s[0], [iter(c) for c in s[1]]))
    raws = iter(raw)
    out, cursor = [], 0
    for i in range(n):
        d = deltas[i]
        if type(d) is not int or d < 1:
            raise ValueError(f"cols.cursor[{i}] must be a positive step")
        cursor += d
        k = shape[i]
        if type(k) is not int or not -1 <= k < len(readers):
            raise ValueError(f"cols.shape[{i}] names no shape")
        try:
            if k == -1:
                payload = next(raws)
            else:
                keys, columns = readers[k]
                payload = canonical_json(dict(zip(keys, [next(c) for c in columns],
                                                  strict=True)))
        except StopIteration:
            raise ValueError(f"cols: event {i} has no payload left in its columns") from None
        if not all(type(v) is str for v in (origin[i], event_id[i], type_[i], at[i], payload)):
            raise ValueError(f"cols: event {i} has a field that is not text")
        out.append({"cursor": cursor, "origin": origin[i], "event_id": event_id[i],
                    "type": type_[i], "payload": payload, "at": at[i]})
    if next(raws, None) is not None or any(next(c, None) is not None
                                           for _, columns in readers for c in columns):
        raise ValueError("cols: more payload values than events")
    return out


def read_lines(chunks: Iterable[bytes], encoding: str | None, limit: int) -> Iterator[dict]:
    """The lines of a v4 answer as they arrive: ``chunks`` are the body as received
    (``encoding``: its Content-Encoding, xz or gzip, decoded here). Each line is parsed
    once it is whole. Raises ValueError past ``limit`` decoded bytes, for a damaged or
    truncated stream, a line that is not a JSON object, a last line without its end, or
    no line at all."""
    encoding = (encoding or "").lower()
    if encoding == "xz":
        decoder = xz_decoder()
    elif encoding == "gzip":
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding in ("", "identity"):
        decoder = None
    else:
        raise ValueError(f"an answer in {encoding!r}")
    parts: list[bytes] = []   # the line being received
    held, total, lines = 0, 0, 0
    for chunk in chunks:
        try:
            data = chunk if decoder is None else b""
            while decoder is not None and chunk:
                if encoding == "xz" and decoder.eof:
                    decoder = xz_decoder()   # the answer's next xz stream (answer)
                # At most one byte past the limit: a small bomb stops here, not in memory.
                data += decoder.decompress(chunk, max(1, limit - total - len(data) + 1))
                chunk = decoder.unused_data if encoding == "xz" and decoder.eof else b""
        except (lzma.LZMAError, zlib.error, EOFError) as e:
            raise ValueError(f"the answer's {encoding} stream is damaged: {e}") from e
        total += len(data)
        if total > limit:
            raise ValueError(f"the answer is larger than {limit} bytes")
        parts.append(data)
        held += len(data)
        if b"\n" in data:   # one or more lines end in this piece
            *whole, rest = b"".join(parts).split(b"\n")
            parts, held = [rest], len(rest)
            for line in whole:
                lines += 1
                yield _line(line)
        if held > MAX_LINE:
            raise ValueError(f"a line longer than {MAX_LINE} bytes")
    if decoder is not None and not decoder.eof:
        raise ValueError(f"the answer's {encoding} stream is truncated")
    if held:
        raise ValueError("the answer's last line is cut")
    if not lines:
        raise ValueError("an answer without a line")


def _line(raw: bytes) -> dict:
    try:
        line = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise ValueError(f"a line is not JSON: {e}") from e
    if (type(line) is not dict or type(line.get("next_cursor")) is not int
            or type(line.get("more")) is not bool):
        raise ValueError("a line must hold cols, next_cursor and more")
    return line
