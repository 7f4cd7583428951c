"""A member asking for a staff member's help at the terminal (呼叫工作人员).

Logged as a journal event (so the hub sees how often help is needed, per terminal) and
listed for the staff. No SQL of its own beyond the journal: a request is just an event.
"""

from __future__ import annotations

import json


def request_help(store, *, where: str, member_no: str | None = None) -> str:
    """Log a call for help from screen ``where``; returns the event id."""
    with store.transaction():
        return store.record("help.requested", {"where": where, "member_no": member_no},
                            actor=f"member:{member_no}" if member_no else "kiosk",
                            subject=f"member:{member_no}" if member_no else "")


def requests_today(store) -> list[dict]:
    """Today's calls for help (CST), newest first, for the staff screen."""
    day = store.now().date().isoformat()
    rows = store.all("SELECT event_id, payload, at FROM journal WHERE type = 'help.requested' "
                     "AND substr(at, 1, 10) = ? ORDER BY seq DESC", [day])
    return [{"event_id": r["event_id"], "at": r["at"], **json.loads(r["payload"])} for r in rows]
