"""A new terminal enrolls straight from a hub, and a roster the hub already holds waits for no one.

Pins: `lianxin enroll` on a path with no store makes the encrypted store and keys (0600)
bound to the code's branch, and the first `lianxin sync` brings roster, staff with their
PINs, policy, lessons and notices; a wrong or used code leaves nothing behind (no store, no
key, no staging folder); an attempt that never reached the hub keeps its identity aside
and the same command later finishes it. A terminal's proposal equal to the hub's record is
settled by itself (on record, not pending); a real difference still waits for the operator.
"""

from __future__ import annotations

import os
from datetime import datetime

import pytest
from click.testing import CliRunner
from hub_fixtures import serve
from hubproc import free_port

from cli.main import cli
from core import branch, members, study
from core.clock import CST, FixedClock
from core.store import Store
from core.store import key_path as store_key_path
from sync import client as sc
from sync.hub import admin
from sync.hub import report as hub_report

DEMO = "DEMO-QSC"
NOW = datetime(2026, 11, 15, 10, 0, tzinfo=CST)


@pytest.fixture(scope="module")
def demo_hub(tmp_path_factory, new_hub_storage):
    storage = new_hub_storage(tmp_path_factory.mktemp("demo-hub"))
    admin.load_demo(storage, clock=FixedClock(NOW), people=True)
    with serve(storage) as hub:
        yield storage, hub.url
    storage.close()


def _cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _leftovers(path):
    return sorted(p.name for p in path.parent.iterdir())


def test_enroll_on_an_empty_path_then_sync_brings_the_whole_branch(demo_hub, tmp_path):
    storage, url = demo_hub
    db = tmp_path / "new" / "terminal.db"
    code = admin.issue_enroll_code(storage, DEMO)["code"]
    r = _cli("--db", db, "enroll", "--hub", url, "--code", code, "--label", "新活动室")
    assert r.exit_code == 0, r.output
    assert "清水村党支部" in r.output and "lianxin sync" in r.output
    assert _leftovers(db) == ["terminal.db", "terminal.db.ed25519", "terminal.db.key"]
    for secret in (store_key_path(db), sc.key_path(db)):
        assert oct(os.stat(secret).st_mode & 0o777) == "0o600"

    r = _cli("--db", db, "sync", "--json")
    assert r.exit_code == 0, r.output
    with Store.open(db, clock=FixedClock(NOW)) as t:
        assert t.meta("sync.branch") == DEMO and branch.get(t).code == DEMO
        assert len(members.list_all(t)) == 34
        assert branch.confirm(t, "S01", "2468").staff_no == "S01"
        assert branch.get(t).back_pay_limit == 6
        assert len(study.lessons(t)) == 8
        assert t.one("SELECT count(*) AS n FROM notice")["n"] == 4
    [row] = [x for x in admin.list_terminals(storage) if x["label"] == "新活动室"]
    assert row["branch"] == DEMO


@pytest.mark.parametrize("used", [False, True])
def test_a_wrong_or_used_code_leaves_nothing_behind(demo_hub, tmp_path, used):
    storage, url = demo_hub
    code = "AAAA-BBBB-CCCC"
    if used:
        code = admin.issue_enroll_code(storage, DEMO)["code"]
        first = tmp_path / "first" / "terminal.db"
        assert _cli("--db", first, "enroll", "--hub", url, "--code", code).exit_code == 0
    db = tmp_path / "new" / "terminal.db"
    db.parent.mkdir()
    r = _cli("--db", db, "enroll", "--hub", url, "--code", code)
    assert r.exit_code == 1
    assert "注册码" in r.output and "bad_code" in r.output
    assert _leftovers(db) == []


def test_an_attempt_that_never_reached_the_hub_is_finished_by_the_same_command(demo_hub,
                                                                               tmp_path):
    storage, url = demo_hub
    db = tmp_path / "new" / "terminal.db"
    code = admin.issue_enroll_code(storage, DEMO)["code"]
    down = f"http://127.0.0.1:{free_port()}"
    r = _cli("--db", db, "enroll", "--hub", down, "--code", code)
    assert r.exit_code == 1 and "连不上服务中心" in r.output
    assert not db.exists() and sc.staging_dir(db).is_dir()  # nothing at the path itself
    staged_id = Store.open(sc.staging_dir(db) / db.name).terminal_id
    r = _cli("--db", db, "enroll", "--hub", url, "--code", code)
    assert r.exit_code == 0, r.output
    assert not sc.staging_dir(db).exists()
    with Store.open(db) as t:
        assert t.terminal_id == staged_id and t.meta("sync.hub_url") == url


def test_the_demo_terminals_roster_is_settled_by_itself(demo_hub, demo_store):
    storage, url = demo_hub
    sc.enroll(demo_store.path, url, admin.issue_enroll_code(storage, DEMO)["code"])
    sc.sync_once(demo_store)
    assert admin.proposals(storage, DEMO) == []
    mine = [p for p in admin.proposals(storage, DEMO, status=None)
            if p["origin"] == demo_store.terminal_id]
    assert len([p for p in mine if p["type"] == "member.added"]) == 34
    assert {p["type"] for p in mine} == {"member.added", "member.rate_fixed", "staff.added"}
    assert {(p["status"], p["decided_by"], p["note"]) for p in mine} == \
        {("settled", "hub", "same as the hub's record")}
    assert hub_report.build(storage, DEMO, "2026-11")["members"]["proposals_pending"] == 0

    # A real difference still waits: a new member, and a name the hub does not hold.
    members.add(demo_store, member_no="QS099", name="李新来", category="farmer",
                farmer_fen=50, actor="test")
    members.update(demo_store, "QS001", name="张三峰", actor="test")
    members.update(demo_store, "QS002", phones=members.get(demo_store, "QS002")["phones"],
                   actor="test")  # the same phones again: nothing to decide
    sc.sync_once(demo_store)
    waiting = {(p["type"], p["member_no"]) for p in admin.proposals(storage, DEMO)
               if p["origin"] == demo_store.terminal_id}
    assert waiting == {("member.added", "QS099"), ("member.updated", "QS001")}


def test_a_staging_store_killed_while_being_made_is_made_again(demo_hub, tmp_path):
    storage, url = demo_hub
    db = tmp_path / "new" / "terminal.db"
    sc.staging_dir(db).mkdir(parents=True)
    (sc.staging_dir(db) / db.name).write_bytes(b"")  # what a kill during Store.create leaves
    code = admin.issue_enroll_code(storage, DEMO)["code"]
    r = _cli("--db", db, "enroll", "--hub", url, "--code", code)
    assert r.exit_code == 0, r.output
    assert _leftovers(db) == ["terminal.db", "terminal.db.ed25519", "terminal.db.key"]
