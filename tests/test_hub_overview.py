"""The overview of many branches (sync.hub.overview) keeps each branch's figures under the
branch's version: what it shows after a payment is pushed, a member proposed at a terminal,
and that proposal rejected, is what working the figures out afresh gives — never a stale
copy. A real hub process receives the pushes; this test's own storage reads the file."""

from __future__ import annotations

from console_fixtures import DEMO

from core import branch, dues, members
from sync import client as sc
from sync.hub import conflicts, overview


def _row(storage) -> dict:
    [row] = overview.overview(storage, [DEMO])["branches"]
    return row


def _afresh(storage, month: str) -> dict:
    conflicts.catch_up(storage)
    return overview.branch_figures(storage, DEMO, month)


def test_kept_figures_follow_pushes_and_decisions(console_hub, demo_store):
    storage = console_hub.storage
    first = overview.overview(storage, [DEMO])
    month = first["month"]
    before = first["trend"][-1]
    assert overview.overview(storage, [DEMO]) == first          # kept, same answer

    behind = [m for m in members.list_all(demo_store) if m["member_no"] == "QS004"]
    assert behind
    dues.pay(demo_store, "QS004", months=1,
             confirmation=branch.confirm(demo_store, "S02", "2468"))
    sc.sync_once(demo_store)
    paid = overview.overview(storage, [DEMO])
    assert paid["trend"] != first["trend"] or paid["branches"] != first["branches"]
    fresh = _afresh(storage, month)
    assert paid["branches"][0]["behind_3"] == fresh["behind_3"]
    assert paid["trend"][-1]["collected_fen"] == fresh["trend"][-1]["collected_fen"]

    members.add(demo_store, member_no="QS098", name="孙新来", category="farmer",
                farmer_fen=50, actor="staff:S01")
    sc.sync_once(demo_store)
    proposed = overview.overview(storage, [DEMO])
    assert proposed["branches"][0]["waiting"]["proposals"] == 1
    assert proposed["trend"][-1]["expected_fen"] == before["expected_fen"] + 50
    [p] = [p for p in conflicts.proposals(storage, DEMO) if p["member_no"] == "QS098"]
    conflicts.reject(storage, p["event_id"], by="test")        # no log event: a new version
    rejected = overview.overview(storage, [DEMO])
    assert rejected["branches"][0]["waiting"]["proposals"] == 0
    assert rejected["trend"][-1]["expected_fen"] == before["expected_fen"]
    assert rejected["branches"][0] == {**rejected["branches"][0],
                                       **{k: v for k, v in _afresh(storage, month).items()
                                          if k != "trend"}}


def test_the_refresher_keeps_every_changed_branch(hub_storage):
    from sync.hub import admin

    admin.load_demo(hub_storage, people=True, second_township=False)
    admin.create_branch(hub_storage, code="BS-1", name="白沙社区党支部", township="白沙镇")
    assert overview.refresh(hub_storage) == 2
    assert overview.refresh(hub_storage) == 0          # nothing changed
    admin.post_notice(hub_storage, "BS-1", title="通知", body="开会", posted="2026-11-30")
    # While pushes come, the figures wait: a night is not slowed down for the morning's view.
    refresher = overview.Refresher(hub_storage)
    assert not refresher.busy()
    with hub_storage.group_transaction():
        pass
    assert refresher.busy()
    assert overview.refresh(hub_storage, busy=refresher.busy) == 0
    assert overview.refresh(hub_storage) == 1          # only the branch whose log grew
