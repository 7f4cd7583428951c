"""A call for staff help is a journal event (audited, synced) and shows in today's list."""

from core import assist, audit


def test_help_requests_are_logged_and_listed(demo_store, clock):
    first = assist.request_help(demo_store, where="home")
    second = assist.request_help(demo_store, where="dues", member_no="QS004")
    rows = assist.requests_today(demo_store)
    assert [r["event_id"] for r in rows] == [second, first]
    assert rows[0]["member_no"] == "QS004" and rows[1]["member_no"] is None
    clock.advance(days=1)
    assert assist.requests_today(demo_store) == []
    assert audit.verify(demo_store).ok
