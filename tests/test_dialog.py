"""The phone IVR state machine (voice/dialog.py) on its own, driven like the line drives it.

``Line`` below is the phone line in miniature: a call clock that moves only when a test
says so, a playback queue (plays take the time the test gives them; ``StopPlaying`` drops
the queue), and the caller's keys, phrases, audio and hang-up. The store is the real demo
branch; PIN checks, study sessions, messages and call records go through core for real.

Pins:
  * identification: a caller whose number is one member's (with phone_recognition consent)
    is greeted by name and confirms with the PIN, * means "not me"; without consent, with a
    shared phone or an unknown number the member number is asked (keypad ending with #,
    or digits then silence, or spoken digits with enough confidence), then the PIN;
    PINs are keypad only; five wrong PINs: tries left said each time, then the lockout is
    said, then goodbye, then the hang-up; a locked member is told so at once;
  * the 5 s silence reprompt, and after 3 failed tries (silence, wrong key, not understood,
    unknown number) the offer of a message; the offer's 1 goes back, its silences end the
    call with goodbye;
  * barge-in: a key while a prompt plays stops it first and then acts; no stop when
    nothing plays; stale PlayDone ignored;
  * menu: dues read from core (say_zh, plus where to pay when owing), notices (newest 3),
    lesson recommended first with its reason, 2 for another; lesson navigation with *, #, 0
    and speech, listened seconds written as ONE phone study session (stable session id)
    at pause, stop, end and hang-up; a finished lesson is completed;
  * voice messages: recorded after the tone, stored and listed (identified or not), empty
    recordings not kept, withdrawn consent refused and said, hang-up while recording keeps
    it, the 120 s limit;
  * every call ends as one call record (path, outcome, member only once the PIN was right,
    times from the events, not the wall clock), every HangUp comes after the goodbye
    prompt (checked by ``Line`` on every call), an internal error still says goodbye;
  * every State is reachable, and nothing happens after the end.
"""

from __future__ import annotations

import math
import struct
from datetime import timedelta

import pytest

from core import calls, consent, dues, members, notices, pins, study
from core.clock import iso
from voice.dialog import (
    PLAYS,
    AudioIn,
    Dialog,
    Digit,
    HangUp,
    HungUp,
    Phrase,
    PlayDone,
    PlayPrompt,
    PlaySentence,
    PlayText,
    PlayTone,
    StartRecording,
    State,
    StopPlaying,
    StopRecording,
    Tick,
)
from voice.dialog_menu import dues_sentence
from voice.phone_prompts import PHONE_CATALOGUE, PHONE_PROMPTS
from voice.prompts import CATALOGUE
from voice.speech_text import sentences

UNKNOWN = "13999999999"
QS001_PHONE = "13800000001"


def voice(seconds: float, rate: int = 8000) -> bytes:
    n = int(seconds * rate)
    return struct.pack(f"<{n}h", *(int(6000 * math.sin(2 * math.pi * 300 * i / rate))
                                   for i in range(n)))


class Line:
    """The line side of one call, with a clock that only tests move."""

    def __init__(self, store, caller=UNKNOWN):
        self.store = store
        self.dialog = Dialog(store)
        self.caller = caller
        self.t = 0.0
        self.actions: list = []      # everything the dialog asked for, in order
        self.queue: list = []        # plays not finished yet
        self.states = set()
        self.recording = False
        self.hung_up = False

    def _take(self, actions):
        for a in actions:
            assert not self.hung_up, f"{a} after HangUp"
            self.actions.append(a)
            if isinstance(a, PLAYS):
                self.queue.append(a)
            elif isinstance(a, StopPlaying):
                self.queue.clear()
            elif isinstance(a, StartRecording):
                self.recording = True
            elif isinstance(a, StopRecording):
                self.recording = False
            elif isinstance(a, HangUp):
                plays = [x for x in self.actions if isinstance(x, PLAYS)]
                assert plays and isinstance(plays[-1], PlayPrompt) \
                    and plays[-1].prompt_id == "phone.goodbye", "hang-up without goodbye"
                self.hung_up = True
        self.states.add(self.dialog.state)
        return actions

    def send(self, event):
        return self._take(self.dialog.handle(event))

    def start(self):
        return self._take(self.dialog.start(self.caller, self.t))

    def play(self, seconds=2.0):
        """Let everything queued play to the end (``seconds`` each)."""
        if not self.queue:
            return []
        self.t += seconds * len(self.queue)
        last = self.queue[-1]
        self.queue.clear()
        return self.send(PlayDone(last.seq, self.t))

    def press(self, keys, gap=0.5):
        out = []
        for k in keys:
            self.t += gap
            out += self.send(Digit(k, self.t))
        return out

    def say(self, text, confidence=0.9, gap=0.5):
        self.t += gap
        return self.send(Phrase(text, confidence, self.t))

    def wait(self, seconds):
        self.t += seconds
        return self.send(Tick(self.t))

    def audio(self, seconds, step=0.5):
        for _ in range(int(seconds / step)):
            self.t += step
            self.send(AudioIn(voice(step), self.t))

    def hang_up(self, gap=0.5):
        self.t += gap
        return self.send(HungUp(self.t))


