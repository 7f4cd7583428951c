"""Consent: what a member agreed to, how, and that withdrawal is honoured at once.

Pins:
  * grant and withdraw work by touch, by voice and witnessed by staff; the staff method
    needs a witness who is an active staff member of the branch; a bad scope or method,
    or an unknown member, is refused and writes nothing;
  * ``current`` defaults every scope to False (no consent assumed) and follows the latest
    answer, even when two answers carry the same time;
  * ``latest`` is the one place the answer is computed: ``has``/``current``,
    ``calls.messages_allowed`` and the replica's phone numbers agree with it;
  * withdrawing ``phone_recognition`` deletes the member's phone numbers, so the phone line
    no longer recognises them, and journals ``consent.withdrawn``; other members' phones stay;
  * every answer is journaled and audited, and the audit chain still verifies.
"""

from __future__ import annotations

import json

import pytest

from core import audit, consent, members
from core.errors import InvalidInput, NotFound


@pytest.fixture
def member(store):
    members.add(store, member_no="QS001", name="张三丰", category="student",
                phones=["138-0000-0001", "0571 8800 0104"], actor="staff:S01")
    members.add(store, member_no="QS002", name="王秀英", category="student",
                phones=["13800000002"], actor="staff:S01")
    return "QS001"


def last_event(store):
    row = store.one("SELECT type, payload FROM journal ORDER BY seq DESC LIMIT 1")
    return row["type"], json.loads(row["payload"])


def test_current_defaults_to_no_consent(store, member):
    assert consent.current(store, member) == {"terminal_records": False,
                                              "phone_recognition": False,
                                              "voice_messages": False}
    assert consent.has(store, member, "voice_messages") is False
    assert consent.has(store, member, "no_such_scope") is False


@pytest.mark.parametrize("method, witness, actor", [
    ("touch", None, "member:QS001"),
    ("voice", None, "member:QS001"),
    ("staff", "S01", "staff:S01"),
])
def test_grant_and_withdraw_with_each_method(store, member, method, witness, actor):
    row = consent.grant(store, member, "terminal_records", method=method, witness=witness)
    assert (row["granted"], row["method"], row["witness"]) == (True, method, witness)
    assert consent.current(store, member)["terminal_records"] is True
    assert last_event(store)[0] == "consent.granted"
    assert store.one("SELECT actor FROM audit ORDER BY seq DESC LIMIT 1")["actor"] == actor

    consent.withdraw(store, member, "terminal_records", method=method, witness=witness)
    assert consent.current(store, member)["terminal_records"] is False
    kind, payload = last_event(store)
    assert kind == "consent.withdrawn"
    assert (payload["member_no"], payload["scope"], payload["method"]) == (member, "terminal_records", method)
    # Same clock time for both answers: the later row still wins.
    consent.grant(store, member, "terminal_records", method=method, witness=witness)
    assert consent.has(store, member, "terminal_records") is True
    assert store.one("SELECT COUNT(*) AS n FROM consent")["n"] == 3
    assert audit.verify(store).ok


def test_staff_method_needs_an_active_staff_witness(store, member):
    for witness in (None, "", "S99"):
        with pytest.raises(InvalidInput):
            consent.grant(store, member, "terminal_records", method="staff", witness=witness)
    with pytest.raises(InvalidInput):  # a witness belongs to the staff method only
        consent.grant(store, member, "terminal_records", method="touch", witness="S01")
    assert store.one("SELECT COUNT(*) AS n FROM consent")["n"] == 0


def test_refuses_unknown_scope_method_or_member(store, member):
    events = store.one("SELECT COUNT(*) AS n FROM journal")["n"]
    with pytest.raises(InvalidInput):
        consent.grant(store, member, "face_recognition", method="touch")
    with pytest.raises(InvalidInput):
        consent.grant(store, member, "terminal_records", method="sms")
    with pytest.raises(NotFound):
        consent.grant(store, "QS999", "terminal_records", method="touch")
    assert store.one("SELECT COUNT(*) AS n FROM journal")["n"] == events
    assert store.one("SELECT COUNT(*) AS n FROM consent")["n"] == 0


def test_withdrawing_phone_recognition_deletes_the_phones(store, member):
    assert members.by_phone(store, "13800000001") == []  # no recognition before consent
    consent.grant(store, member, "phone_recognition", method="voice")
    consent.grant(store, "QS002", "phone_recognition", method="touch")
    assert [m["member_no"] for m in members.by_phone(store, "13800000001")] == ["QS001"]
    consent.withdraw(store, member, "phone_recognition", method="voice")
    assert members.by_phone(store, "13800000001") == []
    assert members.by_phone(store, "057188000104") == []
    assert members.get(store, member)["phones"] == []
    assert store.one("SELECT COUNT(*) AS n FROM member_phone WHERE member_no = ?", [member])["n"] == 0
    kind, payload = last_event(store)
    assert kind == "consent.withdrawn"
    assert (payload["scope"], payload["phones_removed"]) == ("phone_recognition", 2)
    # The withdrawal event itself carries no phone number.
    assert "13800000001" not in json.dumps(payload)
    # Another member is untouched.
    assert [m["member_no"] for m in members.by_phone(store, "13800000002")] == ["QS002"]
    assert audit.verify(store).ok


def test_withdrawing_another_scope_keeps_the_phones(store, member):
    consent.withdraw(store, member, "voice_messages", method="touch")
    assert members.get(store, member)["phones"] == ["057188000104", "13800000001"]
    assert last_event(store)[1]["phones_removed"] == 0


def test_one_latest_answer_for_consent_calls_and_replica(store, member):
    """``consent.latest`` is the one computation: the consent screens (``has``), the phone
    line's messages (``calls.messages_allowed``) and the phone numbers kept, locally or
    pulled (``members.phones_allowed``) read the same answer; never asked is "not agreed"
    and "not withdrawn" at once."""
    from core import calls

    def seen(scope):
        allowed = {"voice_messages": calls.messages_allowed,
                   "phone_recognition": members.phones_allowed}[scope]
        answer = consent.latest(store, member, scope)
        assert consent.has(store, member, scope) is (answer is True)
        assert consent.withdrawn(store, member, scope) is (answer is False)
        assert consent.current(store, member)[scope] is (answer is True)
        assert allowed(store, member) is (answer is not False)
        return answer

    for scope in ("voice_messages", "phone_recognition"):
        assert seen(scope) is None
        consent.grant(store, member, scope, method="touch")
        assert seen(scope) is True
        consent.withdraw(store, member, scope, method="touch")   # same clock time: later row
        assert seen(scope) is False
        consent.grant(store, member, scope, method="voice")
        assert seen(scope) is True
    assert consent.latest(store, "QS002", "voice_messages") is None
