"""Hub SQL for operator accounts and the operators' action trail.

A mixin of :class:`sync.hub.storage.HubStorage` (the same connection and lock). The rules
(roles, passwords, lockout, scope) are :mod:`sync.hub.operators`; here only rows. The trail
is append-only (triggers) and each row's hash covers its fields (the operator and the
source address as one) and the row before it, as a terminal's audit chain does
(:func:`core.audit.entry_hash`), so an edited or removed row is found by
:meth:`OperatorQueries.verify_actions`.
"""

from __future__ import annotations

from core.audit import GENESIS, entry_hash

_OPERATOR_COLS = ("username, name, role, township, branch, failed, locked_until, created_at, "
                  "password_set_at, disabled_at")


class OperatorQueries:
    """Operator accounts and their action trail."""

    # -- accounts ----------------------------------------------------------------------
    def insert_operator(self, *, username: str, name: str, role: str, township: str | None,
                        branch: str | None, pw_hash: str, at: str) -> bool:
        """Add an account; False if the username is taken."""
        cur = self._run(
            "INSERT INTO operator(username, name, role, township, branch, pw_hash, created_at, "
            "password_set_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(username) DO NOTHING",
            [username, name, role, township, branch, pw_hash, at, at])
        return cur.rowcount == 1

    def get_operator(self, username: str) -> dict | None:
        """The account without its password hash."""
        return self._one(f"SELECT {_OPERATOR_COLS} FROM operator WHERE username = ?",
                         [username])

    def operator_pw_hash(self, username: str) -> str | None:
        row = self._one("SELECT pw_hash FROM operator WHERE username = ?", [username])
        return row["pw_hash"] if row else None

    def list_operators(self) -> list[dict]:
        return self._all(f"SELECT {_OPERATOR_COLS} FROM operator ORDER BY role, username")

    def set_operator_password(self, username: str, pw_hash: str, at: str) -> bool:
        cur = self._run("UPDATE operator SET pw_hash = ?, password_set_at = ?, failed = 0, "
                        "locked_until = NULL WHERE username = ?", [pw_hash, at, username])
        return cur.rowcount == 1

    def disable_operator(self, username: str, at: str) -> bool:
        """False if there is no such account or it is disabled already."""
        cur = self._run("UPDATE operator SET disabled_at = ? WHERE username = ? "
                        "AND disabled_at IS NULL", [at, username])
        return cur.rowcount == 1

    def note_login_failure(self, username: str, locked_until: str | None) -> int:
        """Count a wrong password (and lock the account until ``locked_until`` when given);
        the count so far."""
        self._run("UPDATE operator SET failed = failed + 1, "
                  "locked_until = coalesce(?, locked_until) WHERE username = ?",
                  [locked_until, username])
        row = self._one("SELECT failed FROM operator WHERE username = ?", [username])
        return row["failed"] if row else 0

    def clear_login_failures(self, username: str) -> None:
        self._run("UPDATE operator SET failed = 0, locked_until = NULL WHERE username = ?",
                  [username])

    # -- browser sessions --------------------------------------------------------------
    def insert_session(self, *, token_sha256: str, username: str, csrf: str, source: str,
                       now_ms: int) -> None:
        self._run("INSERT INTO operator_session(token_sha256, username, csrf, source, "
                  "created_ms, seen_ms) VALUES (?, ?, ?, ?, ?, ?)",
                  [token_sha256, username, csrf, source, now_ms, now_ms])

    def get_session(self, token_sha256: str) -> dict | None:
        return self._one("SELECT token_sha256, username, csrf, source, created_ms, seen_ms, "
                         "ended_ms FROM operator_session WHERE token_sha256 = ?",
                         [token_sha256])

    def touch_session(self, token_sha256: str, now_ms: int) -> None:
        self._run("UPDATE operator_session SET seen_ms = ? WHERE token_sha256 = ?",
                  [now_ms, token_sha256])

    def end_session(self, token_sha256: str, now_ms: int) -> None:
        self._run("UPDATE operator_session SET ended_ms = ? WHERE token_sha256 = ? "
                  "AND ended_ms IS NULL", [now_ms, token_sha256])

    def end_sessions_of(self, username: str, now_ms: int) -> None:
        """Sign an operator out everywhere (disabled, new password)."""
        self._run("UPDATE operator_session SET ended_ms = ? WHERE username = ? "
                  "AND ended_ms IS NULL", [now_ms, username])

    def forget_sessions(self, before_ms: int) -> None:
        """Sessions that ended or went idle before ``before_ms`` are dropped."""
        self._run("DELETE FROM operator_session WHERE coalesce(ended_ms, seen_ms) < ?",
                  [before_ms])

    # -- the action trail --------------------------------------------------------------
    def append_action(self, *, at: str, operator: str, source: str, action: str,
                      subject: str, detail: str) -> int:
        """One row of the trail, chained to the one before; its seq."""
        with self.transaction():
            last = self._one("SELECT seq, hash FROM operator_action ORDER BY seq DESC LIMIT 1")
            seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
            h = entry_hash(prev, seq, at, f"{operator}@{source}", action, subject, detail)
            self._run("INSERT INTO operator_action(seq, at, operator, source, action, subject, "
                      "detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      [seq, at, operator, source, action, subject, detail, prev, h])
        return seq

    def list_actions(self, *, limit: int = 100, operator: str | None = None) -> list[dict]:
        """The newest rows first."""
        where, params = ("WHERE operator = ?", [operator]) if operator else ("", [])
        return self._all("SELECT seq, at, operator, source, action, subject, detail "
                         f"FROM operator_action {where} ORDER BY seq DESC LIMIT ?",
                         [*params, limit])

    def verify_actions(self) -> int | None:
        """The seq of the first row whose chain is broken (edited, removed, reordered),
        or None when the whole trail holds."""
        prev, expected = GENESIS, 1
        for r in self._all("SELECT seq, at, operator, source, action, subject, detail, "
                           "prev_hash, hash FROM operator_action ORDER BY seq"):
            who = f"{r['operator']}@{r['source']}"
            if (r["seq"] != expected or r["prev_hash"] != prev
                    or entry_hash(prev, r["seq"], r["at"], who, r["action"], r["subject"],
                                  r["detail"]) != r["hash"]):
                return r["seq"]
            prev, expected = r["hash"], expected + 1
        return None
