"""Pins staff mode's 留言 screen and the bar's 上一页, on the real Kivy app offscreen, demo
branch, driven by real touch events:

* the staff menu offers 留言 (still at most six choices) and says how many are unheard;
* 留言 lists the phone line's voice messages newest first, one per screen, unheard marked
  in words (【未听】), who left it (member name and number, or the caller's number), and the
  listing is an audited staff read;
* 播放 plays the stored recording through the kiosk's real Speaker into a Player (the exact
  samples saved, at their rate); 标为已听 records the staff member in the store and the
  journal and the screen then says 已听; a damaged file is shown and spoken, not played;
  without a speaker that can play, the screen says so;
* no messages: said and shown, only 返回;
* 上一页 in the bar: on home it reads 已在首页 and says so; elsewhere it goes back to the
  screen before with what it showed (the previous notice), skips a PIN and the "who are
  you" screens once the member identified, and going back to home forgets the member;
  from staff mode it never replays the staff PIN.
"""

from __future__ import annotations

import math
import threading
import time
from array import array

import pytest
from kiosk_fixtures import enter_staff, kivy_ready, login, tap

kivy_ready()

from core import calls, notices  # noqa: E402
from kiosk import drive  # noqa: E402
from kiosk import usability as audit  # noqa: E402
from kiosk.app import KioskApp  # noqa: E402
from kiosk.screens.messages import NO_SOUND  # noqa: E402
from kiosk.speech import Speaker  # noqa: E402
from voice.prompts import PromptCache  # noqa: E402
from voice.tts import Pyttsx3Engine  # noqa: E402

WAIT_S = 120


class RecordingPlayer:
    """Keeps every sound it is given and "plays" it 100 times faster than real time."""

    def __init__(self):
        self.plays: list[tuple[bytes, int]] = []
        self._ends = 0.0
        self._lock = threading.Lock()

    def play(self, pcm: bytes, rate_hz: int) -> None:
        with self._lock:
            self.plays.append((pcm, rate_hz))
            self._ends = time.monotonic() + len(pcm) / 2 / rate_hz / 100

    def stop(self) -> None:
        with self._lock:
            self._ends = 0.0

    def is_playing(self) -> bool:
        with self._lock:
            return time.monotonic() < self._ends


def tone(hz: int, rate: int = 8000, seconds: float = 1.0) -> bytes:
    return array("h", (int(6000 * math.sin(2 * math.pi * hz * i / rate))
                       for i in range(int(rate * seconds)))).tobytes()


@pytest.fixture
def messages(demo_store):
    older = calls.save_message(demo_store, tone(300), 8000, caller="13800000004",
                               member_no="QS004")
    newer = calls.save_message(demo_store, tone(500, 16000, 2.0), 16000, caller="13912345678")
    return newer, older


def test_messages_listed_newest_first_unheard_in_words(demo_store, messages, said, kiosk):
    newer, older = messages
    app = kiosk()
    enter_staff(app)
    assert "留言" in [b.text for b in drive.buttons(app.current)]
    assert audit.count_choices(app.current) <= 6
    assert "未听的留言2条" in app.current.body and said[-1] == "王志刚，您好。有2条新留言。"
    tap(app, "留言")
    s = app.current
    assert app.manager.current == "staff_messages"
    assert s.title == "留言 第1条，共2条" and s.figure == "2条未听"
    assert "【未听】" in s.body and "来电 13912345678" in s.body and "长度：2秒" in s.body
    assert said[-1].startswith("留言，第1条，共2条，还没有听过。")
    assert s.choice_labels() == ["播放", "标为已听", "上一条", "下一条", "返回"]
    tap(app, "下一条")
    assert "刘桂兰（QS004）" in app.current.body and "【未听】" in app.current.body
    tap(app, "再听一遍")                          # a member number is said by its digits
    assert "刘桂兰（编号004）" in said[-1] and "QS" not in said[-1]
    tap(app, "播放")                              # a recording speaker cannot play
    assert app.current.message == said[-1] == NO_SOUND
    assert demo_store.one("SELECT 1 FROM audit WHERE actor = 'staff:S01' "
                          "AND detail LIKE '%voice messages listed%'")


