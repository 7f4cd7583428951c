"""The terminal's side of sync, from the hub: the branch log, lesson audio, skip reports.

    pull()           pages of the branch log since the cursor, applied to the store
                     (core.replica); from a v4 hub in lines, each applied as it arrives
    download_media() a content-addressed file, resumed with Range after a cut
    fetch_media()    every lesson's audio not yet beside the store
    report_skips()   pulled events this terminal could not apply, told to the hub once

Part of the client (sync.client runs these in ``sync_once``, over its HubClient).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import requests
import urllib3

from . import protocol
from .client_errors import SyncError

if TYPE_CHECKING:
    from .client import HubClient


# -- pull ------------------------------------------------------------------------------

def pull(store, client: HubClient, *, limit: int | None = None,
         first: tuple[int, dict] | None = None) -> dict:
    """Read the branch log since the applied cursor, page by page, and apply each page to
    the store (``core.replica``: one transaction per page, with the cursor advance and one
    audit entry; nothing journaled, so nothing of it is pushed back). A v4 hub's answer
    comes in lines (:func:`_pull_lines`), each applied as a page as soon as it is in.
    ``first``: the page a push brought back (``sync.client.push``'s ``page``), used if it
    starts at the cursor."""
    from core import replica

    branch = store.meta("sync.branch")
    cursor = int(store.meta("sync.pull_cursor", "0") or 0)
    counts: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    pages = 0
    more = True
    while more:
        if first is not None and first[0] == cursor:
            answers = iter([first[1]])
        elif client.hub_protocol >= 4:   # lines of columns, applied as they arrive
            answers = _pull_lines(client, cursor, limit or protocol.PULL_ROWS)
        else:
            rows = client.hub_protocol >= 3
            params = {"cursor": cursor,
                      "limit": limit or (protocol.PULL_ROWS if rows else protocol.PULL_PAGE)}
            if rows:
                params["form"] = "rows"
            answers = iter([client.request("GET", "/v1/pull", params=params).json()])
        first = None
        for data in answers:
            pages += 1
            try:
                events = (protocol.unpack_cols(data["cols"]) if "cols" in data
                          else protocol.unpack_pull_rows(data["rows"]) if "rows" in data
                          else data["events"])
            except (ValueError, KeyError) as e:
                raise SyncError("bad_answer", f"pull: {e}",
                                "服务中心的回复有误，稍后会再试。") from e
            result = replica.apply_page(store, events, branch=branch, cursor_from=cursor,
                                        cursor_to=data["next_cursor"])
            counts.update(result["by_type"])
            totals.update({k: result[k] for k in ("applied", "skipped", "duplicates")})
            totals["waiting"] = result["waiting"]  # a state (events kept waiting), not a count
            reasons.update(result["skipped_reasons"])
            cursor, more = data["next_cursor"], data["more"]
    return {"pages": pages, "events": sum(counts.values()), "by_type": dict(counts),
            "cursor": cursor, **{k: totals[k] for k in ("applied", "skipped", "waiting",
                                                         "duplicates")},
            "skipped_reasons": dict(reasons)}


def _pull_lines(client: HubClient, cursor: int, limit: int):
    """A v4 pull answer's lines (``sync.protocol_cols``), each yielded as soon as it has
    arrived whole, while the rest is still on its way. A cut or a damaged answer raises
    :class:`SyncError` after the lines before it (which the caller has applied)."""
    response = client.request("GET", "/v1/pull", stream=True,
                              params={"cursor": cursor, "limit": limit, "form": "cols"})
    # No raw stream: an answer held whole (sync.hub.inprocess, the demo's hub).
    held = response.raw is None
    try:
        yield from protocol.read_lines([response.content] if held else _arriving(response.raw),
                                       response.headers.get("Content-Encoding"),
                                       protocol.MAX_BODY)
    except ValueError as e:
        raise SyncError("bad_answer", f"pull: {e}", "服务中心的回复有误，稍后会再试。") from e
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
        raise SyncError("network", f"GET /v1/pull: {e}", "连不上服务中心，稍后会再试。") from e
    finally:
        client.bytes_received += len(response.content) if held else response.raw.tell()
        response.close()


def _arriving(raw: urllib3.response.HTTPResponse):
    """The body's bytes as they come off the socket, undecoded (``read1``: whatever has
    arrived; ``read(n)`` would wait for n bytes, that is, for most of a small answer)."""
    while chunk := raw.read1(64 * 1024, decode_content=False):
        yield chunk


def fetch_media(store, client: HubClient) -> dict:
    """Download the audio of every lesson held here that is not in the media folder yet
    (``<database>.media/<sha256>``); a cut download resumes at the next sync."""
    from core import replica

    folder = replica.media_dir(store)
    files = got = 0
    for sha in replica.missing_media(store):
        folder.mkdir(exist_ok=True)
        result = download_media(client, sha, folder / sha)
        files += 1
        got += result["bytes"]
    return {"files": files, "bytes": got}


# -- media -----------------------------------------------------------------------------

def download_media(client: HubClient, sha256: str, dest: Path) -> dict:
    """Fetch ``sha256`` into ``dest``, resuming a ``dest.part`` left by a cut download;
    the file is checked against its hash before it takes its name."""
    dest = Path(dest)
    if dest.exists() and hashlib.sha256(dest.read_bytes()).hexdigest() == sha256:
        return {"sha256": sha256, "bytes": 0, "resumed_from": None}
    part = Path(str(dest) + ".part")
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = client.request("GET", f"/v1/media/{sha256}", headers=headers, stream=True)
    except SyncError as e:
        if e.status == 416:  # the part is whole (or wrong): check it below / start over
            response = None
        else:
            raise
    got = 0
    if response is not None:
        mode = "ab" if response.status_code == 206 else "wb"
        with response, part.open(mode) as f:
            try:
                for chunk in response.iter_content(64 * 1024):
                    f.write(chunk)
                    got += len(chunk)
            except requests.RequestException as e:
                # A cut mid-file: what arrived stays in the part file for the next try.
                raise SyncError("network", f"media {sha256}: {e}",
                                "连不上服务中心，稍后会再试。") from e
            finally:
                f.flush()
                os.fsync(f.fileno())
                client.bytes_received += got
    h = hashlib.sha256()
    with part.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    if h.hexdigest() != sha256:
        part.unlink()
        raise SyncError("media_mismatch", f"downloaded media does not hash to {sha256}",
                        "下载的文件不完整，会重新下载。")
    os.replace(part, dest)
    return {"sha256": sha256, "bytes": got, "resumed_from": have or None}


def report_skips(store, client: HubClient) -> int:
    """Tell the hub which pulled events this terminal could not apply (with the reason),
    once each: its operator lists and quarantines them (``lianxin hub events``)."""
    from core import replica

    mark = int(store.meta("sync.skips_reported", "0") or 0)
    sent = 0
    while rows := replica.skipped_since(store, mark, protocol.MAX_SKIPS):
        skipped = [{"event_id": r["event_id"],
                    "reason": (r["reason"] or "")[:protocol.MAX_SKIP_REASON]} for r in rows]
        client.request("POST", "/v1/push", compress=True,
                       body={"events": [], "audit": [], "skipped": skipped})
        mark, sent = rows[-1]["cursor"], sent + len(rows)
        with store.transaction():
            store.set_meta("sync.skips_reported", str(mark))
    return sent
