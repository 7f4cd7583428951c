"""The dues ledger: append-only rows in integer fen, each naming the months it pays.

    pay()            N months, oldest unpaid first; staff confirmation required (cash)
    pay_voluntary()  an extra gift; 1000 yuan or more is flagged as "large dues"
    correct()        a compensating row that reverses an entry; nothing is ever edited
    receipt()        a receipt rebuilt from the ledger (reprint), same check code
    latest_entry()   the newest entry of a kind;  entry_count()  how many rows
    status()         paid-through month, months and amount owed, warning at 3, flag at 6

Months owed count the current month; "overdue" months are those before it. The software
warns and flags; the branch decides (DESIGN.md §4). Limits on paying back and ahead come
from the branch policy and need a staff override with a reason to exceed.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from . import audit, members
from . import branch as branch_mod
from .clock import CST, add_months, iso, month_of, month_range, month_zh, months_between
from .errors import ClockSuspect, InvalidInput, LimitExceeded, NotFound, PolicyError
from .events import NotHereYet
from .ids import new_id
from .money import fen_to_yuan, fen_zh

METHODS = {"cash": "现金当面交纳", "relative": "委托亲属或其他党员代交", "other": "其他方式"}
LARGE_DUES_FEN = 100000  # 1000 yuan
WARN_OVERDUE, FLAG_OVERDUE = 3, 6
MAX_MONTHS_PER_PAYMENT = 36
# The hub's time is measured across a slow link and the terminal's clock drifts a little:
# only a terminal clock well behind the hub's counts as wrong.
HUB_CLOCK_SLACK = timedelta(minutes=5)
_MS = timedelta(milliseconds=1)
# The latest time a payment was recorded at: a clock that runs back (a flat clock battery
# resets it) is caught even when some other write (a study session) came in between.
CLOCK_MARK = "dues_clock_mark"


@dataclass
class MonthDue:
    month: str
    due_fen: int
    paid_fen: int

    @property
    def settled(self) -> bool:
        return self.paid_fen >= self.due_fen


@dataclass
class DuesStatus:
    member_no: str
    name: str
    monthly_fen: int
    paid_through: str | None
    months_owed: list[str]
    amount_owed_fen: int
    overdue_months: int
    level: str  # "ok" | "warning" | "flag"
    exempt: bool

    def as_dict(self) -> dict:
        d = asdict(self)
        d["amount_owed_yuan"] = fen_to_yuan(self.amount_owed_fen)
        d["monthly_yuan"] = fen_to_yuan(self.monthly_fen)
        return d

    def say_zh(self) -> str:
        """The sentence the kiosk shows and speaks."""
        if self.exempt and not self.months_owed:
            return "您经支部批准免交党费。"
        # Before ``dues_from`` the terminal asks nothing (earlier months were settled on
        # paper, or the member was not yet admitted), so dues_from - 1 reads as paid-through.
        through = f"您的党费交到{month_zh(self.paid_through)}" if self.paid_through else "您还没有交过党费"
        if not self.months_owed:
            return f"{through}，已经交齐了。"
        return (f"{through}，还差{len(self.months_owed)}个月，"
                f"一共{fen_zh(self.amount_owed_fen)}。")


@dataclass
class Receipt:
    entry_id: str
    receipt_no: str
    member_no: str
    member_name: str
    kind: str
    months: list[str]
    amount_fen: int
    method: str
    collected_by: str
    collector_name: str
    recorded_at: str
    terminal_id: str
    branch_name: str
    large: bool = False
    override_reason: str | None = None
    paid_by: str | None = None
    check_code: str = field(default="")

    def __post_init__(self):
        if not self.check_code:
            text = "|".join([self.entry_id, self.receipt_no, self.member_no, ",".join(self.months),
                             str(self.amount_fen), self.collected_by, self.recorded_at])
            self.check_code = hashlib.sha256(text.encode()).hexdigest()[:8].upper()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["amount_yuan"] = fen_to_yuan(self.amount_fen)
        return d


# -- reading ------------------------------------------------------------------------------

def _paid_by_month(store, member_no: str) -> dict[str, int]:
    return {m: amt for m, amt in store.db.execute(
        "SELECT month, SUM(amount_fen) FROM ledger_month WHERE member_no = ? GROUP BY month",
        [member_no]).fetchall()}


def schedule(store, member_no: str, first: str, last: str,
             paid: dict[str, int] | None = None) -> list[MonthDue]:
    """Due and paid amounts for each month from ``first`` to ``last``."""
    paid = _paid_by_month(store, member_no) if paid is None else paid
    rates: dict[int, int] = {}
    out = []
    for month in month_range(first, last):
        year = int(month[:4])
        if year not in rates:
            rates[year] = members.rate_for(store, member_no, year)["monthly_fen"]
        out.append(MonthDue(month, rates[year], paid.get(month, 0)))
    return out


def status(store, member_no: str, *, reader: str | None = None) -> DuesStatus:
    m = members.get(store, member_no, reader=reader)
    now_month = month_of(store.now())
    paid = _paid_by_month(store, member_no)
    last_paid = max((mo for mo, amt in paid.items() if amt > 0), default=now_month)
    rows = schedule(store, member_no, m["dues_from"], max(now_month, last_paid), paid)
    paid_through = None
    for r in rows:
        if not r.settled:
            break
        paid_through = r.month
    if paid_through is None:
        paid_through = add_months(m["dues_from"], -1)
    owed = [r for r in rows if not r.settled and r.month <= now_month] if m["status"] == "active" else []
    overdue = sum(1 for r in owed if r.month < now_month)
    level = "flag" if overdue >= FLAG_OVERDUE else "warning" if overdue >= WARN_OVERDUE else "ok"
    monthly = members.rate_for(store, member_no, int(now_month[:4]))["monthly_fen"]
    return DuesStatus(
        member_no=member_no, name=m["name"], monthly_fen=monthly, paid_through=paid_through,
        months_owed=[r.month for r in owed], amount_owed_fen=sum(r.due_fen - r.paid_fen for r in owed),
        overdue_months=overdue, level=level, exempt=monthly == 0)


def plan(store, member_no: str, months: int) -> list[MonthDue]:
    """The next ``months`` unsettled months, oldest first (past the current month = ahead)."""
    if isinstance(months, bool) or not isinstance(months, int) \
            or not 1 <= months <= MAX_MONTHS_PER_PAYMENT:
        raise InvalidInput(f"months must be 1-{MAX_MONTHS_PER_PAYMENT}", "月数不对。")
    m = members.get(store, member_no)
    if m["status"] != "active":
        raise InvalidInput(f"member {member_no} is {m['status']}", "这位党员的组织关系已不在本支部。")
    paid = _paid_by_month(store, member_no)
    now_month = month_of(store.now())
    # Far enough to find ``months`` unsettled months past everything paid, the current
    # month, and the month before dues start (a member whose dues start later).
    horizon = add_months(max([now_month, add_months(m["dues_from"], -1), *paid.keys()]),
                         months + 1)
    todo = [r for r in schedule(store, member_no, m["dues_from"], horizon, paid)
            if not r.settled]
    return todo[:months]


def history(store, member_no: str, *, reader: str | None = None) -> list[dict]:
    members.get(store, member_no, reader=reader)
    rows = store.all(
        "SELECT entry_id, receipt_no, kind, amount_fen, method, paid_by, collected_by, recorded_at, "
        "override_reason, large, corrects, note FROM ledger WHERE member_no = ? "
        "ORDER BY recorded_at, rowid", [member_no])
    for r in rows:
        r["months"] = [x[0] for x in store.db.execute(
            "SELECT month FROM ledger_month WHERE entry_id = ? ORDER BY month", [r["entry_id"]])]
        r["amount_yuan"] = fen_to_yuan(r["amount_fen"])
        r["large"] = bool(r["large"])
    return rows


def receipt(store, entry_id: str) -> Receipt:
    """Rebuild the receipt of a ledger entry (a reprint): same number, same check code."""
    row = store.one("SELECT * FROM ledger WHERE entry_id = ?", [entry_id])
    if row is None:
        raise NotFound(f"no ledger entry {entry_id}", "没有找到这笔记录。")
    member = store.one("SELECT name FROM member WHERE member_no = ?", [row["member_no"]])
    staff = store.one("SELECT name FROM staff WHERE staff_no = ?", [row["collected_by"]])
    months = [x[0] for x in store.db.execute(
        "SELECT month FROM ledger_month WHERE entry_id = ? ORDER BY month", [entry_id])]
    return Receipt(
        entry_id=entry_id, receipt_no=row["receipt_no"], member_no=row["member_no"],
        member_name=member["name"] if member else "", kind=row["kind"], months=months,
        amount_fen=row["amount_fen"], method=row["method"], collected_by=row["collected_by"],
        collector_name=staff["name"] if staff else "", recorded_at=row["recorded_at"],
        terminal_id=row["terminal_id"], branch_name=branch_mod.get(store).name,
        large=bool(row["large"]), override_reason=row["override_reason"], paid_by=row["paid_by"])


def latest_entry(store, kind: str = "dues") -> str | None:
    """The id of the newest ledger entry of ``kind`` recorded here, or None."""
    row = store.one("SELECT entry_id FROM ledger WHERE kind = ? "
                    "ORDER BY recorded_at DESC, rowid DESC LIMIT 1", [kind])
    return row["entry_id"] if row else None


def entry_count(store) -> int:
    """How many ledger rows this terminal holds (payments, gifts and corrections)."""
    return store.one("SELECT count(*) AS n FROM ledger")["n"]


def behind(store, min_overdue: int = WARN_OVERDUE) -> list[DuesStatus]:
    """Active members with at least ``min_overdue`` months overdue, most overdue first."""
    out = [status(store, r["member_no"]) for r in members.list_all(store)]
    return sorted((s for s in out if s.overdue_months >= min_overdue),
                  key=lambda s: (-s.overdue_months, s.member_no))


def takings(store, day: str | None = None) -> dict:
    """What was collected on a day (CST), entry by entry, with the total in fen."""
    day = day or store.now().astimezone(CST).date().isoformat()
    rows = store.all(
        "SELECT l.receipt_no, l.member_no, m.name, l.kind, l.amount_fen, l.collected_by, "
        "l.recorded_at FROM ledger l JOIN member m USING(member_no) "
        "WHERE substr(l.recorded_at, 1, 10) = ? ORDER BY l.recorded_at", [day])
    return {"day": day, "entries": rows, "total_fen": sum(r["amount_fen"] for r in rows),
            "total_yuan": fen_to_yuan(sum(r["amount_fen"] for r in rows))}


def _when(text: str | None) -> datetime | None:
    """A stored ISO timestamp as an aware datetime (naive ones are CST); None if unreadable."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt.replace(tzinfo=CST) if dt.tzinfo is None else dt


