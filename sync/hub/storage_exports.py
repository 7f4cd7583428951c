"""Hub SQL for exports, the yearly summary and the member page (``sync.hub.exports``,
``sync.hub.yearly``, ``sync.hub.member_record``).

A mixin of :class:`sync.hub.storage.HubStorage` (the same connection and lock). Read-only:
payments as the hub's ledger holds them with what the terminal said about each (method,
who confirmed), study sittings with their lesson titles, consents as the terminals
witnessed them. One query per table, never one per row.
"""

from __future__ import annotations


class ExportQueries:
    """Read-only queries behind the export tables and the member page."""

    def export_payments(self, branch: str, member_no: str | None = None) -> list[dict]:
        """Every payment held for ``branch`` (of one member), oldest first: the ledger row,
        the months it paid, and from the terminal's event the method, who paid for the
        member and who confirmed it."""
        where, params = ("AND l.member_no = ?", [member_no]) if member_no else ("", [])
        return self._all(
            "SELECT l.entry_id, l.member_no, l.kind, l.amount_fen, l.corrects, l.terminal_id, "
            "l.receipt_no, l.recorded_at, "
            "json_extract(b.payload, '$.method') AS method, "
            "json_extract(b.payload, '$.paid_by') AS paid_by, "
            "json_extract(b.payload, '$.collected_by') AS collected_by, "
            "json_extract(b.payload, '$.collector_name') AS collector_name, "
            "json_extract(b.payload, '$.note') AS note, "
            "(SELECT group_concat(month, ',') FROM (SELECT month FROM hub_ledger_month m "
            " WHERE m.entry_id = l.entry_id ORDER BY month) AS paid) AS months "
            "FROM hub_ledger l LEFT JOIN branch_log b ON b.event_id = l.event_id "
            f"WHERE l.branch = ? {where} ORDER BY l.recorded_at, l.entry_id",
            [branch, *params])

    def export_study(self, branch: str, member_no: str | None = None) -> list[dict]:
        """Study sittings of ``branch`` (of one member), oldest first."""
        where, params = ("AND member_no = ?", [member_no]) if member_no else ("", [])
        return self._all(
            "SELECT session_id, member_no, lesson_id, started_at, seconds, completed, "
            f"terminal_id FROM hub_study WHERE branch = ? {where} "
            "ORDER BY started_at, session_id", [branch, *params])

    def lesson_titles(self, branch: str) -> dict[str, str]:
        """Lesson id -> its title as last published to ``branch``."""
        rows = self._all("SELECT json_extract(payload, '$.lesson_id') AS lesson_id, "
                         "json_extract(payload, '$.title') AS title FROM branch_log "
                         "WHERE branch = ? AND type = 'lesson.published' ORDER BY cursor",
                         [branch])
        return {r["lesson_id"]: r["title"] for r in rows}

    def export_consents(self, branch: str, member_no: str | None = None) -> list[dict]:
        """Consents given or withdrawn at the branch's terminals (of one member), oldest
        first: scope, granted, method, witness, when, and at which terminal."""
        where, params = ("AND json_extract(payload, '$.member_no') = ?", [member_no]) \
            if member_no else ("", [])
        return self._all(
            "SELECT json_extract(payload, '$.member_no') AS member_no, "
            "json_extract(payload, '$.scope') AS scope, "
            "json_extract(payload, '$.granted') AS granted, "
            "json_extract(payload, '$.method') AS method, "
            "json_extract(payload, '$.witness') AS witness, "
            "json_extract(payload, '$.at') AS at, origin AS terminal_id FROM branch_log "
            "WHERE branch = ? AND type IN ('consent.granted', 'consent.withdrawn') "
            f"{where} ORDER BY json_extract(payload, '$.at'), cursor", [branch, *params])

    def member_paid(self, branch: str, member_no: str, upto: str) -> list[dict]:
        """Net amount paid per month by one member, months up to ``upto`` (as
        ``report_paid`` for the whole branch)."""
        return self._all("SELECT month, sum(amount_fen) AS fen FROM hub_ledger_month "
                         "WHERE branch = ? AND member_no = ? AND month <= ? GROUP BY month",
                         [branch, member_no, upto])

    def voluntary_fen(self, branch: str, first_day: str, after_last_day: str) -> int:
        """Voluntary dues recorded in ``[first_day, after_last_day)`` that no correction
        reverses."""
        row = self._one("SELECT coalesce(sum(amount_fen), 0) AS fen FROM hub_ledger l "
                        "WHERE branch = ? AND kind = 'voluntary' AND recorded_at >= ? "
                        "AND recorded_at < ? AND NOT EXISTS "
                        "(SELECT 1 FROM hub_ledger c WHERE c.corrects = l.entry_id)",
                        [branch, first_day, after_last_day])
        return row["fen"]
