"""Branch notices (支部通知), read aloud on the kiosk and the phone line."""

from __future__ import annotations

import uuid

from .errors import InvalidInput


def post(store, *, title: str, body: str, posted: str, actor: str,
         notice_id: str | None = None) -> str:
    if not title.strip() or not body.strip():
        raise InvalidInput("a notice needs a title and a body", "通知要有标题和内容。")
    notice_id = notice_id or str(uuid.uuid4())
    with store.transaction():
        store.db.execute("INSERT INTO notice(notice_id, title, body, posted) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT(notice_id) DO UPDATE SET title = excluded.title, "
                         "body = excluded.body, posted = excluded.posted",
                         [notice_id, title.strip(), body.strip(), posted])
        store.record("notice.posted", {"notice_id": notice_id, "title": title.strip(),
                                       "body": body.strip(), "posted": posted},
                     actor=actor, subject=f"notice:{notice_id}")
    return notice_id


def recent(store, limit: int = 10) -> list[dict]:
    return store.all("SELECT notice_id, title, body, posted FROM notice "
                     "ORDER BY posted DESC, notice_id LIMIT ?", [limit])
