"""The terminal store's schema, as the ``core`` migration set.

Other parts (sync, voice) keep their own named sets. Ledger, journal and audit tables are
append-only: triggers refuse UPDATE and DELETE, so a bug cannot rewrite history (a person
with the key still could; the audit chain is what detects that).
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Migrations

migrations = Migrations("core")

_APPEND_ONLY = ("ledger", "ledger_month", "journal", "audit")

_INITIAL = [
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE branch (
        code TEXT PRIMARY KEY, name TEXT NOT NULL, township TEXT NOT NULL DEFAULT '',
        back_pay_limit INTEGER NOT NULL DEFAULT 6 CHECK (back_pay_limit >= 0),
        pay_ahead_limit INTEGER NOT NULL DEFAULT 6 CHECK (pay_ahead_limit >= 0),
        updated_at TEXT NOT NULL)""",
    """CREATE TABLE member (
        member_no TEXT PRIMARY KEY, name TEXT NOT NULL, initials TEXT NOT NULL,
        category TEXT NOT NULL, joined TEXT, probation INTEGER NOT NULL DEFAULT 0,
        dues_from TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'active',
        pin_hash TEXT, failed_pins INTEGER NOT NULL DEFAULT 0, locked_until TEXT,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    """CREATE INDEX member_initials ON member(initials)""",
    # 1- and 2-character pieces of each name: partial-name lookup for Hanzi, which FTS
    # tokenizers cannot do below three characters.
    """CREATE TABLE member_gram (
        gram TEXT NOT NULL, member_no TEXT NOT NULL REFERENCES member(member_no),
        PRIMARY KEY (gram, member_no)) WITHOUT ROWID""",
    """CREATE TABLE member_phone (
        phone TEXT NOT NULL, member_no TEXT NOT NULL REFERENCES member(member_no),
        PRIMARY KEY (phone, member_no)) WITHOUT ROWID""",
    """CREATE INDEX member_phone_member ON member_phone(member_no)""",
    """CREATE TABLE dues_rate (
        member_no TEXT NOT NULL REFERENCES member(member_no), year INTEGER NOT NULL,
        monthly_fen INTEGER NOT NULL CHECK (monthly_fen >= 0), rule TEXT NOT NULL,
        base_fen INTEGER, hardship_ref TEXT, hardship_reason TEXT, set_at TEXT NOT NULL,
        PRIMARY KEY (member_no, year))""",
    """CREATE TABLE staff (
        staff_no TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
        pin_hash TEXT NOT NULL, failed_pins INTEGER NOT NULL DEFAULT 0, locked_until TEXT,
        active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    """CREATE TABLE ledger (
        entry_id TEXT PRIMARY KEY, member_no TEXT NOT NULL REFERENCES member(member_no),
        kind TEXT NOT NULL CHECK (kind IN ('dues', 'voluntary', 'correction')),
        amount_fen INTEGER NOT NULL,
        method TEXT NOT NULL CHECK (method IN ('cash', 'relative', 'other')),
        paid_by TEXT, collected_by TEXT NOT NULL, receipt_no TEXT NOT NULL UNIQUE,
        recorded_at TEXT NOT NULL, terminal_id TEXT NOT NULL, override_reason TEXT,
        large INTEGER NOT NULL DEFAULT 0, corrects TEXT REFERENCES ledger(entry_id), note TEXT)""",
    """CREATE INDEX ledger_member ON ledger(member_no, recorded_at)""",
    """CREATE TABLE ledger_month (
        entry_id TEXT NOT NULL REFERENCES ledger(entry_id), member_no TEXT NOT NULL,
        month TEXT NOT NULL, amount_fen INTEGER NOT NULL, PRIMARY KEY (entry_id, month))""",
    """CREATE INDEX ledger_month_member ON ledger_month(member_no, month)""",
    """CREATE TABLE lesson (
        lesson_id TEXT PRIMARY KEY, title TEXT NOT NULL, category TEXT NOT NULL,
        minutes INTEGER NOT NULL, body TEXT NOT NULL, assigned INTEGER NOT NULL DEFAULT 0,
        audio_sha256 TEXT, published TEXT NOT NULL)""",
    """CREATE TABLE quiz_question (
        lesson_id TEXT NOT NULL REFERENCES lesson(lesson_id), idx INTEGER NOT NULL,
        question TEXT NOT NULL, choices TEXT NOT NULL, answer INTEGER NOT NULL,
        explain TEXT NOT NULL DEFAULT '', PRIMARY KEY (lesson_id, idx))""",
    """CREATE TABLE study_session (
        session_id TEXT PRIMARY KEY, member_no TEXT NOT NULL REFERENCES member(member_no),
        lesson_id TEXT NOT NULL REFERENCES lesson(lesson_id), started_at TEXT NOT NULL,
        seconds INTEGER NOT NULL CHECK (seconds >= 0), completed INTEGER NOT NULL,
        answers TEXT NOT NULL DEFAULT '[]', correct INTEGER NOT NULL DEFAULT 0,
        questions INTEGER NOT NULL DEFAULT 0, channel TEXT NOT NULL, terminal_id TEXT NOT NULL)""",
    """CREATE INDEX study_member ON study_session(member_no, lesson_id)""",
    """CREATE TABLE notice (
        notice_id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL,
        posted TEXT NOT NULL)""",
    """CREATE TABLE consent (
        consent_id TEXT PRIMARY KEY, member_no TEXT NOT NULL REFERENCES member(member_no),
        scope TEXT NOT NULL, granted INTEGER NOT NULL,
        method TEXT NOT NULL CHECK (method IN ('touch', 'voice', 'staff')),
        witness TEXT, at TEXT NOT NULL)""",
    """CREATE INDEX consent_member ON consent(member_no, scope, at)""",
    """CREATE TABLE journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL, payload TEXT NOT NULL, at TEXT NOT NULL)""",
    """CREATE TABLE audit (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        subject TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
]


@migrations()
def m001_initial(db):
    for sql in _INITIAL:
        db.execute(sql)
    for table in _APPEND_ONLY:
        for op in ("UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


@migrations()
def m002_member_gram_by_member(db):
    # Renaming a member deletes their grams by member_no: without this index, a full scan.
    db.execute("CREATE INDEX member_gram_member ON member_gram(member_no)")


@migrations()
def m003_replica(db):
    # Events pulled from the hub (the branch log), keyed by event id so applying is
    # idempotent. ``state``: applied | skipped (unknown type or unusable payload, kept with
    # its payload) | waiting (needs a member or lesson not here yet; retried later).
    db.execute("""CREATE TABLE replica_event (
        event_id TEXT PRIMARY KEY, cursor INTEGER NOT NULL, origin TEXT NOT NULL,
        type TEXT NOT NULL, payload TEXT, at TEXT NOT NULL, state TEXT NOT NULL
        CHECK (state IN ('applied', 'skipped', 'waiting')), reason TEXT,
        seen_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX replica_event_state ON replica_event(state, cursor)")


@migrations()
def m004_calls(db):
    # Phone calls (written once, when the call ends) and voice messages for the staff; the
    # audio lives in files beside the database (core/calls.py), the rows say where and
    # carry each file's sha256.
    db.execute("""CREATE TABLE call (
        call_id TEXT PRIMARY KEY, caller TEXT NOT NULL, started_at TEXT NOT NULL,
        ended_at TEXT NOT NULL, member_no TEXT REFERENCES member(member_no),
        path TEXT NOT NULL, outcome TEXT NOT NULL, terminal_id TEXT NOT NULL)""")
    db.execute("CREATE INDEX call_started ON call(started_at)")
    db.execute("CREATE INDEX call_member ON call(member_no, started_at)")
    db.execute("""CREATE TABLE voice_message (
        message_id TEXT PRIMARY KEY, call_id TEXT, caller TEXT NOT NULL,
        member_no TEXT REFERENCES member(member_no), recorded_at TEXT NOT NULL,
        file TEXT NOT NULL, sha256 TEXT NOT NULL,
        duration_ms INTEGER NOT NULL CHECK (duration_ms > 0), rate_hz INTEGER NOT NULL,
        heard_at TEXT, heard_by TEXT, terminal_id TEXT NOT NULL)""")
    db.execute("CREATE INDEX voice_message_call ON voice_message(call_id)")
    db.execute("CREATE INDEX voice_message_heard ON voice_message(heard_at, recorded_at)")


@migrations()
def m005_voice_audio(db):
    # Voice messages move inside the encrypted store: a WAV file beside the database was
    # readable by anyone holding the disk, key or no key. Heard messages may lose their
    # audio after a retention period staff set (core/calls.py); the row stays, saying when.
    db.execute("""CREATE TABLE voice_audio (
        message_id TEXT PRIMARY KEY REFERENCES voice_message(message_id),
        wav BLOB NOT NULL)""")
    db.execute("ALTER TABLE voice_message ADD COLUMN audio_removed_at TEXT")
    # Messages recorded before: their files are copied in here, and deleted by
    # core.calls.housekeep once this has committed (a migration that fails keeps them).
    main = [r for r in db.execute("PRAGMA database_list").fetchall() if r[1] == "main"]
    base = Path(main[0][2]).parent if main and main[0][2] else None
    for message_id, file in db.execute(
            "SELECT message_id, file FROM voice_message WHERE file != ''").fetchall():
        try:
            data = (base / file).read_bytes() if base else None
        except OSError:
            data = None
        if data is not None:
            db.execute("INSERT INTO voice_audio(message_id, wav) VALUES (?, ?)",
                       [message_id, data])


@migrations()
def m006_call_timeline_and_phone_tries(db):
    # A call's timeline (what the caller heard, with start and end in ms from answer, and
    # every key or phrase, in order; core/calls.py), kept with the call record. And every
    # PIN try on the phone line, for its budgets (core/phone_guard.py): tries per typed
    # member number, per caller number and for the whole line, over 24 hours.
    db.execute("ALTER TABLE call ADD COLUMN timeline TEXT NOT NULL DEFAULT '[]'")
    db.execute("""CREATE TABLE phone_pin_try (
        try_id INTEGER PRIMARY KEY, at TEXT NOT NULL, call_id TEXT NOT NULL,
        caller TEXT NOT NULL, number_key TEXT NOT NULL, ok INTEGER NOT NULL DEFAULT 0)""")
    db.execute("CREATE INDEX phone_pin_try_at ON phone_pin_try(at)")
    db.execute("CREATE INDEX phone_pin_try_number ON phone_pin_try(number_key, at)")
    db.execute("CREATE INDEX phone_pin_try_caller ON phone_pin_try(caller, at)")
