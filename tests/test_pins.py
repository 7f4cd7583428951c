"""PINs: format, hashing, and the 5-tries / 15-minute lockout, for members and staff.

Pins: a PIN is exactly 4–6 ASCII digits (not "123", "1234567", "abcd", fullwidth digits or a
trailing newline); it is stored as an argon2id hash that does not contain it; wrong tries
count down 4, 3, 2, 1 and the 5th locks until now + 15 minutes; while locked even the right
PIN is refused; at +15 minutes the right PIN works again and clears the count; the count is
committed before the error, so it survives reopening the store; every try is in the audit
chain (pin.wrong, pin.locked, pin.refused_locked, pin.ok); staff go through branch.confirm
under the same rules.

The test member's hash is a real argon2id hash with small cost parameters (verification
reads them from the hash), so the many wrong tries here stay fast.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from core import audit, branch, members, pins
from core.clock import iso
from core.errors import AuthError, InvalidInput, Locked, NotFound
from core.store import Store

PIN = "1357"
_cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def member(store):
    members.add(store, member_no="M001", name="张三", category="retired", income_fen=200000,
                pin_hash=_cheap.hash(PIN), actor="test")
    return "M001"


def _pin_audit(store, subject: str) -> list[tuple[str, str, str]]:
    return [(r["actor"], r["action"], r["detail"]) for r in store.all(
        "SELECT actor, action, detail FROM audit WHERE subject = ? AND action LIKE 'pin.%' "
        "ORDER BY seq", [subject])]


def _row(store, table: str, key: str, number: str) -> dict:
    return store.one(f"SELECT failed_pins, locked_until FROM {table} WHERE {key} = ?", [number])


# -- format and hash ----------------------------------------------------------------------

@pytest.mark.parametrize("pin", ["1234", "12345", "123456", "0000"])
def test_four_to_six_digits_are_accepted(pin):
    assert pins.check_format(pin) == pin


@pytest.mark.parametrize("pin", ["123", "1234567", "abcd", "12a4", "", " 1234", "1234 ",
                                 "1234\n", "１２３４", "١٢٣٤", "12.4", "-123", None, 1234])
def test_anything_else_is_invalid(pin):
    with pytest.raises(InvalidInput) as e:
        pins.check_format(pin)
    assert e.value.zh == "密码是4到6位数字。"


def test_hash_pin_refuses_a_bad_format_before_hashing():
    with pytest.raises(InvalidInput):
        pins.hash_pin("123")


def test_hash_is_argon2id_salted_and_not_the_pin():
    h1, h2 = pins.hash_pin("2468"), pins.hash_pin("2468")
    assert h1.startswith("$argon2id$v=19$m=47104,t=1,p=1$")  # OWASP floor, see core/pins.py
    assert "2468" not in h1.split("$", 4)[-1]  # neither in salt nor hash
    assert h1 != h2  # a fresh salt each time
    assert PasswordHasher().verify(h1, "2468")


def test_stored_staff_hash_is_argon2id_and_not_the_pin(store):
    h = store.one("SELECT pin_hash FROM staff WHERE staff_no = 'S01'")["pin_hash"]
    assert h.startswith("$argon2id$") and "2468" not in h


# -- lockout, members ---------------------------------------------------------------------

def test_right_pin_passes_and_is_audited(store, member):
    pins.verify(store, "member", member, PIN)
    assert _pin_audit(store, "member:M001") == [("member:M001", "pin.ok", "{}")]
    assert audit.verify(store).ok


def test_wrong_pins_count_down_then_lock_for_15_minutes(store, member, clock):
    left = []
    for _ in range(4):
        with pytest.raises(AuthError) as e:
            pins.verify(store, "member", member, "9999")
        assert type(e.value) is AuthError
        left.append(e.value.tries_left)
    assert left == [4, 3, 2, 1]
    assert e.value.zh == "密码不对，还可以再试1次。"
    with pytest.raises(Locked) as e:
        pins.verify(store, "member", member, "9999")
    until = iso(clock.now() + timedelta(minutes=15))
    assert until == "2026-11-15T10:15:00.000+08:00"
    assert e.value.until == until and e.value.tries_left == 0
    assert "十五分钟" in e.value.zh
    assert _row(store, "member", "member_no", member) == {"failed_pins": 0, "locked_until": until}
    assert _pin_audit(store, "member:M001") == [("member:M001", "pin.wrong", "{}")] * 4 + [
        ("member:M001", "pin.locked", f'{{"until":"{until}"}}')]
    assert audit.verify(store).ok


def _lock(store, kind: str, number: str, confirm=None) -> None:
    for _ in range(5):
        with pytest.raises(AuthError):
            if confirm:
                confirm("0000")
            else:
                pins.verify(store, kind, number, "0000")
    assert _row(store, kind, f"{kind}_no", number)["locked_until"]


def test_while_locked_even_the_right_pin_is_refused(store, member, clock):
    _lock(store, "member", member)
    until = iso(clock.now() + timedelta(minutes=15))
    clock.advance(minutes=14, seconds=59)
    for pin in (PIN, "0000"):
        with pytest.raises(Locked) as e:
            pins.verify(store, "member", member, pin)
        assert e.value.until == until
    assert _pin_audit(store, "member:M001")[-2:] == [
        ("member:M001", "pin.refused_locked", f'{{"until":"{until}"}}')] * 2
    # refusals do not extend the lock or count as tries
    assert _row(store, "member", "member_no", member) == {"failed_pins": 0, "locked_until": until}


def test_after_15_minutes_the_right_pin_works_and_clears_the_lock(store, member, clock):
    _lock(store, "member", member)
    clock.advance(minutes=15)
    pins.verify(store, "member", member, PIN)
    assert _row(store, "member", "member_no", member) == {"failed_pins": 0, "locked_until": None}
    assert _pin_audit(store, "member:M001")[-1] == ("member:M001", "pin.ok", "{}")
    with pytest.raises(AuthError) as e:  # a fresh count of five
        pins.verify(store, "member", member, "0000")
    assert e.value.tries_left == 4


def test_after_the_lock_a_wrong_pin_starts_a_fresh_count(store, member, clock):
    _lock(store, "member", member)
    clock.advance(minutes=16)
    with pytest.raises(AuthError) as e:
        pins.verify(store, "member", member, "0000")
    assert type(e.value) is AuthError and e.value.tries_left == 4
    assert _row(store, "member", "member_no", member) == {"failed_pins": 1, "locked_until": None}


def test_right_pin_resets_the_count(store, member):
    for _ in range(3):
        with pytest.raises(AuthError):
            pins.verify(store, "member", member, "0000")
    pins.verify(store, "member", member, PIN)
    with pytest.raises(AuthError) as e:
        pins.verify(store, "member", member, "0000")
    assert e.value.tries_left == 4


def test_failure_count_survives_reopening_the_store(store, member, clock):
    for _ in range(3):
        with pytest.raises(AuthError):
            pins.verify(store, "member", member, "0000")
    path = store.path
    store.close()
    with Store.open(path, clock=clock) as s:
        assert _row(s, "member", "member_no", member)["failed_pins"] == 3
        with pytest.raises(AuthError) as e:
            pins.verify(s, "member", member, "0000")
        assert e.value.tries_left == 1
        with pytest.raises(Locked):
            pins.verify(s, "member", member, "0000")
    with Store.open(path, clock=clock) as s:
        with pytest.raises(Locked):
            pins.verify(s, "member", member, PIN)
        actions = [a for _, a, _ in _pin_audit(s, "member:M001")]
        assert actions == ["pin.wrong"] * 4 + ["pin.locked", "pin.refused_locked"]
        assert audit.verify(s).ok


def test_another_connection_sees_the_count_at_once(store, member, clock):
    """The kiosk and the phone line are separate processes on one file: tries add up."""
    other = Store.open(store.path, clock=clock)
    try:
        with pytest.raises(AuthError) as e:
            pins.verify(store, "member", member, "0000")
        assert e.value.tries_left == 4
        with pytest.raises(AuthError) as e:
            pins.verify(other, "member", member, "0000")
        assert e.value.tries_left == 3
    finally:
        other.close()


def test_pin_check_inside_a_transaction_is_refused(store, member):
    """An outer rollback would undo the committed failure count."""
    with pytest.raises(RuntimeError, match="inside a transaction"):
        with store.transaction():
            pins.verify(store, "member", member, "0000")
    assert _row(store, "member", "member_no", member)["failed_pins"] == 0


def test_member_without_a_pin_cannot_sign_in(store):
    members.add(store, member_no="M002", name="李四", category="farmer", farmer_fen=50,
                actor="test")
    with pytest.raises(AuthError) as e:
        pins.verify(store, "member", "M002", "1234")
    assert e.value.tries_left == 4


def test_a_pin_of_the_wrong_type_is_a_wrong_try_not_a_crash(store, member):
    with pytest.raises(AuthError) as e:
        pins.verify(store, "member", member, None)
    assert e.value.tries_left == 4


def test_unknown_member_is_not_found(store):
    with pytest.raises(NotFound) as e:
        pins.verify(store, "member", "NOPE", "1234")
    assert e.value.zh == "没有找到这个党员编号。"
    assert store.one("SELECT count(*) AS n FROM audit WHERE action LIKE 'pin.%'")["n"] == 0


def test_set_pin_unlocks_and_ships_only_the_hash(store, member):
    _lock(store, "member", member)
    pins.set_pin(store, "member", member, "8642", actor="staff:S01")
    assert _row(store, "member", "member_no", member) == {"failed_pins": 0, "locked_until": None}
    ev = store.one("SELECT type, payload FROM journal ORDER BY seq DESC LIMIT 1")
    assert ev["type"] == "member.pin_set"
    assert '"pin_hash":"$argon2id$' in ev["payload"] and "8642" not in ev["payload"]
    pins.verify(store, "member", member, "8642")
    with pytest.raises(InvalidInput):
        pins.set_pin(store, "member", member, "12", actor="staff:S01")
    with pytest.raises(InvalidInput, match="4 digits"):   # kiosk and phone take 4 digits
        pins.set_pin(store, "member", member, "86420", actor="staff:S01")
    with pytest.raises(NotFound):
        pins.set_pin(store, "member", "NOPE", "1234", actor="staff:S01")


# -- staff through branch.confirm ---------------------------------------------------------

def test_staff_confirm_returns_a_confirmation(store, clock):
    c = branch.confirm(store, "S01", "2468")
    assert (c.staff_no, c.name, c.at) == ("S01", "王书记", "2026-11-15T10:00:00.000+08:00")
    assert _pin_audit(store, "staff:S01") == [("staff:S01", "pin.ok", "{}")]
    with pytest.raises(TypeError):
        branch.StaffConfirmation("S01", "王书记", c.at, object())


def test_staff_lockout_through_confirm(store, clock):
    left = []
    for _ in range(4):
        with pytest.raises(AuthError) as e:
            branch.confirm(store, "S01", "1111")
        left.append(e.value.tries_left)
    assert left == [4, 3, 2, 1]
    with pytest.raises(Locked) as e:
        branch.confirm(store, "S01", "1111")
    until = iso(clock.now() + timedelta(minutes=15))
    assert e.value.until == until
    with pytest.raises(Locked):
        branch.confirm(store, "S01", "2468")
    clock.advance(minutes=15)
    assert branch.confirm(store, "S01", "2468").staff_no == "S01"
    assert _row(store, "staff", "staff_no", "S01") == {"failed_pins": 0, "locked_until": None}
    assert [a for _, a, _ in _pin_audit(store, "staff:S01")] == (
        ["pin.wrong"] * 4 + ["pin.locked", "pin.refused_locked", "pin.ok"])
    assert audit.verify(store).ok


def test_staff_count_survives_reopening(store, clock):
    for _ in range(2):
        with pytest.raises(AuthError):
            branch.confirm(store, "S01", "1111")
    path = store.path
    store.close()
    with Store.open(path, clock=clock) as s:
        with pytest.raises(AuthError) as e:
            branch.confirm(s, "S01", "1111")
        assert e.value.tries_left == 2


def test_unknown_or_inactive_staff_is_not_found(store):
    with pytest.raises(NotFound):
        branch.confirm(store, "S99", "2468")
    store.db.execute("UPDATE staff SET active = 0 WHERE staff_no = 'S01'")
    with pytest.raises(NotFound) as e:
        branch.confirm(store, "S01", "2468")
    assert e.value.zh == "这个工作人员账号已停用。"


def test_staff_pin_format_is_checked_when_added(store):
    with pytest.raises(InvalidInput):
        branch.add_staff(store, staff_no="S02", name="李会计", role="collector", pin="12",
                         actor="test")
    assert store.one("SELECT count(*) AS n FROM staff")["n"] == 1
