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
from .events import NotHereYet, Unusable

STATUSES = ("active", "transferred", "left", "deceased")
_PHONE = re.compile(r"^\+?\d{5,15}$")
_MEMBER_NO = re.compile(r"^[A-Za-z0-9-]{1,20}$")
# Han characters, including the rare ones of extension B and beyond (生僻字 occur in names).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HANZI = re.compile(rf"^(?=.{{1,10}}$)[{_HAN}]+(?:·[{_HAN}]+)*$")
LOOKUP_LIMIT = 50
MAX_SPELLINGS = 64
# Polyphonic characters read differently as a surname (the first letter of that reading).
SURNAME_INITIAL = {"单": "s", "曾": "z", "解": "x", "查": "z", "仇": "q", "区": "o", "朴": "p",
                   "覃": "q", "盖": "g", "翟": "z", "召": "s", "缪": "m", "种": "c", "秘": "b",
                   "乐": "y", "尉": "y", "长": "z", "员": "y", "繁": "p", "能": "n", "隗": "w"}


# -- names --------------------------------------------------------------------------------

def initials_of(name: str) -> list[str]:
    """All pinyin-initial spellings of a name, the likeliest first.

    The first is the reading in context (what pypinyin picks for the whole name, with the
    surname reading of a polyphonic first character, see ``SURNAME_INITIAL``); the rest
    use the other readings of polyphonic characters, each character looked up on its own
    (phrase matching would hide the surname readings: 单 shan, 曾 zeng, 解 xie, 查 zha).
    Spellings that swap fewer characters come first, capped at ``MAX_SPELLINGS``.
    """
    chars = [c for c in name if re.match(f"[{_HAN}]", c)]
    if not chars:
        return [""]
    context = pinyin("".join(chars), style=Style.FIRST_LETTER, errors="ignore")
    options: list[list[str]] = []
    for pos, (ch, ctx) in enumerate(zip(chars, context, strict=False)):
        first = (ctx[0][:1] if ctx and ctx[0] else "").lower()
        if pos == 0 and ch in SURNAME_INITIAL:
            first = SURNAME_INITIAL[ch]
        others = {s[:1].lower() for s in
                  pinyin(ch, style=Style.FIRST_LETTER, heteronym=True, errors="ignore")[0] if s}
        opts = [first] if first else []
        opts += sorted(others - {first})
        options.append(opts or [""])
    spellings = ["".join(c[0] for c in options)]
    seen = set(spellings)
    # Swap one character's reading, then two, ... until the cap: names are short, so this
    # covers every combination of an ordinary 2-4 character name.
    varying = [i for i, o in enumerate(options) if len(o) > 1]
    for k in range(1, len(varying) + 1):
        for positions in itertools.combinations(varying, k):
            for picks in itertools.product(*(options[i][1:] for i in positions)):
                letters = [o[0] for o in options]
                for i, letter in zip(positions, picks, strict=True):
                    letters[i] = letter
                spelling = "".join(letters)
                if spelling not in seen:
                    seen.add(spelling)
                    spellings.append(spelling)
                if len(spellings) >= MAX_SPELLINGS:
                    return spellings
    return spellings


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
        pin_hash = pins.hash_pin(pin, "member")
    payload = {"member_no": member_no, "name": name, "category": category, "joined": joined,
               "probation": probation, "dues_from": dues_from, "phones": phone_list,
               "pin_hash": pin_hash, "rate": {"year": now.year, **quote.as_dict()}}
    with store.transaction():
        if store.one("SELECT 1 FROM member WHERE member_no = ?", [member_no]):
            raise InvalidInput(f"member {member_no} already exists", "这个党员编号已经有了。")
        apply_added(store, payload, iso(now))
        store.record("member.added", payload, actor=actor, subject=f"member:{member_no}")
    return get(store, member_no)


# -- applying: the one writer of member, member_gram, member_phone and dues_rate rows, for a
# change made here and one pulled from the hub alike ------------------------------------

def require(store, member_no) -> None:
    """An event about ``member_no`` can be applied only once the member is here."""
    if not isinstance(member_no, str) or not member_no:
        raise Unusable("no member number")
    if not store.one("SELECT 1 FROM member WHERE member_no = ?", [member_no]):
        raise NotHereYet(f"member {member_no} not here yet")


