"""The hub on PostgreSQL (psycopg 3): the same :class:`~sync.hub.storage.HubStorage`, the same
SQL, a different database.

The hub's SQL is written once, in SQLite's dialect, and kept to what both databases read
alike; :func:`translate` rewrites the few places where PostgreSQL differs (placeholders,
``INSERT OR IGNORE``, ``IS NOT ?``, ``json_extract``, ``group_concat``, the scalar
``max``/``min``), once per statement (cached). The migration sets of
:mod:`sync.hub.storage_schema` run here too, their DDL through :func:`translate_ddl`
(types, identity columns, append-only triggers), recorded in ``lianxin_migrations``.

Writers: ``BEGIN IMMEDIATE`` — SQLite's one writer at a time — becomes ``BEGIN`` and a
transaction-scoped advisory lock (:data:`WRITER_LOCK`), so every hub process writes in
turn, exactly as one SQLite hub does: the branch log's ``cursor`` order is its commit
order (a pull never skips a row committed later with a smaller cursor), a terminal's seq
and audit chain are checked and appended by one writer at a time, and the derived tables
are read forward by one. Reads need no lock; several reads that must agree (a pull page
and the log's head) share one snapshot (``BEGIN DEFERRED`` becomes a read-only REPEATABLE
READ transaction): since commits happen in cursor order, a snapshot holds a prefix of the
log. Each process keeps one connection (the storage's lock orders its threads), so the lock
is never asked for twice by one process.

Text compares by code point (ISO times, months, ids, as in SQLite): every TEXT column is
``COLLATE "C"``. Encryption at rest is the database server's (its disk or tablespace);
see docs/security.md.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import psycopg
from psycopg.adapt import Loader

from core.errors import StoreError

log = logging.getLogger("lianxin.hub")

URL_SCHEMES = ("postgresql://", "postgres://")
WRITER_LOCK = 0x6C69616E78696E  # "lianxin": the hub's one-writer-at-a-time lock
MIGRATIONS_TABLE = "lianxin_migrations"


def is_url(location) -> bool:
    """A PostgreSQL connection URL rather than a file path."""
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def shown(url: str) -> str:
    """``url`` with any password replaced, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


# -- SQL ------------------------------------------------------------------------------

def _split_literals(sql: str) -> list[tuple[bool, str]]:
    """``sql`` cut into (is a quoted literal, text) pieces."""
    out, i, start = [], 0, 0
    while i < len(sql):
        if sql[i] == "'":
            out.append((False, sql[start:i]))
            j = i + 1
            while j < len(sql):
                if sql[j] == "'" and (j + 1 >= len(sql) or sql[j + 1] != "'"):
                    break
                j += 2 if sql[j] == "'" else 1
            out.append((True, sql[i:j + 1]))
            i = start = j + 1
        else:
            i += 1
    out.append((False, sql[start:]))
    return out


_JSON_EQ = re.compile(r"json_extract\(([\w.]+), '\$\.(\w+)'\) = \?")
_JSON = re.compile(r"json_extract\(([\w.]+), '\$\.(\w+)'\)")
_GROUP_CONCAT = re.compile(r"\bgroup_concat\(", re.IGNORECASE)
_OR_IGNORE = re.compile(r"\bINSERT OR IGNORE INTO\b", re.IGNORECASE)
_IS_NOT_PARAM = re.compile(r"\bIS NOT \?")
_SCALAR = re.compile(r"\b(max|min)\(", re.IGNORECASE)
_VALUES_INSERT = re.compile(r"INSERT INTO (\w+)\(([^)]*)\) VALUES \(((?:\?, )*\?)\)(.*)",
                            re.DOTALL)


def _scalar_minmax(sql: str) -> str:
    """SQLite's ``max(a, b, …)`` (more than one argument) is PostgreSQL's GREATEST (LEAST);
    ``max(x)`` stays the aggregate."""
    out, pos = [], 0
    for m in _SCALAR.finditer(sql):
        if m.start() < pos:
            continue
        depth, j, comma = 1, m.end(), False
        while j < len(sql) and depth:
            c = sql[j]
            depth += (c == "(") - (c == ")")
            comma = comma or (c == "," and depth == 1)
            j += 1
        if comma:
            out.append(sql[pos:m.start()])
            out.append("GREATEST(" if m.group(1).lower() == "max" else "LEAST(")
            pos = m.end()
    out.append(sql[pos:])
    return "".join(out)


