"""The terminal's side of sync (protocol v3): enroll, push, pull, fetch media.

    HubClient        the one HTTP client wrapper: base URL and requests.Session passed in,
                     versioned User-Agent, timeouts, signing, byte and round-trip counters,
                     hub clock offset
    enroll()         make the terminal's Ed25519 key (beside the store, 0600), enroll with a
                     one-time code, remember the hub in the store's meta table
    push()           journal + audit since the last acknowledged mark: v3 rows (nothing the
                     hub can derive, xz when large) once the hub has said it speaks v3,
                     v2 objects before that
    pull(), download_media(), fetch_media(), report_skips()
                     the hub's side coming in (sync.client_pull, re-exported here)
    sync_once()      push, pull, then the voice messages' audio (sync.client_voice) and
                     lesson media, with a report of what moved; status() what waits

What waits to be pushed, what the hub acknowledged and the status read are core's
(``core.outbox``): the kiosk's staff screen reads them without importing sync.
What the terminal keeps in ``meta`` (pulled events become rows through core.replica, which
keeps the ids it has seen in ``replica_event``):

    sync.hub_url, sync.hub_id, sync.branch, sync.enrolled_at
    sync.pushed_seq, sync.pushed_audit_seq   what the hub acknowledged as durably stored
    sync.pull_cursor, sync.pull_seen         how far pulled events are applied (moved in
                                             the same transaction as the page's rows)
    sync.clock_offset_ms                     hub clock minus terminal clock, last seen
    sync.hub_protocol                        the hub's protocol version, last seen
    sync.clock_ahead                         set when the hub found our events from the future
    sync.skips_reported                      hub cursor up to which skipped events were reported
    sync.voice_checked                       voice messages held when the hub last lacked
                                             no recording we could send (client_voice)
    sync.last_success, sync.last_error, sync.last_report
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from datetime import timedelta
from pathlib import Path

import requests

from core import config, outbox
from core.clock import iso
from core.errors import LianxinError

from . import client_voice, protocol
from .client_errors import SyncError
from .client_pull import download_media as download_media  # re-exported: callers use sc.*
from .client_pull import fetch_media, pull, report_skips


def _package_version() -> str:
    """This installation's release (pyproject's version), for the hub's operators."""
    from importlib import metadata

    try:
        return metadata.version("lianxin")
    except metadata.PackageNotFoundError:   # a source tree that was never installed
        return "unknown"


CLIENT_VERSION = _package_version()
USER_AGENT = f"lianxin/{CLIENT_VERSION} (sync protocol {protocol.PROTOCOL_VERSION})"
TIMEOUT = (10.0, 120.0)  # connect, read (seconds)


# xz for large answers (sync.protocol_wire), gzip otherwise.
ACCEPT_ENCODING = "xz, gzip"


def key_path(store_path) -> Path:
    """The terminal's private signing key: beside the database, mode 0600."""
    return Path(str(store_path) + ".ed25519")


def _now_ms() -> int:
    return protocol.wall_ms()


