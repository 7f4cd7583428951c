"""Reconciliation at the hub (DESIGN §8): what a branch's terminals did, taken together.

The branch log stays exactly as the terminals sent it (append-only, nothing dropped).
:func:`catch_up` reads it in cursor order — right after each accepted push, in the same
transaction, and before each report — into derived tables (``sync.hub.storage``):

* **Payments** (``dues.*``) enter the hub's ledger view under their entry ids. The ledger is
  append-only, so payments never conflict; but one member-month paid by two live ``dues``
  entries (through two terminals, or a terminal and another channel) is **flagged** for
  reconciliation. A correction that reverses one of them closes the flag by itself; the
  operator can also close it with a note (:func:`resolve_flag`), e.g. "kept as credit".
  A later payment of the same month reopens it.
* **Study sessions** merge by union (each has its own id; the newest event of a session
  wins; a finished sitting stays finished).
* **Roster edits made at a terminal** (``member.added``, ``member.updated``) become
  **proposals**. They are not passed on to the branch's other terminals as they are (pull
  leaves them out); the operator accepts (:func:`accept`) — the edit enters the branch log
  again as the hub's own event, which every terminal of the branch applies — or rejects it.
  A proposal that changes nothing of the hub's record (a terminal that holds the same
  roster, typically one set up offline from the same list) is **settled** by itself: kept
  on record with that note, never shown as waiting (:func:`settle_identical`).

The derived tables can be rebuilt from the branch log: they are a view, not a record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.clock import default_clock, iso
from core.dues import LARGE_DUES_FEN
from core.errors import InvalidInput, NotFound
from core.ids import new_id
from core.study import sitting_seconds_ok

from ..protocol import canonical_json
from .storage import PROPOSAL_TYPES, HubStorage

CURSOR_KEY = "reconcile.cursor"
CHUNK = 2000


@dataclass
class Appended:
    """Rows a push just appended to the branch log, in this transaction and as its last
    rows — cursors ``after`` + 1 … ``upto`` — with their payloads already parsed
    (``sync.protocol.Batch.payloads``), so that :func:`catch_up` need not read them back
    nor parse them again. Each row carries ``branch, origin, event_id, type, payload, at``."""

    after: int
    upto: int
    rows: list[dict]
    payloads: list


_UNPARSED = object()
_READ_TYPES = ("study.session", "staff.pin_set", "staff.added")
_PIN_TYPES = ("member.pin_set", "staff.pin_set")


def catch_up(storage: HubStorage, *, at: str | None = None,
             appended: Appended | None = None) -> int:
    """Read the branch log past the last position into the derived tables; returns how
    many rows were read. Joins the caller's transaction (a push), or makes its own.

    ``appended`` rows are taken from memory when they are exactly what is left to read
    (the usual case right after a push); otherwise everything is read from the log."""
    at = at or iso(default_clock().now())
    done = 0
    with storage.transaction():
        studies: list[tuple] = []  # hub_study is read by nothing here: written at the end
        payments: list[tuple[dict, dict]] = []  # checked against the hub's record at the end
        touched: set[str] = set()  # branches with roster or dues rows read: settle proposals
        cursor = int(storage.meta(CURSOR_KEY) or 0)
        if (appended is not None and cursor == appended.after
                and appended.upto - appended.after == len(appended.rows)):
            for row, p in zip(appended.rows, appended.payloads, strict=True):
                _ingest(storage, row, at, studies, payments, p)
                _touch(touched, row)
            cursor, done = appended.upto, len(appended.rows)
        else:
            while rows := storage.log_after(cursor, CHUNK):
                for row in rows:
                    _ingest(storage, row, at, studies, payments)
                    _touch(touched, row)
                cursor = rows[-1]["cursor"]
                done += len(rows)
        storage.put_studies(studies)
        if payments:
            _check_payments(storage, payments, at)
        storage.set_meta(CURSOR_KEY, str(cursor))
        if touched:
            settle_identical(storage, sorted(touched), at=at)
    return done


def _touch(touched: set[str], row: dict) -> None:
    if row["origin"] != "hub" and row["type"].startswith(("member.", "dues.", "staff.")):
        touched.add(row["branch"])


def _ingest(storage: HubStorage, row: dict, at: str, studies: list[tuple],
            payments: list[tuple[dict, dict]], p=_UNPARSED) -> None:
    type_ = row["type"]
    if not (type_.startswith(("dues.", "member.")) or type_ in _READ_TYPES):
        return
    try:
        if p is _UNPARSED:
            p = json.loads(row["payload"])
        if not isinstance(p, dict):
            return
        if type_ == "study.session":
            study = _study_row(row["branch"], p)
            if study is not None:
                studies.append(study)
            return
        if _apply(storage, row, p, at) and row["origin"] != "hub":
            payments.append((row, p))
    except (KeyError, TypeError, ValueError):
        # A payload the hub cannot read stays in the branch log as sent; it only does
        # not count in reports. (Terminals write these payloads; a bad one is a bug there.)
        return


def _study_row(branch: str, p: dict) -> tuple | None:
    """A study session as ``HubStorage.put_studies`` takes it (union of sessions; the
    newest event of a sitting wins, finished stays finished); None when a field the
    table needs is missing or not a plain value."""
    session, member, lesson, started, terminal = (p["session_id"], p["member_no"],
                                                  p["lesson_id"], p["started_at"],
                                                  p["terminal_id"])
    seconds = p["seconds"]
    if not sitting_seconds_ok(seconds):   # as a terminal's own rule: not counted
        return None
    row = (session, branch, member, lesson, started, seconds,
           int(bool(p["completed"])), terminal)
    if (type(session) is str and type(member) is str and type(lesson) is str
            and type(started) is str and type(terminal) is str):
        return row
    for value in (session, member, lesson, started, terminal):
        if not isinstance(value, str | int | float):
            return None
    return row


def _apply(storage: HubStorage, row: dict, p: dict, at: str) -> bool:
    """Apply one event to the derived tables; True for a payment newly in the ledger."""
    branch, type_, origin = row["branch"], row["type"], row["origin"]
    if type_.startswith("dues."):
        if not storage.put_ledger(branch, p, row["event_id"]):
            return False
        for month, _ in p.get("month_amounts") or []:
            _check_month(storage, branch, p["member_no"], month, at)
        return True
    from_hub = origin == "hub"
    if not from_hub and _proposed(storage, row):
        storage.put_proposal(branch, origin, row["event_id"], type_,
                             p.get("member_no") or p.get("staff_no"), row["payload"], row["at"])
    if type_ in _PIN_TYPES or type_ == "staff.added":
        return False
    no = p["member_no"]
    if type_ == "member.added":
        storage.put_member(branch, no, p["name"], p["dues_from"],
                           "accepted" if from_hub else "proposed")
        rate = p.get("rate")
        if isinstance(rate, dict):
            storage.put_rate(branch, no, int(rate["year"]), int(rate["monthly_fen"]),
                             replace=False)
    elif type_ == "member.updated":
        # The hub's view follows what the terminals did (their ledgers do); whether the
        # edit reaches the other terminals is the proposal's business.
        storage.update_member(branch, no, name=p.get("name"), status=p.get("status"))
    elif type_ == "member.rate_fixed" and from_hub:
        # A terminal's fixing is a proposal: the expected dues follow the hub's amounts.
        storage.put_rate(branch, no, int(p["year"]), int(p["monthly_fen"]))
    return False


def _proposed(storage: HubStorage, row: dict) -> bool:
    """Is a terminal's event a proposal for the operator? Roster edits and yearly amounts
    are; a PIN is when set after enrollment (one set before, on a terminal set up offline,
    is its own history: argon2 salts every hash, so none would ever settle); a staff account
    is when the terminal founded it before enrolling (after, the push is refused)."""
    type_ = row["type"]
    if type_ not in PROPOSAL_TYPES and type_ != "staff.added":
        return False
    if type_ not in _PIN_TYPES:
        return True
    t = storage.get_terminal(row["origin"]) if row.get("seq") is not None else None
    return t is None or row["seq"] > t["enrolled_seq"]


def _check_payments(storage: HubStorage, payments: list[tuple[dict, dict]], at: str) -> None:
    """Cash terminals took, against the hub's record (DESIGN §4): each month of regular dues
    at the member's monthly amount for its year, confirmed by a staff account the hub set
    up, and a voluntary payment of 1000 yuan or more (large dues) for staff to handle. A
    mismatch is flagged for the operator, never refused: the money was taken, and a
    refusal would stop the terminal's sync for good."""
    by_branch: dict[str, list[tuple[dict, dict]]] = {}
    for row, p in payments:
        by_branch.setdefault(row["branch"], []).append((row, p))
    for branch, rows in by_branch.items():
        roster, staff = _hub_record(storage, branch), storage.hub_staff(branch)
        for row, p in rows:
            try:
                problems = _payment_problems(row["type"], p, roster, staff)
            except (KeyError, TypeError, ValueError):
                continue  # a payload the hub cannot read is not counted in reports either
            for reason, detail in problems:
                storage.put_payment_check(str(p["entry_id"]), reason, branch,
                                          str(p["member_no"]), row["origin"],
                                          canonical_json(detail), at)


