"""Hub administration as plain functions (the ``lianxin hub …`` commands call these).

Each change a terminal must learn about is appended to the branch log as an event of the
same type name the terminal's core writes (``branch.created``, ``branch.policy_set``,
``lesson.published``, ``notice.posted``), with ``origin = 'hub'``; a hub payload may carry
more than the terminal's own (a lesson's body and quiz travel, for instance).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
import tomllib
import uuid
from datetime import datetime
from pathlib import Path

from core.clock import CST, default_clock, iso
from core.errors import InvalidInput, NotFound
from core.ids import new_id

from .. import protocol
from ..protocol import canonical_json
from . import conflicts, log_admin, report, roster, staff
from .service import code_hash
from .storage import HubStorage

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read over the phone
CODE_TTL_HOURS = 72


def _clock(clock):
    return clock or default_clock()


def _event(storage: HubStorage, branch: str, type_: str, payload: dict, at: str) -> str:
    event_id = new_id()
    storage.append_log(branch=branch, origin="hub", event_id=event_id, type=type_,
                       payload=canonical_json(payload), at=at)
    return event_id


def _branch(storage: HubStorage, code: str) -> dict:
    row = storage.get_branch(code)
    if row is None:
        raise NotFound(f"no branch {code!r} at this hub", "服务中心没有这个支部。")
    return row


def _limits(*limits) -> None:
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in limits):
        raise InvalidInput(f"limits are whole numbers of months, zero or more: {limits}",
                           "月数应该是0或正整数。")


def ensure_hub_id(storage: HubStorage) -> str:
    with storage.transaction():
        hub_id = storage.meta("hub_id")
        if hub_id is None:
            hub_id = str(uuid.uuid4())
            storage.set_meta("hub_id", hub_id)
    return hub_id


# -- branches --------------------------------------------------------------------------

def create_branch(storage: HubStorage, *, code: str, name: str, township: str = "",
                  back_pay_limit: int = 6, pay_ahead_limit: int = 6, clock=None) -> dict:
    code, name = (code or "").strip(), (name or "").strip()
    if not code or not name or len(code) > 64:
        raise InvalidInput("branch code (up to 64 characters) and name are required",
                           "请填写支部编号和名称。")
    _limits(back_pay_limit, pay_ahead_limit)
    at = iso(_clock(clock).now())
    with storage.transaction():
        if not storage.insert_branch(code=code, name=name, township=township,
                                     back_pay_limit=back_pay_limit,
                                     pay_ahead_limit=pay_ahead_limit, at=at):
            raise InvalidInput(f"branch {code!r} already exists", "这个支部编号已经有了。")
        _event(storage, code, "branch.created",
               {"code": code, "name": name, "township": township,
                "back_pay_limit": back_pay_limit, "pay_ahead_limit": pay_ahead_limit}, at)
    return _branch(storage, code)


def list_branches(storage: HubStorage) -> list[dict]:
    return storage.list_branches()


def set_policy(storage: HubStorage, code: str, *, back_pay_limit: int, pay_ahead_limit: int,
               clock=None) -> dict:
    _limits(back_pay_limit, pay_ahead_limit)
    at = iso(_clock(clock).now())
    with storage.transaction():
        _branch(storage, code)
        storage.update_policy(code, back_pay_limit, pay_ahead_limit, at)
        _event(storage, code, "branch.policy_set",
               {"code": code, "back_pay_limit": back_pay_limit,
                "pay_ahead_limit": pay_ahead_limit}, at)
    return _branch(storage, code)


# -- terminals -------------------------------------------------------------------------

def issue_enroll_code(storage: HubStorage, branch: str, *, ttl_hours: int = CODE_TTL_HOURS,
                      now_ms=None) -> dict:
    """A one-time code (shown once; only its hash is kept) that enrolls one terminal.

    Its expiry is protocol time, like the request timestamps it is checked beside: the wall
    clock (``now_ms``, milliseconds), never a pinned business clock."""
    if isinstance(ttl_hours, bool) or not isinstance(ttl_hours, int) or ttl_hours < 1:
        raise InvalidInput("ttl_hours must be a whole number of hours, 1 or more")
    issued_ms = (now_ms or protocol.wall_ms)()
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    code = "-".join(raw[i:i + 4] for i in range(0, 12, 4))
    expires_ms = issued_ms + ttl_hours * 3_600_000
    created_at = iso(datetime.fromtimestamp(issued_ms / 1000, CST))
    with storage.transaction():
        _branch(storage, branch)
        storage.insert_code(code_hash(code), branch, created_at, expires_ms)
    return {"code": code, "branch": branch, "expires_ms": expires_ms}


def list_terminals(storage: HubStorage, branch: str | None = None) -> list[dict]:
    """Terminals with last-seen time, events still waiting on the terminal (as it last
    reported), the state of its audit chain at the hub, and whether it sent events dated
    ahead of the hub's clock."""
    out = []
    for t in storage.list_terminals(branch):
        out.append({
            "terminal_id": t["terminal_id"], "branch": t["branch"], "label": t["label"],
            "enrolled_at": t["enrolled_at"], "last_seen": t["last_seen"],
            "revoked": t["revoked_at"] is not None, "revoked_at": t["revoked_at"],
            "stored_seq": t["stored_seq"], "pending": max(0, t["head_seq"] - t["stored_seq"]),
            "audit_seq": t["audit_seq"], "clock_offset_ms": t["clock_offset_ms"],
            "chain": ("refused: " + t["last_refusal"]) if t["last_refusal"] else "ok",
            "last_refusal_at": t["last_refusal_at"],
            # Events dated ahead of the hub's clock: the terminal's clock is wrong.
            "clock": "ahead" if t["future_events"] else "ok",
            "future_events": t["future_events"], "future_latest_at": t["future_latest_at"],
            "future_seen_at": t["future_seen_at"], "software": t["software"],
        })
    return out


