"""Hub SQL for staff and roster administration (``sync.hub.staff``, ``sync.hub.roster``).

A mixin of :class:`sync.hub.storage.HubStorage`: the same connection and lock, kept in its
own module so the storage layer stays one place for all hub SQL without one huge file.
The hub keeps no staff table: staff live in the branch log (``staff.added`` events, from the
hub or a terminal), which is the record terminals replay.
"""

from __future__ import annotations


class RosterQueries:
    """Read-only queries over the branch log for roster administration."""

    def staff_numbers(self, branch: str) -> set[str]:
        """Staff numbers some ``staff.added`` event of ``branch`` gave out (any origin)."""
        rows = self._all("SELECT DISTINCT json_extract(payload, '$.staff_no') AS staff_no "
                         "FROM branch_log WHERE branch = ? AND type = 'staff.added'", [branch])
        return {r["staff_no"] for r in rows if r["staff_no"]}

    def hub_staff(self, branch: str) -> dict[str, dict]:
        """The hub's own staff accounts of ``branch``: number -> name and role (the newest
        ``staff.added`` of the hub for each number)."""
        rows = self._all("SELECT json_extract(payload, '$.staff_no') AS staff_no, "
                         "json_extract(payload, '$.name') AS name, "
                         "json_extract(payload, '$.role') AS role FROM branch_log "
                         "WHERE branch = ? AND origin = 'hub' AND type = 'staff.added' "
                         "ORDER BY cursor", [branch])
        return {r["staff_no"]: {"name": r["name"], "role": r["role"]} for r in rows}

    def hub_staff_history(self, branch: str) -> list[dict]:
        """The hub's own staff events of ``branch`` in log order: accounts made
        (``staff.added``: number, name, role) and PINs set (``staff.pin_set``: number), each
        with its time. Never a PIN hash."""
        return self._all("SELECT type, at, json_extract(payload, '$.staff_no') AS staff_no, "
                         "json_extract(payload, '$.name') AS name, "
                         "json_extract(payload, '$.role') AS role FROM branch_log "
                         "WHERE branch = ? AND origin = 'hub' "
                         "AND type IN ('staff.added', 'staff.pin_set') ORDER BY cursor", [branch])

    def hub_roster_events(self, branch: str) -> list[dict]:
        """The hub's own roster events of ``branch`` (its record: imported, or accepted from
        a proposal), in log order."""
        return self._all("SELECT type, payload FROM branch_log WHERE branch = ? AND origin = 'hub' "
                         "AND type IN ('member.added', 'member.updated', 'member.rate_fixed') "
                         "ORDER BY cursor", [branch])
