"""A poisoned branch log cannot wedge a branch, and the operator can see and repair it.

Real hub process, real terminal stores. The poison is what a hub before today's rules may
hold: events written straight into its branch log, as it once stored them.

* a terminal that pulls an event it cannot apply keeps it ``skipped`` with the reason,
  applies the rest, and reports the skip to the hub at once (once per event);
* ``lianxin hub events list --skipped`` shows which terminals could not apply what;
  ``hub events quarantine`` stops pull from passing the event on (a new terminal never sees
  it; it stays in the log), ``release`` passes it on again;
* ``lianxin hub check`` finds stored terminal events that break today's push rules — and
  nothing in what honest terminals sent — and exits 1; ``--quarantine`` quarantines them.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from click.testing import CliRunner

from cli.main import cli
from core.clock import CST, FixedClock
from core.errors import InvalidInput
from core.store import Store
from sync import client as sc
from sync.hub import admin

DEMO = "DEMO-QSC"


@pytest.fixture
def hub(hub_storage, hub_server):
    admin.load_demo(hub_storage, people=True)
    return hub_server(hub_storage)


def _terminal(hub, tmp_path, name: str) -> Store:
    s = Store.create(tmp_path / name / "terminal.db",
                     clock=FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=CST)))
    code = admin.issue_enroll_code(hub.storage, DEMO)["code"]
    sc.enroll(s.path, hub.url, code)
    sc.sync_once(s)
    return s


@pytest.fixture
def sender(hub, tmp_path):
    s = _terminal(hub, tmp_path, "sender")
    yield s
    s.close()


@pytest.fixture
def honest(hub, tmp_path):
    s = _terminal(hub, tmp_path, "honest")
    yield s
    s.close()


def _stored_by_an_old_hub(hub, origin: str, type_: str, payload, seq: int | None = None) -> str:
    """An event in the branch log as a hub before today's push rules stored it."""
    event_id = str(uuid.uuid4())
    t = hub.storage.get_terminal(origin)
    seq = seq if seq is not None else t["stored_seq"] + 1000 + hub.storage.last_cursor()
    with hub.storage.transaction():
        hub.storage._run(
            "INSERT INTO branch_log(branch, origin, seq, event_id, type, payload, at, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [DEMO, origin, seq, event_id, type_, json.dumps(payload),
             "2026-11-30T09:00:00.000+08:00", "2026-11-30T09:05:00.000+08:00"])
    return event_id


def _seen(store: Store, event_id: str) -> str | None:
    row = store.one("SELECT state FROM replica_event WHERE event_id = ?", [event_id])
    return row["state"] if row else None


def test_a_poisoned_event_is_skipped_reported_listed_and_quarantined(hub, sender, honest,
                                                                     tmp_path):
    poison = _stored_by_an_old_hub(hub, sender.terminal_id, "study.session", ["not", "a dict"])
    notice = admin.post_notice(hub.storage, DEMO, title="停电通知", body="周五停电。",
                               posted="2026-11-30")
    report = sc.sync_once(honest)
    # Skipped with its reason, the rest applied, the skip reported at once.
    assert _seen(honest, poison) == "skipped"
    assert report["skipped"] == 1 and report["skips_reported"] == 1
    assert honest.one("SELECT 1 FROM notice WHERE notice_id = ?", [notice["notice_id"]])
    [listed] = admin.list_events(hub.storage, DEMO, skipped=True)
    assert listed["event_id"] == poison and not listed["quarantined"]
    [skip] = listed["skipped_by"]
    assert skip["terminal_id"] == honest.terminal_id and "payload" in skip["reason"]
    assert sc.sync_once(honest)["skips_reported"] == 0  # once each
    # The check names it; the operator quarantines it; a new terminal never sees it.
    [problem] = admin.check_log(hub.storage, DEMO)
    assert (problem["event_id"], problem["code"]) == (poison, "bad_payload")
    admin.quarantine_event(hub.storage, poison, by="operator", reason="broken payload")
    assert admin.list_events(hub.storage, DEMO, quarantined=True)[0]["event_id"] == poison
    late = _terminal(hub, tmp_path, "late")
    assert _seen(late, poison) is None
    assert late.one("SELECT 1 FROM notice WHERE notice_id = ?", [notice["notice_id"]])
    assert any(e["event_id"] == poison for e in hub.storage.log_for_branch(DEMO))  # on record
    # Released, with a reason as a quarantine has: passed on again to whoever has not
    # seen it.
    with pytest.raises(InvalidInput):
        admin.release_event(hub.storage, poison, by="operator", reason="  ")
    assert admin.list_events(hub.storage, DEMO, quarantined=True)[0]["event_id"] == poison
    admin.release_event(hub.storage, poison, by="operator", reason="已核对")
    newer = _terminal(hub, tmp_path, "newer")
    assert _seen(newer, poison) == "skipped"
    for s in (late, newer):
        s.close()


