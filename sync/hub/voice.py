"""Voice messages at the hub: what callers of a branch's phone line left, for operators.

A terminal keeps each message inside its encrypted store (``core.calls``) and journals
``message.recorded`` (without the audio): a LOCAL event, pushed to the hub and passed on to
no other terminal. After a push the terminal uploads the audio of each message the hub
lacks (``PUT /v1/voice/{message_id}``, docs/sync-protocol.md):

    catch_up     the branch log's ``message.recorded`` / ``message.heard`` events read into
                 ``voice_message`` rows (``voice.cursor`` in meta says how far)
    missing      a terminal's announced messages whose audio the hub never received
    upload       the audio of one message: announced by that very terminal (so of its
                 branch), the bytes hashing to the announced sha256, whole or not at all;
                 a resend of what the hub holds is answered as before (idempotent)

For operators (the console and ``lianxin hub voice …`` call these same functions; scope is
the console's, sync.hub.console.views_voice):

    messages     a branch's messages: when, caller (the member's name where known, else
                 the number as recorded), length, whether heard / followed up
    audio        a message's WAV, checked against its sha256
    mark_heard / follow_up   已听 / 已跟进 (with a note), each on the operators' trail
    housekeep    retention: the audio of messages heard more than ``keep_days()`` days ago
                 is removed (the row stays, with ``audio_removed_at``), on the trail

Consent is the terminal's (core.calls): a member who withdrew ``voice_messages`` leaves no
message, so there is nothing to announce or send; a message left while the member had not
withdrawn stays a message to the branch, on the terminal and here alike.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime, timedelta

from core import config
from core.clock import default_clock, iso
from core.errors import InvalidInput, NotFound

from ..protocol import ProtocolError
from . import operators
from .storage import HubStorage
from .storage_voice import VOICE_CURSOR

log = logging.getLogger("lianxin.hub")

SCAN = 5000                   # branch-log rows read per step of catch_up
MISSING_PAGE = 500            # message ids per answer of missing()
DEFAULT_KEEP_DAYS = 90
MAX_KEEP_DAYS = 3650
_SHA = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# -- from the branch log ----------------------------------------------------------------

def _announced(row: dict) -> dict | None:
    """A ``message.recorded`` payload as a row, or None when it is not usable."""
    try:
        p = json.loads(row["payload"])
        out = {"message_id": p["message_id"], "branch": row["branch"],
               "terminal_id": row["origin"], "cursor": row["cursor"],
               "recorded_at": p["recorded_at"], "caller": str(p.get("caller") or ""),
               "member_no": p.get("member_no"), "duration_ms": p["duration_ms"],
               "rate_hz": p["rate_hz"], "sha256": p["sha256"]}
    except (ValueError, KeyError, TypeError):
        return None
    ints = (out["duration_ms"], out["rate_hz"])
    if (not isinstance(out["message_id"], str) or not _ID.match(out["message_id"])
            or not isinstance(out["sha256"], str) or not _SHA.match(out["sha256"])
            or not isinstance(out["recorded_at"], str)
            or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in ints)
            or not (out["member_no"] is None or isinstance(out["member_no"], str))):
        return None
    return out


def catch_up(storage: HubStorage) -> int:
    """Read the terminals' message events appended since the last call; new messages."""
    added = 0
    with storage.transaction():
        cursor = start = int(storage.meta(VOICE_CURSOR) or 0)
        while True:
            rows, reached = storage.voice_events_after(cursor, SCAN)
            for r in rows:
                if r["type"] == "message.recorded":
                    msg = _announced(r)
                    if msg is None:
                        log.warning("message.recorded at cursor %s from terminal %s is not "
                                    "usable; no voice message kept", r["cursor"], r["origin"])
                        continue
                    storage.insert_voice_message(msg)
                    added += 1
                else:
                    try:
                        p = json.loads(r["payload"])
                        storage.note_terminal_heard(str(p["message_id"]), r["origin"],
                                                    str(p["heard_at"]), str(p["heard_by"]))
                    except (ValueError, KeyError, TypeError):
                        continue
            if reached == cursor:
                break
            cursor = reached
        if cursor != start:
            storage.set_meta(VOICE_CURSOR, str(cursor))
    return added