def ids(actions):
    return [a.prompt_id for a in actions if isinstance(a, PlayPrompt)]


def prompts(actions):
    return [a for a in actions if isinstance(a, PlayPrompt)]


def texts(actions):
    return [a.text for a in actions if isinstance(a, PLAYS) and not isinstance(a, PlayTone)]


def identified(store, number="001", *, caller=UNKNOWN) -> Line:
    """A caller who typed a member number and PIN 1234; the menu prompt is queued."""
    line = Line(store, caller)
    line.start()
    line.play()
    line.press(number + "#")
    line.play()
    out = line.press("1234")
    assert ids(out)[0] == "phone.hello_name" and ids(out)[-1] == "phone.main"
    assert line.dialog.member_no is not None
    return line


def welcomed(out) -> bool:
    """The PIN was right: the name, the dues, the menu."""
    said = ids(out)
    return said[0] == "phone.hello_name" and said[-1] == "phone.main" and \
        any(isinstance(a, PlayText) for a in out)


def call_record(store, line):
    return next(r for r in calls.list_calls(store) if r["call_id"] == line.dialog.call_id)


# -- identification ------------------------------------------------------------------------

def test_recognised_caller_confirms_with_pin(demo_store):
    line = Line(demo_store, QS001_PHONE)
    out = line.start()
    assert ids(out) == ["phone.hello_pin"] and "张三丰" not in texts(out)[0]   # no name yet
    assert line.dialog.state is State.CONFIRM_PIN and line.dialog.member_no is None
    line.play()
    out = line.press("1234")
    assert welcomed(out) and out[0].values == {"name": "张三丰"}
    assert line.dialog.member_no == "QS001"
    line.hang_up()
    rec = call_record(demo_store, line)
    assert rec["member_no"] == "QS001" and rec["outcome"] == "hung_up"
    assert rec["caller"] == QS001_PHONE
    assert rec["path"] == ["confirm_pin", "pin_ok", "dues", "menu"]


def test_not_me_asks_for_the_number(demo_store):
    line = Line(demo_store, QS001_PHONE)
    line.start()
    line.play()
    assert ids(line.press("*")) == ["phone.ask_number"]
    line.play()
    line.press("002#")
    line.play()
    line.press("1234")
    assert line.dialog.member_no == "QS002"


def test_number_without_consent_or_shared_is_not_recognised(demo_store):
    members.update(demo_store, "QS008", phones=["13700000008"], actor="t")   # no consent
    members.update(demo_store, "QS002", phones=["13800000002", QS001_PHONE], actor="t")
    for phone in ("13700000008", QS001_PHONE, "", "anonymous"):
        line = Line(demo_store, phone)
        assert ids(line.start()) == ["phone.hello"], phone
    consent.withdraw(demo_store, "QS003", "phone_recognition", method="touch")
    line = Line(demo_store, "13800000003")
    assert ids(line.start()) == ["phone.hello"]


