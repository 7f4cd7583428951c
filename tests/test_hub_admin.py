"""Hub administration and storage, in-process on a real SQLite file.

Pins: the hub database is WAL + synchronous=FULL with the ``hub`` migration set recorded;
its branch log and terminal audit copies are append-only; every operator change appends the
terminal's own event type to that branch's log only; enrollment codes are kept only as
hashes and expire; media is content-addressed (one file per content, any branch may be
linked to it); revoking marks the terminal and is idempotent.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from core.clock import CST, FixedClock
from core.errors import InvalidInput, NotFound
from sync.hub import admin, open_hub
from sync.hub.service import code_hash
from sync.hub.storage import IntegrityError


@pytest.fixture
def hub(hub_storage):
    """In process: the storage itself, empty."""
    return hub_storage


def test_database_settings_and_append_only_log(hub, tmp_path):
    if not hub.postgres:
        assert hub.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert hub.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    table, order = (("lianxin_migrations", "applied_at") if hub.postgres
                    else ("_sqlite_migrations", "rowid"))
    assert hub.conn.execute(f"SELECT name FROM {table} WHERE migration_set = 'hub' "
                            f"ORDER BY {order}").fetchall() == [("m001_initial",), ("m002_terminal_enrolled_seq",),
                                             ("m003_terminal_clock_ahead",),
                                             ("m004_quarantine_and_skip_reports",),
                                             ("m005_operators",),
                                             ("m006_operator_sessions",),
                                             ("m007_voice_messages",),
                                             ("m008_terminal_software",),
                                             ("m009_audit_segments",)]
    hub_id = hub.meta("hub_id")
    assert len(hub_id) == 36
    hub.close()
    again = open_hub(hub.path)  # reopening keeps the id and migrates nothing
    assert again.meta("hub_id") == hub_id
    admin.create_branch(again, code="A", name="甲村党支部")
    for sql in ("UPDATE branch_log SET type = 'x'", "DELETE FROM branch_log"):
        with pytest.raises(IntegrityError, match="append-only"):
            again.conn.execute(sql)
    again.close()


def test_operator_changes_land_in_their_branch_log(hub, tmp_path):
    clock = FixedClock(datetime(2026, 11, 15, 10, 0, tzinfo=CST))
    admin.create_branch(hub, code="A", name="甲村党支部", township="青石镇", clock=clock)
    admin.create_branch(hub, code="B", name="乙村党支部", clock=clock)
    with pytest.raises(InvalidInput):
        admin.create_branch(hub, code="A", name="重复")
    with pytest.raises(InvalidInput):
        admin.set_policy(hub, "A", back_pay_limit=-1, pay_ahead_limit=6)
    with pytest.raises(NotFound):
        admin.post_notice(hub, "C", title="t", body="b", posted="2026-11-15")
    policy = admin.set_policy(hub, "A", back_pay_limit=3, pay_ahead_limit=2, clock=clock)
    assert (policy["back_pay_limit"], policy["pay_ahead_limit"]) == (3, 2)
    admin.post_notice(hub, "A", title="开会通知", body="周五开会。", posted="2026-11-15",
                      notice_id="n1", clock=clock)
    admin.publish_lesson(hub, "A", lesson_id="L1", title="党费知识", category="党费知识",
                         minutes=5, body="按月交纳。",
                         quiz=[{"question": "多久交一次？", "choices": ["每月", "每年"], "answer": 0}],
                         clock=clock)
    log_a = hub.log_for_branch("A")
    assert [e["type"] for e in log_a] == ["branch.created", "branch.policy_set",
                                          "notice.posted", "lesson.published"]
    assert {e["origin"] for e in log_a} == {"hub"}
    assert json.loads(log_a[1]["payload"]) == {"code": "A", "back_pay_limit": 3,
                                               "pay_ahead_limit": 2}
    lesson = json.loads(log_a[3]["payload"])
    assert (lesson["questions"], lesson["audio_sha256"], lesson["body"]) == (1, None, "按月交纳。")
    assert log_a[0]["at"] == "2026-11-15T10:00:00.000+08:00"
    assert [e["type"] for e in hub.log_for_branch("B")] == ["branch.created"]
    rows = {b["code"]: b for b in admin.list_branches(hub)}
    assert (rows["A"]["events"], rows["B"]["events"], rows["A"]["terminals"]) == (4, 1, 0)


def test_enroll_codes_are_hashed_and_expire(hub, tmp_path):
    admin.create_branch(hub, code="A", name="甲村党支部")
    with pytest.raises(NotFound):
        admin.issue_enroll_code(hub, "NOPE")
    issued_ms = int(datetime(2026, 11, 15, 10, 0, tzinfo=CST).timestamp() * 1000)
    issued = admin.issue_enroll_code(hub, "A", ttl_hours=2, now_ms=lambda: issued_ms)
    code = issued["code"]
    assert len(code) == 14 and code.count("-") == 2
    assert not set(code.replace("-", "")) & set("01OIL")
    assert issued["expires_ms"] == int(datetime(2026, 11, 15, 12, 0, tzinfo=CST).timestamp() * 1000)
    row = hub.get_code(code_hash(code))
    assert row["branch"] == "A" and row["used_at"] is None
    assert code_hash(code.lower().replace("-", " ")) == code_hash(code)
    assert not hub.conn.execute("SELECT 1 FROM enroll_code WHERE code_hash = ? OR "
                                "branch = ? OR used_by = ?", [code] * 3).fetchall()
    if not hub.postgres:
        hub.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert code.encode() not in hub.path.read_bytes()


def test_media_is_content_addressed(hub, tmp_path):
    admin.create_branch(hub, code="A", name="甲村党支部")
    admin.create_branch(hub, code="B", name="乙村党支部")
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"RIFF" + bytes(5000))
    one = admin.add_media(hub, "A", audio)
    two = admin.publish_lesson(hub, "B", lesson_id="L", title="t", category="c", minutes=1,
                               body="b", audio=audio)
    assert one["sha256"] == two["audio_sha256"] and one["size"] == 5004
    files = [p for p in hub.media_dir.rglob("*") if p.is_file()]
    assert [p.name for p in files] == [one["sha256"]]
    assert files[0].read_bytes() == audio.read_bytes()
    assert hub.media_for_branch("A", one["sha256"])["size"] == 5004
    assert hub.media_for_branch("B", one["sha256"]) is not None
    admin.create_branch(hub, code="C", name="丙村党支部")
    assert hub.media_for_branch("C", one["sha256"]) is None


def test_revoke_is_idempotent_and_unknown_terminal_not_found(hub):
    admin.create_branch(hub, code="A", name="甲村党支部")
    hub.insert_terminal(terminal_id="t1", branch="A", public_key="k", label="",
                        at="2026-11-15T10:00:00.000+08:00")
    first = admin.revoke_terminal(hub, "t1", clock=FixedClock(datetime(2026, 11, 15, tzinfo=CST)))
    second = admin.revoke_terminal(hub, "t1")
    assert first["revoked"] and second["revoked_at"] == first["revoked_at"]
    with pytest.raises(NotFound):
        admin.revoke_terminal(hub, "nobody")
    assert admin.list_branches(hub)[0]["terminals"] == 0