def _payment_problems(type_: str, p: dict, roster: dict, staff: dict) -> list[tuple]:
    problems = []
    rec = roster.get(p.get("member_no"))
    if type_ == "dues.dues" and rec is not None:
        for month, fen in p.get("month_amounts") or []:
            expected = _rate(rec, int(str(month)[:4]))
            if expected is not None and fen != expected:
                problems.append(("amount_mismatch", {"month": month, "paid_fen": fen,
                                                     "expected_fen": expected}))
    if staff and p.get("collected_by") not in staff:  # none yet: a branch set up offline
        problems.append(("unknown_collector", {"collected_by": p.get("collected_by")}))
    if type_ == "dues.voluntary" and isinstance(p.get("amount_fen"), int) \
            and p["amount_fen"] >= LARGE_DUES_FEN:
        problems.append(("large_voluntary", {"amount_fen": p["amount_fen"]}))
    return problems


def payment_checks(storage: HubStorage, branch: str, *,
                   status: str | None = "open") -> list[dict]:
    """Payments that do not match the hub's record; ``status`` None lists resolved ones."""
    catch_up(storage)
    return [{**c, "detail": json.loads(c["detail"])}
            for c in storage.list_payment_checks(branch, status)]


def resolve_payment_check(storage: HubStorage, branch: str, entry_id: str, *, note: str,
                          by: str, clock=None) -> list[dict]:
    """Close a payment's open checks with the operator's note (what was done)."""
    if not (note or "").strip():
        raise InvalidInput("resolving a payment check needs a note saying what was done",
                           "请写明怎样处理了这笔交费。")
    at = iso((clock or default_clock()).now())
    with storage.transaction():
        if not storage.resolve_payment_check(branch, entry_id, by, note.strip(), at):
            raise NotFound(f"no open check of payment {entry_id} in {branch}",
                           "这笔交费没有待处理的核对。")
    return [c for c in payment_checks(storage, branch, status=None) if c["entry_id"] == entry_id]