def revoke_terminal(storage: HubStorage, terminal_id: str, clock=None) -> dict:
    if not storage.revoke_terminal(terminal_id, iso(_clock(clock).now())):
        raise NotFound(f"no terminal {terminal_id!r} at this hub", "服务中心没有这台终端。")
    return next(t for t in list_terminals(storage) if t["terminal_id"] == terminal_id)


# -- reconciliation (sync.hub.conflicts) and the monthly report (sync.hub.report) -------

proposals = conflicts.proposals          # roster edits made at terminals, pending
accept_proposal = conflicts.accept       # -> enters the branch log as the hub's own event
reject_proposal = conflicts.reject
accept_all_proposals = conflicts.accept_all
double_payments = conflicts.flags        # member-months paid twice, open
resolve_double_payment = conflicts.resolve_flag
payment_checks = conflicts.payment_checks  # payments not matching the hub's record, open
resolve_payment_check = conflicts.resolve_payment_check
branch_report = report.build


# -- the branch log: events, quarantine, checks (sync.hub.log_admin) ---------------------

list_events = log_admin.list_events      # with the terminals that reported one skipped
quarantine_event = log_admin.quarantine  # pull stops passing it on; it stays on record
release_event = log_admin.release
check_log = log_admin.check              # stored events that break today's push rules
check_chains = log_admin.check_chains    # stored audit chains that no longer verify


# -- roster and staff (sync.hub.roster, sync.hub.staff) ----------------------------------

import_roster = roster.import_roster     # CSV/XLSX -> hub member.added events, row report
add_staff = staff.add_staff              # -> a hub staff.added event with the PIN's hash
list_staff = staff.list_staff            # the hub's staff accounts of a branch, no PINs
reset_staff_pin = staff.reset_pin        # -> a hub staff.pin_set event with the PIN's hash


# -- content ---------------------------------------------------------------------------

