"""Applying the branch log pulled from the hub to this terminal's store.

``sync.client.pull`` hands each page of the hub's branch log to :func:`apply_page`, which
hands each event to the apply function of the module that owns its tables (``HANDLERS``:
core.branch, pins, members, study, notices, dues, consent) — the same function that
module's own writes go through, so a row is written one way whether it was made here or
pulled — and moves the pull cursor, all in ONE transaction per page, with ONE audit entry
(``sync.applied``) naming the counts and the cursors. This module writes only its own
table, ``replica_event``.

What it never does:

* append journal events: a remote event written into this journal would be pushed back to
  the hub as this terminal's own;
* apply an event twice: ``replica_event`` keeps every event id it has seen;
* accept another branch's data: the hub filters by branch already, and a branch event
  naming another branch stops the sync with nothing of the page applied;
* crash on what it does not know: an unknown type or an unusable payload is kept
  (``skipped``, with its payload) and counted; an event that needs a member or lesson not
  here yet (a payment of a member whose addition the hub operator has not accepted yet)
  is kept ``waiting`` and applied once its member arrives.

Mutable rows (member, staff, branch policy, yearly amount) are the hub's (core.events):
they follow the hub's log order, each pulled event overwriting what the row held — a
terminal's ``at`` decides nothing (a fast clock once let a terminal's policy win for good).
A change made here (a PIN, a roster edit: a proposal at the hub) holds here until the hub's
next word on that record. Only the hub's events and the shared terminal facts are applied;
a terminal's event of another kind (an older hub passed some on) is kept ``skipped``.
Ledger rows are append-only and keep their entry id, receipt
number and terminal id. Study sessions are upserted by session id (union across
terminals; a finished sitting stays finished).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from . import audit, branch, consent, dues, events, members, notices, pins, study
from .clock import iso
from .errors import LianxinError


class ForeignBranch(LianxinError):
    """The hub sent another branch's data: refuse the page."""

    zh_default = "服务中心发来了别的支部的数据，已拒收，请联系服务中心。"


def media_dir(store) -> Path:
    """Lesson audio, content-addressed: ``<database>.media/<sha256>``."""
    return Path(str(store.path) + ".media")


def media_path(store, sha256: str) -> Path:
    return media_dir(store) / sha256


def missing_media(store) -> list[str]:
    """Audio of lessons held here whose file is not (yet, or no longer) in the media folder."""
    shas = [r["audio_sha256"] for r in store.all(
        "SELECT DISTINCT audio_sha256 FROM lesson WHERE audio_sha256 IS NOT NULL "
        "ORDER BY audio_sha256")]
    return [s for s in shas if len(s) == 64 and not media_path(store, s).is_file()]


# -- dispatch: each event type to the one apply function of the module owning its tables
# (the same function that module's own writes go through) -------------------------------

HANDLERS = {
    "branch.created": branch.apply_branch, "branch.policy_set": branch.apply_branch,
    "staff.added": branch.apply_staff_added,
    "staff.pin_set": pins.apply_pin_set, "member.pin_set": pins.apply_pin_set,
    "member.added": members.apply_added, "member.updated": members.apply_updated,
    "member.rate_fixed": members.apply_rate_fixed,
    "lesson.published": study.apply_lesson, "notice.posted": notices.apply_posted,
    "dues.dues": dues.apply_entry, "dues.voluntary": dues.apply_entry,
    "dues.correction": dues.apply_entry,
    "study.session": study.apply_session,
    "consent.granted": consent.apply_answer, "consent.withdrawn": consent.apply_answer,
}
_BRANCH_TYPES = ("branch.created", "branch.policy_set")


# -- applying ------------------------------------------------------------------------------

def _apply_one(store, ev: dict, ctx: dict) -> tuple[str, str | None]:
    """(state, reason) for one event, its writes made inside a savepoint."""
    handler = HANDLERS.get(ev["type"])
    if handler is None:
        return "skipped", f"unknown event type {ev['type']!r}"
    if ev["origin"] != "hub" and ev["type"] not in events.SHARED_TYPES:
        # A hub before core.events passed these on; a terminal proposes, the hub decides.
        return "skipped", f"not a terminal's to share: {ev['type']} from {ev['origin']}"
    try:
        payload = json.loads(ev["payload"])
        if not isinstance(payload, dict):
            raise events.Unusable("payload is not a JSON object")
        if ev["type"] in _BRANCH_TYPES and payload.get("code") != ctx["branch"]:
            raise ForeignBranch(f"the hub sent an event of branch {payload.get('code')!r}; "
                                f"this terminal holds {ctx['branch']!r}")
        with store.transaction():  # nested: a savepoint, undone alone if the event fails
            handler(store, payload, ev["at"])
        if ev["type"] == "lesson.published" and payload.get("audio_sha256"):
            ctx["media"].add(payload["audio_sha256"])
    except events.NotHereYet as e:
        return "waiting", str(e)
    except events.Unusable as e:
        return "skipped", str(e)
    except (KeyError, TypeError, ValueError, OverflowError, LianxinError) as e:
        if isinstance(e, ForeignBranch):
            raise
        return "skipped", f"unusable payload: {type(e).__name__}: {e}"
    except Exception as e:  # noqa: BLE001 — a constraint the payload breaks (sqlite error)
        if type(e).__name__ not in ("IntegrityError", "OperationalError"):
            raise
        return "skipped", f"refused by the store: {e}"
    return "applied", None