def test_unknown_caller_by_keypad(demo_store):
    line = Line(demo_store)
    assert ids(line.start()) == ["phone.hello"]
    line.play()
    assert line.press("00") == []
    assert ids(line.press("1#")) == ["phone.pin"]
    line.play()
    assert line.press("123") == []
    assert welcomed(line.press("4"))
    assert line.dialog.member_no == "QS001"
    line.hang_up()
    rec = call_record(demo_store, line)
    assert rec["path"] == ["ask_number", "ask_pin", "pin_ok", "dues", "menu"]
    assert rec["member_no"] == "QS001"


def test_number_then_silence_counts_as_done(demo_store):
    line = Line(demo_store)
    line.start()
    line.play()
    line.play()
    line.press("004")
    assert line.wait(4.9) == []
    assert ids(line.wait(0.2)) == ["phone.pin"]


def test_star_clears_a_number(demo_store):
    line = Line(demo_store)
    line.start()
    line.play()
    line.play()
    line.press("99")
    assert ids(line.press("*")) == ["phone.ask_number"]
    line.play()
    assert ids(line.press("1#")) == ["phone.pin"]


def test_number_by_speech(demo_store):
    line = Line(demo_store)
    line.start()
    line.play()
    assert "零" in line.dialog.grammar and "九" in line.dialog.grammar
    assert ids(line.say("零 零 一", confidence=0.3)) == ["not_understood", "phone.ask_number"]
    out = line.say("零 零 一")
    assert isinstance(out[0], StopPlaying) and ids(out) == ["phone.pin"]
    assert line.dialog.grammar == []            # PINs are not listened for


def test_pin_is_keypad_only(demo_store):
    line = identified_pin_prompt(demo_store)
    assert ids(line.say("一二三四")) == ["pin.by_keypad"]
    assert demo_store.one("SELECT failed_pins FROM member WHERE member_no = 'QS001'")[
        "failed_pins"] == 0
    line.play()
    assert welcomed(line.press("1234"))


def identified_pin_prompt(store) -> Line:
    line = Line(store)
    line.start()
    line.play()
    line.press("001#")
    line.play()
    return line


def test_short_pin_with_hash(demo_store):
    line = identified_pin_prompt(demo_store)
    assert ids(line.press("12#")) == ["pin.short", "phone.pin"]
    line.play()
    assert welcomed(line.press("1234"))


# -- silence, failures and the staff offer --------------------------------------------------

def test_silence_reprompts_then_offers_a_message_that_is_stored(demo_store):
    line = Line(demo_store)
    line.start()
    assert line.dialog.deadline is None            # no timer while a prompt plays
    line.play()
    assert line.dialog.deadline == line.t + 5
    assert line.wait(4.9) == []
    assert ids(line.wait(0.1)) == ["idle", "phone.ask_number"]
    line.play()
    assert ids(line.wait(5)) == ["idle", "phone.ask_number"]
    line.play()
    assert ids(line.wait(5)) == ["too_many_tries", "offer.retry"]
    assert line.dialog.state is State.OFFER_STAFF
    line.play()
    assert ids(line.press("0")) == ["message.ask"]
    [tone] = line.play()
    assert isinstance(tone, PlayTone) and not line.recording
    assert line.play() == [StartRecording()] and line.recording
    line.audio(2.0)
    out = line.press("#")
    assert isinstance(out[0], StopRecording) and ids(out) == ["message.saved", "phone.goodbye"]
    line.play()
    assert line.hung_up
    [msg] = calls.list_messages(demo_store)
    assert msg["caller"] == UNKNOWN and msg["member_no"] is None and msg["seconds"] == 2.0
    assert msg["call_id"] == line.dialog.call_id
    pcm, rate = calls.message_audio(demo_store, msg["message_id"])
    assert rate == 8000 and pcm == voice(0.5) * 4
    rec = call_record(demo_store, line)
    assert rec["outcome"] == "completed" and rec["messages"] == 1
    assert "offer_staff" in rec["path"] and "message_saved" in rec["path"]


def test_offer_one_goes_back_and_silence_ends_with_goodbye(demo_store):
    line = Line(demo_store)
    line.start()
    line.play()
    line.play()
    for _ in range(3):
        line.press("#")                              # no number: a failed try
        line.play()
    assert line.dialog.state is State.OFFER_STAFF
    assert ids(line.press("1")) == ["phone.ask_number"]
    line.play()
    for _ in range(3):
        line.wait(5)
        line.play()
    assert line.dialog.state is State.OFFER_STAFF
    line.wait(5)
    line.play()
    line.wait(5)
    line.play()
    assert ids(line.wait(5)) == ["phone.goodbye"]
    line.play()
    assert line.hung_up
    assert call_record(demo_store, line)["outcome"] == "not_identified"