def _check_month(storage: HubStorage, branch: str, member_no: str, month: str, at: str) -> None:
    """Flag (or reopen, or close) one member-month after a payment or a correction."""
    live = storage.live_dues(branch, member_no, month)
    entries = canonical_json(live)
    flag = storage.get_flag(branch, member_no, month)
    if len(live) >= 2:
        if flag is None or flag["status"] == "open" or flag["entries"] != entries:
            storage.put_flag(branch, member_no, month, entries, "open", at)
    elif flag is not None and flag["status"] == "open":
        storage.put_flag(branch, member_no, month, entries, "resolved", at,
                         resolved_by="correction", note="a correction reversed the extra payment")


# -- proposals the hub already holds ----------------------------------------------------

SETTLED_BY, SETTLED_NOTE = "hub", "same as the hub's record"
_SAME_FIELDS = ("name", "category", "joined", "probation", "status")


def _hub_record(storage: HubStorage, branch: str) -> dict[str, dict]:
    """The hub's current roster of ``branch`` from its own events: member number ->
    fields, phones (sorted) and the monthly amount by year."""
    out: dict[str, dict] = {}
    for row in storage.hub_roster_events(branch):
        try:
            p = json.loads(row["payload"])
            no = p["member_no"]
            if row["type"] == "member.added":
                out[no] = {**{k: p.get(k) for k in _SAME_FIELDS}, "status": "active",
                           "phones": sorted(p.get("phones") or []),
                           "dues_from": p["dues_from"], "rates": {}, "added_rate": None}
                if isinstance(p.get("rate"), dict):
                    year, fen = int(p["rate"]["year"]), int(p["rate"]["monthly_fen"])
                    out[no]["rates"][year] = fen
                    out[no]["added_rate"] = (year, fen)
            elif no in out and row["type"] == "member.updated":
                out[no].update({k: v for k, v in p.items() if k in (*_SAME_FIELDS, "phones")})
            elif no in out:  # member.rate_fixed
                out[no]["rates"][int(p["year"])] = int(p["monthly_fen"])
        except (KeyError, TypeError, ValueError):
            continue  # the hub wrote these; an unreadable one is not a record to match
    return out