class HubClient:
    """One hub, one terminal identity, one ``requests.Session``."""

    def __init__(self, base_url: str, *, terminal_id: str | None = None, key=None,
                 session: requests.Session | None = None, timeout=TIMEOUT,
                 offset_ms: int = 0, clock_ms=_now_ms, hub_protocol: int = 2):
        self.base_url = base_url.rstrip("/")
        self.terminal_id, self.key = terminal_id, key
        if session is None:
            session = requests.Session()
            # A hub with its own (self-signed or private-CA) certificate: trust that bundle.
            # session.send() does not read REQUESTS_CA_BUNDLE, so our own setting it is.
            session.verify = config.get("hub_ca") or True
        self.session = session
        self.session.headers["User-Agent"] = USER_AGENT
        self.timeout = timeout
        self.offset_ms = offset_ms     # hub clock minus ours; requests are signed in hub time
        self.clock_ms = clock_ms
        self.bytes_sent = self.bytes_received = self.round_trips = 0
        # The hub's protocol version, from its last answer (X-Lianxin-Protocol; a hub that
        # does not send one speaks 2): v3 bodies and answers are asked for only from 3 on.
        self.hub_protocol = hub_protocol

    def request(self, method: str, path: str, *, params: dict | None = None,
                body: dict | None = None, compress: bool = False, signed: bool = True,
                headers: dict | None = None, stream: bool = False,
                data: bytes | None = None) -> requests.Response:
        """Send one request (signed unless told otherwise) and return the 2xx response.
        ``body`` is sent as JSON; ``data`` as it is (with its type in ``headers``).

        A refusal raises :class:`SyncError` with the hub's code; a ``stale_time`` refusal
        is retried once in the hub's time."""
        raw = b""
        hdrs = {protocol.H_PROTOCOL: str(protocol.PROTOCOL_VERSION),
                protocol.H_SOFTWARE: CLIENT_VERSION, "Accept-Encoding": ACCEPT_ENCODING,
                **(headers or {})}
        if body is not None:
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
            if compress:
                raw, encoding = protocol.compress(
                    raw, ACCEPT_ENCODING if self.hub_protocol >= 3 else "gzip")
                if encoding:
                    hdrs["Content-Encoding"] = encoding
        elif data is not None:
            raw = bytes(data)
        for attempt in (1, 2):
            response = self._send(method, path, params, raw, hdrs, signed, stream)
            if response.ok:
                return response
            err = self._error(response)
            if err.code == "stale_time" and attempt == 1 and "hub_time" in err.extra:
                self.offset_ms = int(err.extra["hub_time"]) - self.clock_ms()
                continue
            raise err
        raise AssertionError("unreachable")

    def _send(self, method, path, params, raw, hdrs, signed, stream) -> requests.Response:
        prep = self.session.prepare_request(
            requests.Request(method, self.base_url + path, params=params,
                             data=raw if raw else None, headers=hdrs))
        if signed:
            local = self.clock_ms()
            t, nonce = str(local + self.offset_ms), secrets.token_hex(16)
            prep.headers.update({
                protocol.H_TERMINAL: self.terminal_id, protocol.H_TIME: t,
                protocol.H_NONCE: nonce, protocol.H_LOCAL_TIME: str(local),
                protocol.H_SIGNATURE: protocol.sign(self.key, method, prep.path_url, t, nonce, raw),
            })
        try:
            response = self.session.send(prep, timeout=self.timeout, stream=stream)
        except requests.RequestException as e:
            raise SyncError("network", f"{method} {path}: {e}",
                            "连不上服务中心，稍后会再试。") from e
        self.round_trips += 1
        self.bytes_sent += len(raw)
        hub_time = response.headers.get(protocol.H_HUB_TIME, "")
        if hub_time.isdigit():
            self.offset_ms = int(hub_time) - self.clock_ms()
        version = response.headers.get(protocol.H_PROTOCOL, "")
        self.hub_protocol = int(version) if version.isdigit() and len(version) < 6 else 2
        if not stream:
            length = response.headers.get("Content-Length", "")
            self.bytes_received += int(length) if length.isdigit() else len(response.content)
            if response.headers.get("Content-Encoding", "").lower() == "xz":
                # requests decodes gzip itself, not xz.
                try:
                    response._content = protocol.xz_decompress(response.content,
                                                               protocol.MAX_BODY)
                except protocol.ProtocolError as e:
                    raise SyncError("bad_answer", f"{method} {path}: {e.message}",
                                    "服务中心的回复有误，稍后会再试。") from e
        return response

    @staticmethod
    def _error(response: requests.Response) -> SyncError:
        try:
            err = response.json()["error"]
            code, message, zh = err["code"], err["message"], err.get("message_zh")
            extra = {k: v for k, v in err.items() if k not in ("code", "message", "message_zh")}
        except (ValueError, KeyError, TypeError):
            code, message, zh, extra = "http_error", response.text[:200], None, {}
        return SyncError(code, f"{message} (HTTP {response.status_code})", zh,
                         response.status_code, extra)


# -- enrollment ------------------------------------------------------------------------

def _load_or_make_key(path: Path):
    """The key made by an earlier attempt (whose answer may have been lost) or a new one."""
    if path.exists():
        return protocol.load_private_key(path.read_bytes())
    key = protocol.new_private_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(protocol.private_key_pem(key))
        f.flush()
        os.fsync(f.fileno())
    return key


