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
    payload = {"code": code, "name": name.strip(), "township": township,
               "back_pay_limit": back_pay_limit, "pay_ahead_limit": pay_ahead_limit}
    with store.transaction():
        if store.meta("branch_code"):  # inside the write lock: two setups cannot both pass
            raise StoreError("this terminal already holds a branch", "这台终端已经属于一个支部。")
        apply_branch(store, payload, iso(store.now()))
        store.record("branch.created", payload, actor=actor, subject=f"branch:{code}")
    return get(store)


def apply_branch(store, p: dict, at: str) -> None:
    """``branch.created`` / ``branch.policy_set``, made here or by the hub: the one writer
    of ``branch``. The first makes this terminal the branch's; each later one overwrites
    (the hub's order, never a clock, decides: core.events)."""
    code = p["code"]
    limits = [int(p.get("back_pay_limit", 6)), int(p.get("pay_ahead_limit", 6))]
    if not store.one("SELECT 1 FROM branch WHERE code = ?", [code]):
        store.db.execute(
            "INSERT INTO branch(code, name, township, back_pay_limit, pay_ahead_limit, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [code, p.get("name") or code, p.get("township") or "", *limits, at])
        store.set_meta("branch_code", code)
        return
    if "name" in p:
        store.db.execute("UPDATE branch SET name = ?, township = ? WHERE code = ?",
                         [p["name"], p.get("township") or "", code])
    store.db.execute("UPDATE branch SET back_pay_limit = ?, pay_ahead_limit = ?, "
                     "updated_at = ? WHERE code = ?", [*limits, at, code])


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
    payload = {"code": b.code, "back_pay_limit": back_pay_limit,
               "pay_ahead_limit": pay_ahead_limit}
    with store.transaction():
        apply_branch(store, payload, iso(store.now()))
        store.record("branch.policy_set", payload, actor=actor, subject=f"branch:{b.code}")
    return get(store)


# -- staff -----------------------------------------------------------------------------

def add_staff(store, *, staff_no: str, name: str, role: str, pin: str, actor: str) -> dict:
    if role not in STAFF_ROLES:
        raise InvalidInput(f"unknown staff role {role!r}; one of {', '.join(STAFF_ROLES)}")
    if not staff_no.strip() or not name.strip():
        raise InvalidInput("staff number and name are required")
    payload = {"staff_no": staff_no, "name": name.strip(), "role": role,
               "pin_hash": pins.hash_pin(pin)}
    with store.transaction():
        if store.one("SELECT 1 FROM staff WHERE staff_no = ?", [staff_no]):
            raise InvalidInput(f"staff {staff_no} already exists", "这个工作人员编号已经有了。")
        apply_staff_added(store, payload, iso(store.now()))
        store.record("staff.added", payload, actor=actor, subject=f"staff:{staff_no}")
    return get_staff(store, staff_no)


def apply_staff_added(store, p: dict, at: str) -> None:
    """``staff.added``, made here or by the hub (which carries the PIN's argon2 hash, never
    the PIN): the one writer of a staff account; the hub's later word overwrites it."""
    if store.one("SELECT 1 FROM staff WHERE staff_no = ?", [p["staff_no"]]):
        store.db.execute("UPDATE staff SET name = ?, role = ?, pin_hash = ?, updated_at = ? "
                         "WHERE staff_no = ?",
                         [p["name"], p["role"], p["pin_hash"], at, p["staff_no"]])
        return
    store.db.execute(
        "INSERT INTO staff(staff_no, name, role, pin_hash, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)", [p["staff_no"], p["name"], p["role"], p["pin_hash"], at, at])


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
