"""The hub's tables and database settings: its two migration sets, as data.

Part of :mod:`sync.hub.storage` (which opens the database and applies these). SQLCipher,
encrypted at rest like a terminal (its key file beside it; see :mod:`sync.hub.storage`),
WAL mode with ``synchronous=FULL`` so a committed batch survives a power cut.

Migration set ``hub`` (the record; ``branch_log`` and ``audit_segment`` are append-only):

    meta            hub_id and other single values
    branch          the branches this hub serves, with their dues policy
    enroll_code     one-time enrollment codes, stored as SHA-256 only, with an expiry
    terminal        enrolled terminals: branch, public key, what of each terminal's journal
                    and audit chain the hub holds (stored_seq, audit_seq, audit_hash)
    branch_log      per branch, every accepted event (from a terminal or the hub itself);
                    ``cursor`` increases hub-wide and is what pull pages by
    audit_segment   each terminal's audit chain, as verified: a segment per push, packed
                    (sync.hub.audit_segments; a row per entry, ``terminal_audit``, until m009)
    nonce           recently used request nonces (the replay window)
    media           content-addressed files (lesson audio) and which branch may fetch them
    quarantine      events an operator stopped passing on (sync.hub.log_admin)
    skip_report     pulled events a terminal reported it could not apply
    voice_message   voice messages terminals announced (message.recorded), with what the
                    operators did; voice_audio  their audio, until retention removes it

Migration set ``hub_reconcile`` (derived from the branch log by sync.hub.conflicts, for
reports; rebuildable):

    hub_ledger, hub_ledger_month, hub_study, hub_member, hub_rate
                    the branch's ledger, study sessions and roster as the hub sees them
    dues_flag       member-months paid twice, awaiting reconciliation
    payment_check   payments that do not match the hub's record, for the operator
    proposal        roster edits made at terminals, for the operator to accept or reject

Migrations are named functions, applied once each: add new ones at the end of a set, never
edit one that has run.
"""

from __future__ import annotations

from sqlite_utils import Migrations

PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
)
GENESIS = "0" * 64

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


@migrations()
def m002_terminal_enrolled_seq(db):
    """The terminal's journal head when it enrolled: events up to it are the history of a
    terminal set up offline (core.events: HUB types allowed there, passed on to no one).
    Terminals enrolled before: what they had reported so far."""
    db.execute("ALTER TABLE terminal ADD COLUMN enrolled_seq INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE terminal SET enrolled_seq = max(head_seq, stored_seq)")


@migrations()
def m003_terminal_clock_ahead(db):
    """Events a terminal sent dated ahead of the hub's clock (protocol.check_times): how
    many since its last push without any (0: its clock is right), the latest such time, and
    when the hub last received one."""
    db.execute("ALTER TABLE terminal ADD COLUMN future_events INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE terminal ADD COLUMN future_latest_at TEXT")
    db.execute("ALTER TABLE terminal ADD COLUMN future_seen_at TEXT")


@migrations()
def m004_quarantine_and_skip_reports(db):
    """Beside the append-only branch log: events an operator quarantined (pull leaves them
    out; released ones keep their record), and pulled events terminals could not apply."""
    db.execute("""CREATE TABLE quarantine (
        event_id TEXT PRIMARY KEY REFERENCES branch_log(event_id), branch TEXT NOT NULL,
        quarantined_by TEXT NOT NULL, reason TEXT NOT NULL, quarantined_at TEXT NOT NULL,
        released_by TEXT, released_at TEXT)""")
    db.execute("""CREATE TABLE skip_report (
        terminal_id TEXT NOT NULL REFERENCES terminal(terminal_id), event_id TEXT NOT NULL,
        reason TEXT NOT NULL, reported_at TEXT NOT NULL, PRIMARY KEY (terminal_id, event_id))""")
    db.execute("CREATE INDEX skip_report_event ON skip_report(event_id)")


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


@reconcile_migrations()
def m002_proposal_settled(db):
    """A proposal may be ``settled``: it equalled the hub's record when it arrived."""
    db.execute("""CREATE TABLE proposal_new (
        event_id TEXT PRIMARY KEY, branch TEXT NOT NULL, origin TEXT NOT NULL,
        type TEXT NOT NULL, member_no TEXT, payload TEXT NOT NULL, at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'settled')),
        decided_at TEXT, decided_by TEXT, note TEXT, accepted_event_id TEXT)""")
    db.execute("INSERT INTO proposal_new SELECT event_id, branch, origin, type, member_no, "
               "payload, at, status, decided_at, decided_by, note, accepted_event_id FROM proposal")
    db.execute("DROP TABLE proposal")
    db.execute("ALTER TABLE proposal_new RENAME TO proposal")
    db.execute("CREATE INDEX proposal_branch ON proposal(branch, status)")


