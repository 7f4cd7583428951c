"""Hub administration of a branch's people: roster import, staff, the demo branch, and the
commands behind them. The hub is a real process (tests/hub_fixtures.py) on 127.0.0.1; terminals
are real encrypted stores in their own folders.

Pins: a CSV/XLSX roster imported at the hub becomes hub ``member.added`` events carrying the
year's fixed amount (checked by the terminal's own rules, row by row, against the hub's
roster too — accepted members and terminals' pending proposals), nothing of a file with a
bad row unless skipped, nothing in a dry run; an empty terminal enrolled in the branch gets
the members (lookup works, arrears follow the 党费交至 column) and staff made at the hub
(PIN asked twice at the CLI, argon2 hash only) whose PIN works there, and can then record a
payment that reaches the hub. ``hub demo`` gives an empty terminal the same branch as
``lianxin demo``: members with PIN 1234 and the same arrears, staff S01/S02 with 2468,
lessons, notices ``demo-notice-N``, policy; a ``lianxin demo`` terminal in that branch
keeps its own rows. The ``hub roster import``, ``hub staff add``, ``hub policy set``,
``hub lesson publish`` and ``hub notice post`` commands write those events.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cli.main import cli
from core import branch, dues, dues_rules, members, pins, study
from core.clock import CST, FixedClock
from core.errors import AuthError, InvalidInput, NotFound
from core.store import Store
from sync import client as sc
from sync.hub import admin, conflicts, open_hub
from sync.hub import report as hub_report

DEMO = "DEMO-QSC"
NOW = datetime(2026, 11, 15, 10, 0, tzinfo=CST)
HEADER = "党员编号,姓名,类别,月收入（元）,农民党费,入党日期,预备党员,电话,党费交至"
ROWS = [
    "T001,赵大山,farmer,,0.50,1980-05-01,否,13800001001,2026-08",
    "T002,钱小红,退休,4200,,1975-03-12,否,13800001002;0571-88001002,2026-11",
    "T003,孙建设,在职,6500.00,,2026-06-01,是,,",
]


@pytest.fixture
def storage(hub_storage):
    admin.create_branch(hub_storage, code="TEST", name="测试村党支部", township="青石镇",
                        clock=FixedClock(NOW))
    return hub_storage


@pytest.fixture
def hub_url(storage, hub_server):
    return hub_server(storage).url


def _csv(tmp_path: Path, lines: list[str], name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _terminal(tmp_path: Path, name: str) -> Store:
    return Store.create(tmp_path / name / "terminal.db",
                        clock=FixedClock(datetime(2026, 11, 15, 11, 0, tzinfo=CST)))


def _enroll(storage, url: str, store: Store, code: str) -> None:
    sc.enroll(store.path, url, admin.issue_enroll_code(storage, code)["code"])


def _hub_events(storage, code: str, type_: str) -> list[dict]:
    return [{**e, "payload": json.loads(e["payload"])} for e in storage.log_for_branch(code)
            if e["type"] == type_]


def _rows(store: Store) -> list[dict]:
    return store.all("SELECT member_no, name, category, joined, probation, dues_from, status, "
                     "pin_hash, updated_at FROM member ORDER BY member_no")


# -- roster import ---------------------------------------------------------------------

def test_imported_roster_and_hub_staff_reach_an_empty_terminal(storage, hub_url, tmp_path):
    report = admin.import_roster(storage, "TEST", _csv(tmp_path, [HEADER, *ROWS]),
                                 actor="operator", clock=FixedClock(NOW))
    assert (report.ok(), report.imported, report.member_nos) == (True, 3, ["T001", "T002", "T003"])
    added = _hub_events(storage, "TEST", "member.added")
    assert [e["origin"] for e in added] == ["hub"] * 3
    by_no = {e["payload"]["member_no"]: e["payload"] for e in added}
    assert by_no["T002"]["rate"]["year"] == 2026
    assert by_no["T002"]["rate"]["monthly_fen"] == \
        dues_rules.quote("retired", income_fen=420000).monthly_fen
    assert by_no["T001"]["rate"]["monthly_fen"] == 50 and by_no["T001"]["pin_hash"] is None
    assert (by_no["T001"]["dues_from"], by_no["T002"]["dues_from"]) == ("2026-09", "2026-12")
    assert by_no["T003"]["dues_from"] == "2026-06"  # probationary: from joining
    assert {m["member_no"]: m["state"] for m in storage.report_members("TEST")} == \
        {"T001": "accepted", "T002": "accepted", "T003": "accepted"}

    staff = admin.add_staff(storage, "TEST", staff_no="T01", name="李会计", role="collector",
                            pin="1357", clock=FixedClock(NOW))
    [ev] = _hub_events(storage, "TEST", "staff.added")
    assert ev["payload"]["pin_hash"].startswith("$argon2") and "1357" not in json.dumps(ev)
    assert staff["staff_no"] == "T01" and "pin_hash" not in staff

    t = _terminal(tmp_path, "terminal")  # empty: no branch, no staff, no members
    _enroll(storage, hub_url, t, "TEST")
    first = sc.sync_once(t)
    assert (first["pushed"], first["waiting"], first["skipped"]) == (0, 0, 0)
    assert [m["member_no"] for m in members.lookup(t, "zds")] == ["T001"]
    assert [m["member_no"] for m in members.lookup(t, "小红")] == ["T002"]
    assert members.get(t, "T002")["phones"] == ["057188001002", "13800001002"]
    assert dues.status(t, "T001").months_owed == ["2026-09", "2026-10", "2026-11"]
    assert dues.status(t, "T002").months_owed == []
    ok = branch.confirm(t, "T01", "1357")
    with pytest.raises(AuthError):
        branch.confirm(t, "T01", "2468")
    paid = dues.pay(t, "T001", months=1, confirmation=ok)
    assert paid.months == ["2026-09"]
    assert sc.sync_once(t)["pushed"] >= 1
    month = hub_report.build(storage, "TEST", "2026-11")
    assert month["dues"]["ledger_fen"] == 50
    t.close()


def test_a_file_with_bad_rows_imports_nothing_unless_skipped(storage, tmp_path):
    clock = FixedClock(NOW)
    admin.import_roster(storage, "TEST", _csv(tmp_path, [HEADER, ROWS[0]], "first.csv"),
                        clock=clock)
    # A terminal of the branch proposed T009 (a roster edit made at a terminal).
    storage.append_log(branch="TEST", origin="terminal-x", event_id="prop-1", type="member.added",
                       payload=json.dumps({"member_no": "T009", "name": "周末", "category": "student",
                                           "dues_from": "2026-11"}),
                       at="2026-11-15T09:00:00.000+08:00")
    logged = len(storage.log_for_branch("TEST"))
    lines = [HEADER,
             "t001,赵大山,farmer,,0.50,1980-05-01,否,,",     # row 2: already at the hub
             "T004,吴明,学生,,,2001-02-03,否,,",              # row 3: good
             "T005,郑,unknown,,,1999-01-01,否,,",             # row 4: no such category
             "T004,王五,student,,,2000-01-01,否,,",           # row 5: repeats row 3
             "T009,周末,student,,,2003-04-05,否,,",           # row 6: a pending proposal
             "T006,冯丽,retired,4000,,1970-01-01,否,,2027-09"]  # row 7: too far ahead
    path = _csv(tmp_path, lines)
    report = admin.import_roster(storage, "TEST", path, clock=clock)
    assert report.imported == 0 and len(storage.log_for_branch("TEST")) == logged
    got = {(p.row, p.field) for p in report.problems}
    assert got == {(2, "member_no"), (4, "category"), (5, "member_no"), (6, "member_no"),
                   (7, "paid_through")}
    by_row = {p.row: p for p in report.problems}
    assert "服务中心的名册里已经有了" in by_row[2].message_zh
    assert "终端提交" in by_row[6].message_zh and "proposal" in by_row[6].message

    dry = admin.import_roster(storage, "TEST", path, skip_bad_rows=True, dry_run=True,
                              clock=clock)
    assert (dry.imported, dry.member_nos) == (0, ["T004"])
    assert len(storage.log_for_branch("TEST")) == logged

    done = admin.import_roster(storage, "TEST", path, skip_bad_rows=True, clock=clock)
    assert (done.imported, done.member_nos) == (1, ["T004"])
    assert [e["payload"]["member_no"] for e in _hub_events(storage, "TEST", "member.added")
            if e["origin"] == "hub"] == ["T001", "T004"]
    with pytest.raises(NotFound):
        admin.import_roster(storage, "NOPE", path, clock=clock)


def test_xlsx_roster_with_a_title_row(storage, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["清水村党员名册"])
    ws.append(["编号", "姓名", "党员类别", "农民党费", "入党时间", "党费缴至"])
    ws.append(["T100", "陈  春", "农民", 0.3, datetime(1988, 7, 1), "2026年10月"])
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    report = admin.import_roster(storage, "TEST", path, clock=FixedClock(NOW))
    assert report.ok() and report.member_nos == ["T100"]
    [ev] = _hub_events(storage, "TEST", "member.added")
    p = ev["payload"]
    assert (p["name"], p["category"], p["joined"], p["dues_from"]) == \
        ("陈春", "farmer", "1988-07-01", "2026-11")
    assert p["rate"]["monthly_fen"] == 30


def test_staff_add_refusals_append_nothing(storage):
    clock = FixedClock(NOW)
    admin.add_staff(storage, "TEST", staff_no="T01", name="李会计", role="collector",
                    pin="1357", clock=clock)
    logged = len(storage.log_for_branch("TEST"))
    for kw in ({"staff_no": "T01", "name": "别人", "role": "staff", "pin": "2468"},  # taken
               {"staff_no": "T02", "name": "张三", "role": "boss", "pin": "2468"},   # role
               {"staff_no": "T02", "name": "张三", "role": "staff", "pin": "12"}):    # PIN
        with pytest.raises(InvalidInput):
            admin.add_staff(storage, "TEST", clock=clock, **kw)
    with pytest.raises(NotFound):
        admin.add_staff(storage, "NOPE", staff_no="T02", name="张三", role="staff", pin="2468")
    assert len(storage.log_for_branch("TEST")) == logged


# -- the demo branch -------------------------------------------------------------------

@pytest.fixture
def demo_hub(hub_storage, hub_server):
    loaded = admin.load_demo(hub_storage, clock=FixedClock(NOW), people=True)
    assert loaded == {"branch": DEMO, "staff": 2, "members": 34, "lessons": 8, "notices": 4,
                      "operators": ["demo-county", "demo-town"]}
    return hub_server(hub_storage)


def test_hub_demo_gives_an_empty_terminal_the_same_branch(demo_hub, demo_store, tmp_path):
    storage, url = demo_hub.storage, demo_hub.url
    t = _terminal(tmp_path, "empty")
    _enroll(storage, url, t, DEMO)
    report = sc.sync_once(t)
    assert (report["pushed"], report["waiting"], report["skipped"]) == (0, 0, 0)
    assert branch.get(t).code == DEMO and branch.get(t).back_pay_limit == \
        branch.get(demo_store).back_pay_limit
    nos = [r["member_no"] for r in t.all("SELECT member_no FROM member ORDER BY member_no")]
    assert nos == [r["member_no"] for r in
                   demo_store.all("SELECT member_no FROM member ORDER BY member_no")]
    assert members.lookup(t, "zsf")[0]["member_no"] == "QS001"
    pins.verify(t, "member", "QS001", "1234")
    assert branch.confirm(t, "S01", "2468").staff_no == "S01"
    assert branch.confirm(t, "S02", "2468").staff_no == "S02"
    for no in ("QS001", "QS004", "QS008", "QS018", "QS030"):
        theirs, ours = dues.status(demo_store, no), dues.status(t, no)
        assert (ours.months_owed, ours.exempt) == (theirs.months_owed, theirs.exempt), no
    assert len(dues.status(t, "QS008").months_owed) == 8
    assert {r["lesson_id"] for r in study.lessons(t)} == \
        {r["lesson_id"] for r in study.lessons(demo_store)}
    assert study.lesson(t, "02-party-dues")["quiz"] == study.lesson(demo_store, "02-party-dues")["quiz"]
    notices = t.all("SELECT notice_id, title FROM notice ORDER BY notice_id")
    assert notices == demo_store.all("SELECT notice_id, title FROM notice ORDER BY notice_id")
    assert [n["notice_id"] for n in notices] == [f"demo-notice-{i}" for i in range(1, 5)]

    paid = dues.pay(t, "QS004", months=1, confirmation=branch.confirm(t, "S02", "2468"))
    assert paid.months == [dues.status(demo_store, "QS004").months_owed[0]]
    assert sc.sync_once(t)["pushed"] >= 1
    assert hub_report.build(storage, DEMO, "2026-11")["dues"]["ledger_fen"] == paid.amount_fen
    t.close()


def _held(store: Store) -> tuple:
    """What a terminal's roster says, apart from when it was written, how its PINs are
    salted and where its dues history starts (the hub's record replaces those; the
    months each member owes are compared instead)."""
    rows = [{k: v for k, v in r.items() if k not in ("pin_hash", "updated_at", "dues_from")}
            for r in _rows(store)]
    owed = {r["member_no"]: dues.status(store, r["member_no"]).months_owed for r in rows}
    staff = store.all("SELECT staff_no, name, role FROM staff ORDER BY staff_no")
    return rows, owed, staff


def test_a_lianxin_demo_terminal_takes_the_hub_demos_record_unchanged(demo_hub, demo_store):
    """The hub's roster and staff win on the terminal (core.events: hub order); the demo's
    are the same people, amounts and PINs, so nothing a member or staff sees changes."""
    storage, url = demo_hub.storage, demo_hub.url
    before = _held(demo_store)
    _enroll(storage, url, demo_store, DEMO)
    report = sc.sync_once(demo_store)
    assert report["waiting"] == 0 and report["skipped"] == 0
    assert _held(demo_store) == before
    pins.verify(demo_store, "member", "QS001", "1234")
    assert branch.confirm(demo_store, "S01", "2468").staff_no == "S01"
    # Its roster arrives at the hub as proposals for members the hub already holds: the
    # same records, so they are settled by themselves and wait for no one.
    assert conflicts.proposals(storage, DEMO) == []
    decided = conflicts.proposals(storage, DEMO, status=None)
    assert {p["status"] for p in decided} == {"settled"}
    assert len([p for p in decided if p["type"] == "member.added"]) == 34
    assert hub_report.build(storage, DEMO, "2026-11")["members"]["accepted"] == 34


# -- the commands ----------------------------------------------------------------------

def _hub_cli(db: Path, *args, input=None):
    result = CliRunner().invoke(cli, ["hub", "--db", str(db), *args], input=input,
                                catch_exceptions=False)
    return result


def test_hub_admin_commands_write_branch_log_events(tmp_path):
    db = tmp_path / "hub.db"
    r = _hub_cli(db, "demo")
    assert r.exit_code == 0 and json.loads(r.output)["members"] == 34
    assert _hub_cli(db, "branch", "create", "--code", "TEST", "--name", "测试村党支部").exit_code == 0

    path = _csv(tmp_path, [HEADER, *ROWS, "T007,,farmer,,0.5,,否,,"])
    r = _hub_cli(db, "roster", "import", "--branch", "TEST", str(path), "--json")
    assert r.exit_code == 1 and json.loads(r.output)["imported"] == 0
    assert "第5行" in _hub_cli(db, "roster", "import", "--branch", "TEST", str(path)).output
    r = _hub_cli(db, "roster", "import", "--branch", "TEST", str(path), "--skip-bad-rows")
    assert r.exit_code == 0 and "导入 3 人" in r.output

    r = _hub_cli(db, "staff", "add", "--branch", "TEST", "T01", "--name", "李会计",
                 "--role", "collector", input="1357\n1357\n")
    assert r.exit_code == 0 and "1357" not in r.output
    r = _hub_cli(db, "staff", "add", "--branch", "TEST", "T02", "--name", "王会计",
                 "--role", "collector", input="1357\n7531\n1357\n1357\n")  # mistyped once
    assert r.exit_code == 0
    assert _hub_cli(db, "policy", "set", "--branch", "TEST", "--back-pay-limit", "3",
                    "--pay-ahead-limit", "12").exit_code == 0

    audio = tmp_path / "talk.wav"
    audio.write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + os.urandom(4988))   # audio by its bytes
    lesson = tmp_path / "09-winter-fire.toml"
    lesson.write_text('title = "冬季防火"\ncategory = "健康生活"\nminutes = 3\n'
                      'body = """\n出门关火，睡前关电。\n"""\n\n[[quiz]]\n'
                      'question = "睡前要做什么？"\nchoices = ["关电", "开窗"]\nanswer = 0\n',
                      encoding="utf-8")
    r = _hub_cli(db, "lesson", "publish", "--branch", "TEST", str(lesson), "--audio", str(audio))
    assert r.exit_code == 0, r.output
    bad = tmp_path / "bad.toml"
    bad.write_text(lesson.read_text(encoding="utf-8").replace("answer = 0", "answer = 5"),
                   encoding="utf-8")
    assert _hub_cli(db, "lesson", "publish", "--branch", "TEST", str(bad)).exit_code == 1
    assert _hub_cli(db, "notice", "post", "--branch", "TEST", "--title", "开会",
                    "--body", "周五下午开党员大会。", "--posted", "2026-11-20").exit_code == 0

    storage = open_hub(db)
    try:
        log = storage.log_for_branch("TEST")
        types = [e["type"] for e in log]
        assert types == ["branch.created", "member.added", "member.added", "member.added",
                         "staff.added", "staff.added", "branch.policy_set",
                         "lesson.published", "notice.posted"]
        assert all(e["origin"] == "hub" for e in log)
        staff = [json.loads(e["payload"]) for e in log if e["type"] == "staff.added"]
        assert [s["staff_no"] for s in staff] == ["T01", "T02"]
        lesson_ev = json.loads(log[7]["payload"])
        assert (lesson_ev["lesson_id"], lesson_ev["audio_size"], lesson_ev["questions"]) == \
            ("09-winter-fire", 5000, 1)
        assert json.loads(log[8]["payload"])["posted"] == "2026-11-20"
        assert storage.get_branch("TEST")["back_pay_limit"] == 3
        assert {b["code"] for b in admin.list_branches(storage)} == {DEMO, "TEST"}
    finally:
        storage.close()
