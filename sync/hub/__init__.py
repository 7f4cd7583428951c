"""The hub: one service for many branches (storage, the HTTP app, administration).

    storage.py          every SQL statement (SQLite now; another database can slot in here),
                        one class assembled from mixins, one module per part:
    storage_schema.py     the tables (migrations) and pragmas
    storage_terminals.py  branches, enrollment codes, terminals, the replay window
    storage_log.py        pushes appended, the branch log paged for pulls, media
    audit_segments.py     each terminal's audit chain, a packed segment per push
    storage_reconcile.py  derived tables (conflicts) and report queries
    storage_roster.py     roster and staff queries
    storage_operators.py  operator accounts and their action trail
    storage_voice.py      voice messages, their audio and the operators' marks
    service.py          what each endpoint does, without HTTP
    app.py              the FastAPI app: thin handlers over service
    admin.py            operator functions behind ``lianxin hub …``
    roster.py, staff.py, content.py
                        roster import, staff accounts, lessons: checked by core's own rules
                        on a scratch terminal store, then written as branch-log events
    conflicts.py        double payments flagged, terminal roster edits as proposals
    report.py           the monthly branch report
    operators.py        console operators: roles, passwords, lockout, scope, action trail
    voice.py            voice messages: the terminals' audio upload, heard / followed up,
                        retention
    server.py           uvicorn runner (``python -m sync.hub.server``)
"""

from __future__ import annotations

from .storage import HubStorage

__all__ = ["HubStorage", "open_hub"]


def open_hub(path, *, files=None) -> HubStorage:
    """Open (or create) a hub database (a file, or a PostgreSQL URL: ``files`` then says
    where its files go) and give it its hub id on first use."""
    from .admin import ensure_hub_id

    storage = HubStorage.open(path, files=files)
    try:
        ensure_hub_id(storage)
    except BaseException:
        storage.close()
        raise
    return storage
