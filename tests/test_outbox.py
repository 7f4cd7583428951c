"""core.outbox: what waits to be synced, read and marked without the sync client.

Pins: a fresh store's events all wait; a batch pairs each audit entry with the journal
event it records, in order, and pages by audit seq; ``mark_shipped`` moves the marks (the
meta keys sync has always used) and ``waiting`` follows; ``journaled`` keeps only the
asked types in the order written; ``sync_status`` is what ``sync.client.status`` returns.
"""

from __future__ import annotations

import json

from core import audit, members, outbox


def _add(store, n):
    for i in range(n):
        members.add(store, member_no=f"M{i:02d}", name="张三丰", category="student",
                    actor="staff:S01")


def test_everything_waits_until_the_hub_acknowledges_it(store):
    _add(store, 3)
    head = outbox.head_seq(store)
    assert head >= 3 and outbox.waiting(store) == head
    assert outbox.counts(store) == {"events": head, "shipped": 0, "waiting": head}
    outbox.mark_shipped(store, stored_seq=head - 1, audit_seq=5)
    assert outbox.pushed(store) == (head - 1, 5)
    assert (store.meta("sync.pushed_seq"), store.meta("sync.pushed_audit_seq")) == (str(head - 1), "5")
    assert outbox.waiting(store) == 1


def test_a_batch_carries_each_event_with_its_audit_entry(store):
    _add(store, 4)
    events, entries = outbox.batch(store, 0, 1000)
    named = [audit.event_of_entry(e["detail"])[0] for e in entries]
    assert [e["event_id"] for e in events] == [n for n in named if n]
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    later, rest = outbox.batch(store, entries[1]["seq"], 1000)
    assert rest == entries[2:] and later == [e for e in events if e["event_id"] in
                                            {audit.event_of_entry(x["detail"])[0] for x in rest}]


def test_journaled_keeps_the_asked_types_in_order(store):
    _add(store, 2)
    rows = outbox.journaled(store, ("member.added",))
    assert [json.loads(r["payload"])["member_no"] for r in rows] == ["M00", "M01"]
    assert outbox.journaled(store, ("no.such.type",)) == []


def test_sync_status_is_the_clients(store):
    from sync import client

    _add(store, 1)
    st = outbox.sync_status(store)
    assert st == client.status(store)
    assert st["hub_url"] is None and st["last_error"] is None
    assert st["waiting_events"] == outbox.waiting(store)
