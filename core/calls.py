"""Phone calls and the voice messages callers leave for the branch staff.

Call records. Every call to the phone line is written once, when it ends: who called (the
number the line saw), when, the member if the caller proved who they are with a PIN, the
path through the menus, and how the call ended (``OUTCOMES``). ``lianxin calls list`` reads
them; each is journaled (``call.recorded``) and audited.

Voice messages. The recording, a 16-bit mono WAV, is kept inside the encrypted store
(``voice_audio``), written in one transaction with its row (``voice_message``: caller,
member, time, sha256, duration, rate), so a stolen disk without the key holds no voice and a
crash leaves neither half. The sha256 is checked each time staff play one. Retention: staff
may set how many days a heard message's audio is kept (``set_retention``); ``housekeep``
removes what is due (the row stays and says when) and runs after every new message, every
"heard" and whenever staff open the messages.

Consent. A member who withdrew ``voice_messages`` leaves no message (``messages_allowed``
is False, ``save_message`` raises ConsentError). A member who was never asked may leave one:
the message is their own act, made after hearing it will be kept for the staff, and the
scope exists so that a member can say "never keep my voice". Callers who did not identify
themselves are kept by caller number only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import uuid
import wave
from datetime import datetime, timedelta
from pathlib import Path

from . import audit, consent, members
from .clock import iso
from .errors import ConsentError, InvalidInput, NotFound

__all__ = ["OUTCOMES", "count_messages", "export_message", "get_call", "housekeep", "list_calls", "list_messages",
           "mark_heard", "member_for_keypad", "message_audio", "message_wav", "messages_allowed",
           "messages_dir", "record_call", "retention_days", "save_message", "set_retention"]

OUTCOMES = {
    "completed": "办完事，道别后挂断",
    "hung_up": "来电人挂断",
    "no_response": "长时间没有回应，道别后挂断",
    "not_identified": "没有确认身份，道别后挂断",
    "locked": "编号或密码错误次数太多，道别后挂断",
    "error": "系统出错，道别后挂断",
}
MESSAGES_FOLDER = "messages"  # where recordings lived before they moved into the store
MAX_MESSAGE_S = 300
RETENTION_META = "messages.keep_heard_days"
MAX_RETENTION_DAYS = 3650
_STEP = re.compile(r"^\S{1,100}$")
TIMELINE_KINDS = {"say": ("id", "text", "end_ms", "cut"), "key": ("key",),
                  "phrase": ("text", "confidence")}
MAX_TIMELINE = 2000       # entries kept per call (a long lesson is one entry a sentence)
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


def _check_timeline(timeline) -> list[dict]:
    """Each entry: ``t_ms`` (from answer) and ``kind``: "say" (``id``, ``text``, ``end_ms``,
    ``cut``: what the caller heard of one prompt), "key" (``key``; a PIN digit is "•") or
    "phrase" (``text``, ``confidence``). Returned in order of ``t_ms`` (stable)."""
    if timeline is None:
        return []
    if not isinstance(timeline, list) or not all(isinstance(e, dict) for e in timeline):
        raise InvalidInput(f"a call timeline is a list of entries: {timeline!r:.200}")
    for e in timeline:
        t, kind = e.get("t_ms"), e.get("kind")
        if kind not in TIMELINE_KINDS or isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise InvalidInput(f"bad call timeline entry: {e!r:.200}")
        if set(e) - {"t_ms", "kind", *TIMELINE_KINDS[kind]}:
            raise InvalidInput(f"unknown fields in a call timeline entry: {e!r:.200}")
        if kind == "say" and not (isinstance(e.get("end_ms"), int) and e["end_ms"] >= t):
            raise InvalidInput(f"a prompt in a call timeline ends before it starts: {e!r:.200}")
    kept = sorted(timeline, key=lambda e: e["t_ms"])
    return kept[:MAX_TIMELINE]


def record_call(store, *, call_id: str, caller: str, started_at: str, ended_at: str,
                member_no: str | None, path: list[str], outcome: str,
                actor: str = "phone", timeline: list[dict] | None = None) -> dict:
    """Write one finished call (journaled ``call.recorded``, audited). Returns the record.

    ``path`` is the list of steps the caller went through (``["ask_number", "ask_pin",
    "pin_ok", "menu", "dues", "menu", "lesson:<id>", ...]``), each a word. ``timeline`` is
    what the caller heard and did, in order (see ``_check_timeline``); it stays in this
    store with the call (the journaled record leaves it out: it holds what was said).
    """
    timeline = _check_timeline(timeline)
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
            "terminal_id, timeline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [call_id, record["caller"], record["started_at"], record["ended_at"], member_no,
             json.dumps(path), outcome, record["terminal_id"],
             json.dumps(timeline, ensure_ascii=False)])
        store.record("call.recorded", record, actor=actor,
                     subject=f"member:{member_no}" if member_no else f"call:{call_id}")
    return {**record, "timeline": timeline}


def list_calls(store, *, limit: int = 100, member_no: str | None = None,
               reader: str | None = None) -> list[dict]:
    """Calls, newest first, with their duration, the outcome in Chinese, the number of
    voice messages left and the timeline. ``reader`` (a staff actor) makes the read
    audited."""
    where, params = ("WHERE c.member_no = ?", [member_no]) if member_no else ("", [])
    return _calls(store, where, [*params, limit], reader, "LIMIT ?")


def get_call(store, call_id: str, *, reader: str | None = None) -> dict:
    """One call, as in :func:`list_calls`; NotFound when there is none."""
    rows = _calls(store, "WHERE c.call_id = ?", [call_id], reader, "")
    if not rows:
        raise NotFound(f"no call {call_id}", "没有找到这个来电记录。")
    return rows[0]


def _calls(store, where: str, params: list, reader: str | None, limit: str) -> list[dict]:
    rows = store.all(
        "SELECT c.call_id, c.caller, c.started_at, c.ended_at, c.member_no, m.name AS member_name, "
        "c.path, c.outcome, (SELECT COUNT(*) FROM voice_message v WHERE v.call_id = c.call_id) "
        f"AS messages, c.timeline FROM call c LEFT JOIN member m USING(member_no) {where} "
        f"ORDER BY c.started_at DESC, c.rowid DESC {limit}", params)
    for r in rows:
        r["path"] = json.loads(r["path"])
        r["timeline"] = json.loads(r["timeline"])
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
    """Where recordings lived before they moved into the store: ``messages/`` beside the
    database (read only to move them in and delete them; never written)."""
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


def save_message(store, pcm: bytes, rate_hz: int, *, caller: str, member_no: str | None = None,
                 call_id: str | None = None, actor: str = "phone") -> dict:
    """Keep a recorded message for the staff: its row and its audio in one transaction
    (journaled ``message.recorded`` without the audio, audited). Raises ConsentError when
    the member withdrew ``voice_messages`` (nothing is written), InvalidInput for empty
    audio."""
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
    data = _wav(pcm, rate_hz)
    row = {"message_id": message_id, "call_id": call_id, "caller": str(caller or ""),
           "member_no": member_no, "recorded_at": iso(store.now()), "file": "",
           "sha256": hashlib.sha256(data).hexdigest(), "duration_ms": duration_ms,
           "rate_hz": rate_hz, "terminal_id": store.terminal_id}
    with store.transaction():
        store.db.execute(
            "INSERT INTO voice_message(message_id, call_id, caller, member_no, recorded_at, "
            "file, sha256, duration_ms, rate_hz, terminal_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row[k] for k in ("message_id", "call_id", "caller", "member_no", "recorded_at",
                              "file", "sha256", "duration_ms", "rate_hz", "terminal_id")])
        store.db.execute("INSERT INTO voice_audio(message_id, wav) VALUES (?, ?)",
                         [message_id, data])
        store.record("message.recorded", row, actor=actor,
                     subject=f"member:{member_no}" if member_no else f"message:{message_id}")
    housekeep(store)
    return row


def list_messages(store, *, unheard_only: bool = False, limit: int = 100,
                  reader: str | None = None) -> list[dict]:
    """Messages for the staff mode, newest first, with the member's name; ``audio`` says
    whether the recording is still kept. ``reader`` (a staff actor) makes the read
    audited."""
    where = "WHERE v.heard_at IS NULL" if unheard_only else ""
    rows = store.all(
        "SELECT v.message_id, v.call_id, v.caller, v.member_no, m.name AS member_name, "
        "v.recorded_at, v.sha256, v.duration_ms, v.rate_hz, v.heard_at, v.heard_by, "
        "v.audio_removed_at, a.message_id IS NOT NULL AS audio "
        "FROM voice_message v LEFT JOIN member m USING(member_no) "
        f"LEFT JOIN voice_audio a USING(message_id) {where} "
        "ORDER BY v.recorded_at DESC, v.rowid DESC LIMIT ?", [limit])
    for r in rows:
        r["audio"] = bool(r["audio"])
        r["seconds"] = round(r["duration_ms"] / 1000, 1)
    if reader and rows:
        store.audit_read(reader, "messages", f"{len(rows)} voice messages listed")
    return rows


def count_messages(store) -> int:
    """How many messages this store holds (heard or not, audio kept or not)."""
    return store.one("SELECT count(*) AS n FROM voice_message")["n"]


def _get_message(store, message_id: str) -> dict:
    row = store.one("SELECT * FROM voice_message WHERE message_id = ?", [message_id])
    if row is None:
        raise NotFound(f"no voice message {message_id}", "没有找到这条留言。")
    return row


def message_wav(store, message_id: str, *, reader: str | None = None) -> bytes:
    """The message's WAV bytes, after checking they are the ones recorded."""
    row = _get_message(store, message_id)
    audio = store.one("SELECT wav FROM voice_audio WHERE message_id = ?", [message_id])
    if audio is None:
        if row["audio_removed_at"]:
            raise NotFound(f"voice message {message_id}: audio removed at "
                           f"{row['audio_removed_at']} (retention)",
                           "这条留言的录音已经过了保存期限，删掉了。")
        raise NotFound(f"voice message {message_id}: no audio in the store",
                       "留言的录音不见了。")
    data = bytes(audio["wav"])
    if not _SHA.match(row["sha256"]) or hashlib.sha256(data).hexdigest() != row["sha256"]:
        raise InvalidInput(f"voice message {message_id}: audio does not match its sha256",
                           "留言的录音被改动过或者损坏了。")
    if reader:
        store.audit_read(reader, f"message:{message_id}", "voice message played")
    return data