def test_identified_silence_ends_as_no_response(demo_store):
    line = identified(demo_store)
    for _ in range(6):
        line.play()
        line.wait(5)
    assert ids(line.actions[-1:]) == ["phone.goodbye"]
    line.play()
    assert call_record(demo_store, line)["outcome"] == "no_response"


def test_wrong_keys_and_speech_in_the_menu(demo_store):
    line = identified(demo_store)
    line.play()
    assert ids(line.press("5")) == ["key.invalid", "phone.main"]
    line.play()
    assert ids(line.say("天气怎么样", confidence=0.9)) == ["not_understood", "phone.main"]
    line.play()
    assert ids(line.press("*")) == ["too_many_tries", "offer.retry"]
    line.play()
    assert ids(line.press("1")) == ["phone.main"]
    line.play()
    assert ids(line.say("再听一遍")) == ["phone.main"]


# -- barge-in ----------------------------------------------------------------------------

def test_key_during_a_prompt_stops_it_and_acts(demo_store):
    line = identified(demo_store)
    assert line.queue                                # the menu is still playing
    out = line.press("1")
    assert isinstance(out[0], StopPlaying) and isinstance(out[1], PlayText)
    line.play()
    assert not any(isinstance(a, StopPlaying) for a in line.press("9"))  # nothing was playing


def test_typing_over_the_welcome(demo_store):
    line = Line(demo_store)
    line.start()
    assert line.press("0") == [StopPlaying()]        # stopped, digit kept, no prompt
    assert ids(line.press("01#")) == ["phone.pin"]


def test_stale_play_done_is_ignored(demo_store):
    line = identified(demo_store)
    old = line.queue[-1].seq
    line.press("1")                                  # stops the menu, reads the dues
    assert line.send(PlayDone(old, line.t)) == []
    assert line.dialog.deadline is None


# -- menu choices ------------------------------------------------------------------------

@pytest.mark.parametrize("number, owing", [("001", False), ("004", True)])
def test_dues_status_is_read_from_core(demo_store, number, owing):
    line = identified(demo_store, number)
    out = line.press("1")
    said = dues_sentence(dues.status(demo_store, f"QS{number}"))
    assert texts(out)[0] == said and ("共" in said) is owing
    assert ("phone.pay_at_kiosk" in ids(out)) is owing
    assert ids(out)[-1] == "phone.main" and line.dialog.state is State.MENU


def test_notices_newest_three(demo_store):
    line = identified(demo_store)
    out = line.press("3")
    newest = notices.recent(demo_store, limit=3)
    assert ids(out)[0] == "notices.intro" and out[1].values == {"count": 3}
    read = [a.text for a in out if isinstance(a, PlayText)]
    assert len(read) == 3
    for n, text in zip(newest, read, strict=True):
        assert n["title"] in text and n["posted"] in text
    assert ids(out)[-1] == "phone.main"


def test_no_notices(store):
    # The small test branch has no notices and no lessons.
    members.add(store, member_no="T1", name="张三", category="student", actor="t")
    pins.set_pin(store, "member", "T1", "1234", actor="t")
    line = identified(store, "1")
    assert ids(line.press("3")) == ["notices.none", "phone.main"]
    line.play()
    assert ids(line.press("2")) == ["lesson.none", "phone.main"]


# -- lessons -----------------------------------------------------------------------------

def start_lesson(store) -> tuple[Line, str, list[str]]:
    line = identified(store)
    recs = study.recommend(store, "QS001")
    out = prompts(line.press("2"))
    assert ids(out) == ["lesson.recommended", "lesson.reason", "lesson.choose"]
    assert out[0].values == {"title": recs[0].title}
    assert out[1].values == {"reason": recs[0].reason_zh}
    line.play()
    out = prompts(line.press("2"))                   # another one
    assert out[0].values == {"title": recs[1].title}
    assert ids(line.press("1")) == ["lesson.controls"]
    lesson_id = recs[1].lesson_id
    return line, lesson_id, sentences(study.lesson(store, lesson_id)["body"])