def test_play_through_the_speaker_then_mark_heard(demo_store, messages, tmp_path):
    newer, _older = messages
    prompts = PromptCache(tmp_path / "cache", Pyttsx3Engine(), overrides_dir=tmp_path / "o")
    player = RecordingPlayer()
    speaker = Speaker(prompts, player, warm_screens=False)
    with drive.running(KioskApp(demo_store, speak=speaker)) as app:
        enter_staff(app)
        tap(app, "留言")
        tap(app, "播放")
        assert speaker.wait_idle(WAIT_S)
        assert player.plays[-1] == (tone(500, 16000, 2.0), 16000)   # the saved samples
        assert list(speaker.said)[-1] == "(录音)"
        tap(app, "标为已听")
        row = demo_store.one("SELECT heard_by FROM voice_message WHERE message_id = ?",
                             [newer["message_id"]])
        assert row["heard_by"] == "S01"
        assert demo_store.one("SELECT 1 FROM journal WHERE type = 'message.heard'")
        s = app.current
        assert "【已听（S01）】" in s.body and s.figure == "1条未听"
        assert "标为已听" not in s.choice_labels()
        assert s.message == "这条留言已经标为已听。" and speaker.last == s.message


def test_damaged_recording_is_shown_and_spoken(demo_store, messages, said, kiosk):
    newer, _older = messages
    wav = bytearray(calls.message_wav(demo_store, newer["message_id"]))
    wav[100:150] = b"\x7f" * 50
    with demo_store.transaction():
        demo_store.db.execute("UPDATE voice_audio SET wav = ? WHERE message_id = ?",
                              [bytes(wav), newer["message_id"]])
    app = kiosk()
    enter_staff(app)
    tap(app, "留言")
    tap(app, "播放")
    assert app.current.message == said[-1] == "留言的录音被改动过或者损坏了。"


def test_a_recording_past_its_retention_cannot_be_played(demo_store, messages, said, kiosk,
                                                         clock):
    newer, _older = messages
    calls.mark_heard(demo_store, newer["message_id"], staff_no="S01")
    calls.set_retention(demo_store, 7, staff_no="S01")
    clock.advance(days=8)
    app = kiosk()
    enter_staff(app)
    tap(app, "留言")
    assert "录音已过保存期限" in app.current.body
    assert "播放" not in app.current.choice_labels()


def test_no_messages(demo_store, said, kiosk):
    app = kiosk()
    enter_staff(app)
    tap(app, "留言")
    assert app.current.body == "现在没有留言。" and app.current.figure == "0条未听"
    assert app.current.choice_labels() == ["返回"] and said[-1] == "现在没有留言。请点返回。"
    tap(app, "返回")
    assert app.manager.current == "staff"


# -- the bar's 上一页 ------------------------------------------------------------------------

def test_back_on_home_says_so(demo_store, said, kiosk):
    app = kiosk()
    assert not app.can_go_back
    tap(app, "已在首页")
    assert said[-1] == "这里已经是首页了" and app.manager.current == "home"


def test_back_returns_to_the_previous_notice_then_home(demo_store, said, kiosk):
    if len(notices.recent(demo_store)) < 2:
        pytest.skip("the demo branch has fewer than two notices")
    app = kiosk()
    tap(app, "支部通知")
    first = app.current.title
    tap(app, "下一条")
    assert app.current.title != first
    tap(app, "返回上页")
    assert app.manager.current == "notices" and app.current.title == first
    assert said[-2] == "返回上一页" and said[-1] == app.current.prompt_text()
    tap(app, "返回上页")
    assert app.manager.current == "home" and not app.can_go_back
    assert drive.find(app.root, "已在首页")


def test_back_skips_pin_and_identification_and_keeps_the_visit(demo_store, said, kiosk):
    app = kiosk()
    login(app, "我的情况", name="张三丰")
    assert app.manager.current == "status" and app.member
    tap(app, "返回上页")                      # not the PIN, not "who are you" again
    assert app.manager.current == "home" and app.member["name"] == "张三丰"
    tap(app, "回首页")                        # the visit ends
    assert app.manager.current == "home" and not app.member


def test_back_from_staff_never_replays_the_staff_pin(demo_store, said, kiosk):
    app = kiosk()
    enter_staff(app)
    tap(app, "留言")
    tap(app, "返回上页")
    assert app.manager.current == "staff"
    tap(app, "返回上页")
    assert app.manager.current == "home" and app.staff is None
