"""The event catalogue (core.events) and the order the terminal applies the hub's log in.

* every type core writes (each ``store.record`` call, read from the source) is catalogued,
  and every type the replica applies is one;
* a local write of an unknown type, or of a hub-owned type once enrolled, is refused with
  nothing written;
* the replica follows the hub's log order for mutable records — a policy dated 2099 that
  came first loses to the operator's later one — and applies no terminal event but the
  shared facts (a hub before the catalogue passed a terminal's staff PIN on).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from core import branch, events, pins, replica
from core.errors import AuthError

ROOT = Path(__file__).resolve().parent.parent


def _recorded_types() -> set[str]:
    """The first argument of every ``*.record(...)`` call in the product's code, where it is
    a literal string or an f-string's fixed part plus its known endings."""
    found: set[str] = set()
    for top in ("core", "kiosk", "voice", "sync", "cli"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "record" and node.args):
                    continue
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
                elif isinstance(arg, ast.JoinedStr | ast.IfExp):
                    found.add(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_type_core_writes_is_in_the_catalogue():
    written = _recorded_types()
    computed = {w for w in written if ":" in w}
    # The computed ones: f"{kind}.pin_set" (core.pins), f"dues.{kind}" (core.dues), the
    # consent pair (core.consent); their endings are catalogued by name.
    assert {w.split(":")[0] for w in computed} <= {"core/pins.py", "core/dues.py",
                                                   "core/consent.py"}
    assert {w for w in written if ":" not in w} <= set(events.CATALOGUE)
    for name in ("member.pin_set", "staff.pin_set", "dues.dues", "dues.voluntary",
                 "dues.correction", "consent.granted", "consent.withdrawn"):
        assert name in events.CATALOGUE
    assert set(replica.HANDLERS) <= set(events.CATALOGUE)


def test_each_pulled_event_goes_through_its_owners_one_apply_function():
    """One writer per table: the replica hands each type to the apply function of the module
    the catalogue names as its owner — the function that module's own writes use too."""
    for name, apply in replica.HANDLERS.items():
        assert apply.__module__ == events.CATALOGUE[name].owner, name
        assert apply.__name__.startswith("apply_"), name
    source = (ROOT / "core" / "replica.py").read_text(encoding="utf-8")
    tables = set(re.findall(r"(?:INSERT INTO|DELETE FROM|(?<!DO )UPDATE)\s+(\w+)", source))
    assert tables == {"replica_event"}  # its own table only


def test_roles_split_the_catalogue():
    roles = {e.role for e in events.CATALOGUE.values()}
    assert roles == {events.FACT, events.LOCAL, events.PROPOSAL, events.HUB}
    assert set(events.SHARED_TYPES) == {"dues.dues", "dues.voluntary", "dues.correction",
                                        "study.session", "consent.granted",
                                        "consent.withdrawn"}
    assert {"branch.policy_set", "staff.added"} <= set(events.HUB_TYPES)
    assert {"staff.pin_set", "member.pin_set"} <= set(events.PROPOSAL_TYPES)


def test_local_writes_of_unknown_or_hub_owned_types_are_refused(demo_store):
    n = demo_store.one("SELECT count(*) AS n FROM journal")["n"]
    with pytest.raises(ValueError, match="catalogue"):
        with demo_store.transaction():
            demo_store.record("x.made_up", {}, actor="test")
    # Not enrolled: the terminal is its own branch's founder (an offline start).
    branch.set_policy(demo_store, back_pay_limit=5, pay_ahead_limit=5, actor="test")
    with demo_store.transaction():
        demo_store.set_meta(events.ENROLLED_META, "DEMO-QSC")
    with pytest.raises(events.HubOwned) as e:
        branch.set_policy(demo_store, back_pay_limit=6, pay_ahead_limit=6, actor="test")
    assert e.value.zh == events.HubOwned.zh_default
    assert branch.get(demo_store).back_pay_limit == 5
    assert demo_store.one("SELECT count(*) AS n FROM journal")["n"] == n + 1


def _ev(cursor, type_, payload, *, origin="hub", at="2026-11-15T09:00:00.000+08:00"):
    return {"cursor": cursor, "origin": origin, "event_id": f"e{cursor}", "type": type_,
            "payload": json.dumps(payload, ensure_ascii=False), "at": at}


def test_the_replica_follows_the_hubs_order_and_skips_what_terminals_may_not_share(
        demo_store):
    t = demo_store
    code = branch.get(t).code
    with t.transaction():
        t.set_meta(events.ENROLLED_META, code)
    page = [
        _ev(1, "branch.policy_set", {"code": code, "back_pay_limit": 60, "pay_ahead_limit": 60},
            at="2099-01-01T00:00:00.000+08:00"),
        _ev(2, "branch.policy_set", {"code": code, "back_pay_limit": 3, "pay_ahead_limit": 3},
            at="2026-11-15T09:00:00.000+08:00"),
        # What a hub before core.events passed on from a lying terminal:
        _ev(3, "staff.pin_set", {"staff_no": "S01", "pin_hash": pins.hash_pin("9999")},
            origin="some-terminal", at="2099-01-01T00:00:00.000+08:00"),
        _ev(4, "branch.policy_set", {"code": code, "back_pay_limit": 60, "pay_ahead_limit": 60},
            origin="some-terminal", at="2099-01-01T00:00:00.000+08:00"),
    ]
    r = replica.apply_page(t, page, branch=code, cursor_from=0, cursor_to=4)
    assert (r["applied"], r["skipped"]) == (2, 2)
    got = branch.get(t)
    assert (got.back_pay_limit, got.pay_ahead_limit) == (3, 3)
    assert branch.confirm(t, "S01", "2468").staff_no == "S01"
    with pytest.raises(AuthError):
        branch.confirm(t, "S01", "9999")
    kept = t.all("SELECT type, state, reason FROM replica_event WHERE state = 'skipped'")
    assert {k["type"] for k in kept} == {"staff.pin_set", "branch.policy_set"}
    assert all("not a terminal's to share" in k["reason"] for k in kept)