def sessions(store, lesson_id):
    return store.all("SELECT * FROM study_session WHERE member_no = 'QS001' AND lesson_id = ?",
                     [lesson_id])


def test_lesson_navigation_writes_one_session_of_listened_seconds(demo_store):
    line, lesson_id, parts = start_lesson(demo_store)
    [s0] = line.play()                               # controls said: first sentence
    assert isinstance(s0, PlaySentence) and (s0.index, s0.text) == (0, parts[0])
    assert s0.next_text == parts[1] and s0.count == len(parts)
    [s1] = line.play(3.0)                            # 3 s listened
    assert s1.index == 1
    out = line.press("*", gap=1.0)                   # 4 s: back one sentence
    assert isinstance(out[0], StopPlaying) and out[1].index == 0
    assert line.play(2.0)[0].index == 1              # 6 s
    out = line.press("#", gap=1.0)                   # 7 s: pause
    assert isinstance(out[0], StopPlaying) and ids(out) == ["lesson.paused"]
    [row] = sessions(demo_store, lesson_id)
    assert (row["seconds"], row["completed"], row["channel"]) == (7, 0, "phone")
    line.play()
    assert line.wait(3) == []                        # a pause is not silence yet
    out = line.press("#")                            # resume at the same sentence
    assert [a.index for a in out if isinstance(a, PlaySentence)] == [1]
    assert line.play(2.0)[0].index == 2              # 9 s
    assert line.press("5") == []                     # other keys: the sentence goes on
    assert line.say("嗯", confidence=0.2) == []       # and so does noise
    out = line.press("0", gap=0.5)                   # 10 s: stop
    assert isinstance(out[0], StopPlaying) and ids(out) == ["lesson.stopped", "phone.main"]
    [row] = sessions(demo_store, lesson_id)          # one sitting, saved twice
    assert (row["seconds"], row["completed"]) == (10, 0)
    events = demo_store.all("SELECT payload FROM journal WHERE type = 'study.session' "
                            "AND payload LIKE ?", [f'%"{row["session_id"]}"%'])
    assert len(events) == 2
    rec_path = line.dialog.path
    assert f"lesson:{lesson_id}" in rec_path and "lesson_paused" in rec_path


def test_lesson_heard_to_the_end_is_completed(demo_store):
    line, lesson_id, parts = start_lesson(demo_store)
    line.play()
    out = []
    for _ in parts:
        out = line.play(4.0)
    assert ids(out) == ["lesson.done", "phone.main"]
    [row] = sessions(demo_store, lesson_id)
    assert (row["seconds"], row["completed"]) == (4 * len(parts), 1)
    started = demo_store.now()                       # the fixed clock: time is from events
    assert row["started_at"] > iso(started)


def test_long_lesson_is_checkpointed_and_hang_up_saves(demo_store):
    line, lesson_id, parts = start_lesson(demo_store)
    line.play()
    line.play(61.0)                                  # one long sentence: a checkpoint
    assert sessions(demo_store, lesson_id)[0]["seconds"] == 61
    line.hang_up(gap=5.0)
    [row] = sessions(demo_store, lesson_id)
    assert row["seconds"] == 66
    assert call_record(demo_store, line)["outcome"] == "hung_up"


def test_lesson_by_speech_and_paused_keys(demo_store):
    line, lesson_id, _ = start_lesson(demo_store)
    line.play()
    line.play(2.0)
    assert "暂停" in line.dialog.grammar
    assert ids(line.say("暂停")) == ["lesson.paused"]
    line.play()
    assert ids(line.press("5")) == ["key.invalid", "lesson.paused"]
    out = line.press("*")                            # back one and go on
    assert [a.index for a in out if isinstance(a, PlaySentence)] == [0]
    line.press("#")
    line.play()
    assert ids(line.press("0")) == ["lesson.stopped", "phone.main"]


