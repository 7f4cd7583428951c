"""Phone calls and the voice messages callers leave for the branch staff.

Call records. Every call to the phone line is written once, when it ends: who called (the
number the line saw), when, the member if the caller proved who they are with a PIN, the
path through the menus, and how the call ended (``OUTCOMES``). ``lianxin calls list`` reads
them; each is journaled (``call.recorded``) and audited.

Voice messages. The recording is a 16-bit mono WAV file in a ``messages`` folder beside the
database (created on the first message, mode 0700, files 0600); the table holds its path
relative to the database's folder, its sha256, duration and rate, so a file that was
swapped or damaged is detected when staff play it. Files are written atomically before the
row: a crash leaves at most an orphan file, never a row without its audio.

Consent. A member who withdrew ``voice_messages`` leaves no message (``messages_allowed``
is False, ``save_message`` raises ConsentError). A member who was never asked may leave one:
the message is their own act, made after hearing it will be kept for the staff, and the
scope exists so that a member can say "never keep my voice". Callers who did not identify
themselves are kept by caller number only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import uuid
import wave
from datetime import datetime
from pathlib import Path

from . import consent, members
from .clock import iso
from .errors import ConsentError, InvalidInput, NotFound

__all__ = ["OUTCOMES", "list_calls", "list_messages", "mark_heard", "member_for_keypad",
           "message_audio", "messages_allowed", "messages_dir", "record_call", "save_message"]

OUTCOMES = {
    "completed": "办完事，道别后挂断",
    "hung_up": "来电人挂断",
    "no_response": "长时间没有回应，道别后挂断",
    "not_identified": "没有确认身份，道别后挂断",
    "locked": "密码错误次数太多，道别后挂断",
    "error": "系统出错，道别后挂断",
}
MESSAGES_FOLDER = "messages"
MAX_MESSAGE_S = 300
_STEP = re.compile(r"^\S{1,100}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


# -- call records -------------------------------------------------------------------------

def _when(text: str, what: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"{what} is not an ISO time: {text!r}") from e
    if dt.tzinfo is None:
        raise InvalidInput(f"{what} has no time zone: {text!r}")
    return dt


def record_call(store, *, call_id: str, caller: str, started_at: str, ended_at: str,
                member_no: str | None, path: list[str], outcome: str,
                actor: str = "phone") -> dict:
    """Write one finished call (journaled ``call.recorded``, audited). Returns the record.

    ``path`` is the list of steps the caller went through (``["greeting", "ask_number",
    "ask_pin", "pin_ok", "menu", "dues", "menu", "lesson:<id>", ...]``), each a word.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(f"call outcome must be one of {', '.join(OUTCOMES)}: {outcome!r}")
    if not isinstance(call_id, str) or not call_id.strip():
        raise InvalidInput("a call needs an id")
    if not isinstance(path, list) or not all(isinstance(s, str) and _STEP.match(s) for s in path):
        raise InvalidInput(f"a call path is a list of step names: {path!r}")
    start, end = _when(started_at, "started_at"), _when(ended_at, "ended_at")
    if end < start:
        raise InvalidInput(f"call {call_id} ends ({ended_at}) before it starts ({started_at})")
    if member_no is not None and not store.one("SELECT 1 FROM member WHERE member_no = ?",
                                               [member_no]):
        raise NotFound(f"no member {member_no}", "没有找到这位党员。")
    record = {"call_id": call_id, "caller": str(caller or ""), "started_at": iso(start),
              "ended_at": iso(end), "member_no": member_no, "path": list(path),
              "outcome": outcome, "terminal_id": store.terminal_id}
    with store.transaction():
        if store.one("SELECT 1 FROM call WHERE call_id = ?", [call_id]):
            raise InvalidInput(f"call {call_id} is already recorded")
        store.db.execute(
            "INSERT INTO call(call_id, caller, started_at, ended_at, member_no, path, outcome, "
            "terminal_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [call_id, record["caller"], record["started_at"], record["ended_at"], member_no,
             json.dumps(path), outcome, record["terminal_id"]])
        store.record("call.recorded", record, actor=actor,
                     subject=f"member:{member_no}" if member_no else f"call:{call_id}")
    return record


