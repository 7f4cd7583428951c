"""Applying the branch log pulled from the hub to this terminal's store.

``sync.client.pull`` hands each page of the hub's branch log to :func:`apply_page`, which
turns the events into rows — the branch and its policy, staff (with their argon2 PIN
hashes, so a PIN set on one terminal works on the others), the roster and its yearly
amounts, lessons with their quiz, notices, the other terminals' payments and study
sessions, consent — and moves the pull cursor, all in ONE transaction per page, with ONE
audit entry (``sync.applied``) naming the counts and the cursors.

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

from . import audit, consent, events, members
from .clock import iso
from .errors import LianxinError


class ForeignBranch(LianxinError):
    """The hub sent another branch's data: refuse the page."""

    zh_default = "服务中心发来了别的支部的数据，已拒收，请联系服务中心。"


class _Wait(Exception):
    """The event needs a row this terminal does not hold yet."""


class _Skip(Exception):
    """The event cannot be used here (unknown type, unusable payload)."""


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


# -- helpers ---------------------------------------------------------------------------

def _need_member(store, member_no) -> None:
    if not isinstance(member_no, str) or not member_no:
        raise _Skip("no member number")
    if not store.one("SELECT 1 FROM member WHERE member_no = ?", [member_no]):
        raise _Wait(f"member {member_no} not here yet")


def _phones_allowed(store, member_no: str) -> bool:
    """A member who withdrew phone recognition keeps no phone number here."""
    return not consent.withdrawn(store, member_no, "phone_recognition")


def _set_phones(store, member_no: str, phones) -> None:
    store.db.execute("DELETE FROM member_phone WHERE member_no = ?", [member_no])
    if not _phones_allowed(store, member_no):
        return
    for p in phones or []:
        store.db.execute("INSERT OR IGNORE INTO member_phone(phone, member_no) VALUES (?, ?)",
                         [members.normalize_phone(p), member_no])


def _rename(store, member_no: str, name: str, *, new: bool) -> str:
    inits = members.initials_of(name)
    # The same index as members.add/update write (one definition of name lookup).
    members.index_name(store, member_no, name, inits, new=new)
    return inits[0]


# -- handlers: each applies one event or raises _Wait / _Skip ----------------------------