def clock_suspect(store) -> str | None:
    """English reason when the terminal clock looks wrong: earlier than the newest event it
    wrote, than the latest payment it recorded (until staff confirm the date), or than the
    hub time seen at the last sync; or ahead of the hub's clock at the last sync (the hub
    flags such a terminal's events as from the future). Times are compared as instants,
    not as strings."""
    now_dt = store.now()
    now = iso(now_dt)
    last = store.one("SELECT at FROM journal ORDER BY seq DESC LIMIT 1")
    last_at = _when(last["at"]) if last else None
    if last_at and now_dt < last_at:
        return f"terminal clock {now} is earlier than its newest event {last['at']}"
    mark = store.meta(CLOCK_MARK)
    mark_at = _when(mark)
    if mark_at and now_dt < mark_at:
        return f"terminal clock {now} is earlier than the latest payment recorded at {mark}"
    hub_seen = store.meta("hub_time_seen")
    hub_at = _when(hub_seen)
    if hub_at and now_dt < hub_at - HUB_CLOCK_SLACK:
        return f"terminal clock {now} is earlier than the hub time seen at last sync {hub_seen}"
    offset = store.meta("sync.clock_offset_ms")  # hub minus terminal, at the last sync
    if offset and offset.lstrip("-").isdigit() and -int(offset) > HUB_CLOCK_SLACK / _MS:
        return (f"terminal clock was {-int(offset) // 60000} min ahead of the hub's at the "
                "last sync")
    if store.meta("sync.clock_ahead"):
        return (f"the hub found events of this terminal dated ahead of its clock (sync at "
                f"{store.meta('sync.clock_ahead')})")
    return None