def test_hub_check_finds_what_an_old_hub_let_in_and_nothing_honest(hub, sender, honest,
                                                                  tmp_path):
    sc.sync_once(sender)
    assert admin.check_log(hub.storage) == []  # what core writes passes today's rules
    policy = _stored_by_an_old_hub(hub, sender.terminal_id, "branch.policy_set",
                                   {"code": DEMO, "back_pay_limit": 60, "pay_ahead_limit": 60})
    foreign = _stored_by_an_old_hub(hub, sender.terminal_id, "help.requested",
                                    {"where": "kiosk", "branch": "OTHER"})
    found = {p["event_id"]: p["code"] for p in admin.check_log(hub.storage, DEMO)}
    assert found == {policy: "not_authorized", foreign: "foreign_branch"}
    db = hub.storage.path
    r = CliRunner().invoke(cli, ["hub", "--db", str(db), "check", "--branch", DEMO])
    assert r.exit_code == 1 and "not_authorized" in r.output and foreign in r.output
    r = CliRunner().invoke(cli, ["hub", "--db", str(db), "check", "--quarantine"])
    assert r.exit_code == 1 and r.output.count("(quarantined)") == 2
    quarantined = admin.list_events(hub.storage, DEMO, quarantined=True)
    assert {e["event_id"] for e in quarantined} == {policy, foreign}
    assert all(e["quarantine_reason"].startswith("hub check: ") for e in quarantined)
    r = CliRunner().invoke(cli, ["hub", "--db", str(db), "events", "list", "--branch", DEMO,
                                 "--quarantined"])
    assert r.exit_code == 0 and r.output.count("QUARANTINED") == 2
    late = _terminal(hub, tmp_path, "late")
    assert _seen(late, policy) is None and _seen(late, foreign) is None
    late.close()
    # A release from the command line names its reason too, and the trail keeps it.
    release = ["hub", "--db", str(db), "events", "release", policy]
    r = CliRunner().invoke(cli, release)
    assert r.exit_code == 2 and "--reason" in r.output
    r = CliRunner().invoke(cli, [*release, "--reason", "   "])
    assert r.exit_code != 0 and "请写明为什么解除隔离" in r.output
    r = CliRunner().invoke(cli, [*release, "--reason", "政策已由服务中心重新发布"])
    assert r.exit_code == 0 and "已解除隔离" in r.output
    [last] = hub.storage.list_actions(limit=1)
    assert (last["action"], json.loads(last["detail"])["reason"]) == \
        ("event.released", "政策已由服务中心重新发布")


def test_no_pin_hash_leaves_the_hub_in_an_event_listing(hub):
    rows = admin.list_events(hub.storage, DEMO, limit=10_000)
    with_pins = [r for r in rows if r["type"] in ("staff.added", "member.added")]
    assert with_pins and all("pin_hash" not in r["payload"] for r in rows)
    assert all(json.loads(r["payload"])["pin_set"] for r in with_pins
               if r["type"] == "staff.added")
    r = CliRunner().invoke(cli, ["hub", "--db", str(hub.storage.path), "events", "list",
                                 "--branch", DEMO, "--limit", "10000", "--json"])
    assert r.exit_code == 0 and "argon2" not in r.output and "pin_hash" not in r.output


def test_skip_reports_are_checked_and_kept_only_for_the_branchs_own_events(hub, sender):
    """A terminal's skip report is input like any other: its shape is checked, and an id
    that is not in its branch's log is not kept."""
    client = sc.open_client(sender)
    with pytest.raises(sc.SyncError) as e:
        client.request("POST", "/v1/push", compress=True,
                       body={"events": [], "audit": [], "skipped": [{"event_id": 1}]})
    assert e.value.code == "bad_batch"
    answer = client.request("POST", "/v1/push", compress=True, body={
        "events": [], "audit": [],
        "skipped": [{"event_id": "no-such-event", "reason": "x"}]}).json()
    assert answer["skips_recorded"] == 0
    assert admin.list_events(hub.storage, DEMO, skipped=True) == []