# -- the terminal's upload ----------------------------------------------------------------

def missing(storage: HubStorage, terminal_id: str, after: int = 0,
            limit: int = MISSING_PAGE) -> dict:
    """The caller's announced messages the hub holds no audio of (never received), in
    log order after ``after``: ``{"missing": [{message_id, sha256}], "next", "more"}``."""
    catch_up(storage)
    rows = storage.voice_missing(terminal_id, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"missing": [{"message_id": r["message_id"], "sha256": r["sha256"]} for r in rows],
            "next": rows[-1]["cursor"] if rows else after, "more": more}


def upload(storage: HubStorage, terminal_id: str, branch: str, message_id: str, wav: bytes,
           now_ms: int) -> dict:
    """Keep the audio of one announced message of ``terminal_id`` (of ``branch``). Refused
    (nothing kept): a message that terminal did not announce — another terminal's, another
    branch's, or none (409 ``not_announced``); bytes that do not hash to the announced
    sha256 (422 ``audio_mismatch``). A resend of audio the hub holds, or held until the
    retention rule removed it, is answered ``duplicate``."""
    catch_up(storage)
    with storage.transaction():
        row = storage.get_voice_message(message_id)
        if row is None or row["terminal_id"] != terminal_id or row["branch"] != branch:
            raise ProtocolError("not_announced", f"message {message_id[:64]!r} was not "
                                "announced by a message.recorded event of this terminal")
        if hashlib.sha256(wav).hexdigest() != row["sha256"]:
            raise ProtocolError("audio_mismatch", f"the audio of message {message_id} does "
                                "not hash to the sha256 its message.recorded announced")
        duplicate = bool(row["audio_at"] or row["audio_removed_at"])
        if not duplicate:
            storage.store_voice_audio(
                message_id, wav, iso(datetime.fromtimestamp(now_ms / 1000, tz=UTC)))
    return {"message_id": message_id, "size": len(wav), "duplicate": duplicate}


# -- for operators ------------------------------------------------------------------------

def _shown(row: dict) -> dict:
    name = row.get("member_name")
    return {**row, "seconds": round(row["duration_ms"] / 1000, 1),
            "who": f"{name}（{row['member_no']}）" if name else (
                row["caller"] or row["member_no"] or "号码未知"),
            "audio": bool(row["audio_at"]) and not row["audio_removed_at"]}


def messages(storage: HubStorage, branch: str, *, open_only: bool = True,
             clock=None) -> list[dict]:
    """A branch's messages, newest first (``open_only``: not followed up yet). ``who`` is
    the caller as an operator reads it: the member's name and number where the hub knows
    the member, else the number as recorded."""
    catch_up(storage)
    housekeep(storage, clock=clock)
    return [_shown(r) for r in storage.voice_messages(branch, open_only=open_only)]


def unheard(storage: HubStorage, branch: str) -> int:
    """Messages of ``branch`` no operator has marked heard (call :func:`catch_up` first)."""
    return storage.unheard_voice_messages(branch)


def get(storage: HubStorage, message_id: str) -> dict:
    catch_up(storage)
    row = storage.get_voice_message(message_id) if isinstance(message_id, str) else None
    if row is None:
        raise NotFound(f"no voice message {message_id!r}", "没有找到这条留言。")
    return row


def audio(storage: HubStorage, message_id: str) -> bytes:
    """The message's WAV, checked against its announced sha256."""
    row = get(storage, message_id)
    wav = storage.voice_wav(message_id)
    if wav is None:
        if row["audio_removed_at"]:
            raise NotFound(f"voice message {message_id}: audio removed at "
                           f"{row['audio_removed_at']} (retention)",
                           "这条留言的录音已经过了保存期限，删掉了。")
        raise NotFound(f"voice message {message_id}: its audio has not arrived yet",
                       "这条留言的录音还没有从终端传上来，终端下次同步后就能听。")
    if hashlib.sha256(wav).hexdigest() != row["sha256"]:
        raise InvalidInput(f"voice message {message_id}: audio does not match its sha256",
                           "留言的录音被改动过或者损坏了。")
    return wav