@reconcile_migrations()
def m003_ledger_receipt(db):
    """A push's receipt numbers are looked up per terminal (``sync.hub.service``)."""
    db.execute("CREATE INDEX hub_ledger_receipt ON hub_ledger(terminal_id, receipt_no)")


@reconcile_migrations()
def m004_payment_check(db):
    """Cash a terminal took that does not match the hub's record (a month's amount other
    than the member's monthly amount, a collector the hub does not know, large voluntary
    dues): kept and counted, flagged for the operator."""
    db.execute("""CREATE TABLE payment_check (
        entry_id TEXT NOT NULL, reason TEXT NOT NULL, branch TEXT NOT NULL,
        member_no TEXT NOT NULL, terminal_id TEXT NOT NULL, detail TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'resolved')), flagged_at TEXT NOT NULL,
        resolved_at TEXT, resolved_by TEXT, note TEXT,
        PRIMARY KEY (entry_id, reason)) WITHOUT ROWID""")
    db.execute("CREATE INDEX payment_check_branch ON payment_check(branch, status)")


@reconcile_migrations()
def m005_hub_study_without_rowid(db):
    """Study sessions keyed by their id alone (``WITHOUT ROWID``): one B-tree written per
    session instead of a rowid table and its separate key index (push ingest)."""
    db.execute("""CREATE TABLE hub_study_new (
        session_id TEXT PRIMARY KEY, branch TEXT NOT NULL, member_no TEXT NOT NULL,
        lesson_id TEXT NOT NULL, started_at TEXT NOT NULL, seconds INTEGER NOT NULL,
        completed INTEGER NOT NULL, terminal_id TEXT NOT NULL) WITHOUT ROWID""")
    db.execute("INSERT INTO hub_study_new SELECT session_id, branch, member_no, lesson_id, "
               "started_at, seconds, completed, terminal_id FROM hub_study")
    db.execute("DROP TABLE hub_study")
    db.execute("ALTER TABLE hub_study_new RENAME TO hub_study")
    db.execute("CREATE INDEX hub_study_branch ON hub_study(branch, started_at)")



@reconcile_migrations()
def m006_hub_study_covering_index(db):
    """The branch index of study sessions carries what the reports add up (seconds, whether
    finished, who, which lesson): a branch's months are read from the index alone, not
    looked up session by session (the console's overview of a county)."""
    db.execute("DROP INDEX hub_study_branch")
    db.execute("CREATE INDEX hub_study_branch ON hub_study(branch, started_at, seconds, "
               "completed, member_no, lesson_id)")


@reconcile_migrations()
def m007_hub_study_by_branch(db):
    """Study sittings kept in the order every reader takes them (branch, start, sitting):
    one B-tree written per sitting, where the table keyed by sitting and its covering
    index (m006) were two (push ingest on one core); reports and exports still read one
    range of it. A sitting's branch and start never change, so its key stays its own."""
    db.execute("""CREATE TABLE hub_study_new (
        session_id TEXT NOT NULL, branch TEXT NOT NULL, member_no TEXT NOT NULL,
        lesson_id TEXT NOT NULL, started_at TEXT NOT NULL, seconds INTEGER NOT NULL,
        completed INTEGER NOT NULL, terminal_id TEXT NOT NULL,
        PRIMARY KEY (branch, started_at, session_id)) WITHOUT ROWID""")
    db.execute("INSERT INTO hub_study_new SELECT session_id, branch, member_no, lesson_id, "
               "started_at, seconds, completed, terminal_id FROM hub_study")
    db.execute("DROP TABLE hub_study")
    db.execute("ALTER TABLE hub_study_new RENAME TO hub_study")


@migrations()
def m005_operators(db):
    """People who run the hub (the browser console's accounts, issue 11) and the trail of
    what they did. Roles: ``county_admin`` (every branch), ``township_operator`` (the
    branches of ``township``), ``branch_secretary`` (``branch``, read-only). The trail is
    append-only and hash-chained like a terminal's audit chain (core.audit.entry_hash)."""
    db.execute("""CREATE TABLE operator (
        username TEXT PRIMARY KEY, name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('county_admin', 'township_operator',
                                           'branch_secretary')),
        township TEXT, branch TEXT REFERENCES branch(code),
        pw_hash TEXT NOT NULL, failed INTEGER NOT NULL DEFAULT 0, locked_until TEXT,
        created_at TEXT NOT NULL, password_set_at TEXT NOT NULL, disabled_at TEXT,
        CHECK ((role = 'township_operator') = (township IS NOT NULL)),
        CHECK ((role = 'branch_secretary') = (branch IS NOT NULL))) WITHOUT ROWID""")
    db.execute("""CREATE TABLE operator_action (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, operator TEXT NOT NULL,
        source TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,
        detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""")
    for op in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER operator_action_no_{op.lower()} BEFORE {op} ON "
                   f"operator_action BEGIN SELECT RAISE(ABORT, 'operator_action is "
                   f"append-only'); END")


