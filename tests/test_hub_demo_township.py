"""``lianxin hub demo`` loads a second township: 白沙镇's 白沙社区党支部 (DEMO-BSC) with its
own members and months of dues and study, pushed by a demo terminal enrolled at the hub the
way real history arrives; the console shows its figures to the county, not to 青石镇's
operator; ``lianxin hub check`` finds nothing wrong."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cli.main import cli
from core.clock import add_months
from sync.hub import admin, open_hub, operators, report
from sync.hub.console import views

BSC = "DEMO-BSC"


def test_hub_demo_loads_the_second_township_with_history(tmp_path):
    db = tmp_path / "hub.db"
    r = CliRunner().invoke(cli, ["hub", "--db", str(db), "demo"])
    assert r.exit_code == 0, r.output
    loaded = json.loads(r.output)["second_township"]
    assert (loaded["branch"], loaded["township"], loaded["members"]) == (BSC, "白沙镇", 12)
    assert loaded["payments"] > 30 and loaded["study_sessions"] > 20
    assert loaded["events_pushed"] == loaded["payments"] + loaded["study_sessions"]

    r = CliRunner().invoke(cli, ["hub", "--db", str(db), "check"])
    assert r.exit_code == 0 and "没有发现违反规则的记录" in r.output, r.output

    storage = open_hub(db)
    try:
        branch = storage.get_branch(BSC)
        assert (branch["name"], branch["township"]) == ("白沙社区党支部", "白沙镇")
        names = {m["name"] for m in storage.report_members(BSC)}
        assert len(names) == 12 and "周建平" in names
        [terminal] = admin.list_terminals(storage, BSC)
        assert terminal["label"] == "白沙社区服务站（演示）" and terminal["chain"] == "ok"
        assert terminal["stored_seq"] > 0 and terminal["audit_seq"] > 0
        facts = [e for e in storage.log_for_branch(BSC) if e["origin"] != "hub"]
        assert {e["origin"] for e in facts} == {terminal["terminal_id"]}
        assert {e["type"] for e in facts} == {"dues.dues", "study.session"}
        assert not admin.payment_checks(storage, BSC) and not admin.double_payments(storage, BSC)

        month = views.this_month()
        trend = {t["month"]: t for t in report.trend(storage, BSC, month)}
        for back in range(1, 6):   # every month of the history has dues and study
            past = trend[add_months(month, -back)]
            assert past["collected_fen"] > 0 and past["study_hours"] > 0, past
        behind = report.build(storage, BSC, month)["members_behind"]
        assert {m["member_no"] for m in behind} >= {"BS003", "BS005", "BS010"}

        county = storage.get_operator("demo-county")
        town = storage.get_operator("demo-town")
        assert BSC in [b["code"] for b in views.overview(storage, county)["branches"]]
        assert BSC not in operators.branches_in_scope(storage, town)
    finally:
        storage.close()