def apply_added(store, p: dict, at: str) -> None:
    """``member.added``: a new member, or (from the hub) its record of one held here. The
    first yearly amount never replaces one already fixed."""
    no, name = p["member_no"], p["name"]
    inits = initials_of(name)
    if not store.one("SELECT 1 FROM member WHERE member_no = ?", [no]):
        store.db.execute(
            "INSERT INTO member(member_no, name, initials, category, joined, probation, "
            "dues_from, pin_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [no, name, inits[0], p["category"], p.get("joined"), int(bool(p.get("probation"))),
             p["dues_from"], p.get("pin_hash"), at, at])
        index_name(store, no, name, inits, new=True)
        _set_phones(store, no, p.get("phones"))
    else:
        index_name(store, no, name, inits, new=False)
        store.db.execute(
            "UPDATE member SET name = ?, initials = ?, category = ?, joined = ?, probation = ?, "
            "dues_from = ?, pin_hash = coalesce(?, pin_hash), updated_at = ? WHERE member_no = ?",
            [name, inits[0], p["category"], p.get("joined"), int(bool(p.get("probation"))),
             p["dues_from"], p.get("pin_hash"), at, no])
        if "phones" in p:
            _set_phones(store, no, p["phones"])
    rate = p.get("rate")
    if isinstance(rate, dict):
        store.db.execute(
            "INSERT INTO dues_rate(member_no, year, monthly_fen, rule, base_fen, set_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(member_no, year) DO NOTHING",
            [no, int(rate["year"]), int(rate["monthly_fen"]), rate["rule"],
             rate.get("base_fen"), at])


def apply_updated(store, p: dict, at: str) -> None:
    """``member.updated``: a name, status or phones corrected."""
    no = p["member_no"]
    require(store, no)
    if "status" in p and p["status"] not in STATUSES:
        raise Unusable(f"unknown member status {p['status']!r}")
    if "name" in p:
        inits = initials_of(p["name"])
        store.db.execute("UPDATE member SET name = ?, initials = ? WHERE member_no = ?",
                         [p["name"], inits[0], no])
        index_name(store, no, p["name"], inits, new=False)
    if "status" in p:
        store.db.execute("UPDATE member SET status = ? WHERE member_no = ?", [p["status"], no])
    if "phones" in p:
        _set_phones(store, no, p["phones"])
    store.db.execute("UPDATE member SET updated_at = ? WHERE member_no = ?", [at, no])


def apply_rate_fixed(store, p: dict, at: str) -> None:
    """``member.rate_fixed``: a year's monthly amount (and the category it follows)."""
    no, year = p["member_no"], int(p["year"])
    require(store, no)
    store.db.execute(
        "INSERT INTO dues_rate(member_no, year, monthly_fen, rule, base_fen, hardship_ref, "
        "hardship_reason, set_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(member_no, year) DO UPDATE SET monthly_fen = excluded.monthly_fen, "
        "rule = excluded.rule, base_fen = excluded.base_fen, "
        "hardship_ref = excluded.hardship_ref, hardship_reason = excluded.hardship_reason, "
        "set_at = excluded.set_at",
        [no, year, int(p["monthly_fen"]), p["rule"], p.get("base_fen"), p.get("hardship_ref"),
         p.get("hardship_reason"), at])
    if p.get("category"):
        store.db.execute("UPDATE member SET category = ?, updated_at = ? WHERE member_no = ? "
                         "AND category != ?", [p["category"], at, no, p["category"]])


def phones_allowed(store, member_no: str) -> bool:
    """False while the member's latest answer on phone recognition is a withdrawal: then
    the terminal keeps no phone number of theirs (core.consent)."""
    from . import consent  # consent imports nothing of members: no cycle at import time

    return not consent.withdrawn(store, member_no, "phone_recognition")


def _set_phones(store, member_no: str, phones) -> None:
    """A member's phone numbers, replaced (none kept unless :func:`phones_allowed`)."""
    store.db.execute("DELETE FROM member_phone WHERE member_no = ?", [member_no])
    if not phones_allowed(store, member_no):
        return
    for phone in phones or []:
        store.db.execute("INSERT OR IGNORE INTO member_phone(phone, member_no) VALUES (?, ?)",
                         [normalize_phone(phone), member_no])


def index_name(store, member_no: str, name: str, inits: list[str], *, new: bool) -> None:
    """Index a name for lookup: its 1-2 character pieces and its pinyin initials."""
    if not new:
        # member_gram's key is (gram, member_no): this is a scan, acceptable for a rare
        # staff correction, not for every add (a new member has no grams to drop).
        store.db.execute("DELETE FROM member_gram WHERE member_no = ?", [member_no])
    store.db.conn.executemany("INSERT OR IGNORE INTO member_gram(gram, member_no) VALUES (?, ?)",
                         [(g, member_no) for g in sorted(grams_of(name) | {f"py:{i}" for i in inits})])


