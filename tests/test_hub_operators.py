"""Operator accounts (sync.hub.operators, ``lianxin hub operator …``): roles and scope,
passwords and lockout, and the hash-chained trail of what operators did."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from cli.main import cli
from core.clock import CST, FixedClock
from core.errors import AuthError, InvalidInput, Locked
from sync.hub import admin, operators
from sync.hub.operators import Actor, Forbidden

NOW = datetime(2026, 11, 15, 9, 0, tzinfo=CST)
CLI = Actor("cli:test")


@pytest.fixture
def hub(hub_storage):
    admin.load_demo(hub_storage, people=True, second_township=False)  # DEMO-QSC, operators
    admin.create_branch(hub_storage, code="BS-1", name="白沙社区党支部", township="白沙镇")
    return hub_storage


def test_roles_see_their_own_branches_only(hub):
    county = hub.get_operator("demo-county")
    town = hub.get_operator("demo-town")
    sec = operators.add(hub, CLI, username="bs-sec", name="赵书记", role="branch_secretary",
                        branch="BS-1", password="baisha-2026")
    assert operators.branches_in_scope(hub, county) == ["BS-1", "DEMO-QSC"]
    assert operators.branches_in_scope(hub, town) == ["DEMO-QSC"]
    assert operators.branches_in_scope(hub, sec) == ["BS-1"]
    operators.require_branch(hub, town, "DEMO-QSC", write=True)
    with pytest.raises(Forbidden) as e:
        operators.require_branch(hub, town, "BS-1")
    assert "权限" in e.value.zh
    operators.require_branch(hub, sec, "BS-1")
    with pytest.raises(Forbidden, match="read-only"):
        operators.require_branch(hub, sec, "BS-1", write=True)


@pytest.mark.parametrize("kw, zh", [
    ({"role": "township_operator", "township": "火星镇"}, "乡镇"),
    ({"role": "branch_secretary", "branch": "NOPE"}, "支部代码"),
    ({"role": "king"}, "角色"),
    ({"role": "county_admin", "password": "short1"}, "至少"),
    ({"role": "county_admin", "password": "1234567890"}, "数字"),
    ({"role": "county_admin", "password": "New-Person"}, "用户名"),
    ({"role": "county_admin", "username": "two words"}, "空格"),
    ({"role": "county_admin", "username": "demo-town"}, "已经有人用"),
])
def test_bad_accounts_are_refused_in_plain_chinese_and_nothing_is_added(hub, kw, zh):
    before = operators.list_all(hub)
    args = {"username": "new-person", "name": "新人", "password": "good-pass-1", **kw}
    with pytest.raises(InvalidInput) as e:
        operators.add(hub, CLI, **args)
    assert zh in e.value.zh
    assert operators.list_all(hub) == before


def test_five_wrong_passwords_lock_for_15_minutes_and_the_right_one_waits(hub):
    clock = FixedClock(NOW)
    for _ in range(operators.MAX_TRIES - 1):
        with pytest.raises(AuthError) as e:
            operators.authenticate(hub, "demo-town", "wrong-pass", source="10.0.0.9",
                                   clock=clock)
        assert not isinstance(e.value, Locked)
    with pytest.raises(AuthError):
        operators.authenticate(hub, "demo-town", "wrong-pass", source="10.0.0.9", clock=clock)
    with pytest.raises(Locked):   # the right password is refused while locked
        operators.authenticate(hub, "demo-town", admin.DEMO_OPERATOR_PASSWORD,
                               source="10.0.0.9", clock=clock)
    later = FixedClock(NOW + timedelta(minutes=operators.LOCK_MINUTES, seconds=1))
    row = operators.authenticate(hub, "demo-town", admin.DEMO_OPERATOR_PASSWORD,
                                 source="10.0.0.9", clock=later)
    assert row["username"] == "demo-town" and row["failed"] == 0 and "pw_hash" not in row


def test_unknown_disabled_and_wrong_get_the_same_answer(hub):
    operators.disable(hub, CLI, "demo-county")
    answers = set()
    for user, pw in (("nobody", "whatever-1"), ("demo-county", admin.DEMO_OPERATOR_PASSWORD),
                     ("demo-town", "wrong-pass")):
        with pytest.raises(AuthError) as e:
            operators.authenticate(hub, user, pw, source="10.0.0.9")
        answers.add(e.value.zh)
    assert answers == {"用户名或密码不对。"}
    with pytest.raises(Forbidden):
        operators.require_branch(hub, hub.get_operator("demo-county"), "DEMO-QSC")


def test_a_new_password_works_and_lifts_a_lock(hub):
    for _ in range(operators.MAX_TRIES):
        with pytest.raises(AuthError):
            operators.authenticate(hub, "demo-town", "wrong-pass", source="x")
    operators.set_password(hub, CLI, "demo-town", "fresh-pass-2")
    assert operators.authenticate(hub, "demo-town", "fresh-pass-2", source="x")
    with pytest.raises(AuthError):
        operators.authenticate(hub, "demo-town", admin.DEMO_OPERATOR_PASSWORD, source="x")


def test_the_trail_records_who_what_and_where_and_catches_an_edit(hub):
    with pytest.raises(AuthError):
        operators.authenticate(hub, "demo-town", "wrong-pass", source="192.168.1.7")
    operators.authenticate(hub, "demo-town", admin.DEMO_OPERATOR_PASSWORD,
                           source="192.168.1.7")
    trail = operators.trail(hub)
    assert trail["chain_broken_at"] is None
    newest = trail["actions"][:2]
    assert [(a["operator"], a["source"], a["action"]) for a in newest] == [
        ("demo-town", "192.168.1.7", "login"), ("demo-town", "192.168.1.7", "login.failed")]
    assert all("pw" not in a["detail"] for a in trail["actions"])
    # Someone with the database key rewrites history: the chain says where.
    with hub.transaction():
        hub.conn.execute("DROP TRIGGER operator_action_no_update"
                         + (" ON operator_action" if hub.postgres else ""))
        hub.conn.execute("UPDATE operator_action SET source = '127.0.0.1' WHERE seq = 3")
    assert operators.trail(hub)["chain_broken_at"] == 3


def test_the_cli_adds_lists_disables_and_resets(hub, tmp_path):
    db = str(hub.path)
    hub.close()
    runner = CliRunner()

    def run(*args, stdin=None):
        return runner.invoke(cli, ["hub", "--db", db, "operator", *args], input=stdin)

    r = run("add", "li-town", "--name", "李干事", "--role", "township_operator",
            "--township", "白沙镇", "--password-stdin", stdin="baisha-pass-1\n")
    assert r.exit_code == 0 and "已添加操作员 li-town" in r.output, r.output
    r = run("add", "x", "--name", "某", "--role", "county_admin", "--password-stdin",
            stdin="123\n")
    assert r.exit_code != 0 and "密码至少要8个字符" in r.output
    listed = json.loads(run("list", "--json").output)
    assert {o["username"] for o in listed} == {"demo-county", "demo-town", "li-town"}
    assert all("pw_hash" not in o for o in listed)
    assert run("disable", "li-town").exit_code == 0
    assert run("passwd", "demo-town", "--password-stdin", stdin="another-pass-3\n").exit_code == 0
    log = json.loads(run("log", "--json").output)
    assert log["chain_broken_at"] is None
    assert [a["action"] for a in log["actions"][:3]] == [
        "operator.password_set", "operator.disabled", "operator.added"]
    assert log["actions"][0]["operator"].startswith("cli:")
    assert "记录完整" in run("log").output


def test_what_the_cli_changes_is_on_the_operators_trail(hub, tmp_path):
    """Operators act through the console or the CLI; the trail holds both (the CLI as
    ``cli:<user>`` from ``local``), with the console's action names."""
    db = str(hub.path)
    hub.close()
    runner = CliRunner()

    def run(*args):
        r = runner.invoke(cli, ["hub", "--db", db, *args])
        assert r.exit_code == 0, r.output
        return r.output

    run("branch", "create", "--code", "HS-1", "--name", "河上村党支部", "--township", "白沙镇")
    run("enroll-code", "--branch", "HS-1")
    run("policy", "set", "--branch", "HS-1", "--back-pay-limit", "3", "--pay-ahead-limit", "12")
    run("notice", "post", "--branch", "HS-1", "--title", "开会", "--body", "周五晚上开会")
    log = json.loads(runner.invoke(cli, ["hub", "--db", db, "operator", "log",
                                         "--json"]).output)
    mine = [a for a in log["actions"] if a["operator"].startswith("cli")]
    assert [a["action"] for a in mine[:4]] == [
        "notice.posted", "policy.set", "terminal.enroll_code", "branch.created"]
    assert {a["source"] for a in mine} == {"local"} and log["chain_broken_at"] is None
    assert all("code" not in json.dumps(a.get("detail", "")) for a in mine[:4])
