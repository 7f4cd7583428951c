"""Every SQL statement of the hub, behind one class, so another database can be added later.

:class:`HubStorage` is assembled from mixins, one module per part, all on one connection:

    storage.py            open/migrate, transactions, the lock, meta
    storage_schema.py     the tables (migration sets ``hub`` and ``hub_reconcile``), pragmas
    storage_terminals.py  branches, enrollment codes, terminals, the replay window
    storage_log.py        pushes appended, the branch log paged for pulls, media
    storage_reconcile.py  the derived tables (sync.hub.conflicts) and report queries
    storage_roster.py     roster and staff queries over the branch log
    storage_exports.py    read-only queries of exports, the yearly summary, the member page

At rest the database is encrypted like a terminal's (SQLCipher, a raw 256-bit key in
``<db>.key``; core.store's key-file and connect helpers). The hub's folder is 0700 and
every file it writes 0600 (database, WAL/SHM, key, media). Opening an existing hub never
creates a file: a missing or wrong key is a :class:`~core.errors.StoreError`, and a hub
made before encryption (a plain SQLite file) is refused with the way out,
``lianxin hub --db FILE migrate-encrypt`` (:func:`encrypt_plain_hub`).

One connection, shared by the server's worker threads under a lock: SQLite has one writer
at a time anyway, and it makes ``cursor`` order equal commit order, so a pull never skips
a row that commits later with a smaller cursor. A server database with concurrent writers
(PostgreSQL) must keep that property some other way (e.g. a per-branch lock on append).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import platformdirs
import psycopg
import sqlcipher3
import sqlite_utils

from core import store as core_store
from core.errors import StoreError

from . import storage_pg
from .storage_exports import ExportQueries
from .storage_log import PROPOSAL_TYPES, LogQueries
from .storage_operators import OperatorQueries
from .storage_overview import OverviewQueries
from .storage_reconcile import ReconcileQueries
from .storage_roster import RosterQueries
from .storage_schema import GENESIS, PRAGMAS, migrations, reconcile_migrations
from .storage_terminals import TerminalQueries
from .storage_voice import VoiceQueries

HUB_CACHE_KIB = 65536

__all__ = ["GENESIS", "PRAGMAS", "PROPOSAL_TYPES", "HubStorage", "IntegrityError",
           "PlainHub", "encrypt_plain_hub", "migrations", "reconcile_migrations"]

#: What a constraint or trigger raises on the hub's connection (SQLCipher's, not stdlib's;
#: psycopg's on PostgreSQL): ``except IntegrityError`` catches either.
IntegrityError = (sqlcipher3.IntegrityError, psycopg.IntegrityError)

_PLAIN_HEADER = b"SQLite format 3\x00"


class PlainHub(StoreError):
    """A hub database made before encryption at rest: plain SQLite, to migrate once."""

    zh_default = "服务中心数据库还没有加密，请先运行 lianxin hub --db 文件 migrate-encrypt。"


def _is_plain_sqlite(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(16) == _PLAIN_HEADER


def _migrate_hint(path: Path) -> str:
    return f"lianxin hub --db {path} migrate-encrypt"



GROUP_MAX = 16  # pushes committed together at most (bounds the first one's wait)


class _Group:
    """Pushes sharing one open transaction, committed (one fsync) by the last of them."""

    def __init__(self):
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.size = 0


class HubStorage(TerminalQueries, LogQueries, ReconcileQueries, RosterQueries,
                 OperatorQueries, OverviewQueries, VoiceQueries,
                 ExportQueries):
    """The hub's database. Construct with :meth:`open`; every method is thread-safe."""

    def __init__(self, conn: sqlite3.Connection | storage_pg.PgConnection, path: Path | str,
                 files: Path | None = None):
        self.conn = conn
        self.path = path                    # the database file, or a PostgreSQL URL
        self.postgres = isinstance(conn, storage_pg.PgConnection)
        # Files the hub keeps beside its database: lesson audio (media) and uploads.
        self.files = files
        self._lock = threading.RLock()
        self._group: _Group | None = None   # an open group commit (group_transaction)
        self._pushers = 0                   # pushes waiting for the lock, to join a group
        self._pushers_lock = threading.Lock()
        self._local = threading.local()     # .in_group: this thread's work is in the group
        self.last_push = 0.0                # time.monotonic() of the latest push begun
        # terminal id -> its public key, loaded once (a terminal's key never changes
        # after enrollment; revocation is read from the row each time).
        self.public_keys: dict[str, object] = {}

    @classmethod
    def open(cls, path, *, create: bool = True, files: Path | None = None) -> HubStorage:
        """Open the hub database at ``path`` and migrate it; with ``create``, make a new
        encrypted one (and its key file) when there is none. Opening an existing one
        creates no file. ``path`` may be a PostgreSQL URL (``files``: where that hub keeps
        its files; see :meth:`_open_postgres`)."""
        if storage_pg.is_url(path):
            return cls._open_postgres(path, files, create=create)
        path = Path(path)
        if path.is_file():
            return cls._open_existing(path)
        if not create:
            raise FileNotFoundError(f"no hub database at {path}")
        return cls._create(path)

    @classmethod
    def _open_existing(cls, path: Path) -> HubStorage:
        if _is_plain_sqlite(path):
            raise PlainHub(f"{path} is a plain (unencrypted) hub database made before "
                           f"encryption at rest; stop the hub, back it up, and run "
                           f"`{_migrate_hint(path)}` once")
        conn = core_store.connect(path, core_store.read_key(path))
        try:
            # Ours? Checked before anything writes: an empty or stray file is not a hub.
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                "AND name = 'meta'").fetchone():
                raise StoreError(f"{path} is not a Lianxin hub database (no meta table)",
                                 "这个文件不是服务中心数据库。")
            core_store.private_files(path)
            cls._configure(conn)
        except sqlcipher3.DatabaseError as e:
            conn.close()
            raise core_store.open_error(path, e) from e
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    @classmethod
    def _open_postgres(cls, url: str, files: Path | None = None, *,
                       create: bool = True) -> HubStorage:
        """A hub on PostgreSQL at ``url`` (created in an empty database). Its files go to
        ``files``, else ``LIANXIN_HUB_FILES`` (every hub process of one database must see
        the same folder), else a folder named after the database in the user's data
        folder."""
        conn = storage_pg.connect(url)
        try:
            held = storage_pg.holds(conn)
            if held == "other":
                raise StoreError(f"{storage_pg.shown(url)} holds other tables but no Lianxin "
                                 "hub (give the hub a database of its own)",
                                 "这个数据库里有别的数据，不是服务中心数据库。")
            if held == "nothing" and not create:
                raise FileNotFoundError(f"no hub in the database {storage_pg.shown(url)}")
            storage_pg.migrate(conn, migrations, reconcile_migrations)
        except BaseException:
            conn.close()
            raise
        files = Path(files or os.environ.get("LIANXIN_HUB_FILES") or platformdirs.user_data_path(
            "lianxin") / "hub-files" / storage_pg.database_name(url))
        core_store.private_folder(files)
        return cls(conn, url, files)

    @classmethod
    def _create(cls, path: Path) -> HubStorage:
        kp = core_store.key_path(path)
        if any(p.exists() for p in (kp, *core_store.sidecars(path))):
            raise StoreError(f"no hub database at {path} but its key file or WAL files exist; "
                             "refusing to create a new hub over them (restore the database "
                             "from backup, or move them away)",
                             "服务中心数据库不见了，但密钥或日志文件还在，不能新建。")
        core_store.private_folder(path.parent)
        core_store.new_private_file(path)
        conn = None
        try:
            key = core_store.new_key_file(path)
            conn = core_store.connect(path, key)
            cls._configure(conn)
            core_store.private_files(path)
        except BaseException:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            for p in (path, kp, *core_store.sidecars(path)):
                p.unlink(missing_ok=True)
            raise
        return cls(conn, path)

    @staticmethod
    def _configure(conn) -> None:
        for pragma in PRAGMAS:
            conn.execute(pragma)
        # Encrypted pages are decrypted on every cache miss: a 64 MiB page cache keeps the
        # hot indexes (event ids, the branch log's tail) decrypted across requests.
        conn.execute(f"PRAGMA cache_size = -{HUB_CACHE_KIB}")
        db = sqlite_utils.Database(conn)
        migrations.apply(db)
        reconcile_migrations.apply(db)

    def close(self) -> None:
        with self._lock:
            self._outside_group()
            self.conn.close()

    @property
    def media_dir(self) -> Path:
        return self.files / "media" if self.files else Path(str(self.path) + ".media")

    @property
    def uploads_dir(self) -> Path:
        """Where the console stages an upload (lesson audio) until it is checked."""
        return self.files / "uploads" if self.files else Path(str(self.path) + ".uploads")

    # -- plumbing ----------------------------------------------------------------------
    @contextlib.contextmanager
    def group_transaction(self) -> Iterator[HubStorage]:
        """A push's transaction, committed with the pushes waiting behind it (group commit:
        one fsync for several batches, the hub's dearest cost per push).

        The push holds the lock for its whole work; its :meth:`transaction` blocks are
        savepoints inside the group (an error undoes that block alone). When other pushes
        wait for the lock, it leaves the transaction open for them and waits; the last of
        the group (no one waiting, or GROUP_MAX reached) commits and wakes the rest. Nobody
        returns before the COMMIT did — a push is answered, or refused, only once its
        writes are durable — and a failed COMMIT fails every push of the group (none
        answered: each resends). Any other use of the storage commits an open group first
        (:meth:`_outside_group`)."""
        with self._pushers_lock:
            self._pushers += 1
        self.last_push = time.monotonic()
        self._lock.acquire()
        with self._pushers_lock:
            self._pushers -= 1
        try:
            if self._group is None:
                self.conn.execute("BEGIN IMMEDIATE")
                self._group = _Group()
            group = self._group
            group.size += 1
            self._local.in_group = True
        except BaseException:
            self._lock.release()
            raise
        try:
            yield self
        finally:
            self._local.in_group = False
            self._end_push(group)

    def _end_push(self, group: _Group) -> None:
        """Commit the group, or leave it open to the next push and wait for its COMMIT.
        Releases the lock either way."""
        try:
            with self._pushers_lock:
                wait = self._pushers > 0 and group.size < GROUP_MAX
            if not wait:
                self._flush_group()
        except BaseException:
            self._lock.release()
            raise
        self._lock.release()
        if wait:
            group.done.wait()
        if group.error is not None:
            raise group.error

    def _flush_group(self) -> None:
        """Commit an open group now (the caller holds the lock)."""
        group = self._group
        if group is None:
            return
        self._group = None
        try:
            self.conn.execute("COMMIT")
        except BaseException as e:
            group.error = e
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            group.done.set()

    def _outside_group(self) -> None:
        """Another use of the storage while a group is open: commit the group first, so
        nothing reads or joins work not yet durable."""
        if self._group is not None and not getattr(self._local, "in_group", False):
            self._flush_group()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[HubStorage]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` under the lock. Nested use is a savepoint of the
        outer one: an error undoes the inner block (and, unless caught, the outer)."""
        with self._lock:
            self._outside_group()
            if self.conn.in_transaction:
                name = f"sp{id(self._local)}_{getattr(self._local, 'depth', 0)}"
                self._local.depth = getattr(self._local, "depth", 0) + 1
                self.conn.execute(f"SAVEPOINT {name}")
                try:
                    yield self
                except BaseException:
                    self.conn.execute(f"ROLLBACK TO {name}")
                    self.conn.execute(f"RELEASE {name}")
                    raise
                else:
                    self.conn.execute(f"RELEASE {name}")
                finally:
                    self._local.depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[HubStorage]:
        """Reads that must agree with each other, without the writer lock: one read
        transaction (SQLite: ``BEGIN DEFERRED``; PostgreSQL: a read-only snapshot), so a
        hub process's pull pages do not wait for the other processes' writes. Inside a
        transaction it is that transaction."""
        with self._lock:
            self._outside_group()
            if self.conn.in_transaction:
                yield self
                return
            self.conn.execute("BEGIN DEFERRED")
            try:
                yield self
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("COMMIT")

    def _all(self, sql: str, params: Iterable = ()) -> list[dict]:
        with self._lock:
            self._outside_group()
            cur = self.conn.execute(sql, list(params))
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _one(self, sql: str, params: Iterable = ()) -> dict | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    def _run(self, sql: str, params: Iterable = ()) -> sqlite3.Cursor:
        with self._lock:
            self._outside_group()
            return self.conn.execute(sql, list(params))

    # -- meta --------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", [key])
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT INTO meta(key, value) VALUES (?, ?) "
                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, value])


def encrypt_plain_hub(path) -> Path:
    """Encrypt a plain (pre-encryption) hub database in place; the hub must be stopped.

    ``sqlcipher_export`` into ``<db>.encrypting`` (0600) under a new key file (or the key
    file a previous, interrupted run left: it protects nothing yet), fsync, then an atomic
    rename over the plain file and an fsync of the folder. A crash at any point leaves
    either the plain database (run again) or the encrypted one with its key. Returns the
    key file's path.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"no hub database at {path}", "找不到服务中心数据库。")
    if not _is_plain_sqlite(path):
        raise StoreError(f"{path} is not a plain SQLite database (already encrypted?)",
                         "这个数据库已经加密了，不需要迁移。")
    kp = core_store.key_path(path)
    key = core_store.read_key(path) if kp.exists() else core_store.new_key_file(path)
    tmp = Path(str(path) + ".encrypting")
    for p in (tmp, *core_store.sidecars(tmp)):
        p.unlink(missing_ok=True)
    core_store.new_private_file(tmp)
    src = sqlcipher3.connect(str(path), isolation_level=None)  # no key: reads plain SQLite
    try:
        src.execute("PRAGMA busy_timeout = 10000")
        if src.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'meta'").fetchone() is None:
            raise StoreError(f"{path} is not a Lianxin hub database (no meta table)",
                             "这个文件不是服务中心数据库。")
        src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        version = src.execute("PRAGMA user_version").fetchone()[0]
        hub_id = src.execute("SELECT value FROM meta WHERE key = 'hub_id'").fetchone()
        src.execute("ATTACH DATABASE ? AS encrypted KEY \"x'" + key + "'\"", [str(tmp)])
        src.execute("SELECT sqlcipher_export('encrypted')")
        src.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        src.execute("DETACH DATABASE encrypted")
    except BaseException:
        src.close()
        tmp.unlink(missing_ok=True)
        raise
    src.close()
    check = core_store.connect(tmp, key)  # the copy opens with the key and holds the hub
    try:
        ok = check.execute("PRAGMA integrity_check").fetchone()[0]
        copied = check.execute("SELECT value FROM meta WHERE key = 'hub_id'").fetchone()
        if ok != "ok" or copied != hub_id:
            raise StoreError(f"{tmp}: the encrypted copy does not check ({ok}); "
                             f"{path} was not changed")
    finally:
        check.close()
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    for p in core_store.sidecars(path):
        p.unlink(missing_ok=True)
    core_store.private_files(path)
    core_store.fsync_dir(path.parent)
    core_store.private_folder(path.parent)
    return kp
