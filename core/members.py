"""Members of the branch: the roster, each year's fixed dues amount, phones, and lookup.

Lookup works the three ways staff and members actually search:
  * member number (exact, then prefix),
  * name in Hanzi, whole or any 1–2 characters of it (``member_gram`` holds every 1- and
    2-character piece, so "三" or "三丰" finds 张三丰 through an index, not a scan),
  * pinyin initials ("zsf" -> 张三丰), stored as ``py:`` grams and matched by prefix, with
    every reading of a polyphonic character (单 = d/s) so no member becomes unfindable.
"""

from __future__ import annotations

import itertools
import re
from datetime import date

from pypinyin import Style, pinyin

from . import dues_rules, pins
from .clock import iso, month_of, parse_month
from .errors import InvalidInput, NotFound

STATUSES = ("active", "transferred", "left", "deceased")
_PHONE = re.compile(r"^\+?\d{5,15}$")
_MEMBER_NO = re.compile(r"^[A-Za-z0-9-]{1,20}$")
_HANZI = re.compile(r"^[\u3400-\u9fff·]{1,10}$")
LOOKUP_LIMIT = 50


# -- names --------------------------------------------------------------------------------

def initials_of(name: str) -> list[str]:
    """All pinyin-initial spellings of a name (several when a character has several readings)."""
    letters = pinyin(name, style=Style.FIRST_LETTER, heteronym=True, errors="ignore")
    options = [sorted({s[0].lower() for s in readings if s}) for readings in letters]
    combos = ["".join(c) for c in itertools.islice(itertools.product(*options), 8)]
    return sorted(set(combos)) or [""]


def grams_of(name: str) -> set[str]:
    chars = name.replace("·", "")
    grams = set(chars)
    grams.update(chars[i:i + 2] for i in range(len(chars) - 1))
    return grams


def normalize_phone(phone: str) -> str:
    p = re.sub(r"[\s\-()]", "", str(phone))
    if not _PHONE.match(p):
        raise InvalidInput(f"not a phone number: {phone!r}", "电话号码格式不对。")
    return p


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not _HANZI.match(name):
        raise InvalidInput(f"a member name is 1-10 Chinese characters: {name!r}",
                           "姓名应该是汉字。")
    return name


# -- writing ------------------------------------------------------------------------------