def message_audio(store, message_id: str, *, reader: str | None = None) -> tuple[bytes, int]:
    """(16-bit little-endian PCM, rate) of a message (see :func:`message_wav`)."""
    with wave.open(io.BytesIO(message_wav(store, message_id, reader=reader))) as w:
        return w.readframes(w.getnframes()), w.getframerate()


def export_message(store, message_id: str, dest: str | os.PathLike, *, reader: str) -> Path:
    """Write a message's WAV to ``dest`` (0600, atomically; refuses to overwrite), for a
    staff member who needs it outside the kiosk. Audited as a read."""
    dest = Path(dest)
    data = message_wav(store, message_id, reader=reader)
    fd, tmp = tempfile.mkstemp(prefix=".msg-", suffix=".tmp", dir=dest.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, dest)  # fails if dest exists: an export never overwrites a file
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


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
    housekeep(store)
    return _get_message(store, message_id)


# -- retention ----------------------------------------------------------------------------

def retention_days(store) -> int | None:
    """Days a heard message's audio is kept (None: until staff remove it)."""
    value = store.meta(RETENTION_META)
    return int(value) if value else None


def set_retention(store, days: int | None, *, staff_no: str) -> int:
    """Keep heard messages' audio ``days`` days after they were heard (None: keep them);
    audited. Applies the rule at once; returns how many recordings it removed."""
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 1 <= days <= MAX_RETENTION_DAYS):
        raise InvalidInput(f"retention is 1 to {MAX_RETENTION_DAYS} days: {days!r}",
                           f"保存天数要在1到{MAX_RETENTION_DAYS}天之间。")
    with store.transaction():
        store.set_meta(RETENTION_META, str(days) if days else "")
        audit.append(store, actor=f"staff:{staff_no}", action="message.retention_set",
                     subject="messages", detail={"keep_heard_days": days})
    return housekeep(store)