def list_calls(store, *, limit: int = 100, member_no: str | None = None,
               reader: str | None = None) -> list[dict]:
    """Calls, newest first, with their duration, the outcome in Chinese and the number of
    voice messages left. ``reader`` (a staff actor) makes the read audited."""
    where, params = ("WHERE c.member_no = ?", [member_no]) if member_no else ("", [])
    rows = store.all(
        "SELECT c.call_id, c.caller, c.started_at, c.ended_at, c.member_no, m.name AS member_name, "
        "c.path, c.outcome, (SELECT COUNT(*) FROM voice_message v WHERE v.call_id = c.call_id) "
        f"AS messages FROM call c LEFT JOIN member m USING(member_no) {where} "
        "ORDER BY c.started_at DESC, c.rowid DESC LIMIT ?", [*params, limit])
    for r in rows:
        r["path"] = json.loads(r["path"])
        r["outcome_zh"] = OUTCOMES.get(r["outcome"], r["outcome"])
        r["seconds"] = round((_when(r["ended_at"], "ended_at")
                              - _when(r["started_at"], "started_at")).total_seconds())
    if reader and rows:
        store.audit_read(reader, "calls", f"{len(rows)} call records")
    return rows


def member_for_keypad(store, digits: str) -> str | None:
    """The active member whose number is typed on a phone keypad, which has no letters:
    "001" or "1" finds QS001. None when nobody or more than one member fits."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    exact, by_value = [], []
    for row in members.list_all(store):
        own = re.sub(r"\D", "", row["member_no"])
        if not own:
            continue
        if own == digits:
            exact.append(row["member_no"])
        elif int(own) == int(digits):
            by_value.append(row["member_no"])
    found = exact or by_value
    return found[0] if len(found) == 1 else None


# -- voice messages -----------------------------------------------------------------------

def messages_dir(store) -> Path:
    """Where recordings live: ``messages/`` beside the database (not created here)."""
    return Path(store.path).parent / MESSAGES_FOLDER


def messages_allowed(store, member_no: str | None) -> bool:
    """False only when the member's latest answer on ``voice_messages`` is a withdrawal."""
    return member_no is None or not consent.withdrawn(store, member_no, "voice_messages")


def _wav(pcm: bytes, rate_hz: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm)
    return buf.getvalue()


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".msg-", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_message(store, pcm: bytes, rate_hz: int, *, caller: str, member_no: str | None = None,
                 call_id: str | None = None, actor: str = "phone") -> dict:
    """Keep a recorded message for the staff: the WAV file, then its row (journaled
    ``message.recorded`` without the audio, audited). Raises ConsentError when the member
    withdrew ``voice_messages`` (nothing is written), InvalidInput for empty audio."""
    if member_no is not None:
        members.get(store, member_no)
        if not messages_allowed(store, member_no):
            raise ConsentError(f"member {member_no} withdrew consent to voice messages",
                               "您之前选择了不保存语音留言。")
    if not isinstance(rate_hz, int) or not 4000 <= rate_hz <= 48000:
        raise InvalidInput(f"message sample rate out of range: {rate_hz!r}")
    pcm = bytes(pcm[: len(pcm) - len(pcm) % 2])
    duration_ms = len(pcm) * 1000 // (2 * rate_hz)
    if duration_ms <= 0:
        raise InvalidInput("an empty recording is not a message", "没有录到声音。")
    if duration_ms > MAX_MESSAGE_S * 1000:
        raise InvalidInput(f"a message is at most {MAX_MESSAGE_S} s")
    message_id = str(uuid.uuid4())
    rel = f"{MESSAGES_FOLDER}/{message_id}.wav"
    data = _wav(pcm, rate_hz)
    digest = hashlib.sha256(data).hexdigest()
    path = messages_dir(store) / f"{message_id}.wav"
    row = {"message_id": message_id, "call_id": call_id, "caller": str(caller or ""),
           "member_no": member_no, "recorded_at": iso(store.now()), "file": rel,
           "sha256": digest, "duration_ms": duration_ms, "rate_hz": rate_hz,
           "terminal_id": store.terminal_id}
    _write_private(path, data)
    try:
        with store.transaction():
            store.db.execute(
                "INSERT INTO voice_message(message_id, call_id, caller, member_no, recorded_at, "
                "file, sha256, duration_ms, rate_hz, terminal_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [row[k] for k in ("message_id", "call_id", "caller", "member_no", "recorded_at",
                                  "file", "sha256", "duration_ms", "rate_hz", "terminal_id")])
            store.record("message.recorded", row, actor=actor,
                         subject=f"member:{member_no}" if member_no else f"message:{message_id}")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return {**row, "path": str(path)}