def add_media(storage: HubStorage, branch: str, source: Path, clock=None) -> dict:
    """Copy a file into the content-addressed media store (once per content) and let
    ``branch`` fetch it."""
    source = Path(source)
    h, size = hashlib.sha256(), 0
    media_dir = storage.media_dir
    media_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # files: mkstemp's 0600
    fd, tmp = tempfile.mkstemp(dir=media_dir, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            while chunk := src.read(1 << 20):
                h.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = h.hexdigest()
        rel = f"{sha[:2]}/{sha}"
        (media_dir / sha[:2]).mkdir(exist_ok=True, mode=0o700)
        os.replace(tmp, media_dir / rel)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with storage.transaction():
        _branch(storage, branch)
        storage.add_media(sha, size, rel, branch, iso(_clock(clock).now()))
    return {"sha256": sha, "size": size}


def publish_lesson(storage: HubStorage, branch: str, *, lesson_id: str, title: str,
                   category: str, minutes: int, body: str, quiz: list[dict] | None = None,
                   assigned: bool = False, audio: Path | None = None, clock=None) -> dict:
    """Publish (or replace) a lesson for a branch, with an optional audio file."""
    title, body, category = (title or "").strip(), (body or "").strip(), (category or "").strip()
    if not lesson_id or not title or not body or not category:
        raise InvalidInput("a lesson needs an id, a title, a category and a body",
                           "课程要有编号、标题、分类和内容。")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 120:
        raise InvalidInput("lesson minutes must be a whole number 1-120")
    _branch(storage, branch)
    media = add_media(storage, branch, audio, clock) if audio is not None else None
    quiz = list(quiz or [])
    payload = {"lesson_id": lesson_id, "title": title, "category": category, "minutes": minutes,
               "assigned": bool(assigned), "body": body, "quiz": quiz, "questions": len(quiz),
               "audio_sha256": media["sha256"] if media else None,
               "audio_size": media["size"] if media else None}
    with storage.transaction():
        event_id = _event(storage, branch, "lesson.published", payload,
                          iso(_clock(clock).now()))
    return {"event_id": event_id, **payload}


def post_notice(storage: HubStorage, branch: str, *, title: str, body: str, posted: str,
                notice_id: str | None = None, clock=None) -> dict:
    if not (title or "").strip() or not (body or "").strip():
        raise InvalidInput("a notice needs a title and a body", "通知要有标题和内容。")
    payload = {"notice_id": notice_id or new_id(), "title": title.strip(),
               "body": body.strip(), "posted": posted}
    with storage.transaction():
        _branch(storage, branch)
        event_id = _event(storage, branch, "notice.posted", payload, iso(_clock(clock).now()))
    return {"event_id": event_id, **payload}


def load_demo(storage: HubStorage, demo_dir: Path | None = None, clock=None, *,
              people: bool = False, second_township: bool = True) -> dict:
    """The terminal's demo branch (assets/demo) at the hub: branch, policy, lessons, notices
    (with the fixed ids ``demo-notice-N``), and with ``people`` (what ``lianxin hub demo``
    loads) its staff and roster with the demo's credentials (``roster.load_demo_people``),
    so an empty terminal enrolled in it gets the whole branch, the console's demo
    operators, and (``second_township``) a second township with months of history pushed
    by a demo terminal (``sync.hub.demo_township``: 白沙镇, ``DEMO-BSC``; a few seconds). Without ``people`` the
    roster is left to a terminal that founds it (a ``lianxin demo`` terminal, whose
    members then arrive as proposals)."""
    from core.demo import DEMO_DIR, demo_notice_id

    demo_dir = Path(demo_dir or DEMO_DIR)
    spec = tomllib.loads((demo_dir / "branch.toml").read_text(encoding="utf-8"))
    b = spec["branch"]
    create_branch(storage, code=b["code"], name=b["name"], township=b.get("township", ""),
                  back_pay_limit=b.get("back_pay_limit_months", 6),
                  pay_ahead_limit=b.get("pay_ahead_limit_months", 6), clock=clock)
    loaded = roster.load_demo_people(storage, b["code"], spec, clock) if people else {}
    lessons = sorted((demo_dir / "lessons").glob("*.toml"))
    for f in lessons:
        lesson = tomllib.loads(f.read_text(encoding="utf-8"))
        publish_lesson(storage, b["code"], lesson_id=f.stem, title=lesson["title"],
                       category=lesson["category"], minutes=lesson["minutes"],
                       body=lesson["body"], quiz=lesson.get("quiz", []),
                       assigned=lesson.get("assigned", False), clock=clock)
    for i, n in enumerate(spec.get("notices", []), 1):
        post_notice(storage, b["code"], title=n["title"], body=n["body"], posted=n["posted"],
                    notice_id=demo_notice_id(i), clock=clock)
    out = {"branch": b["code"], **loaded, "lessons": len(lessons),
           "notices": len(spec.get("notices", []))}
    if people:
        out["operators"] = _demo_operators(storage, b["township"], clock)
        from . import demo_township

        if second_township and (demo_dir / demo_township.DIR_NAME).is_dir():
            out["second_township"] = demo_township.load(storage, demo_dir, clock)
    return out


DEMO_OPERATOR_PASSWORD = "lianxin-demo"   # demo only (assets/demo/README.md)


def _demo_operators(storage: HubStorage, township: str, clock) -> list[str]:
    """The demo's console accounts: ``demo-county`` (county admin) and ``demo-town``
    (operator of the demo branch's township), both with :data:`DEMO_OPERATOR_PASSWORD`.
    Accounts already there are left as they are."""
    from . import operators

    actor = operators.Actor("demo", "local")
    made = []
    for username, name, role in (("demo-county", "县委组织部（演示）", "county_admin"),
                                 ("demo-town", f"{township}组织委员（演示）",
                                  "township_operator")):
        if storage.get_operator(username) is None:
            operators.add(storage, actor, username=username, name=name, role=role,
                          password=DEMO_OPERATOR_PASSWORD,
                          township=township if role == "township_operator" else None,
                          clock=clock)
        made.append(username)
    return made
