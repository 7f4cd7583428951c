"""Hub SQL for voice messages: the one writer of ``voice_message`` and ``voice_audio``.

A mixin of :class:`sync.hub.storage.HubStorage` (the same connection and lock). The rules
(who may upload what, scope, retention) are :mod:`sync.hub.voice`; here only rows. The
audio sits in its own table so that listing messages never reads a recording.
"""

from __future__ import annotations

VOICE_CURSOR = "voice.cursor"        # meta: branch-log cursor up to which messages are read
VOICE_TYPES = ("message.recorded", "message.heard")

_COLS = ("m.message_id, m.branch, m.terminal_id, m.cursor, m.recorded_at, m.caller, "
         "m.member_no, m.duration_ms, m.rate_hz, m.sha256, m.audio_at, m.audio_size, "
         "m.audio_removed_at, m.terminal_heard_at, m.terminal_heard_by, m.heard_at, "
         "m.heard_by, m.followed_up_at, m.followed_up_by, m.follow_note")


class VoiceQueries:
    """Voice messages announced by terminals, their audio and the operators' marks."""

    # -- reading the branch log ---------------------------------------------------------
    def voice_events_after(self, cursor: int, limit: int) -> tuple[list[dict], int]:
        """Terminals' message events after ``cursor`` (at most ``limit`` rows of the log
        looked at) and the cursor the scan reached."""
        top = self._one("SELECT coalesce(max(cursor), 0) AS c FROM (SELECT cursor FROM "
                        "branch_log WHERE cursor > ? ORDER BY cursor LIMIT ?) AS page",
                        [cursor, limit])["c"]
        if top <= cursor:
            return [], cursor
        rows = self._all("SELECT cursor, branch, origin, type, payload FROM branch_log "
                         "WHERE cursor > ? AND cursor <= ? AND type IN (?, ?) "
                         "AND origin != 'hub' ORDER BY cursor", [cursor, top, *VOICE_TYPES])
        return rows, top

    def insert_voice_message(self, row: dict) -> None:
        """A message announced by a terminal; the first announcement of an id stands."""
        self._run("INSERT INTO voice_message(message_id, branch, terminal_id, cursor, "
                  "recorded_at, caller, member_no, duration_ms, rate_hz, sha256) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(message_id) DO NOTHING",
                  [row[k] for k in ("message_id", "branch", "terminal_id", "cursor",
                                    "recorded_at", "caller", "member_no", "duration_ms",
                                    "rate_hz", "sha256")])

    def note_terminal_heard(self, message_id: str, terminal_id: str, at: str, by: str) -> None:
        """Staff at the message's own terminal heard it (``message.heard``)."""
        self._run("UPDATE voice_message SET terminal_heard_at = ?, terminal_heard_by = ? "
                  "WHERE message_id = ? AND terminal_id = ? AND terminal_heard_at IS NULL",
                  [at, by, message_id, terminal_id])

    # -- rows ---------------------------------------------------------------------------
    def get_voice_message(self, message_id: str) -> dict | None:
        return self._one(f"SELECT {_COLS} FROM voice_message m WHERE m.message_id = ?",
                         [message_id])

    def voice_messages(self, branch: str, *, open_only: bool = True,
                       limit: int = 500) -> list[dict]:
        """A branch's messages, newest first, with the member's name where the hub knows
        the member; ``open_only``: not followed up yet."""
        where = "AND m.followed_up_at IS NULL" if open_only else ""
        return self._all(
            f"SELECT {_COLS}, hm.name AS member_name FROM voice_message m "
            "LEFT JOIN hub_member hm ON hm.branch = m.branch AND hm.member_no = m.member_no "
            f"WHERE m.branch = ? {where} ORDER BY m.recorded_at DESC, m.message_id LIMIT ?",
            [branch, limit])

    def unheard_voice_messages(self, branch: str) -> int:
        return self._one("SELECT count(*) AS n FROM voice_message WHERE branch = ? "
                         "AND heard_at IS NULL", [branch])["n"]

    def voice_missing(self, terminal_id: str, after: int, limit: int) -> list[dict]:
        """Messages of ``terminal_id`` whose audio the hub never received, in log order."""
        return self._all("SELECT message_id, cursor, sha256 FROM voice_message "
                         "WHERE terminal_id = ? AND cursor > ? AND audio_at IS NULL "
                         "AND audio_removed_at IS NULL ORDER BY cursor LIMIT ?",
                         [terminal_id, after, limit])

    # -- audio --------------------------------------------------------------------------
    def store_voice_audio(self, message_id: str, wav: bytes, at: str) -> None:
        with self.transaction():
            self._run("INSERT INTO voice_audio(message_id, wav) VALUES (?, ?)",
                      [message_id, wav])
            self._run("UPDATE voice_message SET audio_at = ?, audio_size = ? "
                      "WHERE message_id = ?", [at, len(wav), message_id])

    def voice_wav(self, message_id: str) -> bytes | None:
        row = self._one("SELECT wav FROM voice_audio WHERE message_id = ?", [message_id])
        return bytes(row["wav"]) if row else None

    def remove_voice_audio(self, message_ids: list[str], at: str) -> None:
        with self.transaction():
            for mid in message_ids:
                self._run("DELETE FROM voice_audio WHERE message_id = ?", [mid])
                self._run("UPDATE voice_message SET audio_removed_at = ? WHERE message_id = ?",
                          [at, mid])

    def voice_audio_due(self, heard_before: str) -> list[dict]:
        """Messages heard at the hub before ``heard_before`` whose audio is still kept."""
        return self._all("SELECT m.message_id, m.branch FROM voice_message m "
                         "JOIN voice_audio a USING(message_id) "
                         "WHERE m.heard_at IS NOT NULL AND m.heard_at < ?", [heard_before])

    # -- the operators' marks -----------------------------------------------------------
    def mark_voice_heard(self, message_id: str, at: str, by: str) -> bool:
        """False when it was marked heard already."""
        cur = self._run("UPDATE voice_message SET heard_at = ?, heard_by = ? "
                        "WHERE message_id = ? AND heard_at IS NULL", [at, by, message_id])
        return cur.rowcount == 1

    def mark_voice_followed_up(self, message_id: str, at: str, by: str, note: str) -> bool:
        """False when it was followed up already (heard is set too, if it was not)."""
        cur = self._run("UPDATE voice_message SET followed_up_at = ?, followed_up_by = ?, "
                        "follow_note = ?, heard_at = coalesce(heard_at, ?), "
                        "heard_by = coalesce(heard_by, ?) "
                        "WHERE message_id = ? AND followed_up_at IS NULL",
                        [at, by, note, at, by, message_id])
        return cur.rowcount == 1