def _rate(rec: dict, year: int) -> int | None:
    """The hub's amount for ``year``: that year's, else carried from the nearest earlier."""
    years = [y for y in rec["rates"] if y <= year] or sorted(rec["rates"])[:1]
    return rec["rates"][max(years)] if years else None


def _paid_before(storage: HubStorage, branch: str, rec: dict, no: str, first: str) -> bool:
    """Every month from ``first`` up to the hub's own first dues month is fully paid in the
    hub's ledger: starting the dues earlier changes nothing anyone owes."""
    from core.clock import month_range

    months = month_range(first, rec["dues_from"])[:-1]
    for month in months:
        due = _rate(rec, int(month[:4]))
        paid = sum(e["amount_fen"] for e in storage.live_dues(branch, no, month))
        if due is None or paid < due:
            return False
    return True


def _same_as_hub(storage: HubStorage, branch: str, type_: str, p: dict, rec: dict | None) -> bool:
    if not isinstance(p, dict) or type_ in _PIN_TYPES:
        return False
    if type_ == "staff.added":  # the hub's account stands (its PIN too)
        held = storage.hub_staff(branch).get(p.get("staff_no"))
        return held is not None and held == {"name": p.get("name"), "role": p.get("role")}
    if rec is None:
        return False
    if type_ == "member.rate_fixed":  # the hub's amount for that year (or carried to it)
        return p.get("monthly_fen") == _rate(rec, int(p["year"]))
    if type_ == "member.updated":
        changes = {k: v for k, v in p.items() if k != "member_no"}
        return bool(changes) and all(
            k in (*_SAME_FIELDS, "phones") and rec.get(k) == (sorted(v) if k == "phones" else v)
            for k, v in changes.items())
    if any(p.get(k) != rec.get(k) for k in _SAME_FIELDS if k != "status"):
        return False
    if sorted(p.get("phones") or []) != rec["phones"]:
        return False
    # The amount a member was added with: the hub's for that year, as it stands now or as
    # the hub first recorded it (a later yearly fixing is its own event, not a proposal).
    rate = p.get("rate")
    if not isinstance(rate, dict):
        return False
    amount = (int(rate["year"]), rate.get("monthly_fen"))
    if amount[1] != _rate(rec, amount[0]) and amount != rec["added_rate"]:
        return False
    first = p.get("dues_from")
    if first == rec["dues_from"]:
        return True
    return isinstance(first, str) and first < rec["dues_from"] \
        and _paid_before(storage, branch, rec, p["member_no"], first)


def settle_identical(storage: HubStorage, branches: list[str], *, at: str) -> int:
    """Settle the pending proposals of ``branches`` that change nothing of the hub's record.

    Compared: name, category, joined, probation, phones, the year's amount, and the first
    dues month (an earlier one counts as the same when every month in between is paid in
    the hub's ledger). Not compared: the member's PIN hash — argon2 salts every hash, so
    two hashes of one PIN never match, and a roster proposal is not how a PIN changes.
    Joins the caller's transaction; returns how many were settled."""
    settled = 0
    for branch in branches:
        pending = storage.list_proposals(branch, "pending")
        if not pending:
            continue
        record = _hub_record(storage, branch)
        for prop in pending:
            try:
                p = json.loads(prop["payload"])
                same = _same_as_hub(storage, branch, prop["type"], p,
                                    record.get(prop["member_no"]))
            except (KeyError, TypeError, ValueError):
                same = False
            if same and storage.decide_proposal(prop["event_id"], "settled", at, SETTLED_BY,
                                                SETTLED_NOTE, None):
                settled += 1
    return settled


# -- operator --------------------------------------------------------------------------

def flags(storage: HubStorage, branch: str, *, status: str | None = "open") -> list[dict]:
    """Member-months paid twice; ``status`` None lists resolved ones too."""
    catch_up(storage)
    out = []
    for f in storage.list_flags(branch, status):
        entries = json.loads(f["entries"])
        out.append({**f, "entries": entries,
                    "terminals": sorted({e["terminal_id"] for e in entries}),
                    "amount_fen": sum(e["amount_fen"] for e in entries)})
    return out


