"""Hub SQL for branches, enrollment codes, terminals and the replay window.

A mixin of :class:`sync.hub.storage.HubStorage` (the same connection and lock): what
enrollment (``sync.hub.admin``) and request authentication (``sync.hub.service``) read and
write about who may talk to the hub. Kept in its own module so the storage layer stays one
place for all hub SQL without one huge file.
"""

from __future__ import annotations

NONCE_SWEEP_MS = 60_000   # how often a hub process forgets nonces older than the window


class TerminalQueries:
    """Branches, enrollment codes, terminals and used nonces."""

    nonces_forgotten_ms = 0   # the window's start at this process's latest sweep

    # -- branches ----------------------------------------------------------------------
    def insert_branch(self, *, code: str, name: str, township: str, back_pay_limit: int,
                      pay_ahead_limit: int, at: str) -> bool:
        """Add a branch; False if the code is taken."""
        cur = self._run(
            "INSERT INTO branch(code, name, township, back_pay_limit, pay_ahead_limit, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(code) DO NOTHING",
            [code, name, township, back_pay_limit, pay_ahead_limit, at, at])
        return cur.rowcount == 1

    def get_branch(self, code: str) -> dict | None:
        return self._one("SELECT code, name, township, back_pay_limit, pay_ahead_limit, "
                         "created_at, updated_at FROM branch WHERE code = ?", [code])

    def branch_names(self) -> list[dict]:
        """Code, name and township of every branch: what scope checks read (cheap, unlike
        :meth:`list_branches`, which counts each branch's events)."""
        return self._all("SELECT code, name, township FROM branch ORDER BY code")

    def list_branches(self) -> list[dict]:
        return self._all(
            "SELECT b.code, b.name, b.township, b.back_pay_limit, b.pay_ahead_limit, "
            "b.created_at, "
            "(SELECT count(*) FROM terminal t WHERE t.branch = b.code "
            " AND t.revoked_at IS NULL) AS terminals, "
            "(SELECT count(*) FROM branch_log l WHERE l.branch = b.code) AS events "
            "FROM branch b ORDER BY b.code")

    def update_policy(self, code: str, back_pay_limit: int, pay_ahead_limit: int,
                      at: str) -> bool:
        cur = self._run("UPDATE branch SET back_pay_limit = ?, pay_ahead_limit = ?, "
                        "updated_at = ? WHERE code = ?",
                        [back_pay_limit, pay_ahead_limit, at, code])
        return cur.rowcount == 1

    # -- enrollment codes --------------------------------------------------------------
    def insert_code(self, code_hash: str, branch: str, created_at: str, expires_ms: int) -> None:
        self._run("INSERT INTO enroll_code(code_hash, branch, created_at, expires_ms) "
                  "VALUES (?, ?, ?, ?)", [code_hash, branch, created_at, expires_ms])

    def get_code(self, code_hash: str) -> dict | None:
        return self._one("SELECT code_hash, branch, created_at, expires_ms, used_at, used_by "
                         "FROM enroll_code WHERE code_hash = ?", [code_hash])

    def use_code(self, code_hash: str, terminal_id: str, at: str) -> bool:
        cur = self._run("UPDATE enroll_code SET used_at = ?, used_by = ? "
                        "WHERE code_hash = ? AND used_at IS NULL", [at, terminal_id, code_hash])
        return cur.rowcount == 1

    # -- terminals ---------------------------------------------------------------------
    _TERMINAL_COLS = ("terminal_id, branch, public_key, label, enrolled_at, last_seen, "
                      "revoked_at, stored_seq, audit_seq, audit_hash, head_seq, "
                      "clock_offset_ms, last_refusal, last_refusal_at, enrolled_seq, "
                      "future_events, future_latest_at, future_seen_at, software")

    def insert_terminal(self, *, terminal_id: str, branch: str, public_key: str, label: str,
                        at: str, enrolled_seq: int = 0) -> None:
        self._run("INSERT INTO terminal(terminal_id, branch, public_key, label, enrolled_at, "
                  "enrolled_seq) VALUES (?, ?, ?, ?, ?, ?)",
                  [terminal_id, branch, public_key, label, at, enrolled_seq])

    def get_terminal(self, terminal_id: str) -> dict | None:
        return self._one(f"SELECT {self._TERMINAL_COLS} FROM terminal WHERE terminal_id = ?",
                         [terminal_id])

    def list_terminals(self, branch: str | None = None) -> list[dict]:
        where, params = ("WHERE branch = ?", [branch]) if branch else ("", [])
        return self._all(f"SELECT {self._TERMINAL_COLS} FROM terminal {where} "
                         "ORDER BY branch, enrolled_at, terminal_id", params)

    def revoke_terminal(self, terminal_id: str, at: str) -> bool:
        cur = self._run("UPDATE terminal SET revoked_at = coalesce(revoked_at, ?) "
                        "WHERE terminal_id = ?", [at, terminal_id])
        return cur.rowcount == 1

    def touch_terminal(self, terminal_id: str, at: str, clock_offset_ms: int | None,
                       software: str | None = None) -> None:
        self._run("UPDATE terminal SET last_seen = ?, "
                  "clock_offset_ms = coalesce(?, clock_offset_ms), "
                  "software = coalesce(?, software) WHERE terminal_id = ?",
                  [at, clock_offset_ms, software, terminal_id])

    def note_future_events(self, terminal_id: str, count: int, latest_at: str, at: str) -> None:
        """``count`` more events dated ahead of the hub's clock, the latest at ``latest_at``
        (kept as the terminal wrote it; compared by the caller, which parsed it)."""
        self._run("UPDATE terminal SET future_events = future_events + ?, "
                  "future_latest_at = ?, future_seen_at = ? WHERE terminal_id = ?",
                  [count, latest_at, at, terminal_id])

    def clear_future_events(self, terminal_id: str) -> None:
        """A push of new events none of which is from the future: the clock was fixed."""
        self._run("UPDATE terminal SET future_events = 0 WHERE terminal_id = ? "
                  "AND future_events > 0", [terminal_id])

    def note_refusal(self, terminal_id: str, code: str, at: str) -> None:
        self._run("UPDATE terminal SET last_refusal = ?, last_refusal_at = ? "
                  "WHERE terminal_id = ?", [code, at, terminal_id])

    # -- replay window -----------------------------------------------------------------
    def use_nonce(self, terminal_id: str, nonce: str, time_ms: int, forget_before_ms: int) -> bool:
        """Record a nonce; False if it was already used. Forgets nonces older than the window
        (a request that old is refused for its time, so its nonce need not be kept), at most
        once a minute per process: a sweep at every request was a statement of every push."""
        if forget_before_ms >= self.nonces_forgotten_ms + NONCE_SWEEP_MS:
            self._run("DELETE FROM nonce WHERE time_ms < ?", [forget_before_ms])
            self.nonces_forgotten_ms = forget_before_ms
        cur = self._run("INSERT INTO nonce(terminal_id, nonce, time_ms) VALUES (?, ?, ?) "
                        "ON CONFLICT DO NOTHING", [terminal_id, nonce, time_ms])
        return cur.rowcount == 1
