"""Lianxin core: the domain rules and the terminal's local store.

Imports nothing of kiosk, voice or sync. Front ends call these modules; none writes SQL.

    store        the encrypted SQLite file, transactions, journal events
    assist       a member's call for staff help at the terminal
    audit        the tamper-evident hash chain
    branch       the branch, its dues policy, staff accounts and staff confirmation
    members      roster, yearly dues amounts, phones, lookup
    dues_rules   the 2008 regulation as pure functions
    dues         the append-only ledger: pay, correct, status
    study        lessons, quizzes, sessions, hours, recommendations
    consent      what a member agreed the terminal may keep
    notices      branch notices
    pins         PIN hashing and lockout
    demo         the fictional demo branch
"""

from .errors import (
    AuthError,
    ClockSuspect,
    ConsentError,
    InvalidInput,
    LianxinError,
    LimitExceeded,
    Locked,
    NotFound,
    PolicyError,
    StoreError,
)


def __getattr__(name):
    # ``Store`` loads lazily: it pulls in SQLCipher and sqlite-utils, which a command's
    # ``--help`` or a pure rule (dues_rules, clock) does not need.
    if name == "Store":
        from .store import Store

        return Store
    raise AttributeError(f"module 'core' has no attribute {name!r}")


__all__ = [
    "AuthError",
    "ClockSuspect",
    "ConsentError",
    "InvalidInput",
    "LianxinError",
    "LimitExceeded",
    "Locked",
    "NotFound",
    "PolicyError",
    "Store",
    "StoreError",
]
