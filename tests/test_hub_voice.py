"""Voice messages' audio from a terminal to the hub (sync.client_voice, sync.hub.voice), with
real terminal stores, a real hub process and real sync: the hub ends up with the very bytes
recorded; a forged upload (another branch's message, one never announced, bytes that are
not the announced ones) is refused and keeps nothing; a cut mid-upload leaves nothing and
the next sync sends the message whole; consent as core.calls has it; the retention rule."""

from __future__ import annotations

import math
import struct
import uuid

import pytest
from console_fixtures import DEMO

from core import calls, consent
from core.clock import FixedClock
from core.errors import ConsentError, NotFound
from core.store import Store
from sync import client as sc
from sync import protocol
from sync.hub import admin, operators, voice
from sync.relay import Relay


def tone(seconds: float, rate: int = 8000, hz: int = 440) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(8000 * math.sin(2 * math.pi * hz * i / rate))
                                   for i in range(n)))


def _client(store: Store, url: str | None = None) -> sc.HubClient:
    key = protocol.load_private_key(sc.key_path(store.path).read_bytes())
    return sc.HubClient(url or store.meta("sync.hub_url"), terminal_id=store.terminal_id,
                        key=key)


def _hub_wav(hub, message_id: str) -> bytes | None:
    return hub.storage.voice_wav(message_id)


def test_a_recorded_message_reaches_the_hub_byte_for_byte(console_hub, demo_store):
    saved = calls.save_message(demo_store, tone(2.0), 8000, caller="13800000001",
                               member_no="QS001")
    other = calls.save_message(demo_store, tone(1.0, hz=300), 8000, caller="13912345678")
    report = sc.sync_once(demo_store)
    assert (report["voice_messages"], report["voice_bytes"]) == (
        2, len(calls.message_wav(demo_store, saved["message_id"]))
        + len(calls.message_wav(demo_store, other["message_id"])))
    for m in (saved, other):
        assert _hub_wav(console_hub, m["message_id"]) == calls.message_wav(demo_store,
                                                                         m["message_id"])
    # Kept inside the hub's (encrypted) store: no stretch of the recording is in its files.
    wav = calls.message_wav(demo_store, saved["message_id"])
    storage = console_hub.storage
    folder = storage.files if storage.postgres else storage.path.parent
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files and not any(wav[1000:1064] in p.read_bytes() for p in files)
    rows = {r["message_id"]: r for r in voice.messages(console_hub.storage, DEMO)}
    assert rows[saved["message_id"]]["who"] == "张三丰（QS001）"
    assert rows[other["message_id"]]["who"] == "13912345678"
    assert rows[saved["message_id"]]["seconds"] == 2.0 and rows[saved["message_id"]]["audio"]
    again = sc.sync_once(demo_store)                    # nothing is sent twice
    assert again["voice_messages"] == 0
    # Staff at the terminal heard one: operators see it (the hub's own 已听 stays theirs).
    calls.mark_heard(demo_store, other["message_id"], staff_no="S01")
    sc.sync_once(demo_store)
    [row] = [r for r in voice.messages(console_hub.storage, DEMO)
             if r["message_id"] == other["message_id"]]
    assert (row["terminal_heard_by"], row["heard_at"]) == ("S01", None)


def test_a_resend_is_answered_as_before(console_hub, demo_store):
    saved = calls.save_message(demo_store, tone(1.0), 8000, caller="139")
    sc.sync_once(demo_store)
    wav = calls.message_wav(demo_store, saved["message_id"])
    r = _client(demo_store).request("PUT", f"/v1/voice/{saved['message_id']}", data=wav,
                                    headers={"Content-Type": "audio/wav"}).json()
    assert r == {"message_id": saved["message_id"], "size": len(wav), "duplicate": True}
    assert _hub_wav(console_hub, saved["message_id"]) == wav


@pytest.fixture
def baisha_terminal(console_hub, tmp_path, clock):
    """A terminal of the other township's branch (BS-1), enrolled and synced."""
    path = tmp_path / "baisha" / "terminal.db"
    path.parent.mkdir()
    code = admin.issue_enroll_code(console_hub.storage, "BS-1")["code"]
    sc.enroll(path, console_hub.url, code)
    s = Store.open(path, clock=clock)
    sc.sync_once(s)
    yield s
    s.close()


