"""How the `lianxin` command is built and started: the real entry points (`lianxin`,
`python -m cli`) list every command; `lianxin --help` loads none of the parts or their heavy
packages; the root's stored short help of each lazily loaded command is the command's own;
`lianxin hub … --help` needs no hub database, a hub command without one is a usage error
(exit 2), and LIANXIN_HUB_DB stands in for `hub --db`; `hub report` prints a Chinese summary
by default and the report's JSON with `--json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
LIANXIN = Path(sys.executable).with_name("lianxin")
# Packages `lianxin --help` must not import (the parts, and what they pull in).
HEAVY = {"core", "sync", "voice", "kiosk", "requests", "httpx", "fastapi", "uvicorn", "kivy",
         "numpy", "argon2", "sqlcipher3", "sqlite_utils", "pypinyin", "platformdirs", "vosk"}


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")}
    return {**env, "PYTHONUTF8": "1", **extra}


def _run(args, cwd, **env):
    return subprocess.run(args, cwd=cwd, env=_env(**env), capture_output=True, text=True,
                          encoding="utf-8", timeout=60)


def test_python_m_cli_lists_every_command(tmp_path):
    for entry in ([sys.executable, "-m", "cli"], [sys.executable, "-m", "cli.main"]):
        done = _run([*entry, "--help"], ROOT)
        assert done.returncode == 0, done.stderr
        listed = done.stdout.partition("Commands:")[2].split()
        assert set(COMMANDS) <= set(listed), done.stdout


@pytest.mark.skipif(not LIANXIN.exists(), reason="the lianxin script is not installed")
def test_hub_help_needs_no_database(tmp_path):
    for args in (["hub", "--help"], ["hub", "report", "--help"], ["hub", "branch", "create", "-h"]):
        done = _run([str(LIANXIN), *args], tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"Usage: lianxin {' '.join(args[:-1])} "), done.stdout
    assert list(tmp_path.iterdir()) == []  # nothing was created


@pytest.mark.skipif(not LIANXIN.exists(), reason="the lianxin script is not installed")
def test_hub_command_without_database_is_a_usage_error(tmp_path):
    done = _run([str(LIANXIN), "hub", "report", "--branch", "DEMO-QSC", "--month", "2026-11"],
                tmp_path)
    assert done.returncode == 2
    assert "Missing --db / LIANXIN_HUB_DB" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_root_help_imports_no_part_nor_heavy_package():
    code = ("import sys\nfrom cli.main import cli\n"
            "try:\n    cli.main(['--help'], prog_name='lianxin')\nexcept SystemExit:\n    pass\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {HEAVY!r}))")
    done = _run([sys.executable, "-c", code], ROOT)
    assert done.returncode == 0, done.stderr
    assert "Commands:" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_stored_short_help_is_the_commands_own(name):
    cmd = cli.load(name)
    assert cmd.name == name
    assert COMMANDS[name][1] == cmd.get_short_help_str(limit=10_000), \
        f"update cli/main.py COMMANDS[{name!r}] from the command's docstring"


@pytest.fixture
def hub_db(tmp_path, clock):
    from sync.hub import admin, open_hub

    path = tmp_path / "hub.db"
    storage = open_hub(path)
    admin.load_demo(storage, clock=clock, people=True)  # what `lianxin hub demo` loads
    storage.close()
    return path


def _hub(*args, env=None):
    return CliRunner().invoke(cli, ["hub", *args], env=env or {}, catch_exceptions=False)


def test_hub_db_from_the_environment(hub_db):
    r = _hub("branch", "list", env={"LIANXIN_HUB_DB": str(hub_db)})
    assert r.exit_code == 0, r.output
    assert "DEMO-QSC" in r.output


def test_hub_report_json_is_the_report(hub_db):
    from sync.hub import admin, open_hub

    r = _hub("--db", str(hub_db), "report", "--branch", "DEMO-QSC", "--month", "2026-11", "--json")
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    storage = open_hub(hub_db)
    try:
        want = admin.branch_report(storage, "DEMO-QSC", "2026-11")
    finally:
        storage.close()
    assert got.pop("generated_at") and want.pop("generated_at")
    assert got == json.loads(json.dumps(want, default=str))


def test_hub_report_reads_as_chinese_text(hub_db):
    r = _hub("--db", str(hub_db), "report", "--branch", "DEMO-QSC", "--month", "2026-11")
    assert r.exit_code == 0, r.output
    text = r.output
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert text.startswith("清水村党支部（DEMO-QSC，青石镇）2026年11月 月报\n")
    assert "收缴率 0.0%" in text and "应交 312.40 元" in text
    assert "其中逾期 3 个月以上 5 人，6 个月以上 2 人" in text
    assert "QS008    张玉兰  逾期 7 个月（最早欠 2026年4月），共欠 1.60 元  ★需跟进" in text
    assert "【终端】0 台" in text and "【待处理】\n  没有" in text


def test_report_text_names_what_waits():
    from cli.hub_review_cmds import report_text

    d = {"branch": {"code": "T", "name": "测试村党支部", "township": ""}, "month": "2026-11",
         "generated_at": "2026-11-15T10:00:00.000+08:00",
         "members": {"known": 3, "accepted": 2, "awaiting_acceptance": 1, "rejected": 0,
                     "active": 3, "proposals_pending": 2},
         "dues": {"expected_fen": 300, "collected_fen": 200, "received": [
             {"terminal_id": "a", "kind": "pay", "entries": 2, "fen": 300}], "received_fen": 300,
             "ledger": [{"terminal_id": "a", "entries": 5, "fen": 900}], "ledger_fen": 900},
         "members_behind": [{"member_no": "T1", "name": "李四", "months_owed": ["2026-11"],
                             "overdue_months": 0, "amount_owed_fen": 100}],
         "study": {"hours": 1.5, "seconds": 5400, "sessions": 3, "members": 2, "completed": 1},
         "double_payments": [{"member_no": "T2", "month": "2026-10", "terminals": ["a", "b"],
                              "amount_fen": 200, "flagged_at": "", "entries": []}],
         "terminals": [{"terminal_id": "0123456789ab", "label": "活动室",
                        "last_seen": "2026-11-15T02:13:00.000+08:00", "pending": 4,
                        "revoked": False}]}
    text = report_text(d)
    assert "测试村党支部（T）2026年11月 月报" in text
    assert "收缴率 66.7%" in text and "本月收到 3.00 元（2 笔）" in text
    assert "另有 1 人逾期不到 3 个月" in text
    assert "学时 1.5 小时，3 次学习，2 名党员参加" in text
    assert "01234567 活动室  最后联系 2026-11-15 02:13  待传 4 条" in text
    assert "名册修改 2 条待审核" in text and "1 人待接受" in text
    assert "重复交费 1 笔待核对" in text and "T2       2026年10月  2.00 元，2 台终端" in text
