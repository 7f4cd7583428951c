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
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlcipher3
import sqlite_utils

from . import audit, events
from .clock import default_clock, iso
from .errors import KeyMissing, NoStore, StoreError, WrongKey
from .ids import new_id
from .schema import migrations

PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
)


def key_path(db_path: Path) -> Path:
    return Path(str(db_path) + ".key")


def read_key(path: Path) -> str:
    """The hex key of the database at ``path``, from its key file (:class:`KeyMissing` if none)."""
    kp = key_path(path)
    if not kp.exists():
        raise KeyMissing(f"key file {kp} is missing; the database cannot be opened without it")
    key = kp.read_text().strip()
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise KeyMissing(f"key file {kp} is not a 64-hex-digit key")
    return key


def new_key_file(path: Path) -> str:
    """Make the key file of the database at ``path``: a fresh raw 256-bit key, hex, mode 0600.

    Created with ``O_EXCL`` (an existing key file is never overwritten) and fsynced, so the
    key is on disk before anything is encrypted with it. Returns the key.
    """
    key = secrets.token_hex(32)
    fd = os.open(key_path(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
        f.flush()
        os.fsync(f.fileno())
    return key


def sidecars(path: Path) -> tuple[Path, Path]:
    """The database's WAL and SHM files."""
    return Path(str(path) + "-wal"), Path(str(path) + "-shm")


def private_folder(folder: Path) -> None:
    """Make ``folder`` (0700) if missing; tighten it to 0700 if it is ours and not shared.

    A sticky, world-writable folder (``/tmp``) or one owned by someone else is left alone:
    the files in it are 0600 whatever the folder.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = folder.stat()
    if st.st_uid == os.getuid() and not st.st_mode & stat.S_ISVTX:
        os.chmod(folder, 0o700)


def private_files(path: Path) -> None:
    """0600 on the database, its key and its WAL/SHM (SQLite gives WAL/SHM the db's mode)."""
    for p in (path, key_path(path), *sidecars(path)):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(p.stat().st_mode) != 0o600:
                os.chmod(p, 0o600)


def new_private_file(path: Path) -> None:
    """Create an empty ``path``, 0600, refusing one that exists: made before SQLite opens it,
    so the WAL/SHM it makes inherit 0600 and no file is ever world-readable."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (the directory entry itself)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def connect(path: Path, key: str) -> sqlcipher3.Connection:
    """Open ``path`` with ``key`` without writing anything to it.

    The pragmas that write (WAL mode) are set by :func:`_configure`, only once the file is
    known to be ours, so a wrong key, a stray empty file or a damaged file stays as it was.
    """
    # isolation_level=None: we issue BEGIN/COMMIT ourselves (sqlite-utils nests savepoints).
    conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")  # our errors say it better than stderr noise
        # Before the first read: another process mid-write must make us wait, not fail
        # (a "database is locked" on the first read is not a wrong key).
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute(f"PRAGMA key = \"x'{key}'\"")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as e:
        conn.close()
        raise open_error(path, e) from e
    return conn


def open_error(path: Path, e: sqlcipher3.DatabaseError) -> StoreError:
    """Name what went wrong when opening: a key that does not fit, or a damaged file."""
    code = getattr(e, "sqlite_errorname", "")
    if code == "SQLITE_NOTADB":
        return WrongKey(f"{path}: the key does not open this database, or it is not a database ({e})")
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return StoreError(f"{path} is busy (another program holds it): {e}",
                          "本机数据正被其他程序使用，请稍后再试。")
    return StoreError(f"{path} cannot be read, the file may be damaged ({e}); it was not changed",
                      "本机数据文件可能损坏了，数据没有改动，请联系工作人员。")


def _configure(conn: sqlcipher3.Connection, path: Path) -> None:
    for pragma in PRAGMAS:
        conn.execute(pragma)
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(f"{path}: could not switch to WAL mode (journal_mode is {mode})")


class Store:
    """An open terminal store. Construct with :meth:`open` or :meth:`create`."""

    def __init__(self, db: sqlite_utils.Database, path: Path, clock=None):
        self.db = db
        self.path = path
        self.clock = clock or default_clock()
        self._meta_cache: dict[str, str] = {}

    # -- opening -----------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, clock=None) -> Store:
        path = Path(path)
        if not path.is_file():
            raise NoStore(f"no terminal database at {path}; run `lianxin enroll --hub URL "
                          "--code CODE` to join a hub's branch, or `lianxin init` to start "
                          "offline")
        conn = connect(path, read_key(path))
        store = cls(sqlite_utils.Database(conn), path, clock)
        try:
            # Ours? Checked before anything writes: SQLite takes an empty file for an empty
            # database, and migrating it would turn a stray file into a store.
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                "AND name = 'meta'").fetchone() or store.meta("terminal_id") is None:
                raise StoreError(f"{path} is not a Lianxin terminal database (no terminal id)")
            _configure(conn, path)
            private_files(path)  # a store from before 0600 (SQLite made it 0644)
            migrations.apply(store.db)
        except sqlcipher3.DatabaseError as e:
            conn.close()
            raise open_error(path, e) from e
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def create(cls, path: str | os.PathLike, clock=None) -> Store:
        """Create a new empty store and its key file. Refuses if either already exists."""
        path = Path(path)
        kp = key_path(path)
        wal, shm = sidecars(path)
        if any(p.exists() for p in (path, kp, wal, shm)):
            raise StoreError(
                f"{path}, its key file or its WAL files already exist; "
                "refusing to create a new store over them",
                "这台终端已经有数据了，不能重新初始化。",
            )
        if not path.parent.exists():
            private_folder(path.parent)
        key = new_key_file(path)
        conn = None
        try:
            new_private_file(path)
            conn = connect(path, key)
            _configure(conn, path)
            store = cls(sqlite_utils.Database(conn), path, clock)
            migrations.apply(store.db)
            with store.transaction():
                store.set_meta("terminal_id", str(uuid.uuid4()))
                store.set_meta("created_at", iso(store.now()))
        except BaseException:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            for p in (path, kp, wal, shm):
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

    # -- raw queries: core's own ------------------------------------------------------
    # ``one``, ``all`` and ``db`` are for core's modules (and tests); every other part calls
    # a core function instead (tests/test_architecture.py fails on a use outside core).
    def one(self, sql: str, params: Any = ()) -> dict | None:
        """The first row of ``sql`` as a dict, or None."""
        cur = self.db.execute(sql, params)
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def all(self, sql: str, params: Any = ()) -> list[dict]:
        """Every row of ``sql`` as dicts."""
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
        try:
            conn.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (disk full, a deferred constraint) can leave the transaction
            # open; the next transaction() would then nest inside it and never commit.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def record(self, event_type: str, payload: dict, *, actor: str, subject: str = "") -> str:
        """Append a journal event and its audit entry. Call inside :meth:`transaction`."""
        if not self.db.conn.in_transaction:
            raise RuntimeError("Store.record must be called inside Store.transaction()")
        events.check_local(self, event_type)
        event_id = new_id()
        at = iso(self.now())
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        self.db.execute(
            "INSERT INTO journal(event_id, type, payload, at) VALUES (?, ?, ?, ?)",
            [event_id, event_type, body, at],
        )
        # The payload's digest rides in the chain, so an edited journal row is detected too.
        audit.append(self, actor=actor, action=event_type, subject=subject,
                     detail={"event_id": event_id, "sha256": audit.digest(body)})
        return event_id

    def audit_read(self, actor: str, subject: str, what: str) -> None:
        """Log that staff looked at a member's personal data (its own transaction if needed)."""
        with self.transaction():
            audit.append(self, actor=actor, action="read", subject=subject, detail={"what": what})