def enroll(store_path, hub_url: str, code: str, *, label: str = "",
           session: requests.Session | None = None, clock=None) -> dict:
    """Enroll the terminal at ``store_path`` with the hub, using a one-time code.

    With no store at ``store_path`` (a new terminal), the encrypted store and its keys are
    made for the code's branch and appear there only once the hub has said yes; the first
    sync then brings the whole branch. A refused code leaves nothing behind. An attempt whose
    answer never came keeps its identity in a hidden staging folder beside the path, so the
    same command run again resends it (the hub accepts a resend from the same key)."""
    from core.store import Store

    store_path = Path(store_path)
    if not store_path.exists():
        return _enroll_new(store_path, hub_url, code, label=label, session=session, clock=clock)
    store = Store.open(store_path, clock=clock)
    try:
        return _enroll_store(store, hub_url, code, label=label, session=session)
    finally:
        store.close()


def _enroll_store(store, hub_url: str, code: str, *, label: str,
                  session: requests.Session | None) -> dict:
    if store.meta("sync.hub_url"):
        raise SyncError("already_enrolled", f"this terminal is enrolled at "
                        f"{store.meta('sync.hub_url')}", "这台终端已经注册过了。")
    key = _load_or_make_key(key_path(store.path))
    client = HubClient(hub_url, terminal_id=store.terminal_id, key=key, session=session)
    body = {"code": code, "terminal_id": store.terminal_id,
            "public_key": protocol.public_key_b64(key), "label": label,
            # What the journal holds now was written before enrollment (core.events).
            "journal_seq": outbox.head_seq(store)}
    if store.meta("branch_code"):
        body["branch_code"] = store.meta("branch_code")
    result = client.request("POST", "/v1/enroll", body=body).json()
    with store.transaction():
        store.set_meta("sync.hub_url", client.base_url)
        store.set_meta("sync.hub_id", result["hub_id"] or "")
        store.set_meta("sync.branch", result["branch"]["code"])
        store.set_meta("sync.enrolled_at", iso(store.now()))
        store.set_meta("sync.clock_offset_ms", str(client.offset_ms))
        store.set_meta("sync.hub_protocol", str(client.hub_protocol))
    return result


def staging_dir(store_path: Path) -> Path:
    """Where a new terminal's store is made until the hub accepts its enrollment."""
    return store_path.parent / f".{store_path.name}.enrolling"


def _enroll_new(store_path: Path, hub_url: str, code: str, *, label: str,
                session: requests.Session | None, clock) -> dict:
    from core.errors import StoreError
    from core.store import Store, fsync_dir
    from core.store import key_path as store_key_path

    staging = staging_dir(store_path)
    staged = staging / store_path.name
    keys = (store_key_path(store_path), key_path(store_path))
    store = None
    if staged.exists():  # an earlier attempt: its answer was lost, or it stopped half-way
        for moved in keys:  # keys already moved out by a move cut short go back first
            if moved.exists() and not (staging / moved.name).exists():
                os.replace(moved, staging / moved.name)
        try:
            store = Store.open(staged, clock=clock)
        except LianxinError:
            # Killed while being made: it never reached the hub (a store that did opens).
            shutil.rmtree(staging, ignore_errors=True)
    if store is None:
        if any(p.exists() for p in keys):
            raise StoreError(f"{store_path} is missing but its key files are there; refusing "
                             "to make a new terminal over them",
                             "这里有终端的密钥文件却没有数据文件，请联系技术人员。")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True, mode=0o700)
        store = Store.create(staged, clock=clock)
    try:
        result = (_enrolled_result(store) if store.meta("sync.hub_url")
                  else _enroll_store(store, hub_url, code, label=label, session=session))
    except SyncError as e:
        store.close()
        if e.status is not None and 400 <= e.status < 500:
            shutil.rmtree(staging, ignore_errors=True)  # refused: nothing stays behind
        raise
    except BaseException:
        store.close()
        raise
    store.close()
    # The keys first, the database last: the path is a terminal only when all are there.
    names = sorted((p.name for p in staging.iterdir()), key=lambda n: n == store_path.name)
    for name in names:
        os.replace(staging / name, store_path.parent / name)
    fsync_dir(store_path.parent)
    staging.rmdir()
    return result