def _branch(store, p: dict, at: str, ctx: dict) -> None:
    code = p["code"]
    if code != ctx["branch"]:
        raise ForeignBranch(f"the hub sent an event of branch {code!r}; this terminal holds "
                            f"{ctx['branch']!r}")
    row = store.one("SELECT updated_at FROM branch WHERE code = ?", [code])
    limits = [int(p.get("back_pay_limit", 6)), int(p.get("pay_ahead_limit", 6))]
    if row is None:
        store.db.execute(
            "INSERT INTO branch(code, name, township, back_pay_limit, pay_ahead_limit, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [code, p.get("name") or code, p.get("township") or "", *limits, at])
        store.set_meta("branch_code", code)
    else:
        if "name" in p:
            store.db.execute("UPDATE branch SET name = ?, township = ? WHERE code = ?",
                             [p["name"], p.get("township") or "", code])
        store.db.execute("UPDATE branch SET back_pay_limit = ?, pay_ahead_limit = ?, "
                         "updated_at = ? WHERE code = ?", [*limits, at, code])


def _staff_added(store, p: dict, at: str, ctx: dict) -> None:
    row = store.one("SELECT updated_at FROM staff WHERE staff_no = ?", [p["staff_no"]])
    if row is None:
        store.db.execute(
            "INSERT INTO staff(staff_no, name, role, pin_hash, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [p["staff_no"], p["name"], p["role"], p["pin_hash"], at, at])
    else:
        store.db.execute("UPDATE staff SET name = ?, role = ?, pin_hash = ?, updated_at = ? "
                         "WHERE staff_no = ?",
                         [p["name"], p["role"], p["pin_hash"], at, p["staff_no"]])


def _pin_set(store, p: dict, at: str, ctx: dict) -> None:
    table, key = ("member", "member_no") if "member_no" in p else ("staff", "staff_no")
    row = store.one(f"SELECT updated_at FROM {table} WHERE {key} = ?", [p[key]])
    if row is None:
        if table == "member":
            raise _Wait(f"member {p[key]} not here yet")
        raise _Skip(f"no staff {p[key]}")
    if p.get("pin_hash"):
        store.db.execute(f"UPDATE {table} SET pin_hash = ?, updated_at = ? WHERE {key} = ?",
                         [p["pin_hash"], at, p[key]])


def _member_added(store, p: dict, at: str, ctx: dict) -> None:
    no, name = p["member_no"], p["name"]
    row = store.one("SELECT updated_at FROM member WHERE member_no = ?", [no])
    if row is None:
        store.db.execute(
            "INSERT INTO member(member_no, name, initials, category, joined, probation, "
            "dues_from, pin_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [no, name, members.initials_of(name)[0], p["category"], p.get("joined"),
             int(bool(p.get("probation"))), p["dues_from"], p.get("pin_hash"), at, at])
        _rename(store, no, name, new=True)
        _set_phones(store, no, p.get("phones"))
    else:
        initials = _rename(store, no, name, new=False)
        store.db.execute(
            "UPDATE member SET name = ?, initials = ?, category = ?, joined = ?, probation = ?, "
            "dues_from = ?, pin_hash = coalesce(?, pin_hash), updated_at = ? WHERE member_no = ?",
            [name, initials, p["category"], p.get("joined"), int(bool(p.get("probation"))),
             p["dues_from"], p.get("pin_hash"), at, no])
        if "phones" in p:
            _set_phones(store, no, p["phones"])
    rate = p.get("rate")
    if isinstance(rate, dict):
        store.db.execute(
            "INSERT INTO dues_rate(member_no, year, monthly_fen, rule, base_fen, set_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(member_no, year) DO NOTHING",
            [no, int(rate["year"]), int(rate["monthly_fen"]), rate["rule"],
             rate.get("base_fen"), at])


def _member_updated(store, p: dict, at: str, ctx: dict) -> None:
    no = p["member_no"]
    _need_member(store, no)
    if "name" in p:
        initials = _rename(store, no, p["name"], new=False)
        store.db.execute("UPDATE member SET name = ?, initials = ? WHERE member_no = ?",
                         [p["name"], initials, no])
    if "status" in p:
        if p["status"] not in members.STATUSES:
            raise _Skip(f"unknown member status {p['status']!r}")
        store.db.execute("UPDATE member SET status = ? WHERE member_no = ?", [p["status"], no])
    if "phones" in p:
        _set_phones(store, no, p["phones"])
    store.db.execute("UPDATE member SET updated_at = ? WHERE member_no = ?", [at, no])


def _rate_fixed(store, p: dict, at: str, ctx: dict) -> None:
    no, year = p["member_no"], int(p["year"])
    _need_member(store, no)
    store.db.execute(
        "INSERT INTO dues_rate(member_no, year, monthly_fen, rule, base_fen, hardship_ref, "
        "hardship_reason, set_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(member_no, year) DO UPDATE SET monthly_fen = excluded.monthly_fen, "
        "rule = excluded.rule, base_fen = excluded.base_fen, "
        "hardship_ref = excluded.hardship_ref, hardship_reason = excluded.hardship_reason, "
        "set_at = excluded.set_at",
        [no, year, int(p["monthly_fen"]), p["rule"], p.get("base_fen"), p.get("hardship_ref"),
         p.get("hardship_reason"), at])
    if p.get("category"):
        store.db.execute("UPDATE member SET category = ? WHERE member_no = ?",
                         [p["category"], no])


def _lesson(store, p: dict, at: str, ctx: dict) -> None:
    if not isinstance(p.get("body"), str) or not p["body"].strip():
        # A terminal's own lesson.published carries no body (core.study): nothing to show.
        raise _Skip("lesson without a body")
    lid = p["lesson_id"]
    audio = p.get("audio_sha256")
    store.db.execute(
        "INSERT INTO lesson(lesson_id, title, category, minutes, body, assigned, audio_sha256, "
        "published) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(lesson_id) DO UPDATE SET "
        "title = excluded.title, category = excluded.category, minutes = excluded.minutes, "
        "body = excluded.body, assigned = excluded.assigned, "
        "audio_sha256 = excluded.audio_sha256, published = excluded.published",
        [lid, p["title"], p["category"], int(p["minutes"]), p["body"],
         int(bool(p.get("assigned"))), audio, at])
    store.db.execute("DELETE FROM quiz_question WHERE lesson_id = ?", [lid])
    for i, q in enumerate(p.get("quiz") or []):
        store.db.execute(
            "INSERT INTO quiz_question(lesson_id, idx, question, choices, answer, explain) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [lid, i, q["question"], json.dumps(q["choices"], ensure_ascii=False),
             int(q["answer"]), str(q.get("explain") or "")])
    if audio:
        ctx["media"].add(audio)


def _notice(store, p: dict, at: str, ctx: dict) -> None:
    store.db.execute("INSERT INTO notice(notice_id, title, body, posted) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT(notice_id) DO UPDATE SET title = excluded.title, "
                     "body = excluded.body, posted = excluded.posted",
                     [p["notice_id"], p["title"], p["body"], p["posted"]])