def test_choosing_a_lesson_can_go_back(demo_store):
    before = study.hours(demo_store, "QS001", 2026)["sessions"]
    line = identified(demo_store)
    line.press("2")
    assert ids(line.press("9")) == ["lesson.recommended", "lesson.reason", "lesson.choose"]
    assert ids(line.press("0")) == ["phone.main"]
    assert line.dialog.state is State.MENU
    assert study.hours(demo_store, "QS001", 2026)["sessions"] == before  # nothing listened


# -- voice messages ----------------------------------------------------------------------

def to_recording(line):
    line.press("0")
    line.play()                                      # the instructions, then the tone
    line.play()
    assert line.recording


def record_message(line, seconds=3.0):
    to_recording(line)
    line.audio(seconds)
    return line.press("#")


def test_identified_member_leaves_a_message(demo_store):
    line = identified(demo_store)
    out = record_message(line)
    assert ids(out) == ["message.saved", "phone.main"]
    [msg] = calls.list_messages(demo_store)
    assert msg["member_no"] == "QS001" and msg["seconds"] == 3.0
    line.hang_up()
    assert call_record(demo_store, line)["messages"] == 1


def test_key_during_instructions_skips_to_the_tone(demo_store):
    line = identified(demo_store)
    line.play()
    line.press("0")
    out = line.press("5")
    assert isinstance(out[0], StopPlaying) and isinstance(out[1], PlayTone)
    out = line.press("5")                            # during the tone: record at once
    assert out == [StopPlaying(), StartRecording()]


def test_withdrawn_consent_no_message_and_told(demo_store):
    consent.withdraw(demo_store, "QS001", "voice_messages", method="touch")
    line = identified(demo_store)
    out = line.press("0")
    assert ids(out) == ["message.no_consent", "phone.main"]
    assert not any(isinstance(a, StartRecording) for a in line.actions)
    assert calls.list_messages(demo_store) == []
    assert not calls.messages_dir(demo_store).exists()


def test_consent_withdrawn_during_the_call(demo_store):
    line = identified(demo_store)
    to_recording(line)
    consent.withdraw(demo_store, "QS001", "voice_messages", method="staff", witness="S01")
    line.audio(2.0)
    assert ids(line.press("#")) == ["message.no_consent", "phone.main"]
    assert calls.list_messages(demo_store) == []


def test_silent_or_short_recordings_are_not_kept(demo_store):
    line = identified(demo_store)
    to_recording(line)
    for _ in range(4):
        line.t += 0.5
        line.send(AudioIn(b"\x00\x00" * 4000, line.t))
    assert ids(line.press("#")) == ["message.empty", "phone.main"]
    line.play()
    assert ids(record_message(line, seconds=0.5)) == ["message.empty", "phone.main"]
    assert calls.list_messages(demo_store) == []


def test_hang_up_while_recording_keeps_the_message(demo_store):
    line = identified(demo_store)
    to_recording(line)
    line.audio(2.5)
    line.hang_up()
    [msg] = calls.list_messages(demo_store)
    assert msg["seconds"] == 2.5
    rec = call_record(demo_store, line)
    assert rec["outcome"] == "hung_up" and "message_saved" in rec["path"]


def test_recording_stops_at_the_time_limit(demo_store):
    line = identified(demo_store)
    to_recording(line)
    line.audio(60)
    assert line.recording
    line.audio(61)
    assert not line.recording
    [msg] = calls.list_messages(demo_store)
    assert msg["seconds"] == 120.0
    assert ids(line.actions)[-2:] == ["message.saved", "phone.main"]


# -- the end of a call -------------------------------------------------------------------

def test_call_times_come_from_the_events(demo_store, clock):
    line = identified(demo_store)
    line.t = 185.0
    line.hang_up(gap=0.0)
    rec = call_record(demo_store, line)
    assert rec["started_at"] == iso(clock.now())
    assert rec["ended_at"] == iso(clock.now() + timedelta(seconds=185))
    assert rec["seconds"] == 185


