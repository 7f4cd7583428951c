"""Hub SQL for the county overview (``sync.hub.overview``): what changes a branch's figures,
and what waits for an operator, for every branch at once.

A mixin of :class:`sync.hub.storage.HubStorage` (the same connection and lock). Reads only.
"""

from __future__ import annotations


class OverviewQueries:
    def branch_versions(self) -> dict[str, tuple]:
        """Per branch, what its dues and study figures follow: the head of its log (every
        derived table follows the log) and how many of its proposals are in each state (a
        rejected roster edit takes a member out without a log event). One index seek per
        branch for the head."""
        heads = self._all("SELECT b.code, (SELECT max(l.cursor) FROM branch_log l "
                          "WHERE l.branch = b.code) AS head FROM branch b")
        decided: dict[str, list] = {}
        for r in self._all("SELECT branch, status, count(*) AS n FROM proposal "
                           "GROUP BY branch, status ORDER BY branch, status"):
            decided.setdefault(r["branch"], []).append((r["status"], r["n"]))
        return {r["code"]: (r["head"], tuple(decided.get(r["code"], ()))) for r in heads}

    def waiting_counts(self) -> dict[str, dict[str, int]]:
        """Per branch, the open items an operator decides: pending roster proposals,
        member-months paid twice, payment checks, quarantined events."""
        out: dict[str, dict[str, int]] = {}
        for key, sql in (
                ("proposals", "SELECT branch, count(*) AS n FROM proposal "
                              "WHERE status = 'pending' GROUP BY branch"),
                ("double_payments", "SELECT branch, count(*) AS n FROM dues_flag "
                                    "WHERE status = 'open' GROUP BY branch"),
                ("payment_checks", "SELECT branch, count(*) AS n "
                                   "FROM payment_check WHERE status = 'open' GROUP BY branch"),
                ("quarantined", "SELECT branch, count(*) AS n FROM quarantine "
                                "WHERE released_at IS NULL GROUP BY branch")):
            for r in self._all(sql):
                out.setdefault(r["branch"], {})[key] = r["n"]
        return out