def fix_rate(store, member_no: str, year: int, *, category: str | None = None,
             income_fen: int | None = None, farmer_fen: int | None = None,
             hardship_fen: int | None = None, approval_ref: str = "", reason: str = "",
             actor: str) -> dues_rules.Quote:
    """Fix a member's monthly amount for a year. Once any month of that year is paid (even
    ahead, at an amount carried over from the year before), the amount is fixed for the
    year (the regulation) unless it is a hardship approval."""
    m = get(store, member_no)
    category = category or m["category"]
    quote = dues_rules.quote(category, income_fen=income_fen, farmer_fen=farmer_fen)
    if hardship_fen is not None:
        quote = dues_rules.hardship(quote, hardship_fen, approval_ref=approval_ref, reason=reason)
    paid = store.one("SELECT 1 FROM ledger_month WHERE member_no = ? AND month >= ? AND month <= ?",
                     [member_no, f"{year:04d}-01", f"{year:04d}-12"])
    # Months of the year already paid were paid at the amount then in force (the year's
    # own, or one carried over from an earlier year): changing it would leave them over- or
    # under-paid, so only the same amount (or a hardship approval) can be fixed now.
    if paid and hardship_fen is None and \
            quote.monthly_fen != rate_for(store, member_no, year)["monthly_fen"]:
        raise InvalidInput(f"the {year} amount for {member_no} is fixed: months of {year} are paid",
                           ("今年" if year == store.now().year else f"{year}年")
                           + "的党费金额已经确定，年内不再调整。")
    payload = {"member_no": member_no, "year": year, "category": category,
               "hardship_ref": approval_ref or None, "hardship_reason": reason or None,
               **quote.as_dict()}
    with store.transaction():
        apply_rate_fixed(store, payload, iso(store.now()))
        store.record("member.rate_fixed", payload, actor=actor, subject=f"member:{member_no}")
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
    payload = {"member_no": member_no, **changes}
    with store.transaction():
        apply_updated(store, payload, iso(store.now()))
        store.record("member.updated", payload, actor=actor, subject=f"member:{member_no}")
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
    """Members registered with this phone who agreed to be recognised by it (caller
    recognition on the phone line). Without ``phone_recognition`` consent a caller is asked
    for the member number instead."""
    from . import consent

    try:
        p = normalize_phone(phone)
    except InvalidInput:
        return []
    rows = store.all("SELECT m.member_no, m.name FROM member_phone p JOIN member m USING(member_no) "
                     "WHERE p.phone = ? AND m.status = 'active'", [p])
    return [r for r in rows if consent.has(store, r["member_no"], "phone_recognition")]


def lookup(store, query: str, *, reader: str | None = None, limit: int = LOOKUP_LIMIT) -> list[dict]:
    """Find members by number, by (part of a) Hanzi name, or by pinyin initials.

    Every branch of the search goes through an index (the member primary key or
    ``member_gram``); nothing scans the roster. Exact number matches come first, then number
    prefixes, then name or initials matches (shorter names first). ``reader`` (a staff
    actor) makes the search audited when it shows anyone.
    """
    q = (query or "").strip()
    if not q or limit <= 0:
        return []
    found: dict[str, dict] = {}
    sel = "SELECT member_no, name, category, status FROM member"
    if _MEMBER_NO.match(q):
        # Member number: exact first (in any letter case, still through the primary key),
        # then prefix.
        spellings = list(dict.fromkeys([q, q.upper(), q.lower()]))
        for row in store.all(f"{sel} WHERE member_no IN ({', '.join('?' * len(spellings))})",
                             spellings):
            found[row["member_no"]] = row
        for s in spellings:
            for row in store.all(f"{sel} WHERE member_no > ? AND member_no < ? "
                                 "ORDER BY member_no LIMIT ?", [s, s + "\uffff", limit]):
                found.setdefault(row["member_no"], row)
    if re.match(r"^[A-Za-z]+$", q):
        low = q.lower()
        for row in store.all(
                f"{sel} WHERE member_no IN (SELECT member_no FROM member_gram "
                "WHERE gram >= ? AND gram < ?) ORDER BY length(name), name LIMIT ?",
                [f"py:{low}", f"py:{low}\uffff", limit]):
            found.setdefault(row["member_no"], row)
    elif _HANZI.match(q.replace(" ", "")):
        chars = q.replace(" ", "").replace("·", "")
        if chars:
            # The gram narrows through the index; instr() checks the whole query.
            for row in store.all(
                    f"{sel} WHERE member_no IN (SELECT member_no FROM member_gram WHERE gram = ?) "
                    "AND instr(replace(name, '·', ''), ?) > 0 ORDER BY length(name), name LIMIT ?",
                    [chars[:2], chars, limit]):
                found.setdefault(row["member_no"], row)
    result = list(found.values())[:limit]
    if reader and result:
        store.audit_read(reader, "members", f"lookup {q!r}: {len(result)} shown: "
                         + ",".join(r["member_no"] for r in result))
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