def resolve_flag(storage: HubStorage, branch: str, member_no: str, month: str, *, note: str,
                 by: str, clock=None) -> dict:
    """Close a flag by the operator's decision (the note says what was done)."""
    if not (note or "").strip():
        raise InvalidInput("resolving a double payment needs a note saying what was done",
                           "请写明怎样处理了这笔重复交费。")
    at = iso((clock or default_clock()).now())
    with storage.transaction():
        flag = storage.get_flag(branch, member_no, month)
        if flag is None:
            raise NotFound(f"no double payment flagged for {member_no} {month} in {branch}",
                           "没有这笔重复交费记录。")
        storage.put_flag(branch, member_no, month, flag["entries"], "resolved", at,
                         resolved_by=by, note=note.strip())
    return next(f for f in flags(storage, branch, status=None)
                if (f["member_no"], f["month"]) == (member_no, month))


def proposals(storage: HubStorage, branch: str, *, status: str | None = "pending") -> list[dict]:
    """Roster edits made at terminals; ``status`` None lists decided ones too."""
    catch_up(storage)
    return [{**p, "payload": _shown(json.loads(p["payload"]))}
            for p in storage.list_proposals(branch, status)]


def _shown(payload):
    """A proposal's payload as operators see it: a PIN hash is never shown, only that the
    proposal sets a PIN."""
    if isinstance(payload, dict) and "pin_hash" in payload:
        payload = {**{k: v for k, v in payload.items() if k != "pin_hash"},
                   "pin_set": bool(payload["pin_hash"])}
    return payload


def accept(storage: HubStorage, event_id: str, *, by: str, note: str | None = None,
           clock=None) -> dict:
    """Accept a proposal: the edit enters the branch log as the hub's own event, which every
    terminal applies in the log's order (the proposal's time is kept for display)."""
    catch_up(storage)
    at = iso((clock or default_clock()).now())
    with storage.transaction():
        prop = _pending(storage, event_id)
        payload = {**json.loads(prop["payload"]), "proposal_of": event_id,
                   "proposed_by": prop["origin"]}
        new_event_id = new_id()
        storage.append_log(branch=prop["branch"], origin="hub", event_id=new_event_id,
                           type=prop["type"], payload=canonical_json(payload), at=prop["at"])
        storage.decide_proposal(event_id, "accepted", at, by, note, new_event_id)
        catch_up(storage, at=at)
    return storage.get_proposal(event_id)


def reject(storage: HubStorage, event_id: str, *, by: str, note: str | None = None,
           clock=None) -> dict:
    """Reject a proposal: it stays on record at the hub and reaches no other terminal. A
    rejected new member no longer counts in the branch's expected dues."""
    catch_up(storage)
    at = iso((clock or default_clock()).now())
    with storage.transaction():
        prop = _pending(storage, event_id)
        storage.decide_proposal(event_id, "rejected", at, by, note, None)
        if prop["type"] == "member.added" and prop["member_no"]:
            storage.update_member(prop["branch"], prop["member_no"], state="rejected")
    return storage.get_proposal(event_id)


def accept_all(storage: HubStorage, branch: str, *, by: str, clock=None) -> list[dict]:
    """Accept every pending proposal of a branch, oldest first (a terminal's founding
    roster, for instance)."""
    return [accept(storage, p["event_id"], by=by, clock=clock)
            for p in proposals(storage, branch)]


def _pending(storage: HubStorage, event_id: str) -> dict:
    prop = storage.get_proposal(event_id)
    if prop is None:
        raise NotFound(f"no proposal {event_id}", "没有这条修改申请。")
    if prop["status"] != "pending":
        zh = {"accepted": "接受", "rejected": "不接受", "settled": "自动核对"}.get(
            prop["status"], prop["status"])
        by = f"已经由{prop['decided_by']}" if prop["decided_by"] else "已经"
        when = f"在{prop['decided_at'][:16].replace('T', ' ')}" if prop["decided_at"] else ""
        raise InvalidInput(f"proposal {event_id} was already {prop['status']} by "
                           f"{prop['decided_by']} at {prop['decided_at']}",
                           f"这条修改申请{by}{when}处理过了（{zh}）。")
    return prop