def dialect(sql: str) -> str:
    """SQLite's functions and forms in ``sql`` as PostgreSQL's (placeholders left)."""
    sql = _JSON_EQ.sub(r"(\1::jsonb ->> '\2') = ?", sql)
    # -> keeps the JSON type (a string, a number, true), as json_extract does
    sql = _JSON.sub(r"(\1::jsonb -> '\2')", sql)
    sql = _GROUP_CONCAT.sub("string_agg(", sql)
    sql = _IS_NOT_PARAM.sub("IS DISTINCT FROM ?", sql)
    ignore = _OR_IGNORE.search(sql) is not None
    if ignore:
        sql = _OR_IGNORE.sub("INSERT INTO", sql) + " ON CONFLICT DO NOTHING"
    return _scalar_minmax(sql)


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """One statement of the hub's SQL (SQLite's dialect, ``?`` placeholders) as
    PostgreSQL reads it (``%s`` placeholders, ``%`` doubled)."""
    pieces = []
    for literal, text in _split_literals(dialect(sql)):
        pieces.append(text if literal else text.replace("%", "%%").replace("?", "%s"))
    return "".join(pieces)


_TRIGGER = re.compile(
    r"CREATE TRIGGER (\w+) (BEFORE|AFTER) (UPDATE|DELETE|INSERT) ON (\w+)\s+"
    r"BEGIN SELECT RAISE\(ABORT, '([^']*)'\); END", re.IGNORECASE)


def translate_ddl(sql: str) -> list[str]:
    """One DDL statement of a migration as PostgreSQL statements."""
    m = _TRIGGER.fullmatch(sql.strip())
    if m:
        name, when, op, table, message = m.groups()
        return [f"CREATE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"RAISE EXCEPTION '{message}' USING ERRCODE = 'integrity_constraint_violation'; "
                f"END $$",
                f"CREATE TRIGGER {name} {when} {op} ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION {name}_fn()"]
    if re.match(r"\s*(CREATE TABLE|ALTER TABLE \w+ ADD COLUMN)", sql, re.IGNORECASE):
        rowid = "WITHOUT ROWID" not in sql and "INTEGER PRIMARY KEY" not in sql
        sql = re.sub(r"\)\s*WITHOUT ROWID\s*$", ")", sql.strip())
        sql = re.sub(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b",
                     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql)
        sql = re.sub(r"\bINTEGER PRIMARY KEY\b", "BIGINT PRIMARY KEY", sql)
        sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
        sql = re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', sql)
        sql = re.sub(r"\bBLOB\b", "BYTEA", sql)
        if rowid and sql.upper().startswith("CREATE TABLE"):
            # SQLite's implicit rowid (insertion order, ORDER BY rowid), kept last so an
            # INSERT … SELECT of the other columns fills them in order.
            sql = sql[:sql.rindex(")")] + ", rowid BIGINT GENERATED ALWAYS AS IDENTITY)"
    return [dialect(sql)]


# -- the connection ------------------------------------------------------------------

class _IntLoader(Loader):
    """``numeric`` (what PostgreSQL's sum() of bigints gives) as a Python int, as SQLite
    gives it; a fraction stays a float."""

    def load(self, data):
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)


class Result:
    """What ``execute`` returns: the DB-API cursor parts the storage uses."""

    def __init__(self, cur: psycopg.Cursor):
        self._cur = cur
        self.description = cur.description
        self.rowcount = cur.rowcount

    def fetchall(self) -> list[tuple]:
        return self._cur.fetchall() if self.description else []

    def fetchone(self):
        return self._cur.fetchone() if self.description else None