def add(store, *, member_no: str, name: str, category: str, income_fen: int | None = None,
        farmer_fen: int | None = None, joined: str | None = None, probation: bool = False,
        phones: list[str] = (), dues_from: str | None = None, pin: str | None = None,
        pin_hash: str | None = None, actor: str) -> dict:
    """Add a member and fix this year's monthly amount. ``dues_from`` is the first month the
    terminal asks dues for (default: the admission month for a probationary member or one
    admitted this year, else the current month). ``pin_hash`` is an argon2 hash made
    elsewhere (the hub, or the demo), used when no plain ``pin`` is given."""
    if not _MEMBER_NO.match(member_no or ""):
        raise InvalidInput(f"member number must be 1-20 letters/digits: {member_no!r}",
                           "党员编号格式不对。")
    name = _check_name(name)
    quote = dues_rules.quote(category, income_fen=income_fen, farmer_fen=farmer_fen)
    now = store.now()
    this_month = month_of(now)
    if joined:
        try:
            joined_d = date.fromisoformat(joined)
        except ValueError as e:
            raise InvalidInput(f"joined date must be YYYY-MM-DD: {joined!r}", "入党日期格式不对。") from e
        if joined_d > now.date():
            raise InvalidInput("joined date is in the future", "入党日期不能晚于今天。")
    if dues_from is None:
        if joined and (probation or joined[:4] == this_month[:4]):
            dues_from = joined[:7]
        else:
            dues_from = this_month
    parse_month(dues_from)
    phone_list = sorted({normalize_phone(p) for p in phones})
    if pin:
        pin_hash = pins.hash_pin(pin)
    at = iso(now)
    with store.transaction():
        if store.one("SELECT 1 FROM member WHERE member_no = ?", [member_no]):
            raise InvalidInput(f"member {member_no} already exists", "这个党员编号已经有了。")
        inits = initials_of(name)
        store.db.execute(
            "INSERT INTO member(member_no, name, initials, category, joined, probation, dues_from, "
            "pin_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [member_no, name, inits[0], category, joined, int(probation), dues_from, pin_hash, at, at])
        _index_name(store, member_no, name, inits)
        for p in phone_list:
            store.db.execute("INSERT INTO member_phone(phone, member_no) VALUES (?, ?)", [p, member_no])
        _set_rate(store, member_no, now.year, quote, at)
        store.record("member.added", {
            "member_no": member_no, "name": name, "category": category, "joined": joined,
            "probation": probation, "dues_from": dues_from, "phones": phone_list,
            "pin_hash": pin_hash, "rate": {"year": now.year, **quote.as_dict()},
        }, actor=actor, subject=f"member:{member_no}")
    return get(store, member_no)


def _index_name(store, member_no: str, name: str, inits: list[str]) -> None:
    store.db.execute("DELETE FROM member_gram WHERE member_no = ?", [member_no])
    for g in grams_of(name) | {f"py:{i}" for i in inits}:
        store.db.execute("INSERT OR IGNORE INTO member_gram(gram, member_no) VALUES (?, ?)",
                         [g, member_no])


def _set_rate(store, member_no: str, year: int, quote: dues_rules.Quote, at: str,
              hardship_ref: str | None = None, hardship_reason: str | None = None) -> None:
    store.db.execute(
        "INSERT INTO dues_rate(member_no, year, monthly_fen, rule, base_fen, hardship_ref, "
        "hardship_reason, set_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(member_no, year) DO UPDATE SET monthly_fen = excluded.monthly_fen, "
        "rule = excluded.rule, base_fen = excluded.base_fen, hardship_ref = excluded.hardship_ref, "
        "hardship_reason = excluded.hardship_reason, set_at = excluded.set_at",
        [member_no, year, quote.monthly_fen, quote.rule, quote.base_fen, hardship_ref,
         hardship_reason, at])


def fix_rate(store, member_no: str, year: int, *, category: str | None = None,
             income_fen: int | None = None, farmer_fen: int | None = None,
             hardship_fen: int | None = None, approval_ref: str = "", reason: str = "",
             actor: str) -> dues_rules.Quote:
    """Fix a member's monthly amount for a year. Once any month of that year is paid, the
    amount is fixed for the year (the regulation) unless it is a hardship approval."""
    m = get(store, member_no)
    category = category or m["category"]
    quote = dues_rules.quote(category, income_fen=income_fen, farmer_fen=farmer_fen)
    if hardship_fen is not None:
        quote = dues_rules.hardship(quote, hardship_fen, approval_ref=approval_ref, reason=reason)
    paid = store.one("SELECT 1 FROM ledger_month WHERE member_no = ? AND month LIKE ?",
                     [member_no, f"{year:04d}-%"])
    existing = store.one("SELECT 1 FROM dues_rate WHERE member_no = ? AND year = ?", [member_no, year])
    if paid and existing and hardship_fen is None:
        raise InvalidInput(f"the {year} amount for {member_no} is fixed: months of {year} are paid",
                           "今年的党费金额已经确定，年内不再调整。")
    at = iso(store.now())
    with store.transaction():
        if category != m["category"]:
            store.db.execute("UPDATE member SET category = ?, updated_at = ? WHERE member_no = ?",
                             [category, at, member_no])
        _set_rate(store, member_no, year, quote, at,
                  approval_ref if hardship_fen is not None else None,
                  reason if hardship_fen is not None else None)
        store.record("member.rate_fixed", {"member_no": member_no, "year": year,
                                           "category": category, "hardship_ref": approval_ref or None,
                                           "hardship_reason": reason or None, **quote.as_dict()},
                     actor=actor, subject=f"member:{member_no}")
    return quote


def update(store, member_no: str, *, actor: str, name: str | None = None,
           status: str | None = None, phones: list[str] | None = None) -> dict:
    """Correct a member's name, status or phones (staff only; audited and journaled)."""
    m = get(store, member_no)
    changes: dict = {}
    if name is not None and name != m["name"]:
        changes["name"] = _check_name(name)
    if status is not None and status != m["status"]:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        changes["status"] = status
    if phones is not None:
        changes["phones"] = sorted({normalize_phone(p) for p in phones})
    if not changes:
        return m
    with store.transaction():
        at = iso(store.now())
        if "name" in changes:
            inits = initials_of(changes["name"])
            store.db.execute("UPDATE member SET name = ?, initials = ?, updated_at = ? "
                             "WHERE member_no = ?", [changes["name"], inits[0], at, member_no])
            _index_name(store, member_no, changes["name"], inits)
        if "status" in changes:
            store.db.execute("UPDATE member SET status = ?, updated_at = ? WHERE member_no = ?",
                             [changes["status"], at, member_no])
        if "phones" in changes:
            store.db.execute("DELETE FROM member_phone WHERE member_no = ?", [member_no])
            for p in changes["phones"]:
                store.db.execute("INSERT INTO member_phone(phone, member_no) VALUES (?, ?)",
                                 [p, member_no])
        store.record("member.updated", {"member_no": member_no, **changes}, actor=actor,
                     subject=f"member:{member_no}")
    return get(store, member_no)


# -- reading ------------------------------------------------------------------------------

_COLUMNS = "member_no, name, initials, category, joined, probation, dues_from, status"


def get(store, member_no: str, *, reader: str | None = None) -> dict:
    """One member with phones and rates. ``reader`` (a staff actor) makes the read audited."""
    row = store.one(f"SELECT {_COLUMNS} FROM member WHERE member_no = ?", [member_no])
    if row is None:
        raise NotFound(f"no member {member_no}", "没有找到这位党员。")
    row["probation"] = bool(row["probation"])
    row["phones"] = [r["phone"] for r in store.all(
        "SELECT phone FROM member_phone WHERE member_no = ? ORDER BY phone", [member_no])]
    row["rates"] = store.all("SELECT year, monthly_fen, rule, hardship_ref, hardship_reason "
                             "FROM dues_rate WHERE member_no = ? ORDER BY year", [member_no])
    if reader:
        store.audit_read(reader, f"member:{member_no}", "profile")
    return row


def list_all(store, *, status: str | None = "active") -> list[dict]:
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    return store.all(f"SELECT member_no, name, category, status FROM member {where} "
                     "ORDER BY member_no", params)


def by_phone(store, phone: str) -> list[dict]:
    """Members registered with this phone (caller recognition on the phone line)."""
    try:
        p = normalize_phone(phone)
    except InvalidInput:
        return []
    return store.all("SELECT m.member_no, m.name FROM member_phone p JOIN member m USING(member_no) "
                     "WHERE p.phone = ? AND m.status = 'active'", [p])


def lookup(store, query: str, *, reader: str | None = None, limit: int = LOOKUP_LIMIT) -> list[dict]:
    """Find members by number, by (part of a) Hanzi name, or by pinyin initials."""
    q = (query or "").strip()
    if not q:
        return []
    found: dict[str, dict] = {}
    sel = "SELECT member_no, name, category, status FROM member"
    # Member number: exact first, then prefix.
    for row in store.all(f"{sel} WHERE member_no = ? COLLATE NOCASE", [q]):
        found[row["member_no"]] = row
    if re.match(r"^[A-Za-z0-9-]+$", q):
        upper = q.upper()
        for row in store.all(f"{sel} WHERE member_no >= ? AND member_no < ? ORDER BY member_no "
                             "LIMIT ?", [upper, upper + "\uffff", limit]):
            found.setdefault(row["member_no"], row)
    if re.match(r"^[A-Za-z]+$", q):
        low = q.lower()
        for row in store.all(
                f"{sel} WHERE member_no IN (SELECT member_no FROM member_gram "
                "WHERE gram >= ? AND gram < ?) ORDER BY name LIMIT ?",
                [f"py:{low}", f"py:{low}\uffff", limit]):
            found.setdefault(row["member_no"], row)
    elif re.search(r"[\u3400-\u9fff]", q):
        key = q[:2]
        for row in store.all(
                f"{sel} WHERE member_no IN (SELECT member_no FROM member_gram WHERE gram = ?) "
                "AND instr(name, ?) > 0 ORDER BY length(name), name LIMIT ?", [key, q, limit]):
            found.setdefault(row["member_no"], row)
    result = list(found.values())[:limit]
    if reader and result:
        store.audit_read(reader, "members", f"lookup {q!r}: {len(result)} found")
    return result


def rate_for(store, member_no: str, year: int) -> dict:
    """The monthly amount for a year: that year's fixed amount, else carried over from the
    nearest earlier year (until the branch fixes the new year's), else the nearest later one."""
    row = store.one("SELECT year, monthly_fen, rule FROM dues_rate WHERE member_no = ? AND year <= ? "
                    "ORDER BY year DESC LIMIT 1", [member_no, year])
    if row is None:
        row = store.one("SELECT year, monthly_fen, rule FROM dues_rate WHERE member_no = ? "
                        "ORDER BY year LIMIT 1", [member_no])
    if row is None:
        raise NotFound(f"member {member_no} has no dues amount fixed", "这位党员还没有确定党费金额。")
    return row