def _dues(store, p: dict, at: str, ctx: dict) -> None:
    entry_id = p["entry_id"]
    if store.one("SELECT 1 FROM ledger WHERE entry_id = ?", [entry_id]):
        return  # already here (the ledger is append-only; an entry id names one payment)
    _need_member(store, p["member_no"])
    if p.get("corrects") and not store.one("SELECT 1 FROM ledger WHERE entry_id = ?",
                                           [p["corrects"]]):
        raise _Wait(f"corrected entry {p['corrects']} not here yet")
    store.db.execute(
        "INSERT INTO ledger(entry_id, member_no, kind, amount_fen, method, paid_by, "
        "collected_by, receipt_no, recorded_at, terminal_id, override_reason, large, corrects, "
        "note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [entry_id, p["member_no"], p["kind"], int(p["amount_fen"]), p["method"],
         p.get("paid_by"), p["collected_by"], p["receipt_no"], p["recorded_at"],
         p["terminal_id"], p.get("override_reason"), int(bool(p.get("large"))),
         p.get("corrects"), p.get("note")])
    for month, amount in p.get("month_amounts") or []:
        store.db.execute("INSERT INTO ledger_month(entry_id, member_no, month, amount_fen) "
                         "VALUES (?, ?, ?, ?)", [entry_id, p["member_no"], month, int(amount)])


def _study(store, p: dict, at: str, ctx: dict) -> None:
    _need_member(store, p["member_no"])
    if not store.one("SELECT 1 FROM lesson WHERE lesson_id = ?", [p["lesson_id"]]):
        raise _Wait(f"lesson {p['lesson_id']} not here yet")
    store.db.execute(
        "INSERT INTO study_session(session_id, member_no, lesson_id, started_at, seconds, "
        "completed, answers, correct, questions, channel, terminal_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET "
        "seconds = excluded.seconds, completed = max(completed, excluded.completed), "
        "answers = excluded.answers, correct = excluded.correct, "
        "questions = excluded.questions, channel = excluded.channel",
        [p["session_id"], p["member_no"], p["lesson_id"], p["started_at"], int(p["seconds"]),
         int(bool(p["completed"])), json.dumps(p.get("answers") or []), int(p.get("correct", 0)),
         int(p.get("questions", 0)), p["channel"], p["terminal_id"]])


def _consent(store, p: dict, at: str, ctx: dict) -> None:
    no = p["member_no"]
    _need_member(store, no)
    store.db.execute(
        "INSERT INTO consent(consent_id, member_no, scope, granted, method, witness, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(consent_id) DO NOTHING",
        [p["consent_id"], no, p["scope"], int(bool(p["granted"])), p["method"],
         p.get("witness"), p["at"]])
    if p["scope"] == "phone_recognition" and not _phones_allowed(store, no):
        store.db.execute("DELETE FROM member_phone WHERE member_no = ?", [no])


HANDLERS = {
    "branch.created": _branch, "branch.policy_set": _branch,
    "staff.added": _staff_added, "staff.pin_set": _pin_set, "member.pin_set": _pin_set,
    "member.added": _member_added, "member.updated": _member_updated,
    "member.rate_fixed": _rate_fixed, "lesson.published": _lesson, "notice.posted": _notice,
    "dues.dues": _dues, "dues.voluntary": _dues, "dues.correction": _dues,
    "study.session": _study, "consent.granted": _consent, "consent.withdrawn": _consent,
}


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
            raise _Skip("payload is not a JSON object")
        with store.transaction():  # nested: a savepoint, undone alone if the event fails
            handler(store, payload, ev["at"], ctx)
    except _Wait as e:
        return "waiting", str(e)
    except _Skip as e:
        return "skipped", str(e)
    except (KeyError, TypeError, ValueError, LianxinError) as e:
        if isinstance(e, ForeignBranch):
            raise
        return "skipped", f"unusable payload: {type(e).__name__}: {e}"
    except Exception as e:  # noqa: BLE001 — a constraint the payload breaks (sqlite error)
        if type(e).__name__ not in ("IntegrityError", "OperationalError"):
            raise
        return "skipped", f"refused by the store: {e}"
    return "applied", None


def _record(store, ev: dict, state: str, reason: str | None, now: str) -> None:
    keep = None if state == "applied" else ev["payload"]
    store.db.execute(
        "INSERT INTO replica_event(event_id, cursor, origin, type, payload, at, state, reason, "
        "seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO UPDATE SET "
        "state = excluded.state, reason = excluded.reason, payload = excluded.payload",
        [ev["event_id"], ev["cursor"], ev["origin"], ev["type"], keep, ev["at"], state,
         reason, now])


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
        for ev in events:
            by_type[ev["type"]] += 1
            seen = store.one("SELECT state FROM replica_event WHERE event_id = ?",
                             [ev["event_id"]])
            if seen is not None or store.one("SELECT 1 FROM journal WHERE event_id = ?",
                                             [ev["event_id"]]):
                counts["duplicates"] += 1
                continue
            state, reason = _apply_one(store, ev, ctx)
            _record(store, ev, state, reason, now)
            counts[state] += 1
            if state == "skipped":
                reasons[reason.split(":")[0]] += 1
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
