"""Every SQL statement of the hub, behind one class, so another database can be added later.
(Roster and staff queries live in ``storage_roster.py``, mixed into the same class.)

The hub's database is plain SQLite (stdlib ``sqlite3``; it holds no key of its own and is
not encrypted at rest, unlike a terminal), WAL mode with ``synchronous=FULL`` so a
committed batch survives a power cut. Tables (migration set ``hub``):

    meta            hub_id and other single values
    branch          the branches this hub serves, with their dues policy
    enroll_code     one-time enrollment codes, stored as SHA-256 only, with an expiry
    terminal        enrolled terminals: branch, public key, what of each terminal's journal
                    and audit chain the hub holds (stored_seq, audit_seq, audit_hash)
    branch_log      per branch, every accepted event (from a terminal or the hub itself);
                    ``cursor`` increases hub-wide and is what pull pages by
    terminal_audit  each terminal's audit chain, as verified
    nonce           recently used request nonces (the replay window)
    media           content-addressed files (lesson audio) and which branch may fetch them
    hub_ledger, hub_ledger_month, hub_study, hub_member, hub_rate
                    derived from the branch log (sync.hub.conflicts) for reports
    dues_flag       member-months paid twice, awaiting reconciliation
    proposal        roster edits made at terminals, for the operator to accept or reject

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
from sqlite_utils import Migrations

from .storage_roster import RosterQueries

PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
)
GENESIS = "0" * 64
# Roster edits a terminal makes: proposals at the hub (DESIGN §8), not passed on as they are.
PROPOSAL_TYPES = ("member.added", "member.updated")


def _sql_list(items) -> str:
    return "(" + ", ".join(f"'{i}'" for i in items) + ")"

migrations = Migrations("hub")

_INITIAL = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE branch (
        code TEXT PRIMARY KEY, name TEXT NOT NULL, township TEXT NOT NULL DEFAULT '',
        back_pay_limit INTEGER NOT NULL DEFAULT 6, pay_ahead_limit INTEGER NOT NULL DEFAULT 6,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    """CREATE TABLE enroll_code (
        code_hash TEXT PRIMARY KEY, branch TEXT NOT NULL REFERENCES branch(code),
        created_at TEXT NOT NULL, expires_ms INTEGER NOT NULL, used_at TEXT, used_by TEXT)""",
    f"""CREATE TABLE terminal (
        terminal_id TEXT PRIMARY KEY, branch TEXT NOT NULL REFERENCES branch(code),
        public_key TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', enrolled_at TEXT NOT NULL,
        last_seen TEXT, revoked_at TEXT,
        stored_seq INTEGER NOT NULL DEFAULT 0, audit_seq INTEGER NOT NULL DEFAULT 0,
        audit_hash TEXT NOT NULL DEFAULT '{GENESIS}', head_seq INTEGER NOT NULL DEFAULT 0,
        clock_offset_ms INTEGER, last_refusal TEXT, last_refusal_at TEXT)""",
    "CREATE INDEX terminal_branch ON terminal(branch)",
    """CREATE TABLE branch_log (
        cursor INTEGER PRIMARY KEY AUTOINCREMENT, branch TEXT NOT NULL REFERENCES branch(code),
        origin TEXT NOT NULL, seq INTEGER, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
        payload TEXT NOT NULL, at TEXT NOT NULL, received_at TEXT NOT NULL)""",
    "CREATE INDEX branch_log_branch ON branch_log(branch, cursor)",
    "CREATE UNIQUE INDEX branch_log_origin_seq ON branch_log(origin, seq) WHERE seq IS NOT NULL",
    """CREATE TABLE terminal_audit (
        terminal_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (terminal_id, seq))
        WITHOUT ROWID""",
    """CREATE TABLE nonce (
        terminal_id TEXT NOT NULL, nonce TEXT NOT NULL, time_ms INTEGER NOT NULL,
        PRIMARY KEY (terminal_id, nonce)) WITHOUT ROWID""",
    "CREATE INDEX nonce_time ON nonce(time_ms)",
    """CREATE TABLE media (
        sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, path TEXT NOT NULL,
        added_at TEXT NOT NULL)""",
    """CREATE TABLE branch_media (
        branch TEXT NOT NULL REFERENCES branch(code), sha256 TEXT NOT NULL REFERENCES media(sha256),
        PRIMARY KEY (branch, sha256)) WITHOUT ROWID""",
]


@migrations()
def m001_initial(db):
    for sql in _INITIAL:
        db.execute(sql)
    for table in ("branch_log", "terminal_audit"):
        for op in ("UPDATE", "DELETE"):
            db.execute(f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


# Derived from the branch log by sync.hub.conflicts (rebuildable from it; not append-only):
# the branch's ledger, study sessions and roster as the hub sees them, payments of one
# member-month through two terminals flagged for reconciliation, and roster edits made at
# terminals, held as proposals for the operator.
_RECONCILE = [
    """CREATE TABLE hub_ledger (
        entry_id TEXT PRIMARY KEY, branch TEXT NOT NULL, member_no TEXT NOT NULL,
        kind TEXT NOT NULL, amount_fen INTEGER NOT NULL, corrects TEXT,
        terminal_id TEXT NOT NULL, receipt_no TEXT NOT NULL, recorded_at TEXT NOT NULL,
        event_id TEXT NOT NULL)""",
    "CREATE INDEX hub_ledger_branch ON hub_ledger(branch, recorded_at)",
    "CREATE INDEX hub_ledger_corrects ON hub_ledger(corrects) WHERE corrects IS NOT NULL",
    """CREATE TABLE hub_ledger_month (
        entry_id TEXT NOT NULL REFERENCES hub_ledger(entry_id), month TEXT NOT NULL,
        branch TEXT NOT NULL, member_no TEXT NOT NULL, amount_fen INTEGER NOT NULL,
        PRIMARY KEY (entry_id, month)) WITHOUT ROWID""",
    "CREATE INDEX hub_ledger_month_member ON hub_ledger_month(branch, member_no, month)",
    """CREATE TABLE dues_flag (
        branch TEXT NOT NULL, member_no TEXT NOT NULL, month TEXT NOT NULL,
        entries TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
        flagged_at TEXT NOT NULL, resolved_at TEXT, resolved_by TEXT, note TEXT,
        PRIMARY KEY (branch, member_no, month)) WITHOUT ROWID""",
    """CREATE TABLE hub_study (
        session_id TEXT PRIMARY KEY, branch TEXT NOT NULL, member_no TEXT NOT NULL,
        lesson_id TEXT NOT NULL, started_at TEXT NOT NULL, seconds INTEGER NOT NULL,
        completed INTEGER NOT NULL, terminal_id TEXT NOT NULL)""",
    "CREATE INDEX hub_study_branch ON hub_study(branch, started_at)",
    """CREATE TABLE hub_member (
        branch TEXT NOT NULL, member_no TEXT NOT NULL, name TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active', dues_from TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('accepted', 'proposed', 'rejected')),
        PRIMARY KEY (branch, member_no)) WITHOUT ROWID""",
    """CREATE TABLE hub_rate (
        branch TEXT NOT NULL, member_no TEXT NOT NULL, year INTEGER NOT NULL,
        monthly_fen INTEGER NOT NULL, PRIMARY KEY (branch, member_no, year)) WITHOUT ROWID""",
    """CREATE TABLE proposal (
        event_id TEXT PRIMARY KEY, branch TEXT NOT NULL, origin TEXT NOT NULL,
        type TEXT NOT NULL, member_no TEXT, payload TEXT NOT NULL, at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
        decided_at TEXT, decided_by TEXT, note TEXT, accepted_event_id TEXT)""",
    "CREATE INDEX proposal_branch ON proposal(branch, status)",
]


# Its own named set (one per part, as on the terminal): reconciliation can change on its
# own schedule, and its tables can be dropped and rebuilt from the branch log.
reconcile_migrations = Migrations("hub_reconcile")


@reconcile_migrations()
def m001_reconcile(db):
    for sql in _RECONCILE:
        db.execute(sql)


class HubStorage(RosterQueries):
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

    # -- branches ----------------------------------------------------------------------
    def insert_branch(self, *, code: str, name: str, township: str, back_pay_limit: int,
                      pay_ahead_limit: int, at: str) -> bool:
        """Add a branch; False if the code is taken."""
        cur = self._run(
            "INSERT INTO branch(code, name, township, back_pay_limit, pay_ahead_limit, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(code) DO NOTHING",
            [code, name, township, back_pay_limit, pay_ahead_limit, at, at])
        return cur.rowcount == 1

    def get_branch(self, code: str) -> dict | None:
        return self._one("SELECT code, name, township, back_pay_limit, pay_ahead_limit, "
                         "created_at, updated_at FROM branch WHERE code = ?", [code])

    def list_branches(self) -> list[dict]:
        return self._all(
            "SELECT b.code, b.name, b.township, b.back_pay_limit, b.pay_ahead_limit, "
            "b.created_at, "
            "(SELECT count(*) FROM terminal t WHERE t.branch = b.code "
            " AND t.revoked_at IS NULL) AS terminals, "
            "(SELECT count(*) FROM branch_log l WHERE l.branch = b.code) AS events "
            "FROM branch b ORDER BY b.code")

    def update_policy(self, code: str, back_pay_limit: int, pay_ahead_limit: int,
                      at: str) -> bool:
        cur = self._run("UPDATE branch SET back_pay_limit = ?, pay_ahead_limit = ?, "
                        "updated_at = ? WHERE code = ?",
                        [back_pay_limit, pay_ahead_limit, at, code])
        return cur.rowcount == 1

    # -- enrollment codes --------------------------------------------------------------
    def insert_code(self, code_hash: str, branch: str, created_at: str, expires_ms: int) -> None:
        self._run("INSERT INTO enroll_code(code_hash, branch, created_at, expires_ms) "
                  "VALUES (?, ?, ?, ?)", [code_hash, branch, created_at, expires_ms])

    def get_code(self, code_hash: str) -> dict | None:
        return self._one("SELECT code_hash, branch, created_at, expires_ms, used_at, used_by "
                         "FROM enroll_code WHERE code_hash = ?", [code_hash])

    def use_code(self, code_hash: str, terminal_id: str, at: str) -> bool:
        cur = self._run("UPDATE enroll_code SET used_at = ?, used_by = ? "
                        "WHERE code_hash = ? AND used_at IS NULL", [at, terminal_id, code_hash])
        return cur.rowcount == 1

    # -- terminals ---------------------------------------------------------------------
    _TERMINAL_COLS = ("terminal_id, branch, public_key, label, enrolled_at, last_seen, "
                      "revoked_at, stored_seq, audit_seq, audit_hash, head_seq, "
                      "clock_offset_ms, last_refusal, last_refusal_at")

    def insert_terminal(self, *, terminal_id: str, branch: str, public_key: str, label: str,
                        at: str) -> None:
        self._run("INSERT INTO terminal(terminal_id, branch, public_key, label, enrolled_at) "
                  "VALUES (?, ?, ?, ?, ?)", [terminal_id, branch, public_key, label, at])

    def get_terminal(self, terminal_id: str) -> dict | None:
        return self._one(f"SELECT {self._TERMINAL_COLS} FROM terminal WHERE terminal_id = ?",
                         [terminal_id])

    def list_terminals(self, branch: str | None = None) -> list[dict]:
        where, params = ("WHERE branch = ?", [branch]) if branch else ("", [])
        return self._all(f"SELECT {self._TERMINAL_COLS} FROM terminal {where} "
                         "ORDER BY branch, enrolled_at, terminal_id", params)

    def revoke_terminal(self, terminal_id: str, at: str) -> bool:
        cur = self._run("UPDATE terminal SET revoked_at = coalesce(revoked_at, ?) "
                        "WHERE terminal_id = ?", [at, terminal_id])
        return cur.rowcount == 1

    def touch_terminal(self, terminal_id: str, at: str, clock_offset_ms: int | None) -> None:
        self._run("UPDATE terminal SET last_seen = ?, "
                  "clock_offset_ms = coalesce(?, clock_offset_ms) WHERE terminal_id = ?",
                  [at, clock_offset_ms, terminal_id])

    def note_refusal(self, terminal_id: str, code: str, at: str) -> None:
        self._run("UPDATE terminal SET last_refusal = ?, last_refusal_at = ? "
                  "WHERE terminal_id = ?", [code, at, terminal_id])

    # -- replay window -----------------------------------------------------------------
    def use_nonce(self, terminal_id: str, nonce: str, time_ms: int, forget_before_ms: int) -> bool:
        """Record a nonce; False if it was already used. Forgets nonces older than the window
        (a request that old is refused for its time, so its nonce need not be kept)."""
        with self.transaction():
            self._run("DELETE FROM nonce WHERE time_ms < ?", [forget_before_ms])
            cur = self._run("INSERT INTO nonce(terminal_id, nonce, time_ms) VALUES (?, ?, ?) "
                            "ON CONFLICT DO NOTHING", [terminal_id, nonce, time_ms])
            return cur.rowcount == 1

    # -- push --------------------------------------------------------------------------
    def event_ids_by_seq(self, terminal_id: str, lo: int, hi: int) -> dict[int, str]:
        rows = self._all("SELECT seq, event_id FROM branch_log WHERE origin = ? "
                         "AND seq BETWEEN ? AND ?", [terminal_id, lo, hi])
        return {r["seq"]: r["event_id"] for r in rows}

    def audit_hashes(self, terminal_id: str, lo: int, hi: int) -> dict[int, str]:
        rows = self._all("SELECT seq, hash FROM terminal_audit WHERE terminal_id = ? "
                         "AND seq BETWEEN ? AND ?", [terminal_id, lo, hi])
        return {r["seq"]: r["hash"] for r in rows}

    def event_id_exists(self, event_ids: list[str]) -> bool:
        for i in range(0, len(event_ids), 500):
            chunk = event_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            if self._one(f"SELECT 1 FROM branch_log WHERE event_id IN ({marks}) LIMIT 1", chunk):
                return True
        return False

    def store_batch(self, terminal_id: str, branch: str, events: list[dict],
                    entries: list[dict], received_at: str,
                    head_seq: int | None) -> tuple[int, int]:
        """Append new events and audit entries and move the terminal's marks. Call inside
        :meth:`transaction`, after the batch was checked. Returns the branch log's last
        cursor before and after the append (the events took the cursors in between)."""
        with self._lock:
            before = self.last_cursor()
            self.conn.executemany(
                "INSERT INTO terminal_audit(terminal_id, seq, at, actor, action, subject, "
                "detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(terminal_id, e["seq"], e["at"], e["actor"], e["action"], e["subject"],
                  e["detail"], e["prev_hash"], e["hash"]) for e in entries])
            self.conn.executemany(
                "INSERT INTO branch_log(branch, origin, seq, event_id, type, payload, at, "
                "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(branch, terminal_id, e["seq"], e["event_id"], e["type"], e["payload"], e["at"],
                  received_at) for e in events])
            sets, params = [], []
            if events:
                sets.append("stored_seq = ?")
                params.append(events[-1]["seq"])
            if entries:
                sets += ["audit_seq = ?", "audit_hash = ?"]
                params += [entries[-1]["seq"], entries[-1]["hash"]]
            sets.append("head_seq = max(head_seq, ?, ?)")
            params += [head_seq or 0, events[-1]["seq"] if events else 0]
            self.conn.execute(f"UPDATE terminal SET {', '.join(sets)} WHERE terminal_id = ?",
                              [*params, terminal_id])
            return before, self.last_cursor() if events else before

    def last_cursor(self) -> int:
        """The branch log's newest cursor (0 when empty)."""
        with self._lock:
            return self.conn.execute("SELECT max(cursor) FROM branch_log").fetchone()[0] or 0

    # -- branch log --------------------------------------------------------------------
    def append_log(self, *, branch: str, origin: str, event_id: str, type: str, payload: str,
                   at: str) -> int:
        cur = self._run("INSERT INTO branch_log(branch, origin, event_id, type, payload, at, "
                        "received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [branch, origin, event_id, type, payload, at, at])
        return cur.lastrowid

    def log_page(self, branch: str, after: int, limit: int,
                 skip_origin: str | None = None) -> tuple[list[dict], int, bool]:
        """Up to ``limit`` events of ``branch`` after cursor ``after`` (leaving out those from
        ``skip_origin``, and roster edits made at terminals: those are proposals, and reach
        the other terminals only once accepted, as the hub's own events); returns (events,
        next cursor, more?)."""
        with self.transaction():
            rows = self._all(
                "SELECT cursor, origin, event_id, type, payload, at FROM branch_log "
                "WHERE branch = ? AND cursor > ? AND origin IS NOT ? "
                f"AND NOT (origin != 'hub' AND type IN {_sql_list(PROPOSAL_TYPES)}) "
                "ORDER BY cursor LIMIT ?",
                [branch, after, skip_origin, limit + 1])
            more = len(rows) > limit
            rows = rows[:limit]
            if more:
                next_cursor = rows[-1]["cursor"]
            else:
                top = self._one("SELECT max(cursor) AS c FROM branch_log WHERE branch = ?",
                                [branch])["c"]
                next_cursor = max(after, top or 0)
        return rows, next_cursor, more

    def log_for_branch(self, branch: str) -> list[dict]:
        return self._all("SELECT cursor, origin, seq, event_id, type, payload, at FROM branch_log "
                         "WHERE branch = ? ORDER BY cursor", [branch])

    def audit_chain(self, terminal_id: str) -> list[dict]:
        return self._all("SELECT seq, at, actor, action, subject, detail, prev_hash, hash "
                         "FROM terminal_audit WHERE terminal_id = ? ORDER BY seq", [terminal_id])

    # -- media -------------------------------------------------------------------------
    def add_media(self, sha256: str, size: int, path: str, branch: str, at: str) -> None:
        self._run("INSERT INTO media(sha256, size, path, added_at) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT(sha256) DO NOTHING", [sha256, size, path, at])
        self._run("INSERT INTO branch_media(branch, sha256) VALUES (?, ?) "
                  "ON CONFLICT DO NOTHING", [branch, sha256])

    def media_for_branch(self, branch: str, sha256: str) -> dict | None:
        return self._one("SELECT m.sha256, m.size, m.path FROM media m JOIN branch_media b "
                         "ON b.sha256 = m.sha256 WHERE b.branch = ? AND m.sha256 = ?",
                         [branch, sha256])

    # -- derived tables (sync.hub.conflicts, sync.hub.report) ------------------------------
    def log_after(self, after: int, limit: int) -> list[dict]:
        """Branch-log rows of every branch after ``after``, in cursor order."""
        return self._all("SELECT cursor, branch, origin, event_id, type, payload, at "
                         "FROM branch_log WHERE cursor > ? ORDER BY cursor LIMIT ?",
                         [after, limit])

    def put_ledger(self, branch: str, p: dict, event_id: str) -> bool:
        """A payment as the hub sees it; False if the entry id is already there."""
        cur = self._run(
            "INSERT INTO hub_ledger(entry_id, branch, member_no, kind, amount_fen, corrects, "
            "terminal_id, receipt_no, recorded_at, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(entry_id) DO NOTHING",
            [p["entry_id"], branch, p["member_no"], p["kind"], int(p["amount_fen"]),
             p.get("corrects"), p["terminal_id"], p["receipt_no"], p["recorded_at"], event_id])
        if cur.rowcount != 1:
            return False
        with self._lock:
            self.conn.executemany(
                "INSERT INTO hub_ledger_month(entry_id, month, branch, member_no, amount_fen) "
                "VALUES (?, ?, ?, ?, ?)",
                [(p["entry_id"], m, branch, p["member_no"], int(a))
                 for m, a in p.get("month_amounts") or []])
        return True

    def live_dues(self, branch: str, member_no: str, month: str) -> list[dict]:
        """The dues entries paying ``member_no``'s ``month`` that no correction reverses."""
        return self._all(
            "SELECT l.entry_id, l.terminal_id, l.receipt_no, l.recorded_at, m.amount_fen "
            "FROM hub_ledger_month m JOIN hub_ledger l ON l.entry_id = m.entry_id "
            "WHERE m.branch = ? AND m.member_no = ? AND m.month = ? AND l.kind = 'dues' "
            "AND m.amount_fen > 0 AND NOT EXISTS "
            "(SELECT 1 FROM hub_ledger c WHERE c.corrects = l.entry_id) "
            "ORDER BY l.recorded_at, l.entry_id", [branch, member_no, month])

    def get_flag(self, branch: str, member_no: str, month: str) -> dict | None:
        return self._one("SELECT branch, member_no, month, entries, status, flagged_at, "
                         "resolved_at, resolved_by, note FROM dues_flag WHERE branch = ? "
                         "AND member_no = ? AND month = ?", [branch, member_no, month])

    def put_flag(self, branch: str, member_no: str, month: str, entries: str, status: str,
                 at: str, resolved_by: str | None = None, note: str | None = None) -> None:
        resolved_at = at if status == "resolved" else None
        self._run(
            "INSERT INTO dues_flag(branch, member_no, month, entries, status, flagged_at, "
            "resolved_at, resolved_by, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(branch, member_no, month) DO UPDATE SET entries = excluded.entries, "
            "status = excluded.status, resolved_at = excluded.resolved_at, "
            "resolved_by = excluded.resolved_by, note = coalesce(excluded.note, note)",
            [branch, member_no, month, entries, status, at, resolved_at, resolved_by, note])

    def list_flags(self, branch: str, status: str | None = None) -> list[dict]:
        where, params = ("AND status = ?", [status]) if status else ("", [])
        return self._all("SELECT branch, member_no, month, entries, status, flagged_at, "
                         "resolved_at, resolved_by, note FROM dues_flag WHERE branch = ? "
                         f"{where} ORDER BY month, member_no", [branch, *params])

    _PUT_STUDY = (
        "INSERT INTO hub_study(session_id, branch, member_no, lesson_id, started_at, "
        "seconds, completed, terminal_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(session_id) DO UPDATE SET seconds = excluded.seconds, "
        "completed = max(completed, excluded.completed)")

    def put_studies(self, rows: list[tuple]) -> None:
        """Study sessions, in order, in one statement: (session_id, branch, member_no,
        lesson_id, started_at, seconds, completed 0/1, terminal_id) each. Union of
        sessions; the newest event of a session wins, finished stays finished."""
        if rows:
            with self._lock:
                self.conn.executemany(self._PUT_STUDY, rows)

    def put_member(self, branch: str, member_no: str, name: str, dues_from: str,
                   state: str) -> None:
        """A member.added: a hub (or accepted) one makes the member accepted; a terminal's
        proposal does not demote an accepted member."""
        self._run(
            "INSERT INTO hub_member(branch, member_no, name, dues_from, state) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(branch, member_no) DO UPDATE SET "
            "name = excluded.name, dues_from = excluded.dues_from, state = CASE "
            "WHEN excluded.state = 'accepted' OR state = 'rejected' THEN excluded.state "
            "ELSE state END", [branch, member_no, name, dues_from, state])

    def update_member(self, branch: str, member_no: str, *, name: str | None = None,
                      status: str | None = None, state: str | None = None) -> None:
        # An accepted member stays accepted (a rejected later edit does not un-accept them).
        self._run("UPDATE hub_member SET name = coalesce(?, name), status = coalesce(?, status), "
                  "state = CASE WHEN state = 'accepted' THEN state ELSE coalesce(?, state) END "
                  "WHERE branch = ? AND member_no = ?", [name, status, state, branch, member_no])

    def put_rate(self, branch: str, member_no: str, year: int, monthly_fen: int, *,
                 replace: bool = True) -> None:
        """A yearly amount; ``replace`` False keeps one already there (a member.added
        carries the first amount, which a later ``member.rate_fixed`` may have changed)."""
        on_conflict = ("DO UPDATE SET monthly_fen = excluded.monthly_fen" if replace
                       else "DO NOTHING")
        self._run("INSERT INTO hub_rate(branch, member_no, year, monthly_fen) VALUES (?, ?, ?, ?) "
                  f"ON CONFLICT {on_conflict}", [branch, member_no, year, monthly_fen])

    def put_proposal(self, branch: str, origin: str, event_id: str, type_: str,
                     member_no: str | None, payload: str, at: str) -> None:
        self._run("INSERT INTO proposal(event_id, branch, origin, type, member_no, payload, at, "
                  "status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT DO NOTHING",
                  [event_id, branch, origin, type_, member_no, payload, at])

    def get_proposal(self, event_id: str) -> dict | None:
        return self._one("SELECT * FROM proposal WHERE event_id = ?", [event_id])

    def list_proposals(self, branch: str, status: str | None = None) -> list[dict]:
        where, params = ("AND status = ?", [status]) if status else ("", [])
        return self._all(f"SELECT * FROM proposal WHERE branch = ? {where} ORDER BY rowid",
                         [branch, *params])

    def decide_proposal(self, event_id: str, status: str, at: str, by: str, note: str | None,
                        accepted_event_id: str | None) -> bool:
        cur = self._run("UPDATE proposal SET status = ?, decided_at = ?, decided_by = ?, "
                        "note = ?, accepted_event_id = ? WHERE event_id = ? AND status = 'pending'",
                        [status, at, by, note, accepted_event_id, event_id])
        return cur.rowcount == 1

    def report_members(self, branch: str) -> list[dict]:
        return self._all("SELECT member_no, name, status, dues_from, state FROM hub_member "
                         "WHERE branch = ? ORDER BY member_no", [branch])

    def report_rates(self, branch: str) -> list[dict]:
        return self._all("SELECT member_no, year, monthly_fen FROM hub_rate WHERE branch = ? "
                         "ORDER BY member_no, year", [branch])

    def report_paid(self, branch: str, upto: str) -> list[dict]:
        """Net amount paid per member-month, months up to ``upto``."""
        return self._all("SELECT member_no, month, sum(amount_fen) AS fen FROM hub_ledger_month "
                         "WHERE branch = ? AND month <= ? GROUP BY member_no, month",
                         [branch, upto])

    def report_received(self, branch: str, month: str) -> list[dict]:
        """Cash recorded during ``month``, by terminal and kind."""
        return self._all("SELECT terminal_id, kind, count(*) AS entries, sum(amount_fen) AS fen "
                         "FROM hub_ledger WHERE branch = ? AND substr(recorded_at, 1, 7) = ? "
                         "GROUP BY terminal_id, kind ORDER BY terminal_id, kind", [branch, month])

    def report_study(self, branch: str, month: str) -> dict:
        return self._one("SELECT coalesce(sum(seconds), 0) AS seconds, count(*) AS sessions, "
                         "count(DISTINCT member_no) AS members, "
                         "count(DISTINCT CASE WHEN completed THEN member_no || '/' || lesson_id "
                         "END) AS completed FROM hub_study WHERE branch = ? "
                         "AND substr(started_at, 1, 7) = ?", [branch, month])

    def ledger_totals(self, branch: str) -> list[dict]:
        """Every payment the hub holds for ``branch``, all time, by terminal."""
        return self._all("SELECT terminal_id, count(*) AS entries, sum(amount_fen) AS fen "
                         "FROM hub_ledger WHERE branch = ? GROUP BY terminal_id "
                         "ORDER BY terminal_id", [branch])
