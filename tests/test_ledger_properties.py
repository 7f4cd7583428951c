"""Property: the dues ledger never loses or double-counts a fen.

Random sequences of pay / pay_voluntary / correct / fixing this or next year's amount
(refused once a month of that year is paid) / the clock moving on, over three members with random categories, incomes and hardship reductions, run
against a real encrypted store and a plain-Python model of what should have happened.
After every step:

  * sum(ledger.amount_fen) == sum(ledger_month.amount_fen) + net voluntary money, and each
    dues or correction row's amount is exactly the sum of the months it names;
  * per member, the dues over [dues_from, paid_through] equal what ledger_month holds for
    those months, and no month ever holds more than its due;
  * pay(months=N) took exactly the N oldest unsettled months, each for what it still owed;
  * status() agrees with the model: paid-through, months owed (current month included),
    amount owed == sum(due - paid) of the owed months, overdue count and level.

At the end the audit chain verifies and the journal holds one event per ledger row.
Speed: one template terminal (the staff PIN hash is the cost) is copied for each example.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import audit, branch, dues, dues_rules, members
from core.clock import CST, FixedClock, add_months, month_of, month_range
from core.errors import InvalidInput
from core.store import Store, key_path

START = datetime(2026, 11, 15, 10, 0, tzinfo=CST)
MEMBERS = ("P1", "P2", "P3")
NAMES = ("张三", "李四", "王五")
FLAT = ("student", "unemployed", "relief", "subsistence")


@pytest.fixture(scope="module")
def template():
    d = Path(tempfile.mkdtemp(prefix="lianxin-prop-"))
    s = Store.create(d / "terminal.db", clock=FixedClock(datetime(2025, 1, 1, tzinfo=CST)))
    branch.setup(s, code="PROP", name="性质测试党支部", actor="test")
    branch.add_staff(s, staff_no="S01", name="王书记", role="secretary", pin="2468", actor="test")
    ok = branch.confirm(s, "S01", "2468")
    s.close()
    yield d / "terminal.db", ok
    shutil.rmtree(d, ignore_errors=True)


rate_spec = st.one_of(
    st.tuples(st.just("employed"), st.integers(100, 2_000_000)),
    st.tuples(st.just("retired"), st.integers(100, 1_200_000)),
    st.tuples(st.just("farmer"), st.integers(20, 100)),
    st.tuples(st.sampled_from(FLAT), st.none()),
)
member_spec = st.tuples(
    rate_spec,
    st.sampled_from(month_range("2026-01", "2026-11")),     # dues_from
    st.one_of(st.none(), st.integers(1, 100)),               # hardship: percent of the amount
)
op = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 2), st.integers(1, 6)),
    st.tuples(st.just("voluntary"), st.integers(0, 2),
              st.sampled_from([1, 20, 5000, 99999, 100000, 250000])),
    st.tuples(st.just("correct"), st.integers(0, 40)),
    st.tuples(st.just("advance"), st.integers(1, 75)),
    st.tuples(st.just("fix_year"), st.integers(0, 2), st.integers(0, 1), rate_spec),
)


def _quote(spec) -> dues_rules.Quote:
    category, value = spec
    if category in ("employed", "retired"):
        return dues_rules.quote(category, income_fen=value)
    if category == "farmer":
        return dues_rules.quote(category, farmer_fen=value)
    return dues_rules.quote(category)


def _kw(spec) -> dict:
    category, value = spec
    kw = {"category": category}
    if category in ("employed", "retired"):
        kw["income_fen"] = value
    elif category == "farmer":
        kw["farmer_fen"] = value
    return kw


class Model:
    """What the ledger should hold, kept in plain Python."""

    def __init__(self):
        self.rates: dict[str, dict[int, int]] = {}
        self.dues_from: dict[str, str] = {}
        self.paid: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.entries: list[dict] = []
        self.voluntary = 0

    def due(self, no: str, month: str) -> int:
        year, rates = int(month[:4]), self.rates[no]
        earlier = [y for y in rates if y <= year]
        return rates[max(earlier)] if earlier else rates[min(rates)]

    def unsettled(self, no: str, count: int) -> list[str]:
        out, month = [], self.dues_from[no]
        while len(out) < count:
            if self.paid[no][month] < self.due(no, month):
                out.append(month)
            month = add_months(month, 1)
        return out

    def paid_through(self, no: str) -> str:
        month = self.dues_from[no]
        while self.paid[no][month] >= self.due(no, month):
            month = add_months(month, 1)
        return add_months(month, -1)

    def owed(self, no: str, now_month: str) -> list[str]:
        return [m for m in month_range(self.dues_from[no], now_month)
                if self.paid[no][m] < self.due(no, m)]


def check(store, model: Model) -> None:
    db = store.db
    ledger_total = db.execute("SELECT COALESCE(SUM(amount_fen), 0) FROM ledger").fetchone()[0]
    month_total = db.execute("SELECT COALESCE(SUM(amount_fen), 0) FROM ledger_month").fetchone()[0]
    assert ledger_total == month_total + model.voluntary
    assert ledger_total == sum(e["amount"] for e in model.entries)
    # every row that names months carries exactly their sum
    bad = db.execute(
        "SELECT l.entry_id FROM ledger l LEFT JOIN ledger_month m USING(entry_id) "
        "GROUP BY l.entry_id HAVING COUNT(m.month) > 0 AND l.amount_fen != SUM(m.amount_fen)"
    ).fetchall()
    assert bad == []
    now_month = month_of(store.now())
    for no in MEMBERS:
        held = dict(db.execute("SELECT month, SUM(amount_fen) FROM ledger_month "
                               "WHERE member_no = ? GROUP BY month", [no]).fetchall())
        for month, fen in held.items():
            assert 0 <= fen <= model.due(no, month), (no, month, fen)
            assert fen == model.paid[no][month]
        s = dues.status(store, no)
        through = model.paid_through(no)
        assert s.paid_through == through
        span = month_range(model.dues_from[no], through)
        assert sum(model.due(no, m) for m in span) == sum(held.get(m, 0) for m in span)
        owed = model.owed(no, now_month)
        assert s.months_owed == owed
        assert s.amount_owed_fen == sum(model.due(no, m) - model.paid[no][m] for m in owed)
        overdue = sum(1 for m in owed if m < now_month)
        assert s.overdue_months == overdue
        assert s.level == ("flag" if overdue >= 6 else "warning" if overdue >= 3 else "ok")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.tuples(member_spec, member_spec, member_spec),
       ops=st.lists(op, min_size=1, max_size=18))
def test_ledger_never_loses_or_double_counts_a_fen(template, specs, ops):
    tpl, ok = template
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "terminal.db"
        shutil.copy(tpl, path)
        shutil.copy(key_path(tpl), key_path(path))
        clock = FixedClock(START)
        store = Store.open(path, clock=clock)
        # A throwaway copy: skip the fsyncs (durability is the crash test's subject, and
        # this keeps 40 examples at about a second).
        store.db.execute("PRAGMA synchronous = OFF")
        try:
            run(store, clock, ok, specs, ops)
        finally:
            store.close()


def run(store, clock, ok, specs, ops) -> None:
    model = Model()
    for no, name, (spec, dues_from, hardship_pct) in zip(MEMBERS, NAMES, specs, strict=True):
        members.add(store, member_no=no, name=name, dues_from=dues_from, actor="test", **_kw(spec))
        q = _quote(spec)
        if hardship_pct is not None:
            reduced = max(1, q.monthly_fen * hardship_pct // 100)
            members.fix_rate(store, no, 2026, hardship_fen=reduced, approval_ref="批准1号",
                             reason="困难", actor="test", **_kw(spec))
            q = dues_rules.hardship(q, reduced, approval_ref="批准1号", reason="困难")
        model.rates[no] = {2026: q.monthly_fen}
        model.dues_from[no] = dues_from
    check(store, model)

    for step in ops:
        kind = step[0]
        if kind == "pay":
            no, n = MEMBERS[step[1]], step[2]
            expected = model.unsettled(no, n)
            r = dues.pay(store, no, months=n, confirmation=ok, override_reason="性质测试")
            assert r.months == expected
            amounts = {m: model.due(no, m) - model.paid[no][m] for m in expected}
            assert r.amount_fen == sum(amounts.values())
            for m, fen in amounts.items():
                model.paid[no][m] += fen
            model.entries.append({"id": r.entry_id, "kind": "dues", "member": no,
                                  "months": amounts, "amount": r.amount_fen, "corrected": False})
        elif kind == "voluntary":
            no, fen = MEMBERS[step[1]], step[2]
            r = dues.pay_voluntary(store, no, amount_fen=fen, confirmation=ok)
            assert r.large == (fen >= 100000)
            model.voluntary += fen
            model.entries.append({"id": r.entry_id, "kind": "voluntary", "member": no,
                                  "months": {}, "amount": fen, "corrected": False})
        elif kind == "correct":
            if not model.entries:
                continue
            e = model.entries[step[1] % len(model.entries)]
            if e["kind"] == "correction" or e["corrected"]:
                with pytest.raises(InvalidInput):
                    dues.correct(store, e["id"], reason="更正", confirmation=ok)
            else:
                c = dues.correct(store, e["id"], reason="更正", confirmation=ok)
                assert c.amount_fen == -e["amount"]
                e["corrected"] = True
                for m, fen in e["months"].items():
                    model.paid[e["member"]][m] -= fen
                if e["kind"] == "voluntary":
                    model.voluntary -= e["amount"]
                model.entries.append({"id": c.entry_id, "kind": "correction", "member": e["member"],
                                      "months": {m: -f for m, f in e["months"].items()},
                                      "amount": -e["amount"], "corrected": False})
        elif kind == "advance":
            clock.advance(days=step[1])
        elif kind == "fix_year":
            no, year, spec = MEMBERS[step[1]], store.now().year + step[2], step[3]
            has_rows = any(m.startswith(f"{year}-") for e in model.entries
                           if e["member"] == no for m in e["months"])
            rates = model.rates[no]
            earlier = [y for y in rates if y <= year]
            in_force = rates[max(earlier)] if earlier else rates[min(rates)]
            new_fen = _quote(spec).monthly_fen
            if has_rows and new_fen != in_force:
                # Months of that year were paid at the amount in force: it is fixed now.
                with pytest.raises(InvalidInput):
                    members.fix_rate(store, no, year, actor="test", **_kw(spec))
            else:
                members.fix_rate(store, no, year, actor="test", **_kw(spec))
                model.rates[no][year] = new_fen
        check(store, model)

    assert audit.verify(store).ok
    rows = store.db.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]
    events = [json.loads(p) for (p,) in store.db.execute(
        "SELECT payload FROM journal WHERE type LIKE 'dues.%'").fetchall()]
    assert len(events) == rows == len(model.entries)
    assert sum(e["amount_fen"] for e in events) == sum(e["amount"] for e in model.entries)
