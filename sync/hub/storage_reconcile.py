"""Hub SQL for the derived tables (``sync.hub.conflicts``) and the report (``sync.hub.report``).

A mixin of :class:`sync.hub.storage.HubStorage` (the same connection and lock). These
tables are derived from the branch log and can be rebuilt from it (migration set
``hub_reconcile``): the ledger, study sessions and roster as the hub sees them, payments of
one member-month through two terminals flagged, and roster edits made at terminals held as
proposals. Kept in its own module so the storage layer stays one place for all hub SQL
without one huge file.
"""

from __future__ import annotations

from core.clock import add_months


class ReconcileQueries:
    """Writes to the derived tables as the branch log is read, and the report's queries."""

    # -- derived tables (sync.hub.conflicts, sync.hub.report) ------------------------------
    def log_after(self, after: int, limit: int) -> list[dict]:
        """Branch-log rows of every branch after ``after``, in cursor order."""
        return self._all("SELECT cursor, branch, origin, seq, event_id, type, payload, at "
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

    def receipt_entries(self, terminal_id: str, receipts: list[str]) -> dict[str, list[str]]:
        """Of ``receipts``, those the hub's ledger holds for ``terminal_id``: receipt number
        -> the entry ids under it."""
        out: dict[str, list[str]] = {}
        for i in range(0, len(receipts), 500):
            chunk = receipts[i:i + 500]
            for row in self._all(
                    "SELECT receipt_no, entry_id FROM hub_ledger WHERE terminal_id = ? AND "
                    f"receipt_no IN ({','.join('?' * len(chunk))})", [terminal_id, *chunk]):
                out.setdefault(row["receipt_no"], []).append(row["entry_id"])
        return out

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
            "resolved_by = excluded.resolved_by, note = coalesce(excluded.note, dues_flag.note)",
            [branch, member_no, month, entries, status, at, resolved_at, resolved_by, note])

    def put_payment_check(self, entry_id: str, reason: str, branch: str, member_no: str,
                          terminal_id: str, detail: str, at: str) -> None:
        """A payment entry's check, once (entries never change)."""
        self._run("INSERT OR IGNORE INTO payment_check(entry_id, reason, branch, member_no, "
                  "terminal_id, detail, status, flagged_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?)",
                  [entry_id, reason, branch, member_no, terminal_id, detail, at])

    def list_payment_checks(self, branch: str, status: str | None = None) -> list[dict]:
        where, params = ("AND status = ?", [status]) if status else ("", [])
        return self._all("SELECT entry_id, reason, branch, member_no, terminal_id, detail, "
                         "status, flagged_at, resolved_at, resolved_by, note FROM "
                         f"payment_check WHERE branch = ? {where} ORDER BY flagged_at, "
                         "entry_id, reason", [branch, *params])

    def resolve_payment_check(self, branch: str, entry_id: str, by: str, note: str,
                              at: str) -> int:
        return self._run("UPDATE payment_check SET status = 'resolved', resolved_at = ?, "
                         "resolved_by = ?, note = ? WHERE branch = ? AND entry_id = ? "
                         "AND status = 'open'", [at, by, note, branch, entry_id]).rowcount

    def list_flags(self, branch: str, status: str | None = None) -> list[dict]:
        where, params = ("AND status = ?", [status]) if status else ("", [])
        return self._all("SELECT branch, member_no, month, entries, status, flagged_at, "
                         "resolved_at, resolved_by, note FROM dues_flag WHERE branch = ? "
                         f"{where} ORDER BY month, member_no", [branch, *params])

    _PUT_STUDY = (
        "INSERT INTO hub_study(session_id, branch, member_no, lesson_id, started_at, "
        "seconds, completed, terminal_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(branch, started_at, session_id) DO UPDATE SET "
        "seconds = excluded.seconds, completed = max(hub_study.completed, excluded.completed)")

    def put_studies(self, rows: list[tuple]) -> None:
        """Study sessions, in order, in one statement: (session_id, branch, member_no,
        lesson_id, started_at, seconds, completed 0/1, terminal_id) each. Union of
        sessions; the newest event of a session wins, finished stays finished."""
        merged: dict[str, list] = {}  # one row per session (one upsert per key and statement)
        for row in rows:
            seen = merged.get(row[0])
            if seen is None:
                merged[row[0]] = list(row)
            else:
                seen[5], seen[6] = row[5], max(seen[6], row[6])
        if merged:
            with self._lock:
                self.conn.executemany(self._PUT_STUDY, [tuple(r) for r in merged.values()])

    def put_member(self, branch: str, member_no: str, name: str, dues_from: str,
                   state: str) -> None:
        """A member.added: a hub (or accepted) one makes the member accepted; a terminal's
        proposal does not demote an accepted member."""
        self._run(
            "INSERT INTO hub_member(branch, member_no, name, dues_from, state) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(branch, member_no) DO UPDATE SET "
            "name = excluded.name, dues_from = excluded.dues_from, state = CASE "
            "WHEN excluded.state = 'accepted' OR hub_member.state = 'rejected' "
            "THEN excluded.state ELSE hub_member.state END",
            [branch, member_no, name, dues_from, state])

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
                  f"ON CONFLICT(branch, member_no, year) {on_conflict}", [branch, member_no, year, monthly_fen])

    def put_proposal(self, branch: str, origin: str, event_id: str, type_: str,
                     member_no: str | None, payload: str, at: str) -> None:
        self._run("INSERT INTO proposal(event_id, branch, origin, type, member_no, payload, at, "
                  "status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT DO NOTHING",
                  [event_id, branch, origin, type_, member_no, payload, at])

    _PROPOSAL_COLS = ("event_id, branch, origin, type, member_no, payload, at, status, "
                      "decided_at, decided_by, note, accepted_event_id")

    def get_proposal(self, event_id: str) -> dict | None:
        return self._one(f"SELECT {self._PROPOSAL_COLS} FROM proposal WHERE event_id = ?",
                         [event_id])

    def list_proposals(self, branch: str, status: str | None = None) -> list[dict]:
        where, params = ("AND status = ?", [status]) if status else ("", [])
        return self._all(f"SELECT {self._PROPOSAL_COLS} FROM proposal WHERE branch = ? {where} "
                         "ORDER BY rowid",
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
        # A range on started_at (ISO text: its first 7 characters are its month): the
        # table's key (branch, started_at, session_id) finds the month's rows.
        return self._one("SELECT coalesce(sum(seconds), 0) AS seconds, count(*) AS sessions, "
                         "count(DISTINCT member_no) AS members, "
                         "count(DISTINCT CASE WHEN completed != 0 THEN member_no || '/' || lesson_id "
                         "END) AS completed FROM hub_study WHERE branch = ? "
                         "AND started_at >= ? AND started_at < ?",
                         [branch, month, add_months(month, 1)])

    def report_study_by_month(self, branch: str, first: str, last: str) -> dict[str, dict]:
        """Seconds, sittings and lessons finished (member and lesson, once each) of the
        sittings started in each month from ``first`` to ``last``."""
        rows = self._all("SELECT substr(started_at, 1, 7) AS month, sum(seconds) AS seconds, "
                         "count(*) AS sessions, count(DISTINCT CASE WHEN completed != 0 THEN "
                         "member_no || '/' || lesson_id END) AS completed FROM hub_study "
                         "WHERE branch = ? "
                         "AND started_at >= ? AND started_at < ? GROUP BY 1",
                         [branch, first, add_months(last, 1)])
        return {r["month"]: r for r in rows}

    def ledger_totals(self, branch: str) -> list[dict]:
        """Every payment the hub holds for ``branch``, all time, by terminal."""
        return self._all("SELECT terminal_id, count(*) AS entries, sum(amount_fen) AS fen "
                         "FROM hub_ledger WHERE branch = ? GROUP BY terminal_id "
                         "ORDER BY terminal_id", [branch])