def list_messages(store, *, unheard_only: bool = False, limit: int = 100,
                  reader: str | None = None) -> list[dict]:
    """Messages for the staff mode, newest first, with the member's name and the file's
    absolute ``path``. ``reader`` (a staff actor) makes the read audited."""
    where = "WHERE v.heard_at IS NULL" if unheard_only else ""
    rows = store.all(
        "SELECT v.message_id, v.call_id, v.caller, v.member_no, m.name AS member_name, "
        "v.recorded_at, v.file, v.sha256, v.duration_ms, v.rate_hz, v.heard_at, v.heard_by "
        f"FROM voice_message v LEFT JOIN member m USING(member_no) {where} "
        "ORDER BY v.recorded_at DESC, v.rowid DESC LIMIT ?", [limit])
    base = Path(store.path).parent
    for r in rows:
        r["path"] = str(base / r["file"])
        r["seconds"] = round(r["duration_ms"] / 1000, 1)
    if reader and rows:
        store.audit_read(reader, "messages", f"{len(rows)} voice messages listed")
    return rows


def _get_message(store, message_id: str) -> dict:
    row = store.one("SELECT * FROM voice_message WHERE message_id = ?", [message_id])
    if row is None:
        raise NotFound(f"no voice message {message_id}", "没有找到这条留言。")
    return row


def message_audio(store, message_id: str, *, reader: str | None = None) -> tuple[bytes, int]:
    """(16-bit little-endian PCM, rate) of a message, after checking the file is the one
    recorded."""
    row = _get_message(store, message_id)
    path = Path(store.path).parent / row["file"]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"voice message file {path} is missing", "留言的录音文件不见了。") from None
    if not _SHA.match(row["sha256"]) or hashlib.sha256(data).hexdigest() != row["sha256"]:
        raise InvalidInput(f"voice message file {path} does not match its sha256",
                           "留言的录音文件被改动过或者损坏了。")
    with wave.open(io.BytesIO(data)) as w:
        rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    if reader:
        store.audit_read(reader, f"message:{message_id}", "voice message played")
    return pcm, rate


def mark_heard(store, message_id: str, *, staff_no: str) -> dict:
    """Staff ``staff_no`` has listened to the message (journaled ``message.heard``)."""
    if not store.one("SELECT 1 FROM staff WHERE staff_no = ? AND active", [staff_no]):
        raise NotFound(f"no active staff {staff_no}", "没有找到这位工作人员。")
    row = _get_message(store, message_id)
    if row["heard_at"]:
        return row
    at = iso(store.now())
    with store.transaction():
        store.db.execute("UPDATE voice_message SET heard_at = ?, heard_by = ? WHERE message_id = ?",
                         [at, staff_no, message_id])
        store.record("message.heard", {"message_id": message_id, "heard_at": at,
                                       "heard_by": staff_no},
                     actor=f"staff:{staff_no}", subject=f"message:{message_id}")
    return _get_message(store, message_id)
