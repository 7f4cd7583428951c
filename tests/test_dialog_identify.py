"""Issue 10 on the phone dialog: whose account, no enumeration, no lockout abuse, `#` after
the PIN, the short way to the dues, and the call's timeline.

Driven like ``test_dialog.py`` (its ``Line``: a call clock only tests move), extended to
report what was heard as the real line does (``Played`` before ``PlayDone``; a cut play
on barge-in). The store is the real demo branch; PIN checks, budgets and call records go
through core.

Pins:
  * no name before the PIN, by keypad or by a caller number that claims a member's phone;
    "<name>同志，您好" first once the PIN was right, then the dues sentence, then the menu;
  * an unknown member number and a wrong PIN: the same actions (ids and texts), the same
    counting (one ``phone_pin_try`` row each), neither touches the kiosk's lockout; the
    third in a call ends it; the budgets per number, per caller and for the line refuse
    even the right PIN, for a known and an unknown number alike;
  * "1234#": the # ends the PIN and is no key of its own (no barge-in, no "invalid key");
  * the menu has four choices including repeat and lasts ≤ 8 s with real TTS;
  * the timeline: prompts with start/end from Played, cut ones marked, keys with PIN
    digits masked, in order, stored with the call and returned by ``calls.get_call``.
"""

from __future__ import annotations

import time

import pytest
from test_dialog import QS001_PHONE, UNKNOWN, Line, ids, texts

from core import calls, dues, phone_guard, pins
from core.errors import AuthError, Locked, NotFound
from voice.dialog import PlayDone, Played, PlayPrompt, PlayText, State, StopPlaying
from voice.dialog_menu import dues_sentence
from voice.phone_prompts import PHONE_CATALOGUE