# -- writing ------------------------------------------------------------------------------

def _next_receipt_no(store) -> str:
    year = store.now().astimezone(CST).year
    key = f"receipt_seq:{year}"
    n = int(store.meta(key, "0")) + 1
    store.set_meta(key, str(n))
    return f"{store.terminal_id[:8].upper()}-{year}-{n:05d}"


def _check_method(method: str, paid_by: str | None) -> None:
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}")
    if method == "relative" and not (paid_by or "").strip():
        raise InvalidInput("a payment through a relative names who paid", "请写明代交人的姓名。")


def _check_clock(store, date_confirmed: bool) -> bool:
    """Raise when the clock looks wrong and staff have not confirmed the date; True when
    staff confirmed a suspect date (the payment then resets the clock mark)."""
    reason = clock_suspect(store)
    if reason and not date_confirmed:
        raise ClockSuspect(reason + "; staff must confirm today's date",
                          "终端的时间可能不准，请工作人员核对今天的日期后再确认。")
    return bool(reason)


def _check_confirmation(store, confirmation) -> None:
    """Money is recorded only with a staff confirmation from :func:`core.branch.confirm`
    for a staff account of this terminal that is still active."""
    if not isinstance(confirmation, branch_mod.StaffConfirmation):
        raise PolicyError("recording money needs a staff confirmation (branch.confirm)",
                          "需要工作人员输入密码确认。")
    staff = store.one("SELECT active FROM staff WHERE staff_no = ?", [confirmation.staff_no])
    if staff is None or not staff["active"]:
        raise PolicyError(f"staff {confirmation.staff_no} is not an active staff account here",
                          "这个工作人员账号不能确认收款。")