@migrations()
def m006_operator_sessions(db):
    """Signed-in browser sessions of operators: only the SHA-256 of the cookie's token is
    kept (a copied database signs nobody in), with the form token (CSRF) and the times the
    idle and absolute limits are counted from."""
    db.execute("""CREATE TABLE operator_session (
        token_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES operator(username),
        csrf TEXT NOT NULL, source TEXT NOT NULL, created_ms INTEGER NOT NULL,
        seen_ms INTEGER NOT NULL, ended_ms INTEGER) WITHOUT ROWID""")
    db.execute("CREATE INDEX operator_session_user ON operator_session(username)")


@migrations()
def m007_voice_messages(db):
    """Voice messages callers left at a branch's phone line (core.calls), as the hub holds
    them: one row per ``message.recorded`` event a terminal pushed (read from the branch log
    by sync.hub.voice, ``voice.cursor`` in meta says how far), what the operators did with
    it, and its audio, uploaded after the event (``PUT /v1/voice/…``) and kept in this
    encrypted store until the retention rule removes it (the row stays)."""
    db.execute("""CREATE TABLE voice_message (
        message_id TEXT PRIMARY KEY, branch TEXT NOT NULL REFERENCES branch(code),
        terminal_id TEXT NOT NULL, cursor INTEGER NOT NULL, recorded_at TEXT NOT NULL,
        caller TEXT NOT NULL, member_no TEXT, duration_ms INTEGER NOT NULL,
        rate_hz INTEGER NOT NULL, sha256 TEXT NOT NULL,
        audio_at TEXT, audio_size INTEGER, audio_removed_at TEXT,
        terminal_heard_at TEXT, terminal_heard_by TEXT,
        heard_at TEXT, heard_by TEXT, followed_up_at TEXT, followed_up_by TEXT,
        follow_note TEXT)""")
    db.execute("CREATE INDEX voice_message_branch ON voice_message(branch, recorded_at)")
    db.execute("CREATE INDEX voice_message_terminal ON voice_message(terminal_id, cursor)")
    db.execute("""CREATE TABLE voice_audio (
        message_id TEXT PRIMARY KEY REFERENCES voice_message(message_id),
        wav BLOB NOT NULL)""")


@migrations()
def m008_terminal_software(db):
    """The software release each terminal last said it runs (the console's 终端 page)."""
    db.execute("ALTER TABLE terminal ADD COLUMN software TEXT")


@migrations()
def m009_audit_segments(db):
    """Each terminal's audit chain as segments, one per push (sync.hub.audit_segments), in
    place of a row per entry: a third of what a push wrote. The rows held so far become
    segments of up to 1,000 entries, their fields kept whole."""
    from .audit_segments import pack

    db.execute("""CREATE TABLE audit_segment (
        terminal_id TEXT NOT NULL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL, body BLOB NOT NULL,
        PRIMARY KEY (terminal_id, first_seq)) WITHOUT ROWID""")
    for op in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER audit_segment_no_{op.lower()} BEFORE {op} ON audit_segment "
                   f"BEGIN SELECT RAISE(ABORT, 'audit_segment is append-only'); END")
    cols = ("seq", "at", "actor", "action", "subject", "detail", "prev_hash", "hash")
    terminals = [r[0] for r in db.execute(
        "SELECT DISTINCT terminal_id FROM terminal_audit WHERE seq > ?", [0]).fetchall()]
    for terminal_id in terminals:
        after = 0
        while True:
            rows = [dict(zip(cols, r, strict=True)) for r in db.execute(
                f"SELECT {', '.join(cols)} FROM terminal_audit WHERE terminal_id = ? "
                "AND seq > ? ORDER BY seq LIMIT 1000", [terminal_id, after]).fetchall()]
            if not rows:
                break
            db.execute("INSERT INTO audit_segment(terminal_id, first_seq, last_seq, prev_hash, "
                       "hash, body) VALUES (?, ?, ?, ?, ?, ?)",
                       [terminal_id, rows[0]["seq"], rows[-1]["seq"], rows[0]["prev_hash"],
                        rows[-1]["hash"], pack(rows, ())])
            after = rows[-1]["seq"]
    db.execute("DROP TABLE terminal_audit")
