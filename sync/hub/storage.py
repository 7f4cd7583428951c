"""Every SQL statement of the hub, behind one class, so another database can be added later.

:class:`HubStorage` is assembled from mixins, one module per part, all on one connection:

    storage.py            open/migrate, transactions, the lock, meta
    storage_schema.py     the tables (migration sets ``hub`` and ``hub_reconcile``), pragmas
    storage_terminals.py  branches, enrollment codes, terminals, the replay window
    storage_log.py        pushes appended, the branch log paged for pulls, media
    storage_reconcile.py  the derived tables (sync.hub.conflicts) and report queries
    storage_roster.py     roster and staff queries over the branch log

One connection, shared by the server's worker threads under a lock: SQLite has one writer
at a time anyway, and it makes ``cursor`` order equal commit order, so a pull never skips
a row that commits later with a smaller cursor. A server database with concurrent writers
(PostgreSQL) must keep that property some other way (e.g. a per-branch lock on append).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import sqlite_utils

from .storage_log import PROPOSAL_TYPES, LogQueries
from .storage_reconcile import ReconcileQueries
from .storage_roster import RosterQueries
from .storage_schema import GENESIS, PRAGMAS, migrations, reconcile_migrations
from .storage_terminals import TerminalQueries

__all__ = ["GENESIS", "PRAGMAS", "PROPOSAL_TYPES", "HubStorage", "migrations",
           "reconcile_migrations"]


class HubStorage(TerminalQueries, LogQueries, ReconcileQueries, RosterQueries):
    """The hub's database. Construct with :meth:`open`; every method is thread-safe."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path
        self._lock = threading.RLock()
        # terminal id -> its public key, loaded once (a terminal's key never changes
        # after enrollment; revocation is read from the row each time).
        self.public_keys: dict[str, object] = {}

    @classmethod
    def open(cls, path, *, create: bool = True) -> HubStorage:
        """Open (and with ``create``, make) the hub database at ``path`` and migrate it."""
        path = Path(path)
        if not create and not path.is_file():
            raise FileNotFoundError(f"no hub database at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        try:
            for pragma in PRAGMAS:
                conn.execute(pragma)
            db = sqlite_utils.Database(conn)
            migrations.apply(db)
            reconcile_migrations.apply(db)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    @property
    def media_dir(self) -> Path:
        return Path(str(self.path) + ".media")

    # -- plumbing ----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[HubStorage]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` under the lock; nested use joins the outer one."""
        with self._lock:
            if self.conn.in_transaction:
                yield self
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

    def exclusive(self) -> contextlib.AbstractContextManager:
        """The lock every method takes, to hold across a larger piece of work."""
        return self._lock

    def _all(self, sql: str, params: Iterable = ()) -> list[dict]:
        with self._lock:
            cur = self.conn.execute(sql, list(params))
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _one(self, sql: str, params: Iterable = ()) -> dict | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    def _run(self, sql: str, params: Iterable = ()) -> sqlite3.Cursor:
        with self._lock:
            return self.conn.execute(sql, list(params))

    # -- meta --------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", [key])
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT INTO meta(key, value) VALUES (?, ?) "
                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, value])