def _enrolled_result(store) -> dict:
    """What a finished enrollment said, for an attempt that stopped before moving files."""
    from core import branch as core_branch

    code = store.meta("sync.branch")
    try:
        b = core_branch.get(store)
        info = {"code": b.code, "name": b.name, "township": b.township}
    except LianxinError:
        info = {"code": code, "name": code, "township": ""}
    return {"terminal_id": store.terminal_id, "hub_id": store.meta("sync.hub_id"),
            "branch": info, "protocol": protocol.PROTOCOL_VERSION}


def open_client(store, *, session: requests.Session | None = None, **kw) -> HubClient:
    """The client for an enrolled terminal's hub."""
    hub_url = store.meta("sync.hub_url")
    if not hub_url:
        raise SyncError("not_enrolled", "this terminal is not enrolled at a hub",
                        "这台终端还没有在服务中心注册，请先注册。")
    key = protocol.load_private_key(key_path(store.path).read_bytes())
    return HubClient(hub_url, terminal_id=store.terminal_id, key=key, session=session,
                     offset_ms=int(store.meta("sync.clock_offset_ms", "0") or 0),
                     hub_protocol=int(store.meta("sync.hub_protocol", "2") or 2), **kw)


# -- push ------------------------------------------------------------------------------

def _batch(store, after_audit: int, limit: int) -> tuple[list[dict], list[dict]]:
    """The next audit entries and the journal events they record (``core.outbox.batch``)."""
    return outbox.batch(store, after_audit, limit)


def _configured_batch() -> int | None:
    """LIANXIN_SYNC_BATCH, if set to a whole number from 1."""
    raw = config.get("sync_batch") or ""
    return int(raw) if raw.isdigit() and int(raw) >= 1 else None


def _size(events: list[dict], entries: list[dict]) -> int:
    """About how many bytes a batch's JSON takes (before compression)."""
    return (sum(len(e["payload"].encode("utf-8")) + 120 for e in events)
            + sum(len(en["detail"].encode("utf-8")) + len(en["subject"]) + 300 for en in entries))


def push(store, client: HubClient, *, batch: int | None = None,
         with_pull: bool = False) -> dict:
    """Ship the journal and audit chain the hub does not have yet; returns what moved.

    ``batch``: most audit entries a request (default: protocol.PUSH_ROWS to a v3 hub,
    PUSH_BATCH to an older one). ``with_pull``: the last batch to a v3 hub asks for the
    first pull page too, returned as ``page`` (``(cursor, page)``) for :func:`pull`."""
    pushed_audit = outbox.pushed(store)[1]
    head = outbox.head_seq(store)
    last_audit = outbox.audit_head(store)
    cursor = int(store.meta("sync.pull_cursor", "0") or 0)
    totals = {"batches": 0, "applied": 0, "duplicates": 0, "stored_seq": None,
              "future_events": 0, "page": None}
    rewound = downgraded = False
    cap = protocol.PUSH_ROWS
    while True:
        rows = client.hub_protocol >= 3
        most = protocol.PUSH_ROWS if rows else protocol.PUSH_BATCH  # what the hub takes
        limit = min(batch or min(_configured_batch() or most, most), cap)
        events, entries = _batch(store, pushed_audit, limit)
        if not entries:
            break
        if len(entries) > 1 and _size(events, entries) > protocol.MAX_BODY // 2:
            cap = len(entries) // 2  # large payloads: fewer a request, within the hub's limit
            continue
        body = ({**protocol.push_rows(events, entries), "head_seq": head} if rows
                else {"events": events, "audit": entries, "head_seq": head})
        if rows and with_pull and entries[-1]["seq"] >= last_audit:
            body["pull"] = {"cursor": cursor, "limit": protocol.PULL_ROWS}
        try:
            result = client.request("POST", "/v1/push", compress=True, body=body).json()
            if rows and client.hub_protocol < 3 and not downgraded:
                # A hub older than v3 (restored from an old release) read no rows: once
                # more, in its form.
                downgraded = True
                continue
        except SyncError as e:
            # The hub holds less than we thought (restored from a backup): start from its
            # marks, once.
            hub_audit = e.extra.get("audit_seq")
            if (e.code in ("seq_gap", "audit_gap") and not rewound
                    and isinstance(hub_audit, int) and hub_audit < pushed_audit):
                pushed_audit, rewound = hub_audit, True
                continue
            raise
        if result["audit_seq"] <= pushed_audit and result["applied"] == 0:
            raise SyncError("no_progress", f"the hub stored nothing of the batch after audit "
                            f"entry {pushed_audit}")
        pushed_audit = result["audit_seq"]
        outbox.mark_shipped(store, stored_seq=result["stored_seq"], audit_seq=result["audit_seq"])
        totals["batches"] += 1
        totals["applied"] += result["applied"]
        totals["duplicates"] += result["duplicates"]
        totals["future_events"] += result.get("future_events", 0)  # our clock is fast
        totals["stored_seq"] = result["stored_seq"]
        if isinstance(result.get("pull"), dict):
            totals["page"] = (cursor, result["pull"])
    return totals