def _done(row: dict, what: str, at: str, by: str) -> InvalidInput:
    # "处理过了": the console answers 409 (already decided), saying by whom and when.
    return InvalidInput(f"voice message {row['message_id']} was {what} by {by} at {at}",
                        f"这条留言已经由{by}在{at[:16].replace('T', ' ')}处理过了"
                        f"（{'已跟进' if what == 'followed up' else '已听'}）。")


def mark_heard(storage: HubStorage, actor: operators.Actor, message_id: str, *,
               clock=None) -> dict:
    """已听: an operator has listened to the message; on the operators' trail. Marking a
    message heard twice changes nothing (the first mark stands)."""
    row = get(storage, message_id)
    at = iso((clock or default_clock()).now())
    with storage.transaction():
        if storage.mark_voice_heard(message_id, at, actor.operator):
            operators.record(storage, actor, "voice_message.heard",
                             f"voice_message:{message_id}", {"branch": row["branch"]},
                             clock=clock)
    return storage.get_voice_message(message_id)


def follow_up(storage: HubStorage, actor: operators.Actor, message_id: str, note: str, *,
              clock=None) -> dict:
    """已跟进: what was done about the message (a note, required); heard too. A second
    follow-up is refused, saying who did the first."""
    note = (note or "").strip()
    if not note:
        raise InvalidInput("a follow-up needs a note", "请写明怎样跟进的。")
    row = get(storage, message_id)
    at = iso((clock or default_clock()).now())
    with storage.transaction():
        if not storage.mark_voice_followed_up(message_id, at, actor.operator, note[:500]):
            row = storage.get_voice_message(message_id)
            raise _done(row, "followed up", row["followed_up_at"], row["followed_up_by"])
        operators.record(storage, actor, "voice_message.followed_up",
                         f"voice_message:{message_id}", {"branch": row["branch"],
                                                         "note": note[:500]}, clock=clock)
    return storage.get_voice_message(message_id)


def played(storage: HubStorage, actor: operators.Actor, message_id: str, branch: str, *,
           clock=None) -> None:
    """An operator opened a recording (personal data): on the trail."""
    operators.record(storage, actor, "voice_message.played", f"voice_message:{message_id}",
                     {"branch": branch}, clock=clock)


# -- retention ----------------------------------------------------------------------------

def keep_days() -> int | None:
    """Days the hub keeps a heard message's audio (``LIANXIN_HUB_VOICE_KEEP_DAYS``, default
    90; 0: until removed by hand — never, today)."""
    text = config.get("hub_voice_keep_days") or str(DEFAULT_KEEP_DAYS)
    try:
        days = int(text)
    except ValueError as e:
        raise InvalidInput(f"LIANXIN_HUB_VOICE_KEEP_DAYS is not a whole number: {text!r}") from e
    if not 0 <= days <= MAX_KEEP_DAYS:
        raise InvalidInput(f"LIANXIN_HUB_VOICE_KEEP_DAYS is 0 to {MAX_KEEP_DAYS}: {days}")
    return days or None


def housekeep(storage: HubStorage, *, days: int | None | bool = True, clock=None) -> int:
    """Remove the audio of messages an operator marked heard more than ``days`` days ago
    (default: :func:`keep_days`); the rows stay, with ``audio_removed_at``. Each removal is
    on the operators' trail (operator ``retention``). Returns how many were removed."""
    if days is True:
        days = keep_days()
    if not days:
        return 0
    now = (clock or default_clock()).now()
    due = storage.voice_audio_due(iso(now - timedelta(days=days)))
    if not due:
        return 0
    at = iso(now)
    with storage.transaction():
        storage.remove_voice_audio([r["message_id"] for r in due], at)
        for r in due:
            operators.record(storage, operators.Actor("retention"), "voice_message.audio_removed",
                             f"voice_message:{r['message_id']}",
                             {"branch": r["branch"], "keep_heard_days": days}, clock=clock)
    return len(due)