_RECORD = ("INSERT INTO replica_event(event_id, cursor, origin, type, payload, at, state, "
           "reason, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO UPDATE "
           "SET state = excluded.state, reason = excluded.reason, payload = excluded.payload")


def _record_row(ev: dict, state: str, reason: str | None, now: str) -> list:
    keep = None if state == "applied" else ev["payload"]
    return [ev["event_id"], ev["cursor"], ev["origin"], ev["type"], keep, ev["at"], state,
            reason, now]


def _record(store, ev: dict, state: str, reason: str | None, now: str) -> None:
    store.db.execute(_RECORD, _record_row(ev, state, reason, now))


def _retry_waiting(store, ctx: dict, counts: Counter, now: str) -> None:
    """Events kept waiting for a member or lesson, retried in cursor order until a round
    applies nothing more."""
    while True:
        waiting = store.all("SELECT event_id, cursor, origin, type, payload, at "
                            "FROM replica_event WHERE state = 'waiting' ORDER BY cursor")
        progress = False
        for ev in waiting:
            state, reason = _apply_one(store, ev, ctx)
            if state != "waiting":
                _record(store, ev, state, reason, now)
                counts[state] += 1
                progress = True
        if not progress:
            return


def _seen(store, event_ids: list[str]) -> set[str]:
    """Which of ``event_ids`` this store has: pulled before, or its own (journal). Asked
    500 at a time: two lookups an event were a third of a page's statements."""
    seen: set[str] = set()
    for i in range(0, len(event_ids), 500):
        chunk = event_ids[i:i + 500]
        marks = ",".join("?" * len(chunk))
        for table in ("replica_event", "journal"):
            seen.update(r["event_id"] for r in store.all(
                f"SELECT event_id FROM {table} WHERE event_id IN ({marks})", chunk))
    return seen


def apply_page(store, events: list[dict], *, branch: str, cursor_from: int,
               cursor_to: int) -> dict:
    """Apply one pull page and move the pull cursor to ``cursor_to``, in one transaction.

    ``branch`` is the branch this terminal is enrolled in. Returns the page's counts
    (applied — including earlier waiting events this page let through —, skipped,
    duplicates, by type, skipped reasons), ``waiting``: how many events wait in all after
    this page, and the audio the page's lessons need."""
    held = store.meta("branch_code")
    if held and held != branch:
        raise ForeignBranch(f"this terminal holds branch {held!r} but is enrolled for "
                            f"{branch!r}")
    ctx = {"branch": branch, "media": set()}
    counts: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    now = iso(store.now())
    with store.transaction():
        seen = _seen(store, [ev["event_id"] for ev in events])
        records: list[list] = []
        for ev in events:
            by_type[ev["type"]] += 1
            if ev["event_id"] in seen:
                counts["duplicates"] += 1
                continue
            seen.add(ev["event_id"])
            state, reason = _apply_one(store, ev, ctx)
            records.append(_record_row(ev, state, reason, now))
            counts[state] += 1
            if state == "skipped":
                reasons[reason.split(":")[0]] += 1
        # Nothing the handlers do reads replica_event: the page's rows go in one call,
        # before the waiting ones are retried (which reads them).
        store.db.conn.executemany(_RECORD, records)
        if counts["applied"]:
            _retry_waiting(store, ctx, counts, now)
        waiting = store.one("SELECT count(*) AS n FROM replica_event "
                            "WHERE state = 'waiting'")["n"]
        store.set_meta("sync.pull_cursor", str(cursor_to))
        store.set_meta("sync.pull_seen", str(cursor_to))
        if events:
            audit.append(store, actor="sync", action="sync.applied", subject=f"branch:{branch}",
                         detail={"applied": counts["applied"], "skipped": counts["skipped"],
                                 "waiting": waiting,
                                 "duplicates": counts["duplicates"],
                                 "first_cursor": events[0]["cursor"],
                                 "last_cursor": events[-1]["cursor"],
                                 "cursor_from": cursor_from, "cursor_to": cursor_to})
    return {"applied": counts["applied"], "skipped": counts["skipped"],
            "waiting": waiting, "duplicates": counts["duplicates"],
            "by_type": dict(by_type), "skipped_reasons": dict(reasons),
            "media": sorted(ctx["media"])}


def pending(store) -> dict:
    """What is kept and not applied: waiting (by reason) and skipped (by type)."""
    rows = store.all("SELECT state, type, count(*) AS n FROM replica_event "
                     "WHERE state != 'applied' GROUP BY state, type ORDER BY state, type")
    out: dict[str, dict[str, int]] = {"waiting": {}, "skipped": {}}
    for r in rows:
        out[r["state"]][r["type"]] = r["n"]
    return out


def skipped_since(store, cursor: int, limit: int) -> list[dict]:
    """Pulled events kept ``skipped`` after hub cursor ``cursor``, oldest first, with their
    reasons: sync reports them to the hub's operator."""
    return store.all("SELECT event_id, cursor, reason FROM replica_event "
                     "WHERE state = 'skipped' AND cursor > ? ORDER BY cursor LIMIT ?",
                     [cursor, limit])
