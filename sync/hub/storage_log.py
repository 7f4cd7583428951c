"""Hub SQL for the branch log: pushes appended, pulls paged, media, a terminal's audit chain.

A mixin of :class:`sync.hub.storage.HubStorage` (the same connection and lock). The branch
log is the hub's record; ``store_batch`` appends a checked push in the caller's
transaction, and ``log_page`` is what a pull reads. Kept in its own module so the storage
layer stays one place for all hub SQL without one huge file.
"""

from __future__ import annotations

from core.events import PROPOSAL_TYPES, SHARED_TYPES

from . import audit_segments

__all__ = ["PROPOSAL_TYPES", "SHARED_TYPES", "LogQueries"]


def _sql_list(items) -> str:
    return "(" + ", ".join(f"'{i}'" for i in items) + ")"


class LogQueries:
    """The branch log, each terminal's verified audit chain, and media."""

    # -- push --------------------------------------------------------------------------
    def event_ids_by_seq(self, terminal_id: str, lo: int, hi: int) -> dict[int, str]:
        rows = self._all("SELECT seq, event_id FROM branch_log WHERE origin = ? "
                         "AND seq BETWEEN ? AND ?", [terminal_id, lo, hi])
        return {r["seq"]: r["event_id"] for r in rows}

    def audit_hashes(self, terminal_id: str, lo: int, hi: int) -> dict[int, str]:
        """The hashes of the terminal's entries ``lo``..``hi`` the hub holds (a resend)."""
        return {e["seq"]: e["hash"] for e in self._audit_entries(terminal_id, lo, hi)
                if lo <= e["seq"] <= hi}

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
            if entries:  # consecutive and verified: one segment (sync.hub.audit_segments)
                self.conn.execute(
                    "INSERT INTO audit_segment(terminal_id, first_seq, last_seq, prev_hash, "
                    "hash, body) VALUES (?, ?, ?, ?, ?, ?)",
                    [terminal_id, entries[0]["seq"], entries[-1]["seq"],
                     entries[0]["prev_hash"], entries[-1]["hash"],
                     audit_segments.pack(entries, events)])
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
        return self._one("INSERT INTO branch_log(branch, origin, event_id, type, payload, at, "
                         "received_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING cursor",
                         [branch, origin, event_id, type, payload, at, at])["cursor"]

    def log_page(self, branch: str, after: int, limit: int,
                 skip_origin: str | None = None) -> tuple[list[dict], int, bool]:
        """Up to ``limit`` events of ``branch`` after cursor ``after`` (leaving out those from
        ``skip_origin``, and every terminal event but the shared facts of core.events:
        proposals reach the other terminals only once accepted, as the hub's own events, and
        what a terminal wrote of the hub's before it enrolled reaches no one); returns
        (events, next cursor, more?)."""
        with self.snapshot():
            rows = self._all(
                "SELECT cursor, origin, event_id, type, payload, at FROM branch_log "
                "WHERE branch = ? AND cursor > ? AND origin IS NOT ? "
                f"AND (origin = 'hub' OR type IN {_sql_list(SHARED_TYPES)}) "
                "AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.event_id = "
                "branch_log.event_id AND q.released_at IS NULL) "
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
        return self._all("SELECT cursor, origin, seq, event_id, type, payload, at, received_at "
                         "FROM branch_log "
                         "WHERE branch = ? ORDER BY cursor", [branch])

    # -- the operator's view: quarantine, skip reports, checks (sync.hub.log_admin) --------
    _EVENT_COLS = ("l.cursor, l.branch, l.origin, l.seq, l.event_id, l.type, l.payload, l.at, "
                   "l.received_at, q.reason AS quarantine_reason, q.quarantined_by, "
                   "q.quarantined_at, (q.event_id IS NOT NULL AND q.released_at IS NULL) "
                   "AS quarantined")
    _EVENT_FROM = ("branch_log l LEFT JOIN quarantine q ON q.event_id = l.event_id")

    def hub_events(self, branch: str, type_: str, *, limit: int = 20) -> list[dict]:
        """The hub's own newest ``limit`` events of one type in ``branch`` (what the hub
        published: lessons, notices), newest first."""
        return self._all("SELECT event_id, type, payload, at FROM branch_log WHERE branch = ? "
                         "AND origin = 'hub' AND type = ? ORDER BY cursor DESC LIMIT ?",
                         [branch, type_, limit])

    def log_event(self, event_id: str) -> dict | None:
        row = self._one(f"SELECT {self._EVENT_COLS} FROM {self._EVENT_FROM} "
                        "WHERE l.event_id = ?", [event_id])
        if row is not None:
            row["quarantined"] = bool(row["quarantined"])
        return row

    def log_events(self, branch: str, *, skipped_only: bool, quarantined_only: bool,
                   limit: int) -> list[dict]:
        where = ["l.branch = ?"]
        if skipped_only:
            where.append("EXISTS (SELECT 1 FROM skip_report s WHERE s.event_id = l.event_id)")
        if quarantined_only:
            where.append("q.event_id IS NOT NULL AND q.released_at IS NULL")
        rows = self._all(f"SELECT {self._EVENT_COLS} FROM {self._EVENT_FROM} "
                         f"WHERE {' AND '.join(where)} ORDER BY l.cursor DESC LIMIT ?",
                         [branch, limit])
        for r in rows:
            r["quarantined"] = bool(r["quarantined"])
        return rows

    def terminal_events(self, branch: str | None = None) -> list[dict]:
        """Every event terminals sent (of ``branch``, or all), in log order."""
        where, params = ("AND l.branch = ?", [branch]) if branch else ("", [])
        rows = self._all(f"SELECT {self._EVENT_COLS} FROM {self._EVENT_FROM} "
                         f"WHERE l.origin != 'hub' {where} ORDER BY l.cursor", params)
        for r in rows:
            r["quarantined"] = bool(r["quarantined"])
        return rows

    def put_quarantine(self, event_id: str, branch: str, by: str, reason: str, at: str) -> None:
        self._run("INSERT INTO quarantine(event_id, branch, quarantined_by, reason, "
                  "quarantined_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(event_id) DO UPDATE SET "
                  "quarantined_by = excluded.quarantined_by, reason = excluded.reason, "
                  "quarantined_at = excluded.quarantined_at, released_by = NULL, "
                  "released_at = NULL", [event_id, branch, by, reason, at])

    def release_quarantine(self, event_id: str, by: str, at: str) -> bool:
        cur = self._run("UPDATE quarantine SET released_by = ?, released_at = ? "
                        "WHERE event_id = ? AND released_at IS NULL", [by, at, event_id])
        return cur.rowcount == 1

    def record_skips(self, terminal_id: str, branch: str, skips: list[dict], at: str) -> int:
        """Keep a terminal's reports of events it could not apply — only of events of its
        own branch's log; returns how many were new."""
        known = {r["event_id"] for r in self._all(
            f"SELECT event_id FROM branch_log WHERE branch = ? AND event_id IN "
            f"({', '.join('?' * len(skips))})", [branch, *(s["event_id"] for s in skips)])
        } if skips else set()
        new = 0
        for s in skips:
            if s["event_id"] in known:
                new += self._run("INSERT OR IGNORE INTO skip_report(terminal_id, event_id, "
                                 "reason, reported_at) VALUES (?, ?, ?, ?)",
                                 [terminal_id, s["event_id"], s["reason"], at]).rowcount
        return new

    def skip_reports(self, event_ids: list[str]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for i in range(0, len(event_ids), 500):
            part = event_ids[i:i + 500]
            for r in self._all("SELECT event_id, terminal_id, reason, reported_at FROM "
                               f"skip_report WHERE event_id IN ({', '.join('?' * len(part))}) "
                               "ORDER BY reported_at", part):
                out.setdefault(r.pop("event_id"), []).append(r)
        return out

    def audit_chain(self, terminal_id: str) -> list[dict]:
        """The terminal's audit chain as the hub verified it, every hash recomputed
        (``audit_segments.SegmentDamaged`` if what is stored no longer hashes so)."""
        return self._audit_entries(terminal_id, 1, None)

    def _audit_entries(self, terminal_id: str, lo: int, hi: int | None) -> list[dict]:
        """The entries of the segments that hold seq ``lo``..``hi`` (None: the last), in
        order, each segment checked to start where the one before it ends."""
        with self.snapshot():
            segments = self._all(
                "SELECT first_seq, last_seq, prev_hash, hash, body FROM audit_segment "
                "WHERE terminal_id = ? AND last_seq >= ? AND first_seq <= ? "
                "ORDER BY first_seq", [terminal_id, lo, hi if hi is not None else 2 ** 62])
            out: list[dict] = []
            for seg in segments:
                if out and seg["prev_hash"] != out[-1]["hash"]:
                    raise audit_segments.SegmentDamaged(
                        f"audit segment {seg['first_seq']}-{seg['last_seq']} of terminal "
                        f"{terminal_id} does not follow the one before it")
                out += audit_segments.unpack(
                    seg, lambda seqs: self._events_by_seq(terminal_id, seqs))
        return out

    def _events_by_seq(self, terminal_id: str, seqs: list[int]
                       ) -> dict[int, tuple[str, str, str]]:
        """(event id, at, type) of the terminal's events of ``seqs`` (a run of them)."""
        if not seqs:
            return {}
        return {r["seq"]: (r["event_id"], r["at"], r["type"]) for r in self._all(
            "SELECT seq, event_id, at, type FROM branch_log WHERE origin = ? "
            "AND seq BETWEEN ? AND ?", [terminal_id, min(seqs), max(seqs)])}

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
