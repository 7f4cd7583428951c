"""Group commit at the hub (sync.hub.storage.group_transaction): pushes arriving together
share one COMMIT, and none is answered before that COMMIT.

* in process: pushes that contend for the lock join one group; every one's rows are
  durable (read back through a second connection) once its block has returned; a push
  whose work fails undoes its own writes only, and the others of its group commit;
* a real hub process: many terminals pushing at once all land, each exactly once.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.bench_sync import FakeTerminal
from sync import protocol
from sync.hub import admin
from sync.hub.storage import HubStorage


def test_contending_pushes_share_a_commit_and_are_durable_when_they_return(hub_storage):
    storage = hub_storage
    start = threading.Barrier(6)
    groups, lock = [], threading.Lock()

    def push(i: int) -> None:
        start.wait()
        for j in range(5):
            try:
                with storage.group_transaction():
                    with lock:
                        groups.append(id(storage._group))
                    with storage.transaction():
                        storage.set_meta(f"push.{i}.{j}", "x")
                        if (i, j) == (3, 2):
                            raise RuntimeError("this push's writes fail")
            except RuntimeError:
                continue
            # Returned: durable, as another connection sees it.
            other = HubStorage.open(storage.path, create=False)
            try:
                assert other.meta(f"push.{i}.{j}") == "x"
            finally:
                other.close()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(push, range(6)))
    assert len(set(groups)) < len(groups)  # some pushes shared a group
    assert storage.meta("push.3.2") is None  # undone alone
    assert all(storage.meta(f"push.{i}.{j}") == "x" for i in range(6) for j in range(5)
               if (i, j) != (3, 2))
    assert storage._group is None and not storage.conn.in_transaction


@pytest.fixture
def busy_hub(hub_storage, hub_server):
    admin.create_branch(hub_storage, code="B", name="基准支部")
    terminals = [FakeTerminal(random.Random(i)) for i in range(8)]
    for t in terminals:
        hub_storage.insert_terminal(terminal_id=t.terminal_id, branch="B",
                                    public_key=protocol.public_key_b64(t.key), label="",
                                    at="2026-11-30T09:00:00.000+08:00")
    return hub_server(hub_storage), terminals


def test_many_terminals_pushing_at_once_all_land_once(busy_hub):
    hub, terminals = busy_hub

    def push_all(t: FakeTerminal) -> None:
        client = t.client(hub.url)
        for _ in range(4):
            events, entries = t.events(150)
            answer = client.request("POST", "/v1/push", compress=True,
                                    body={"events": events, "audit": entries}).json()
            assert answer["applied"] == 150 and answer["stored_seq"] == events[-1]["seq"]

    with ThreadPoolExecutor(len(terminals)) as pool:
        list(pool.map(push_all, terminals))
    log = [e for e in hub.storage.log_for_branch("B") if e["origin"] != "hub"]
    assert len(log) == 8 * 600 and len({e["event_id"] for e in log}) == len(log)
    for t in terminals:
        row = hub.storage.get_terminal(t.terminal_id)
        assert (row["stored_seq"], row["audit_seq"]) == (600, 600)
        assert len(hub.storage.audit_chain(t.terminal_id)) == 600