def apply_entry(store, p: dict, at: str) -> None:
    """``dues.dues`` / ``dues.voluntary`` / ``dues.correction``, taken here or at another
    terminal: the one writer of ``ledger`` and ``ledger_month``. Append-only: an entry id
    already held is not written again."""
    entry_id = p["entry_id"]
    if store.one("SELECT 1 FROM ledger WHERE entry_id = ?", [entry_id]):
        return
    if not store.one("SELECT 1 FROM member WHERE member_no = ?", [p["member_no"]]):
        raise NotHereYet(f"member {p['member_no']} not here yet")
    if p.get("corrects") and not store.one("SELECT 1 FROM ledger WHERE entry_id = ?",
                                           [p["corrects"]]):
        raise NotHereYet(f"corrected entry {p['corrects']} not here yet")
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


def _insert_entry(store, *, member: dict, kind: str, amount_fen: int, months: list[tuple[str, int]],
                  method: str, paid_by: str | None, confirmation, override_reason: str | None,
                  large: bool, corrects: str | None, note: str | None,
                  clock_confirmed: bool = False) -> Receipt:
    entry_id = new_id()
    at = iso(store.now())
    receipt_no = _next_receipt_no(store)
    mark = _when(store.meta(CLOCK_MARK))
    if clock_confirmed or mark is None or store.now() > mark:
        store.set_meta(CLOCK_MARK, at)
    receipt = Receipt(
        entry_id=entry_id, receipt_no=receipt_no, member_no=member["member_no"],
        member_name=member["name"], kind=kind, months=[m for m, _ in months], amount_fen=amount_fen,
        method=method, collected_by=confirmation.staff_no, collector_name=confirmation.name,
        recorded_at=at, terminal_id=store.terminal_id, branch_name=branch_mod.get(store).name,
        large=large, override_reason=override_reason, paid_by=paid_by)
    payload = receipt.as_dict()
    payload["month_amounts"] = [[m, a] for m, a in months]
    payload["corrects"] = corrects
    payload["note"] = note
    apply_entry(store, payload, at)
    store.record(f"dues.{kind}", payload, actor=f"staff:{confirmation.staff_no}",
                 subject=f"member:{member['member_no']}")
    if override_reason:
        # The override itself, with its reason, in the audit chain (the journal event holds
        # it too, but the chain is what inspectors read).
        audit.append(store, actor=f"staff:{confirmation.staff_no}", action="dues.override",
                     subject=f"member:{member['member_no']}",
                     detail={"entry_id": entry_id, "receipt_no": receipt_no,
                             "months": [m for m, _ in months], "reason": override_reason})
    return receipt


