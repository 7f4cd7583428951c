"""Branch notices (支部通知), read aloud on the kiosk and the phone line."""

from __future__ import annotations

from datetime import date, datetime

from .errors import InvalidInput
from .ids import new_id


def _check_posted(posted: str) -> str:
    """``posted`` is an ISO date (2026-11-02) or date-time; newest notices are read first."""
    text = (posted or "").strip()
    try:
        (date if len(text) == 10 else datetime).fromisoformat(text)
    except ValueError as e:
        raise InvalidInput(f"notice date must be ISO (YYYY-MM-DD): {posted!r}",
                           "通知日期格式不对。") from e
    return text


def post(store, *, title: str, body: str, posted: str, actor: str,
         notice_id: str | None = None) -> str:
    """Post (or, with the same ``notice_id``, replace) a notice; journaled and audited."""
    if not (title or "").strip() or not (body or "").strip():
        raise InvalidInput("a notice needs a title and a body", "通知要有标题和内容。")
    posted = _check_posted(posted)
    notice_id = notice_id or new_id()
    payload = {"notice_id": notice_id, "title": title.strip(), "body": body.strip(),
               "posted": posted}
    with store.transaction():
        apply_posted(store, payload, "")
        store.record("notice.posted", payload, actor=actor, subject=f"notice:{notice_id}")
    return notice_id


def apply_posted(store, p: dict, at: str) -> None:
    """``notice.posted``, posted here or pulled from the hub: the one writer of ``notice``."""
    store.db.execute("INSERT INTO notice(notice_id, title, body, posted) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT(notice_id) DO UPDATE SET title = excluded.title, "
                     "body = excluded.body, posted = excluded.posted",
                     [p["notice_id"], p["title"], p["body"], p["posted"]])


def recent(store, limit: int = 10) -> list[dict]:
    return store.all("SELECT notice_id, title, body, posted FROM notice "
                     "ORDER BY posted DESC, notice_id LIMIT ?", [limit])