def housekeep(store) -> int:
    """Apply the retention rule (remove the audio of messages heard more than the set days
    ago; the row stays, with ``audio_removed_at``, and each removal is audited) and delete
    leftover files from before audio moved into the store. Returns recordings removed."""
    removed = 0
    days = retention_days(store)
    if days:
        now = store.now()
        cutoff = iso(now - timedelta(days=days))
        due = store.all(
            "SELECT v.message_id FROM voice_message v JOIN voice_audio a USING(message_id) "
            "WHERE v.heard_at IS NOT NULL AND v.heard_at < ?", [cutoff])
        if due:
            with store.transaction():
                for r in due:
                    store.db.execute("DELETE FROM voice_audio WHERE message_id = ?",
                                     [r["message_id"]])
                    store.db.execute("UPDATE voice_message SET audio_removed_at = ? "
                                     "WHERE message_id = ?", [iso(now), r["message_id"]])
                    audit.append(store, actor="retention", action="message.audio_removed",
                                 subject=f"message:{r['message_id']}",
                                 detail={"keep_heard_days": days})
            removed = len(due)
    _drop_moved_files(store)
    return removed


def _drop_moved_files(store) -> None:
    folder = messages_dir(store)
    if not folder.is_dir():
        return
    base = Path(store.path).parent
    for r in store.all("SELECT v.file FROM voice_message v JOIN voice_audio a "
                       "USING(message_id) WHERE v.file != ''"):
        (base / r["file"]).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()  # only when empty