def test_forged_uploads_are_refused_and_keep_nothing(console_hub, demo_store, baisha_terminal):
    saved = calls.save_message(demo_store, tone(1.0), 8000, caller="139")
    sc.push(demo_store, sc.open_client(demo_store))        # announced, audio not sent yet
    wav = calls.message_wav(demo_store, saved["message_id"])
    put = {"data": wav, "headers": {"Content-Type": "audio/wav"}}
    # Another branch's terminal sending a message of 清水村's: not announced by it.
    with pytest.raises(sc.SyncError) as e:
        _client(baisha_terminal).request("PUT", f"/v1/voice/{saved['message_id']}", **put)
    assert (e.value.status, e.value.code) == (409, "not_announced")
    # A message no terminal announced.
    with pytest.raises(sc.SyncError) as e:
        _client(demo_store).request("PUT", f"/v1/voice/{uuid.uuid4()}", **put)
    assert (e.value.status, e.value.code) == (409, "not_announced")
    # Its own message, but other bytes than the ones announced.
    with pytest.raises(sc.SyncError) as e:
        _client(demo_store).request("PUT", f"/v1/voice/{saved['message_id']}",
                                    data=wav[:-2] + b"\x01\x02",
                                    headers={"Content-Type": "audio/wav"})
    assert (e.value.status, e.value.code) == (422, "audio_mismatch")
    # Not a WAV body, and one over the size limit (refused before it is read whole).
    with pytest.raises(sc.SyncError) as e:
        _client(demo_store).request("PUT", f"/v1/voice/{saved['message_id']}", data=wav,
                                    headers={"Content-Type": "application/json"})
    assert e.value.status == 415
    with pytest.raises(sc.SyncError) as e:
        _client(demo_store).request("PUT", f"/v1/voice/{saved['message_id']}",
                                    data=b"\0" * (protocol.MAX_VOICE_BYTES + 1),
                                    headers={"Content-Type": "audio/wav"})
    assert (e.value.status, e.value.code) == (413, "body_too_large")
    # Unsigned: refused as every terminal request is.
    with pytest.raises(sc.SyncError) as e:
        _client(demo_store).request("PUT", f"/v1/voice/{saved['message_id']}", signed=False,
                                    **put)
    assert e.value.status == 401
    assert _hub_wav(console_hub, saved["message_id"]) is None
    # The other branch's terminal is not told of 清水村's messages either.
    assert _client(baisha_terminal).request("GET", "/v1/voice/missing").json()["missing"] == []
    missing = _client(demo_store).request("GET", "/v1/voice/missing").json()["missing"]
    assert [m["message_id"] for m in missing] == [saved["message_id"]]
    sc.sync_once(demo_store)
    assert _hub_wav(console_hub, saved["message_id"]) == wav


def test_a_cut_mid_upload_keeps_nothing_and_the_next_sync_sends_it_whole(console_hub,
                                                                         demo_store):
    saved = calls.save_message(demo_store, tone(3.0), 8000, caller="139")
    sc.push(demo_store, sc.open_client(demo_store))
    wav = calls.message_wav(demo_store, saved["message_id"])
    # The GET asking what is missing is well under 2,000 bytes up; the WAV is 48 KB.
    with Relay(("127.0.0.1", console_hub.port), cut_after=2000 + len(wav) // 2,
               cut_direction="up").start() as link:
        client = _client(demo_store, link.url)
        with pytest.raises(sc.SyncError) as e:
            sc.client_voice.upload_voice(demo_store, client)
        assert e.value.code == "network" and link.totals()["cuts"] == 1
        assert _hub_wav(console_hub, saved["message_id"]) is None
        link.cut_after = 0
        result = sc.client_voice.upload_voice(demo_store, _client(demo_store, link.url))
    assert (result["messages"], result["bytes"]) == (1, len(wav))
    assert _hub_wav(console_hub, saved["message_id"]) == wav


