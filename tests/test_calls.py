"""Call records and voice messages (core/calls.py), on real encrypted stores.

Pins:
  * ``record_call`` writes one row, journals ``call.recorded`` with the whole record and an
    audit entry (the chain still verifies); it refuses an unknown outcome, a call that ends
    before it starts, a path that is not a list of words, an unknown member and a second
    record for the same call id, and then writes nothing;
  * ``list_calls`` is newest first, gives the path back as a list, the duration, the
    outcome in Chinese and the count of messages left on the call; a staff reader is audited;
  * ``member_for_keypad``: a keypad has no letters, so "001" and "1" find QS001; nobody or
    two members -> None;
  * ``save_message`` keeps the WAV inside the encrypted store (no file is written, and the
    database on disk holds no audio in the clear), with its sha256 and duration; the
    journal carries no audio; ``message_audio`` gives the same PCM back and refuses audio
    that was changed or is gone;
  * retention: staff set how many days a heard message's audio is kept; ``housekeep``
    removes what is due (audited; the row stays), never an unheard message;
  * a store from before keeps its messages: the files move into the store and are deleted;
  * consent: a member who withdrew ``voice_messages`` leaves nothing (ConsentError, no file,
    no row); never asked or re-granted is allowed; unidentified callers are allowed;
  * ``mark_heard`` records who and when (journaled), once; unknown staff is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
import wave
from pathlib import Path

import pytest

from core import audit, calls, consent, members
from core.errors import ConsentError, InvalidInput, NotFound


def tone(seconds: float, rate: int = 8000, hz: int = 440) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(8000 * math.sin(2 * math.pi * hz * i / rate))
                                   for i in range(n)))


def a_call(store, call_id="c1", **kw):
    args = dict(call_id=call_id, caller="13800000001", started_at="2026-11-15T10:00:00+08:00",
                ended_at="2026-11-15T10:03:20+08:00", member_no="QS001",
                path=["greeting", "confirm_pin", "pin_ok", "menu", "dues", "menu"],
                outcome="hung_up")
    args.update(kw)
    return calls.record_call(store, **args)


def events(store, type_):
    return [json.loads(r["payload"]) for r in
            store.all("SELECT payload FROM journal WHERE type = ? ORDER BY seq", [type_])]


def test_record_and_list_calls(demo_store):
    rec = a_call(demo_store)
    a_call(demo_store, "c2", member_no=None, caller="13999999999", outcome="not_identified",
           started_at="2026-11-15T11:00:00+08:00", ended_at="2026-11-15T11:00:40+08:00",
           path=["greeting", "ask_number", "offer_staff", "goodbye"])
    rows = calls.list_calls(demo_store)
    assert [r["call_id"] for r in rows] == ["c2", "c1"]
    c1 = rows[1]
    assert c1["path"] == ["greeting", "confirm_pin", "pin_ok", "menu", "dues", "menu"]
    assert c1["seconds"] == 200 and c1["member_name"] == "张三丰" and c1["messages"] == 0
    assert c1["outcome_zh"] == calls.OUTCOMES["hung_up"]
    assert rows[0]["member_no"] is None and rows[0]["caller"] == "13999999999"
    assert calls.list_calls(demo_store, member_no="QS001")[0]["call_id"] == "c1"
    # the timeline stays here: the journaled record (what the hub gets) leaves it out
    assert events(demo_store, "call.recorded")[0] == {k: v for k, v in rec.items()
                                                      if k != "timeline"}
    assert rec["timeline"] == [] and c1["timeline"] == []
    assert audit.verify(demo_store).ok


TIMELINE = [
    {"t_ms": 900, "kind": "key", "key": "4"},
    {"t_ms": 0, "kind": "say", "id": "phone.hello", "text": "连心热线。", "end_ms": 1200,
     "cut": True},
    {"t_ms": 1500, "kind": "phrase", "text": "党费", "confidence": 0.93},
]


def test_a_call_keeps_its_timeline_in_order(demo_store):
    a_call(demo_store, timeline=TIMELINE)
    got = calls.get_call(demo_store, "c1", reader="staff:S01")
    assert [e["t_ms"] for e in got["timeline"]] == [0, 900, 1500]
    assert got["timeline"][0] == TIMELINE[1] and got["member_name"] == "张三丰"
    assert calls.list_calls(demo_store)[0]["timeline"] == got["timeline"]
    assert "连心热线" not in json.dumps(events(demo_store, "call.recorded"), ensure_ascii=False)
    with pytest.raises(NotFound):
        calls.get_call(demo_store, "nope")


def test_list_calls_reader_is_audited(demo_store):
    a_call(demo_store)
    before = demo_store.one("SELECT COUNT(*) AS n FROM audit WHERE action = 'read'")["n"]
    calls.list_calls(demo_store, reader="staff:S01")
    after = demo_store.one("SELECT COUNT(*) AS n FROM audit WHERE action = 'read'")["n"]
    assert after == before + 1


@pytest.mark.parametrize("bad, err", [
    ({"outcome": "fine"}, InvalidInput),
    ({"ended_at": "2026-11-15T09:59:00+08:00"}, InvalidInput),
    ({"started_at": "yesterday"}, InvalidInput),
    ({"started_at": "2026-11-15T10:00:00"}, InvalidInput),          # no time zone
    ({"path": "greeting,menu"}, InvalidInput),
    ({"path": ["greeting", "two words"]}, InvalidInput),
    ({"member_no": "QS999"}, NotFound),
    ({"call_id": " "}, InvalidInput),
    ({"timeline": {"t_ms": 0}}, InvalidInput),
    ({"timeline": [{"t_ms": -1, "kind": "key", "key": "1"}]}, InvalidInput),
    ({"timeline": [{"t_ms": 0, "kind": "beep"}]}, InvalidInput),
    ({"timeline": [{"t_ms": 5, "kind": "say", "id": "x", "text": "x", "end_ms": 4,
                    "cut": False}]}, InvalidInput),
    ({"timeline": [{"t_ms": 0, "kind": "key", "key": "1", "pin": "1234"}]}, InvalidInput),
])
def test_record_call_refuses(demo_store, bad, err):
    seq = demo_store.one("SELECT MAX(seq) AS s FROM journal")["s"]
    with pytest.raises(err):
        a_call(demo_store, **bad)
    assert calls.list_calls(demo_store) == []
    assert demo_store.one("SELECT MAX(seq) AS s FROM journal")["s"] == seq


def test_a_call_is_recorded_once(demo_store):
    a_call(demo_store)
    with pytest.raises(InvalidInput):
        a_call(demo_store)
    assert len(calls.list_calls(demo_store)) == 1


def test_member_for_keypad(demo_store):
    assert calls.member_for_keypad(demo_store, "001") == "QS001"
    assert calls.member_for_keypad(demo_store, "1") == "QS001"
    assert calls.member_for_keypad(demo_store, "034") == "QS034"
    for nobody in ("999", "", "0", "1a", "００１"):
        assert calls.member_for_keypad(demo_store, nobody) is None


def test_member_for_keypad_ambiguous(store):
    members.add(store, member_no="A001", name="张三", category="student", actor="t")
    members.add(store, member_no="B001", name="李四", category="student", actor="t")
    assert calls.member_for_keypad(store, "001") is None
    members.add(store, member_no="C7", name="王五", category="student", actor="t")
    assert calls.member_for_keypad(store, "7") == "C7"


def test_save_message_keeps_the_audio_inside_the_encrypted_store(demo_store):
    pcm = tone(2.5)
    saved = calls.save_message(demo_store, pcm, 8000, caller="13800000001", member_no="QS001",
                               call_id="c1")
    assert not calls.messages_dir(demo_store).exists()   # no file beside the database
    data = calls.message_wav(demo_store, saved["message_id"])
    assert hashlib.sha256(data).hexdigest() == saved["sha256"]
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        assert w.readframes(w.getnframes()) == pcm
    assert saved["duration_ms"] == 2500
    assert calls.message_audio(demo_store, saved["message_id"]) == (pcm, 8000)
    demo_store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    on_disk = Path(demo_store.path).read_bytes()
    assert pcm[4000:4400] not in on_disk and b"RIFF" not in on_disk  # encrypted pages
    [row] = calls.list_messages(demo_store)
    assert row["member_name"] == "张三丰" and row["seconds"] == 2.5 and row["heard_at"] is None
    assert row["audio"] is True
    [event] = events(demo_store, "message.recorded")
    assert event["sha256"] == saved["sha256"] and "pcm" not in event and "wav" not in event
    a_call(demo_store, "c1")
    assert calls.list_calls(demo_store)[0]["messages"] == 1
    assert audit.verify(demo_store).ok


def test_message_audio_changed_or_missing(demo_store):
    saved = calls.save_message(demo_store, tone(1.5), 8000, caller="139")
    wav = bytearray(calls.message_wav(demo_store, saved["message_id"]))
    wav[100:102] = b"\x00\x01"
    with demo_store.transaction():
        demo_store.db.execute("UPDATE voice_audio SET wav = ? WHERE message_id = ?",
                              [bytes(wav), saved["message_id"]])
    with pytest.raises(InvalidInput):
        calls.message_audio(demo_store, saved["message_id"])
    with demo_store.transaction():
        demo_store.db.execute("DELETE FROM voice_audio WHERE message_id = ?",
                              [saved["message_id"]])
    with pytest.raises(NotFound):
        calls.message_audio(demo_store, saved["message_id"])
    with pytest.raises(NotFound):
        calls.message_audio(demo_store, "no-such-message")


def test_export_writes_a_private_wav_and_never_overwrites(demo_store, tmp_path):
    saved = calls.save_message(demo_store, tone(1.0), 8000, caller="139")
    dest = tmp_path / "out.wav"
    calls.export_message(demo_store, saved["message_id"], dest, reader="staff:S01")
    assert dest.stat().st_mode & 0o777 == 0o600
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == saved["sha256"]
    with pytest.raises(FileExistsError):
        calls.export_message(demo_store, saved["message_id"], dest, reader="staff:S01")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".msg-")] == []


def test_heard_messages_lose_their_audio_after_the_days_staff_set(demo_store, clock):
    heard = calls.save_message(demo_store, tone(1.0), 8000, caller="139")
    unheard = calls.save_message(demo_store, tone(1.0), 8000, caller="138")
    calls.mark_heard(demo_store, heard["message_id"], staff_no="S01")
    assert calls.set_retention(demo_store, 30, staff_no="S01") == 0
    assert calls.retention_days(demo_store) == 30
    clock.advance(days=29)
    assert calls.housekeep(demo_store) == 0
    clock.advance(days=2)
    assert calls.housekeep(demo_store) == 1
    rows = {r["message_id"]: r for r in calls.list_messages(demo_store)}
    assert rows[heard["message_id"]]["audio"] is False
    assert rows[heard["message_id"]]["audio_removed_at"].startswith("2026-12-16")
    assert rows[unheard["message_id"]]["audio"] is True        # never heard: kept
    with pytest.raises(NotFound) as e:
        calls.message_audio(demo_store, heard["message_id"])
    assert "保存期限" in e.value.zh
    actions = [r["action"] for r in demo_store.all("SELECT action FROM audit ORDER BY seq")]
    assert actions.count("message.audio_removed") == 1 and "message.retention_set" in actions
    assert audit.verify(demo_store).ok
    with pytest.raises(InvalidInput):
        calls.set_retention(demo_store, 0, staff_no="S01")
    calls.set_retention(demo_store, None, staff_no="S01")
    assert calls.retention_days(demo_store) is None


def test_messages_recorded_as_files_before_move_into_the_store(tmp_path, demo_store):
    """A store from before m005: its WAV files are copied in by the migration, then deleted."""
    from core.schema import m005_voice_audio

    pcm = tone(1.0)
    saved = calls.save_message(demo_store, pcm, 8000, caller="139")
    data = calls.message_wav(demo_store, saved["message_id"])
    folder = calls.messages_dir(demo_store)
    folder.mkdir(mode=0o700)
    (folder / f"{saved['message_id']}.wav").write_bytes(data)
    with demo_store.transaction():  # back to how m004 kept it
        demo_store.db.execute("DROP TABLE voice_audio")
        demo_store.db.execute("ALTER TABLE voice_message DROP COLUMN audio_removed_at")
        demo_store.db.execute("UPDATE voice_message SET file = ?",
                              [f"messages/{saved['message_id']}.wav"])
        m005_voice_audio(demo_store.db)
    assert calls.message_audio(demo_store, saved["message_id"]) == (pcm, 8000)
    assert folder.exists()                 # kept until the copy has committed ...
    calls.housekeep(demo_store)
    assert not folder.exists()             # ... then gone


def test_withdrawn_consent_keeps_no_message(demo_store):
    assert calls.messages_allowed(demo_store, "QS001")       # never asked: the call is the act
    consent.withdraw(demo_store, "QS001", "voice_messages", method="touch")
    assert not calls.messages_allowed(demo_store, "QS001")
    with pytest.raises(ConsentError):
        calls.save_message(demo_store, tone(2), 8000, caller="13800000001", member_no="QS001")
    assert not calls.messages_dir(demo_store).exists()
    assert calls.list_messages(demo_store) == []
    assert calls.messages_allowed(demo_store, None)           # unidentified caller
    consent.grant(demo_store, "QS001", "voice_messages", method="voice")
    calls.save_message(demo_store, tone(2), 8000, caller="13800000001", member_no="QS001")
    assert len(calls.list_messages(demo_store)) == 1


@pytest.mark.parametrize("pcm, rate", [(b"", 8000), (b"\x00", 8000), (b"\x00\x00" * 800, 100)])
def test_save_message_refuses_empty_or_odd(demo_store, pcm, rate):
    with pytest.raises(InvalidInput):
        calls.save_message(demo_store, pcm, rate, caller="139")
    assert calls.list_messages(demo_store) == []


def test_mark_heard(demo_store, clock):
    first = calls.save_message(demo_store, tone(1.2), 8000, caller="139")
    clock.advance(minutes=5)
    second = calls.save_message(demo_store, tone(1.2), 8000, caller="138", member_no="QS002")
    assert [m["message_id"] for m in calls.list_messages(demo_store)] == \
        [second["message_id"], first["message_id"]]
    with pytest.raises(NotFound):
        calls.mark_heard(demo_store, first["message_id"], staff_no="S99")
    clock.advance(hours=1)
    row = calls.mark_heard(demo_store, first["message_id"], staff_no="S01")
    assert row["heard_by"] == "S01" and row["heard_at"].startswith("2026-11-15T11:05")
    again = calls.mark_heard(demo_store, first["message_id"], staff_no="S02")
    assert again["heard_by"] == "S01"
    assert [m["message_id"] for m in calls.list_messages(demo_store, unheard_only=True)] == \
        [second["message_id"]]
    assert len(events(demo_store, "message.heard")) == 1
    with pytest.raises(NotFound):
        calls.mark_heard(demo_store, "nope", staff_no="S01")