def test_every_hang_up_comes_after_a_finished_goodbye(demo_store):
    def locked(line):
        line.start()
        line.play()
        for i in range(3):                           # three wrong PINs: goodbye
            line.press("001#")
            line.play()
            line.press("0000")
            if i < 2:
                line.play()

    def silent(line):
        line.start()
        for _ in range(6):
            line.play()
            line.wait(5)

    def message(line):
        line.start()
        line.play()
        for _ in range(3):                           # no number, three times
            line.press("#")
            line.play()
        record_message(line)

    for scenario in (locked, silent, message):
        line = Line(demo_store)
        scenario(line)
        goodbye = line.queue[-1]
        assert ids([goodbye]) == ["phone.goodbye"] and not line.hung_up
        done = line.play()
        assert done == [HangUp()] and line.hung_up, scenario.__name__
        assert [a for a in line.actions if isinstance(a, HangUp)] == [HangUp()]
        assert call_record(demo_store, line)["outcome"] in ("locked", "not_identified",
                                                             "completed")


def test_goodbye_is_hung_up_even_if_the_line_never_reports_it(demo_store):
    line = identified_pin_prompt(demo_store)
    line.press("0000")
    for _ in range(2):
        line.press("001#")
        line.press("0000")
    assert line.dialog.state is State.GOODBYE
    assert line.wait(29) == []
    assert line.wait(2) == [HangUp()]


def test_an_internal_error_still_says_goodbye(demo_store, caplog):
    line = identified(demo_store)
    demo_store.close()                               # every core call now fails
    out = line.press("1")
    assert isinstance(out[0], StopPlaying)           # the barge-in stands
    assert ids(out) == ["phone.error", "phone.goodbye"]
    line.play()
    assert line.hung_up and line.dialog.ended and line.dialog.outcome == "error"
    assert "failed in state menu" in caplog.text


def test_hang_up_in_every_waiting_state_records_the_call(demo_store):
    line = Line(demo_store)
    line.start()
    line.hang_up()
    rec = call_record(demo_store, line)
    assert rec["path"] == ["ask_number"] and rec["outcome"] == "hung_up"
    assert line.send(Digit("1", 9.0)) == [] and line.send(Tick(99.0)) == []


def test_interface_misuse(demo_store):
    d = Dialog(demo_store)
    with pytest.raises(RuntimeError):
        d.handle(Tick(0.0))
    d.start(UNKNOWN)
    with pytest.raises(RuntimeError):
        d.start(UNKNOWN)
    with pytest.raises(TypeError):
        d.handle("1")
    assert d.handle(Digit("x", 1.0)) == [] and d.handle(Digit("12", 1.0)) == []


def test_every_state_is_reachable_in_one_call(demo_store):
    line = Line(demo_store, QS001_PHONE)
    line.start()
    line.play()
    line.press("*")                                  # not me
    line.play()
    line.press("001#")
    line.play()
    line.press("1234")
    line.press("2")
    line.press("1")
    line.play()
    line.press("#")
    line.press("0")                                  # stop
    record_message(line)
    line.play()
    line.press("777")                                # three wrong keys: the offer
    for _ in range(3):
        line.play()
        line.wait(5)
    line.play()
    assert line.hung_up
    assert line.states == set(State)


def test_phone_prompts_complete_and_separate():
    assert not set(PHONE_PROMPTS) & set(CATALOGUE)
    assert set(PHONE_CATALOGUE) == set(CATALOGUE) | set(PHONE_PROMPTS)
    for text in PHONE_PROMPTS.values():
        assert text.endswith("。") and "TODO" not in text


def test_phone_prompts_render_through_the_prompt_cache(tmp_path):
    """Every phone-only prompt, filled as the dialog fills it, is real speech at 8 kHz."""
    from voice.prompts import PromptCache
    from voice.tts import Pyttsx3Engine

    cache = PromptCache(tmp_path / "cache", Pyttsx3Engine(), overrides_dir=tmp_path / "ovr",
                        catalogue=PHONE_CATALOGUE)
    values = {"phone.hello_name": {"name": "刘桂兰"}, "lesson.reason": {"reason": "支部布置的学习内容"},
              "notices.intro": {"count": 3}}
    assert cache.text("phone.hello_name", name="刘桂兰") == "刘桂兰同志，您好。"
    for pid in PHONE_PROMPTS:
        audio = cache.pcm(pid, 8000, **values.get(pid, {}))
        seconds = len(audio) / 2 / 8000
        assert 0.8 * len(cache.text(pid, **values.get(pid, {}))) / 10 < seconds < 20, pid
