"""Issue 10's phone-line journeys with a real caller: baresip on 127.0.0.1 against the real
dialog on the demo branch (``phonejourney``). Timings are read from the call's timeline in
the store and checked against the audio the caller received.

Pins:
  * the timeline is true: every prompt heard whole is found in the received audio where the
    timeline puts it (loudness envelope of its own speech, correlation > 0.8, within 200 ms)
    and lasts as long as its audio;
  * a patient caller (waits for every prompt to end) hears the dues amount ≤ 20 s after
    answer; the name comes after the PIN and before the dues; nothing said before the PIN
    holds the name — also for a caller whose SIP From claims the member's phone number;
  * "1234#": the # is accepted (no "invalid key", nothing cut, the menu reached);
  * an unknown number and a wrong PIN: the same prompts after the PIN, the same received
    audio length, answered equally fast, each counted once; the kiosk lockout unmoved.
"""

from __future__ import annotations

import pytest
from phonejourney import journey, locate
from sipcallers import BARESIP

from core import members
from voice.phone_prompts import PHONE_CATALOGUE
from voice.prompts import PromptCache
from voice.tts import Pyttsx3Engine

pytestmark = pytest.mark.skipif(BARESIP is None, reason="Debian package baresip not installed")

DUES_WITHIN_S = 20.0


@pytest.fixture(scope="module")
def prompts(tmp_path_factory):
    root = tmp_path_factory.mktemp("prompts")
    cache = PromptCache(root / "cache", Pyttsx3Engine(), overrides_dir=root / "overrides",
                        catalogue=PHONE_CATALOGUE)
    cache.prerender(rates=(8000,))                  # as `lianxin voice prerender` does
    return cache


def says(record) -> list[dict]:
    return [e for e in record["timeline"] if e["kind"] == "say"]


def check_against_audio(j, prompts) -> None:
    for e in says(j.record):
        if e["cut"] or e["id"] == "tone":
            continue
        lag_ms, corr = locate(j.heard, e, prompts)
        assert corr > 0.8 and abs(lag_ms) <= 200, (e["id"], lag_ms, corr)
        audio_ms = len(prompts.speak(e["text"], 8000)) / 16
        # a play lasts its audio (a late 20 ms clock tick on a busy machine may add a little)
        assert -100 <= (e["end_ms"] - e["t_ms"]) - audio_ms <= 300, (e, audio_ms)


def pin_keys_end(record) -> int:
    return [e["t_ms"] for e in record["timeline"] if e.get("key") == "•"][-1]


def test_patient_caller_hears_name_then_dues_within_20_s(tmp_path, demo_store, prompts):
    j = journey(demo_store, prompts, tmp_path / "call", style="patient", number="4")
    check_against_audio(j, prompts)
    name = members.get(demo_store, "QS004")["name"]
    ids = [e["id"] for e in says(j.record)]
    assert ids[:5] == ["phone.hello", "phone.pin", "phone.hello_name", "dues",
                       "phone.pay_at_kiosk"]
    hello, dues = j.said("phone.hello_name"), j.said("dues")
    assert hello["text"] == f"{name}同志，您好。" and pin_keys_end(j.record) < hello["t_ms"]
    assert name not in "".join(e["text"] for e in says(j.record)[:2])
    assert not any(e["cut"] for e in says(j.record)[:4])    # patient: heard every word
    assert "共" in dues["text"] and dues["t_ms"] >= hello["end_ms"] - 40
    assert j.dues_s <= DUES_WITHIN_S, j.dues_s
    assert j.said("phone.pay_at_kiosk")["cut"]             # the caller hung up in it
    assert j.record["member_no"] == "QS004"


def test_caller_claiming_a_members_phone_hears_no_name_before_the_pin(tmp_path, demo_store,
                                                                     prompts):
    # QS001's phone, with their consent to be recognised by it (the demo branch)
    j = journey(demo_store, prompts, tmp_path / "call", style="patient", user="13800000001",
                number="", wait_for="phone.hello_name", linger_s=0.3)
    check_against_audio(j, prompts)
    first = says(j.record)[0]
    assert j.record["caller"] == "13800000001" and first["id"] == "phone.hello_pin"
    assert "张三丰" not in first["text"]
    hello = j.said("phone.hello_name")
    assert hello["text"] == "张三丰同志，您好。" and pin_keys_end(j.record) < hello["t_ms"]


def test_hash_after_the_pin_is_accepted(tmp_path, demo_store, prompts):
    j = journey(demo_store, prompts, tmp_path / "call", style="barge-in", number="2",
                after_pin="#", wait_for="phone.main", linger_s=0.3)
    keys = [e["key"] for e in j.record["timeline"] if e["kind"] == "key"]
    assert keys[-5:] == ["•", "•", "•", "•", "#"]
    assert j.record["member_no"] == "QS002"
    ids = [e["id"] for e in says(j.record)]
    assert "key.invalid" not in ids and "phone.main" in ids
    after = [e for e in says(j.record) if e["t_ms"] >= pin_keys_end(j.record)]
    assert [e["id"] for e in after][:2] == ["phone.hello_name", "dues"]
    assert not any(e["cut"] for e in after[:3])     # the # cut nothing
    check_against_audio(j, prompts)


def test_unknown_number_and_wrong_pin_sound_the_same(tmp_path, demo_store, prompts):
    def tries():
        return demo_store.one("SELECT COUNT(*) AS n FROM phone_pin_try")["n"]

    answers = {}
    for label, number, pin in (("unknown", "777", "1234"), ("wrong", "5", "0000")):
        before = tries()
        j = journey(demo_store, prompts, tmp_path / label, style="patient", number=number,
                    pin=pin, wait_for="phone.ask_number", linger_s=0.3)
        assert tries() == before + 1
        check_against_audio(j, prompts)
        end = pin_keys_end(j.record)
        after = [e for e in says(j.record) if e["t_ms"] >= end]
        answers[label] = {"said": [(e["id"], e["text"]) for e in after],
                          "delay_ms": after[0]["t_ms"] - end,
                          "heard_ms": after[0]["end_ms"] - after[0]["t_ms"]}
        assert j.record["member_no"] is None
    u, w = answers["unknown"], answers["wrong"]
    assert u["said"] == w["said"] == [("id.wrong", PHONE_CATALOGUE["id.wrong"]),
                                      ("phone.ask_number", PHONE_CATALOGUE["phone.ask_number"])]
    assert abs(u["heard_ms"] - w["heard_ms"]) <= 60, answers
    assert abs(u["delay_ms"] - w["delay_ms"]) < 250, answers
    assert demo_store.one("SELECT failed_pins FROM member WHERE member_no = 'QS005'")[
        "failed_pins"] == 0