class PgConnection:
    """A psycopg connection that takes the hub's SQLite-dialect SQL (autocommit: the
    storage issues BEGIN/COMMIT/SAVEPOINT itself, as it does on SQLite).

    A connection the server dropped (a restart, a killed backend) fails the statement that
    found it out — a request answered with an error, which its sender retries — and is
    replaced by a new one at the next statement."""

    def __init__(self, url: str):
        self.url = url
        self.raw = self._connect()
        self._types: dict[str, dict[str, str]] = {}

    def _connect(self) -> psycopg.Connection:
        try:
            raw = psycopg.connect(self.url, autocommit=True, connect_timeout=10,
                                  application_name="lianxin-hub")
        except psycopg.OperationalError as e:
            raise StoreError(f"cannot reach the hub's PostgreSQL database {shown(self.url)}: "
                             f"{str(e).strip()}",
                             "连不上服务中心的数据库，请检查数据库服务和地址。") from e
        raw.adapters.register_loader("numeric", _IntLoader)
        return raw

    def _live(self) -> None:
        if self.raw.broken or self.raw.closed:
            log.warning("the connection to %s was lost; connecting again", shown(self.url))
            self.raw = self._connect()

    @property
    def in_transaction(self) -> bool:
        return (not self.raw.broken and
                self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)

    def execute(self, sql: str, params: Iterable = ()) -> Result:
        self._live()
        if sql == "BEGIN IMMEDIATE":
            self.raw.execute("BEGIN")
            self.raw.execute("SELECT pg_advisory_xact_lock(%s)", [WRITER_LOCK])
            return Result(self.raw.cursor())
        if sql == "BEGIN DEFERRED":  # HubStorage.snapshot: several reads, one snapshot
            self.raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return Result(self.raw.cursor())
        cur = self.raw.cursor()
        cur.execute(translate(sql), list(params))
        return Result(cur)

    def executemany(self, sql: str, rows: Iterable) -> None:
        """Many rows: an ``INSERT … VALUES (?, …)`` goes as one statement over column
        arrays (``unnest``: one round trip and one plan for a whole push, where a row at a
        time cost most of a push's time); anything else a statement per row, pipelined.
        An upsert's rows must not repeat a key (PostgreSQL updates a row once per
        statement): its callers merge them first."""
        self._live()
        rows = list(rows)
        if not rows:
            return
        m = _VALUES_INSERT.fullmatch(sql)
        if m and len(rows) > 1:
            table, names, rest = m.group(1), [c.strip() for c in m.group(2).split(",")], m.group(4)
            types = self._column_types(table)
            # %b: the arrays go in binary, not escaped element by element into text.
            arrays = ", ".join(f"%b::{types[c]}[]" for c in names)
            statement = translate(f"INSERT INTO {table}({', '.join(names)}) "
                                  f"SELECT * FROM unnest(ARRAYS){rest}").replace("ARRAYS", arrays)
            self.raw.execute(statement, [list(column) for column in zip(*rows, strict=True)])
            return
        with self.raw.cursor() as cur:
            cur.executemany(translate(sql), rows)

    def _column_types(self, table: str) -> dict[str, str]:
        """Column name -> SQL type of ``table`` (read once per connection)."""
        if table not in self._types:
            rows = self.raw.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s", [table]).fetchall()
            self._types[table] = dict(rows)
        return self._types[table]

    def close(self) -> None:
        self.raw.close()


def connect(url: str) -> PgConnection:
    return PgConnection(url)


# -- migrations -----------------------------------------------------------------------

class _DDL:
    """What a migration function is given as ``db``: ``execute`` of SQLite DDL or SQL."""

    def __init__(self, conn: PgConnection):
        self.conn = conn

    def execute(self, sql: str, params: Iterable = ()):
        params = list(params)
        if params:
            return self.conn.execute(sql, params)
        for statement in translate_ddl(sql):
            self.conn.raw.execute(statement)
        return None


def migrate(conn: PgConnection, *sets) -> None:
    """Apply what is pending of each migration set (sqlite_utils ``Migrations``), each
    migration in its own transaction with its record; several hub processes starting at
    once take turns (the writer lock)."""
    conn.execute("BEGIN IMMEDIATE")  # two processes starting on a new database: one makes it
    try:
        conn.raw.execute(f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (migration_set TEXT "
                         "NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL, "
                         "PRIMARY KEY (migration_set, name))")
    except BaseException:
        conn.raw.execute("ROLLBACK")
        raise
    conn.raw.execute("COMMIT")
    for mset in sets:
        for migration in mset._migrations:
            conn.execute("BEGIN IMMEDIATE")
            try:
                done = conn.execute(f"SELECT 1 FROM {MIGRATIONS_TABLE} WHERE migration_set = ? "
                                    "AND name = ?", [mset.name, migration.name]).fetchone()
                if not done:
                    migration.fn(_DDL(conn))
                    conn.execute(f"INSERT INTO {MIGRATIONS_TABLE}(migration_set, name, "
                                 "applied_at) VALUES (?, ?, ?)",
                                 [mset.name, migration.name, datetime.now(UTC).isoformat()])
            except BaseException:
                conn.raw.execute("ROLLBACK")
                raise
            conn.raw.execute("COMMIT")


def holds(conn: PgConnection) -> str:
    """What the database holds: ``"hub"`` (its migrations table: a hub, or one another
    process is making now), ``"nothing"`` (no table: a new hub goes there), or
    ``"other"``."""
    tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                         "WHERE table_schema = current_schema()").fetchall()}
    return "hub" if MIGRATIONS_TABLE in tables else "other" if tables else "nothing"