class HeardLine(Line):
    """The test line, also reporting what was heard: plays run back to back from the time
    they are queued; a StopPlaying cuts the one playing."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.head_start: float | None = None

    def _take(self, actions):
        for a in actions:
            if isinstance(a, StopPlaying) and self.queue and self.head_start is not None:
                head = self.queue[0]
                self.queue.clear()
                self.dialog.handle(Played(head.seq, self.head_start, self.t, True, self.t))
                self.head_start = None
        out = super()._take(actions)
        if self.queue and self.head_start is None:
            self.head_start = self.t
        return out

    def play(self, seconds=2.0):
        if not self.queue:
            return []
        start = self.head_start if self.head_start is not None else self.t
        last = self.queue[-1]
        for a in list(self.queue):
            self.dialog.handle(Played(a.seq, start, start + seconds, False, start + seconds))
            start += seconds
        self.t = start
        self.queue.clear()
        self.head_start = None
        return self.send(PlayDone(last.seq, self.t))


def said_before_pin(line) -> str:
    return "".join(texts(line.actions))


def tries(store) -> int:
    return store.one("SELECT COUNT(*) AS n FROM phone_pin_try")["n"]


def failed_pins(store, member_no) -> int:
    return store.one("SELECT failed_pins FROM member WHERE member_no = ?",
                     [member_no])["failed_pins"]


# -- whose account ----------------------------------------------------------------------

@pytest.mark.parametrize("caller, number", [(QS001_PHONE, ""), (UNKNOWN, "1#")])
def test_the_name_comes_only_after_the_pin(demo_store, caller, number):
    line = HeardLine(demo_store, caller)
    line.start()
    line.play()
    line.press(number)
    line.play()
    assert "张三丰" not in said_before_pin(line)
    assert line.dialog.state in (State.CONFIRM_PIN, State.ASK_PIN)
    out = line.press("1234")
    assert isinstance(out[0], PlayPrompt) and out[0].prompt_id == "phone.hello_name"
    assert out[0].text == "张三丰同志，您好。"
    assert isinstance(out[1], PlayText)
    assert out[1].text == dues_sentence(dues.status(demo_store, "QS001"))
    assert ids(out)[-1] == "phone.main" and line.dialog.state is State.MENU


def test_a_caller_number_claiming_a_members_phone_hears_no_name(demo_store):
    line = HeardLine(demo_store, QS001_PHONE)
    out = line.start()
    assert ids(out) == ["phone.hello_pin"]
    assert out[0].text == PHONE_CATALOGUE["phone.hello_pin"] and "{" not in out[0].text
    line.play()
    line.press("0000")                               # a spoofer's guess: the common answer
    assert "张三丰" not in said_before_pin(line)
    assert ids(line.actions)[-2:] == ["id.wrong", "phone.ask_number"]


# -- no enumeration ----------------------------------------------------------------------

def answer_to(store, number: str, pin: str):
    line = HeardLine(store)
    line.start()
    line.play()
    line.press(number + "#")
    line.play()
    before = len(line.actions)
    t0 = time.perf_counter()
    line.press(pin)
    took = time.perf_counter() - t0
    return [(type(a).__name__, getattr(a, "prompt_id", ""), getattr(a, "text", ""))
            for a in line.actions[before:]], line.dialog.state, took


def test_unknown_number_and_wrong_pin_get_the_same_answer_and_count_the_same(demo_store):
    n0 = tries(demo_store)
    unknown = answer_to(demo_store, "777", "1234")
    assert tries(demo_store) == n0 + 1
    wrong = answer_to(demo_store, "5", "0000")
    assert tries(demo_store) == n0 + 2
    assert unknown[:2] == wrong[:2]
    assert [x[1] for x in wrong[0]] == ["id.wrong", "phone.ask_number"]
    assert wrong[1] is State.ASK_NUMBER
    # Both spend an argon2 check: the unknown number is not answered measurably sooner.
    times = {"unknown": [], "wrong": []}
    for _ in range(2):   # tries 3-6 of this caller: within its budget, so each is checked
        times["unknown"].append(answer_to(demo_store, "888", "1234")[2])
        times["wrong"].append(answer_to(demo_store, "6", "0000")[2])
    assert min(times["unknown"]) > 0.5 * min(times["wrong"]), times
    # and the kiosk's lockout never moved
    assert failed_pins(demo_store, "QS005") == failed_pins(demo_store, "QS006") == 0


def test_the_burn_hash_costs_what_a_pin_hash_costs():
    params = pins._BURN_HASH.split("$")[3]
    assert params == pins.hash_pin("1234").split("$")[3] == "m=47104,t=1,p=1"


def test_third_wrong_try_in_a_call_says_goodbye_and_the_kiosk_still_works(demo_store):
    line = HeardLine(demo_store)
    line.start()
    line.play()
    for i in range(3):
        line.press(("5#", "999#", "5#")[i])
        line.play()
        out = line.press("0000")
        if i < 2:
            line.play()
    assert ids(out)[-2:] == ["id.too_many", "phone.goodbye"]
    line.play()
    assert line.hung_up and line.dialog.outcome == "locked"
    assert failed_pins(demo_store, "QS005") == 0
    pins.verify(demo_store, "member", "QS005", "1234")   # the member is not locked out


def phone_try(store, digits, pin, caller=UNKNOWN, call_id="c"):
    return phone_guard.try_pin(store, call_id=call_id, caller=caller, pin=pin, digits=digits)


def test_budget_per_number_refuses_even_the_right_pin_known_or_not(demo_store, clock):
    for i in range(phone_guard.PER_NUMBER):          # different callers, one number
        assert phone_try(demo_store, "005", "0000", caller=f"1380000{i:04d}") == ("wrong", None)
        assert phone_try(demo_store, "0777", "0000", caller=f"1390000{i:04d}") == ("wrong", None)
    assert phone_try(demo_store, "5", "1234", caller="x") == ("spent", None)
    assert phone_try(demo_store, "777", "1234", caller="y") == ("spent", None)
    pins.verify(demo_store, "member", "QS005", "1234")   # the kiosk is not affected
    clock.advance(hours=24, seconds=1)
    assert phone_try(demo_store, "5", "1234", caller="x") == ("ok", "QS005")
    clock.advance(days=7, seconds=1)                 # old tries are not kept for ever
    phone_try(demo_store, "5", "1234", caller="x")
    assert tries(demo_store) == 1


def test_budget_per_caller_and_for_the_line(demo_store, monkeypatch):
    for i in range(phone_guard.PER_CALLER):
        assert phone_try(demo_store, str(10 + i), "0000", caller="13911112222")[0] == "wrong"
    assert phone_try(demo_store, "1", "1234", caller="13911112222") == ("spent", None)
    assert phone_try(demo_store, "1", "1234", caller="13933334444") == ("ok", "QS001")
    monkeypatch.setattr(phone_guard, "PER_LINE", phone_guard.PER_CALLER + 1)
    assert phone_try(demo_store, "2", "0000", caller="13955556666")[0] == "wrong"
    assert phone_try(demo_store, "1", "1234", caller="13977778888") == ("spent", None)


def test_a_spent_budget_is_said_and_ends_the_call(demo_store, monkeypatch):
    monkeypatch.setattr(phone_guard, "PER_LINE", 0)
    line = HeardLine(demo_store)
    line.start()
    line.play()
    line.press("1#")
    line.play()
    assert ids(line.press("1234")) == ["id.spent", "phone.goodbye"]
    assert line.dialog.member_no is None


def test_a_member_locked_at_the_kiosk_gets_the_common_answer(demo_store):
    for _ in range(pins.MAX_TRIES):
        with pytest.raises(AuthError):
            pins.verify(demo_store, "member", "QS007", "9999")
    with pytest.raises(Locked):
        pins.verify(demo_store, "member", "QS007", "1234")
    assert phone_try(demo_store, "7", "1234") == ("wrong", None)
    with pytest.raises(NotFound):
        pins.verify(demo_store, "member", "QS999", "1234")


# -- "#" after the PIN ---------------------------------------------------------------------

def test_hash_after_the_pin_ends_it(demo_store):
    line = HeardLine(demo_store)
    line.start()
    line.play()
    line.press("1#")
    line.play()
    out = line.press("1234")
    assert ids(out)[0] == "phone.hello_name"
    assert line.press("#") == []                     # no barge-in, no "invalid key"
    assert line.queue and line.dialog.state is State.MENU
    assert ids(line.play()) == [] and line.dialog._failures == 0
    # after a wrong PIN too: the # does not submit an empty number
    line = HeardLine(demo_store)
    line.start()
    line.play()
    line.press("2#")
    line.play()
    line.press("0000")
    assert line.press("#") == [] and line.dialog.state is State.ASK_NUMBER
    # a # later, or with too few digits, is a key as before
    line.play()
    line.press("2#")
    line.play()
    assert ids(line.press("12#")) == ["pin.short", "phone.pin"]


# -- the menu ------------------------------------------------------------------------------

def test_menu_has_four_choices_and_lasts_at_most_8_s(tmp_path):
    from voice.prompts import PromptCache
    from voice.tts import Pyttsx3Engine

    text = PHONE_CATALOGUE["phone.main"]
    assert text.count("按") == 4 and "重听" in text
    cache = PromptCache(tmp_path / "cache", Pyttsx3Engine(), overrides_dir=tmp_path / "ovr",
                        catalogue=PHONE_CATALOGUE)
    seconds = len(cache.pcm("phone.main", 8000)) / 16000      # what the line plays
    assert 4.0 < seconds <= 8.0, seconds


# -- the timeline ----------------------------------------------------------------------------

def test_timeline_is_kept_in_order_with_pin_digits_masked(demo_store):
    line = HeardLine(demo_store)
    line.start()
    line.play(seconds=6.0)                           # the greeting, heard whole
    line.press("4#")
    line.play(seconds=2.0)
    line.press("1234")                               # the name, the dues, the menu queued
    line.play(seconds=3.0)
    line.press("9")                                  # the menu again...
    line.press("2")                                  # ...cut by a choice: barge-in
    line.hang_up()
    rec = calls.get_call(demo_store, line.dialog.call_id)
    tl = rec["timeline"]
    assert [e["t_ms"] for e in tl] == sorted(e["t_ms"] for e in tl)
    keys = [e["key"] for e in tl if e["kind"] == "key"]
    assert keys == ["4", "#", "•", "•", "•", "•", "9", "2"]
    said = [e for e in tl if e["kind"] == "say"]
    assert said[0] == {"t_ms": 0, "kind": "say", "id": "phone.hello", "end_ms": 6000,
                       "cut": False, "text": PHONE_CATALOGUE["phone.hello"]}
    assert [e["id"] for e in said][:5] == ["phone.hello", "phone.pin", "phone.hello_name",
                                          "dues", "phone.pay_at_kiosk"]
    dues_entry = said[3]
    assert dues_entry["text"].startswith("党费还差") and not dues_entry["cut"]
    cut = [e for e in said if e["cut"]]
    assert [e["id"] for e in cut] == ["phone.main"] and cut[0]["end_ms"] - cut[0]["t_ms"] == 500
    assert "1234" not in str(tl)
    assert calls.list_calls(demo_store)[0]["timeline"] == tl
