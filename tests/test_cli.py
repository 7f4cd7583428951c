"""The `lianxin` command line on real store files: the --json shapes other tools rely on,
staff-confirmed payments, clear errors with exit status 1, and docs that match the code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from core.store import key_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo_db(tmp_path, _demo_template):
    path = tmp_path / "t.db"
    shutil.copy(_demo_template, path)
    shutil.copy(key_path(_demo_template), key_path(path))
    return path


def run(db, *args, env=None, input=None):
    result = CliRunner().invoke(cli, ["--db", str(db), *args], env=env or {}, input=input,
                                catch_exceptions=False)
    return result


def test_member_list_json_shape(demo_db):
    r = run(demo_db, "member", "list", "--json")
    assert r.exit_code == 0
    rows = json.loads(r.output)
    assert len(rows) >= 30
    assert {"member_no", "name", "category"} <= set(rows[0])
    assert {"QS001", "张三丰"} <= {rows[0]["member_no"], rows[0]["name"]}


@pytest.mark.parametrize("args,fen", [
    (["--category", "employed", "--income", "3000.00"], 1500),
    (["--category", "employed", "--income", "3000.01"], 3000),
    (["--category", "retired", "--income", "5000.01"], 5000),
    (["--category", "subsistence"], 20),
    (["--category", "farmer", "--farmer-yuan", "0.5"], 50),
])
def test_dues_quote_json(args, fen):
    r = CliRunner().invoke(cli, ["dues", "quote", *args, "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["monthly_fen"] == fen
    assert d["monthly_yuan"] == f"{fen // 100}.{fen % 100:02d}"
    assert d["rule"]


def test_quote_needs_income(tmp_path):
    r = CliRunner().invoke(cli, ["dues", "quote", "--category", "employed"])
    assert r.exit_code == 1
    assert "请填写每月收入" in r.output


def test_pay_with_staff_pin_then_status(demo_db):
    before = json.loads(run(demo_db, "dues", "status", "QS004", "--json").output)
    assert len(before["months_owed"]) == 3
    r = run(demo_db, "dues", "pay", "QS004", "--months", "3", "--staff", "S02", "--json",
            env={"LIANXIN_STAFF_PIN": "2468"})
    assert r.exit_code == 0, r.output
    receipt = json.loads(r.output)
    assert receipt["months"] == before["months_owed"]
    assert receipt["amount_fen"] == before["amount_owed_fen"]
    after = json.loads(run(demo_db, "dues", "status", "QS004", "--json").output)
    assert after["months_owed"] == [] and after["amount_owed_fen"] == 0
    history = json.loads(run(demo_db, "dues", "history", "QS004", "--json").output)
    assert history[-1]["receipt_no"] == receipt["receipt_no"]


def test_wrong_staff_pin_is_refused_in_chinese(demo_db):
    r = run(demo_db, "dues", "pay", "QS004", "--months", "1", "--staff", "S02",
            env={"LIANXIN_STAFF_PIN": "0000"})
    assert r.exit_code == 1
    assert "密码不对，还可以再试4次" in r.output
    assert "AuthError" in r.output
    status = json.loads(run(demo_db, "dues", "status", "QS004", "--json").output)
    assert len(status["months_owed"]) == 3  # nothing recorded


def test_staff_changes_their_own_pin_with_the_current_one(demo_db):
    r = run(demo_db, "staff", "set-pin", "S02", env={"LIANXIN_STAFF_PIN": "0000"},
            input="1357\n1357\n")
    assert r.exit_code == 1 and "密码不对" in r.output  # the current PIN first
    r = run(demo_db, "staff", "set-pin", "S02", env={"LIANXIN_STAFF_PIN": "2468"},
            input="1357\n1357\n")
    assert r.exit_code == 0 and "本机马上可用" in r.output, r.output
    r = run(demo_db, "dues", "pay", "QS004", "--months", "1", "--staff", "S02",
            env={"LIANXIN_STAFF_PIN": "1357"})
    assert r.exit_code == 0, r.output
    r = run(demo_db, "dues", "pay", "QS004", "--months", "1", "--staff", "S02",
            env={"LIANXIN_STAFF_PIN": "2468"})
    assert r.exit_code == 1


def test_voice_messages_listed_exported_and_kept_for_the_days_staff_set(demo_db, tmp_path):
    import math
    import struct

    from core import calls
    from core.store import Store

    pcm = struct.pack("<8000h", *(int(5000 * math.sin(i / 3)) for i in range(8000)))
    with Store.open(demo_db) as s:
        saved = calls.save_message(s, pcm, 8000, caller="13800000004", member_no="QS004")
    r = run(demo_db, "calls", "messages")
    assert r.exit_code == 0 and saved["message_id"] in r.output and "未听" in r.output
    out = tmp_path / "m.wav"
    staff = {"LIANXIN_STAFF_PIN": "2468"}
    r = run(demo_db, "calls", "export", saved["message_id"], str(out), "--staff", "S01", env=staff)
    assert r.exit_code == 0 and out.stat().st_size > len(pcm), r.output
    r = run(demo_db, "calls", "export", saved["message_id"], str(out), "--staff", "S01", env=staff)
    assert r.exit_code == 2 and "already exists" in r.output
    assert "一直保存" in run(demo_db, "calls", "retention").output
    assert run(demo_db, "calls", "retention", "30").exit_code == 2  # needs --staff
    r = run(demo_db, "calls", "retention", "30", "--staff", "S01", env=staff)
    assert r.exit_code == 0 and "保存30天" in r.output, r.output
    r = run(demo_db, "calls", "retention", "off", "--staff", "S01", env=staff)
    assert "一直保存" in r.output


def test_calls_show_prints_the_timeline(demo_db):
    from core import calls
    from core.store import Store

    timeline = [
        {"t_ms": 0, "kind": "say", "id": "phone.hello", "text": "连心热线，请输入编号，按井号结束。",
         "end_ms": 6420, "cut": True},
        {"t_ms": 700, "kind": "key", "key": "4"},
        {"t_ms": 9100, "kind": "key", "key": "•"},
        {"t_ms": 12000, "kind": "phrase", "text": "党费", "confidence": 0.91},
    ]
    with Store.open(demo_db) as s:
        calls.record_call(s, call_id="c-7", caller="13800000004",
                          started_at="2026-11-15T10:00:00+08:00",
                          ended_at="2026-11-15T10:00:30+08:00", member_no="QS004",
                          path=["ask_number", "ask_pin", "pin_ok"], outcome="hung_up",
                          timeline=timeline)
    r = run(demo_db, "calls", "show", "c-7")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert "QS004" in lines[0] and "30秒" in lines[0]
    assert any("0.0–6.4" in x and "播放：连心热线" in x and "被打断" in x for x in lines)
    assert any("按键：4" in x for x in lines) and any("按键：（密码）" in x for x in lines)
    assert any("说：党费" in x for x in lines)
    shown = json.loads(run(demo_db, "calls", "show", "c-7", "--json").output)
    assert shown["timeline"] == timeline and shown["call_id"] == "c-7"
    listed = json.loads(run(demo_db, "calls", "list", "--json").output)
    assert listed[0]["timeline"] == timeline
    assert "c-7" in run(demo_db, "calls", "list").output
    r = run(demo_db, "calls", "show", "nope")
    assert r.exit_code == 1 and "没有找到这个来电记录" in r.output


def test_back_pay_over_limit_needs_override(demo_db):
    env = {"LIANXIN_STAFF_PIN": "2468"}
    r = run(demo_db, "dues", "pay", "QS008", "--months", "8", "--staff", "S01", env=env)
    assert r.exit_code == 1 and "需要工作人员填写原因" in r.output
    r = run(demo_db, "dues", "pay", "QS008", "--months", "8", "--staff", "S01",
            "--override-reason", "住院半年，支部同意补交", "--json", env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["override_reason"] == "住院半年，支部同意补交"


def test_init_creates_no_credentials_and_refuses_twice(tmp_path):
    db = tmp_path / "new.db"
    r = run(db, "init", "--branch", "新村党支部")
    assert r.exit_code == 0, r.output
    assert (key_path(db).stat().st_mode & 0o777) == 0o600
    staff = json.loads(run(db, "staff", "list", "--json").output)
    assert staff == []
    r = run(db, "init", "--branch", "新村党支部")
    assert r.exit_code == 1 and "已经有数据" in r.output


def test_missing_store_is_a_clear_error_and_creates_nothing(tmp_path):
    db = tmp_path / "absent.db"
    r = run(db, "member", "list")
    assert r.exit_code == 1
    assert "还没有建立数据" in r.output
    assert not db.exists()


def test_demo_command_creates_then_shows(tmp_path):
    db = tmp_path / "demo.db"
    r = run(db, "demo", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["members"] >= 30 and d["lessons"] >= 8 and d["audit_ok"] is True
    again = json.loads(run(db, "demo", "--json").output)
    assert again["journal_events"] == d["journal_events"]  # shown, not loaded twice


def test_audit_verify_and_study(demo_db):
    r = run(demo_db, "audit", "verify", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["ok"] is True
    recs = json.loads(run(demo_db, "study", "recommend", "QS001", "--json").output)
    assert recs[0]["reason_zh"] == "支部布置的学习内容"


def test_member_show_is_audited(demo_db):
    from core.store import Store

    run(demo_db, "member", "show", "QS001")
    with Store.open(demo_db) as s:
        last = s.one("SELECT action, subject FROM audit ORDER BY seq DESC LIMIT 1")
    assert last == {"action": "read", "subject": "member:QS001"}


def test_console_script_runs():
    exe = Path(sys.executable).parent / "lianxin"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    assert "dues" in out and "member" in out


def test_cli_docs_are_current():
    # render() runs the installed `lianxin … --help` (else `python -m cli`) for every command
    # and subcommand in subprocesses: the docs are compared with what operators really see.
    sys.path.insert(0, str(ROOT / "scripts"))
    import gen_cli_docs

    assert Path(gen_cli_docs.entry_point()[0]).name in ("lianxin", Path(sys.executable).name)
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == gen_cli_docs.render(), \
        "docs/cli.md is stale: run `make docs`"


def test_every_setting_is_documented():
    from core.config import SETTINGS

    ops = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for s in SETTINGS.values():
        assert f"`{s.env}`" in ops, f"{s.env} is not in docs/operations.md"


def test_public_surface():
    import core

    for name in core.__all__:
        assert hasattr(core, name)


def test_voice_say_import_list_remove(tmp_path, demo_db):
    wav = tmp_path / "hello.wav"
    r = run(demo_db, "voice", "say", "您好，欢迎使用连心", "--out", str(wav))
    assert r.exit_code == 0, r.output
    assert wav.stat().st_size > 16000  # >0.5 s of 16 kHz speech
    env = {"LIANXIN_VOICE_DIR": str(tmp_path / "voice")}
    prompts = json.loads(run(demo_db, "voice", "list", "--json", env=env).output)
    pid = prompts[0]["prompt_id"]
    fixed = next(p["prompt_id"] for p in prompts if p["fixed"])
    assert run(demo_db, "voice", "import", fixed, str(wav), env=env).exit_code == 0
    after = {p["prompt_id"]: p["override"] for p in
             json.loads(run(demo_db, "voice", "list", "--json", env=env).output)}
    assert after[fixed] == "ok" and pid in after
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF" + b"\0" * 10)
    r = run(demo_db, "voice", "import", fixed, str(bad), env=env)
    assert r.exit_code == 1 and "错误" in r.output
    assert "已删除录音" in run(demo_db, "voice", "remove", fixed, env=env).output