def pay(store, member_no: str, *, months: int, confirmation, method: str = "cash",
        paid_by: str | None = None, override_reason: str | None = None,
        date_confirmed: bool = False, note: str | None = None) -> Receipt:
    """Record cash for the ``months`` oldest unpaid months. ``confirmation`` comes from
    :func:`core.branch.confirm` (the staff PIN)."""
    _check_method(method, paid_by)
    _check_confirmation(store, confirmation)
    clock_confirmed = _check_clock(store, date_confirmed)
    b = branch_mod.get(store)
    member = members.get(store, member_no)
    now_month = month_of(store.now())
    with store.transaction():
        todo = plan(store, member_no, months)
        if not todo:
            raise InvalidInput(f"member {member_no} has no month to pay (exempt)",
                               "这位党员经批准免交党费，不需要交。")
        problems = []
        oldest, newest = todo[0].month, todo[-1].month
        if months_between(oldest, now_month) > b.back_pay_limit:
            problems.append(f"pays back to {oldest}, more than {b.back_pay_limit} months back")
        if months_between(now_month, newest) > b.pay_ahead_limit:
            problems.append(f"pays ahead to {newest}, more than {b.pay_ahead_limit} months ahead")
        if problems and not (override_reason or "").strip():
            raise LimitExceeded("; ".join(problems) + ": needs a staff override with a reason",
                              "补交或预交的月数超过了支部规定，需要工作人员填写原因后确认。")
        amounts = [(r.month, r.due_fen - r.paid_fen) for r in todo]
        return _insert_entry(
            store, member=member, kind="dues", amount_fen=sum(a for _, a in amounts),
            months=amounts, method=method, paid_by=paid_by, confirmation=confirmation,
            override_reason=(override_reason.strip() if problems else None), large=False,
            corrects=None, note=note, clock_confirmed=clock_confirmed)


def pay_voluntary(store, member_no: str, *, amount_fen: int, confirmation, method: str = "cash",
                  paid_by: str | None = None, date_confirmed: bool = False,
                  note: str | None = None) -> Receipt:
    """A voluntary extra payment (自愿多交); 1000 yuan or more is flagged as large dues."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise InvalidInput("a voluntary payment is a positive number of fen", "金额不对。")
    _check_method(method, paid_by)
    _check_confirmation(store, confirmation)
    clock_confirmed = _check_clock(store, date_confirmed)
    member = members.get(store, member_no)
    with store.transaction():
        return _insert_entry(store, member=member, kind="voluntary", amount_fen=amount_fen, months=[],
                             method=method, paid_by=paid_by, confirmation=confirmation,
                             override_reason=None, large=amount_fen >= LARGE_DUES_FEN,
                             corrects=None, note=note, clock_confirmed=clock_confirmed)


def correct(store, entry_id: str, *, reason: str, confirmation) -> Receipt:
    """Reverse a ledger entry with a compensating row (refund or mistake). Never an edit."""
    if not (reason or "").strip():
        raise InvalidInput("a correction needs a reason", "请写明更正原因。")
    _check_confirmation(store, confirmation)
    with store.transaction():
        entry = store.one("SELECT * FROM ledger WHERE entry_id = ?", [entry_id])
        if entry is None:
            raise NotFound(f"no ledger entry {entry_id}", "没有找到这笔记录。")
        if entry["kind"] == "correction":
            raise InvalidInput("a correction cannot itself be corrected; record a new payment")
        if store.one("SELECT 1 FROM ledger WHERE corrects = ?", [entry_id]):
            raise InvalidInput(f"entry {entry_id} is already corrected", "这笔记录已经更正过了。")
        months = [(m, -a) for m, a in store.db.execute(
            "SELECT month, amount_fen FROM ledger_month WHERE entry_id = ? ORDER BY month",
            [entry_id]).fetchall()]
        member = members.get(store, entry["member_no"])
        return _insert_entry(store, member=member, kind="correction", amount_fen=-entry["amount_fen"],
                             months=months, method=entry["method"], paid_by=None,
                             confirmation=confirmation, override_reason=None, large=False,
                             corrects=entry_id, note=reason.strip())
