"""The terminal's local store: one SQLCipher-encrypted SQLite file and its key file.

    terminal.db       the data, encrypted at rest (SQLCipher, raw 256-bit key)
    terminal.db.key   the key, hex, mode 0600, written once by ``Store.create``

Opening never creates anything: a missing file, a missing key or a key that does not fit
raises a :class:`~core.errors.StoreError` and leaves the file untouched. Only ``create``
makes a new store, and it refuses to overwrite one.

Every domain write runs inside :meth:`Store.transaction` and calls :meth:`Store.record`,
which appends the journal event (what sync ships) and the audit entry (the hash chain) in
the same transaction, so a crash leaves all three or none.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlcipher3
import sqlite_utils

from . import audit
from .clock import SystemClock, iso
from .errors import KeyMissing, NoStore, StoreError, WrongKey
from .schema import migrations

PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
)


def key_path(db_path: Path) -> Path:
    return Path(str(db_path) + ".key")


def _read_key(path: Path) -> str:
    kp = key_path(path)
    if not kp.exists():
        raise KeyMissing(f"key file {kp} is missing; the database cannot be opened without it")
    key = kp.read_text().strip()
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise KeyMissing(f"key file {kp} is not a 64-hex-digit key")
    return key


def _connect(path: Path, key: str) -> sqlcipher3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves (sqlite-utils nests savepoints).
    conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA cipher_log_level = NONE")  # our errors say it better than stderr noise
    conn.execute(f"PRAGMA key = \"x'{key}'\"")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as e:
        conn.close()
        raise WrongKey(f"{path}: the key does not open this database, or the file is damaged ({e})") from e
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


class Store:
    """An open terminal store. Construct with :meth:`open` or :meth:`create`."""

    def __init__(self, db: sqlite_utils.Database, path: Path, clock=None):
        self.db = db
        self.path = path
        self.clock = clock or SystemClock()
        self._meta_cache: dict[str, str] = {}

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, clock=None) -> Store:
        path = Path(path)
        if not path.exists():
            raise NoStore(f"no terminal database at {path}; run `lianxin init` first")
        conn = _connect(path, _read_key(path))
        store = cls(sqlite_utils.Database(conn), path, clock)
        try:
            migrations.apply(store.db)
            if store.meta("terminal_id") is None:
                raise StoreError(f"{path} is not a Lianxin terminal database (no terminal id)")
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def create(cls, path: str | os.PathLike, clock=None) -> Store:
        """Create a new empty store and its key file. Refuses if either already exists."""
        path = Path(path)
        kp = key_path(path)
        if path.exists() or kp.exists():
            raise StoreError(
                f"{path} or its key file already exists; refusing to create a new store over it",
                "这台终端已经有数据了，不能重新初始化。",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        fd = os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            conn = _connect(path, key)
            store = cls(sqlite_utils.Database(conn), path, clock)
            migrations.apply(store.db)
            with store.transaction():
                store.set_meta("terminal_id", str(uuid.uuid4()))
                store.set_meta("created_at", iso(store.now()))
        except BaseException:
            with contextlib.suppress(Exception):
                conn.close()
            for p in (path, kp, Path(str(path) + "-wal"), Path(str(path) + "-shm")):
                p.unlink(missing_ok=True)
            raise
        return store

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- basics ------------------------------------------------------------------------
    def now(self):
        return self.clock.now()

    @property
    def terminal_id(self) -> str:
        return self.meta("terminal_id")

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def one(self, sql: str, params: Any = ()) -> dict | None:
        cur = self.db.execute(sql, params)
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def all(self, sql: str, params: Any = ()) -> list[dict]:
        cur = self.db.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    # -- writing -----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; nested use becomes a savepoint."""
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield self
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def record(self, event_type: str, payload: dict, *, actor: str, subject: str = "") -> str:
        """Append a journal event and its audit entry. Call inside :meth:`transaction`."""
        if not self.db.conn.in_transaction:
            raise RuntimeError("Store.record must be called inside Store.transaction()")
        event_id = str(uuid.uuid4())
        at = iso(self.now())
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        self.db.execute(
            "INSERT INTO journal(event_id, type, payload, at) VALUES (?, ?, ?, ?)",
            [event_id, event_type, body, at],
        )
        audit.append(self, actor=actor, action=event_type, subject=subject,
                     detail={"event_id": event_id})
        return event_id

    def audit_read(self, actor: str, subject: str, what: str) -> None:
        """Log that staff looked at a member's personal data (its own transaction if needed)."""
        with self.transaction():
            audit.append(self, actor=actor, action="read", subject=subject, detail={"what": what})