def test_consent_follows_the_terminal(console_hub, demo_store):
    consent.withdraw(demo_store, "QS002", "voice_messages", method="touch")
    with pytest.raises(ConsentError):
        calls.save_message(demo_store, tone(1.0), 8000, caller="138", member_no="QS002")
    kept = calls.save_message(demo_store, tone(1.0), 8000, caller="137", member_no="QS003")
    consent.withdraw(demo_store, "QS003", "voice_messages", method="touch")
    sc.sync_once(demo_store)
    # Nothing of QS002 (no message was left); QS003's, left before the withdrawal, stays a
    # message to the branch on the terminal (core.calls) and so at the hub.
    assert [m["member_no"] for m in voice.messages(console_hub.storage, DEMO)] == ["QS003"]
    assert _hub_wav(console_hub, kept["message_id"]) == calls.message_wav(
        demo_store, kept["message_id"])


def test_heard_audio_goes_after_the_days_kept_and_the_row_stays(console_hub, demo_store,
                                                                 clock, monkeypatch):
    heard = calls.save_message(demo_store, tone(1.0), 8000, caller="139")
    unheard = calls.save_message(demo_store, tone(1.0), 8000, caller="138")
    sc.sync_once(demo_store)
    storage = console_hub.storage
    hub_clock = FixedClock(clock.now())
    actor = operators.Actor("demo-town", "127.0.0.1")
    voice.mark_heard(storage, actor, heard["message_id"], clock=hub_clock)
    monkeypatch.setenv("LIANXIN_HUB_VOICE_KEEP_DAYS", "30")
    hub_clock.advance(days=29)
    assert voice.housekeep(storage, clock=hub_clock) == 0
    hub_clock.advance(days=2)
    assert voice.housekeep(storage, clock=hub_clock) == 1
    row = storage.get_voice_message(heard["message_id"])
    assert row["audio_removed_at"] and row["heard_by"] == "demo-town"
    assert _hub_wav(console_hub, heard["message_id"]) is None
    assert _hub_wav(console_hub, unheard["message_id"]) is not None
    with pytest.raises(NotFound) as e:
        voice.audio(storage, heard["message_id"])
    assert "保存期限" in e.value.zh
    # The terminal is not asked for it again.
    assert _client(demo_store).request("GET", "/v1/voice/missing").json()["missing"] == []
    trail = [a["action"] for a in operators.trail(storage)["actions"]]
    assert "voice_message.audio_removed" in trail and "voice_message.heard" in trail
    monkeypatch.setenv("LIANXIN_HUB_VOICE_KEEP_DAYS", "0")         # keep for good
    voice.mark_heard(storage, actor, unheard["message_id"], clock=hub_clock)
    hub_clock.advance(days=400)
    assert voice.housekeep(storage, clock=hub_clock) == 0


def test_the_cli_lists_exports_and_marks(console_hub, demo_store, tmp_path):
    import json

    from click.testing import CliRunner

    from cli.main import cli

    saved = calls.save_message(demo_store, tone(1.0), 8000, caller="13800000001",
                               member_no="QS001")
    sc.sync_once(demo_store)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, ["hub", "--db", str(console_hub.storage.path), "voice",
                                   *args])

    listed = json.loads(run("list", "--branch", DEMO, "--json").output)
    assert [(m["message_id"], m["who"], m["audio"]) for m in listed] == [
        (saved["message_id"], "张三丰（QS001）", True)]
    assert "没听" in run("list", "--branch", DEMO).output
    dest = tmp_path / "msg.wav"
    assert run("export", saved["message_id"], str(dest)).exit_code == 0
    assert dest.read_bytes() == calls.message_wav(demo_store, saved["message_id"])
    assert run("export", saved["message_id"], str(dest)).exit_code != 0   # never overwrites
    assert run("heard", saved["message_id"]).exit_code == 0
    r = run("followed-up", saved["message_id"], "--note", " ")
    assert r.exit_code != 0 and "请写明怎样跟进的" in r.output
    assert run("followed-up", saved["message_id"], "--note", "已回电").exit_code == 0
    assert json.loads(run("list", "--branch", DEMO, "--json").output) == []
    row = console_hub.storage.get_voice_message(saved["message_id"])
    assert row["followed_up_by"].startswith("cli:") and row["follow_note"] == "已回电"
    assert "删除了 0 条" in run("housekeep").output
    actions = [a["action"] for a in operators.trail(console_hub.storage)["actions"][:3]]
    assert actions == ["voice_message.followed_up", "voice_message.heard",
                       "voice_message.played"]