# -- one sync --------------------------------------------------------------------------

def sync_once(store, *, session: requests.Session | None = None) -> dict:
    """Push, then pull; record the outcome in meta and return what moved."""
    started = time.monotonic()
    client = open_client(store, session=session)
    try:
        # The push brings the first pull page back (one round trip a night), but for a
        # terminal that has pulled nothing yet from a v4 hub: the branch's whole log is
        # ahead of it, and lines of columns move it sooner than rows in one answer.
        new = client.hub_protocol >= 4 and not int(store.meta("sync.pull_cursor", "0") or 0)
        pushed = push(store, client, with_pull=not new)
        pulled = pull(store, client, first=pushed["page"])
        skips = report_skips(store, client)
        # After the push that announced them; after the pull, so that a recording too big
        # for a bad link never keeps the branch's news from this terminal.
        voice = client_voice.upload_voice(store, client)
        media = fetch_media(store, client)
    except LianxinError as e:
        with store.transaction():
            store.set_meta("sync.last_error", json.dumps(
                {"at": iso(store.now()), "error": e.detail, "zh": e.zh}, ensure_ascii=False))
            store.set_meta("sync.clock_offset_ms", str(client.offset_ms))
            store.set_meta("sync.hub_protocol", str(client.hub_protocol))
        raise
    report = {"pushed": pushed["applied"], "duplicates": pushed["duplicates"],
              "batches": pushed["batches"], "future_events": pushed["future_events"],
              "pulled": pulled["events"],
              "pulled_by_type": pulled["by_type"], "applied": pulled["applied"],
              "skipped": pulled["skipped"], "skips_reported": skips,
              "waiting": pulled["waiting"],
              "media": media["files"], "media_bytes": media["bytes"],
              "voice_messages": voice["messages"], "voice_bytes": voice["bytes"],
              "bytes_sent": client.bytes_sent, "bytes_received": client.bytes_received,
              "round_trips": client.round_trips,
              "duration_s": round(time.monotonic() - started, 3),
              "clock_offset_ms": client.offset_ms}
    with store.transaction():
        store.set_meta("sync.last_success", iso(store.now()))
        # The hub's clock, as seen now: a terminal clock later found earlier than this is
        # wrong (flat battery), and cash then needs staff to confirm the date (core.dues).
        hub_now = store.now() + timedelta(milliseconds=client.offset_ms)
        store.set_meta("hub_time_seen", iso(hub_now))
        # The hub found events we wrote dated ahead of its clock: ours is fast (core.dues
        # tells staff). Cleared once a push of new events has none.
        if pushed["future_events"]:
            store.set_meta("sync.clock_ahead", iso(hub_now))
        elif pushed["applied"]:
            store.set_meta("sync.clock_ahead", "")
        store.set_meta("sync.last_report", json.dumps(report, ensure_ascii=False))
        store.set_meta("sync.clock_offset_ms", str(client.offset_ms))
        store.set_meta("sync.hub_protocol", str(client.hub_protocol))
    return report


def status(store) -> dict:
    """Hub, last success and error, what waits to be sent (``core.outbox.sync_status``)."""
    return outbox.sync_status(store)

