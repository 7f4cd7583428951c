"""The branch this terminal serves (exactly one: a terminal holds only its own branch),
its dues policy, and its staff accounts."""

from __future__ import annotations

from dataclasses import dataclass

from . import pins
from .clock import iso
from .errors import InvalidInput, NotFound, StoreError

STAFF_ROLES = {"secretary": "支部书记", "collector": "党费收缴员", "staff": "工作人员"}


@dataclass(frozen=True)
class Branch:
    code: str
    name: str
    township: str
    back_pay_limit: int
    pay_ahead_limit: int


def setup(store, *, code: str, name: str, township: str = "", back_pay_limit: int = 6,
          pay_ahead_limit: int = 6, actor: str = "system") -> Branch:
    if not name.strip() or not code.strip():
        raise InvalidInput("branch name and code are required", "请填写支部名称。")
    _check_limits(back_pay_limit, pay_ahead_limit)
    with store.transaction():
        if store.meta("branch_code"):  # inside the write lock: two setups cannot both pass
            raise StoreError("this terminal already holds a branch", "这台终端已经属于一个支部。")
        store.db.execute(
            "INSERT INTO branch(code, name, township, back_pay_limit, pay_ahead_limit, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [code, name.strip(), township, back_pay_limit, pay_ahead_limit, iso(store.now())])
        store.set_meta("branch_code", code)
        store.record("branch.created", {"code": code, "name": name.strip(), "township": township,
                                        "back_pay_limit": back_pay_limit,
                                        "pay_ahead_limit": pay_ahead_limit},
                     actor=actor, subject=f"branch:{code}")
    return get(store)


def get(store) -> Branch:
    row = store.one("SELECT code, name, township, back_pay_limit, pay_ahead_limit FROM branch "
                    "WHERE code = ?", [store.meta("branch_code")])
    if row is None:
        raise NotFound("this terminal holds no branch yet", "这台终端还没有设置支部。")
    return Branch(**row)


def _check_limits(*limits) -> None:
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in limits):
        raise InvalidInput(f"limits are whole numbers of months, zero or more: {limits}",
                           "月数应该是0或正整数。")


def set_policy(store, *, back_pay_limit: int, pay_ahead_limit: int, actor: str) -> Branch:
    _check_limits(back_pay_limit, pay_ahead_limit)
    b = get(store)
    with store.transaction():
        store.db.execute("UPDATE branch SET back_pay_limit = ?, pay_ahead_limit = ?, updated_at = ? "
                         "WHERE code = ?", [back_pay_limit, pay_ahead_limit, iso(store.now()), b.code])
        store.record("branch.policy_set", {"code": b.code, "back_pay_limit": back_pay_limit,
                                           "pay_ahead_limit": pay_ahead_limit},
                     actor=actor, subject=f"branch:{b.code}")
    return get(store)


# -- staff -----------------------------------------------------------------------------

def add_staff(store, *, staff_no: str, name: str, role: str, pin: str, actor: str) -> dict:
    if role not in STAFF_ROLES:
        raise InvalidInput(f"unknown staff role {role!r}; one of {', '.join(STAFF_ROLES)}")
    if not staff_no.strip() or not name.strip():
        raise InvalidInput("staff number and name are required")
    hashed = pins.hash_pin(pin)
    now = iso(store.now())
    with store.transaction():
        if store.one("SELECT 1 FROM staff WHERE staff_no = ?", [staff_no]):
            raise InvalidInput(f"staff {staff_no} already exists", "这个工作人员编号已经有了。")
        store.db.execute(
            "INSERT INTO staff(staff_no, name, role, pin_hash, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", [staff_no, name.strip(), role, hashed, now, now])
        store.record("staff.added", {"staff_no": staff_no, "name": name.strip(), "role": role,
                                     "pin_hash": hashed}, actor=actor, subject=f"staff:{staff_no}")
    return get_staff(store, staff_no)


def get_staff(store, staff_no: str) -> dict:
    row = store.one("SELECT staff_no, name, role, active FROM staff WHERE staff_no = ?", [staff_no])
    if row is None:
        raise NotFound(f"no staff {staff_no}", "没有这个工作人员编号。")
    return row


def list_staff(store) -> list[dict]:
    return store.all("SELECT staff_no, name, role, active FROM staff ORDER BY staff_no")


@dataclass(frozen=True)
class StaffConfirmation:
    """Proof that a staff member just entered their PIN. Only :func:`confirm` makes one."""

    staff_no: str
    name: str
    at: str
    _token: object

    def __post_init__(self):
        if self._token is not _CONFIRM_TOKEN:
            raise TypeError("StaffConfirmation is made by branch.confirm() only")


_CONFIRM_TOKEN = object()


def confirm(store, staff_no: str, pin: str) -> StaffConfirmation:
    """Check a staff PIN (lockout rules apply) and return a confirmation for cash records."""
    staff = get_staff(store, staff_no)
    if not staff["active"]:
        raise NotFound(f"staff {staff_no} is not active", "这个工作人员账号已停用。")
    pins.verify(store, "staff", staff_no, pin)
    return StaffConfirmation(staff_no, staff["name"], iso(store.now()), _CONFIRM_TOKEN)
