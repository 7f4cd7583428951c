"""Several hub processes over one PostgreSQL database, behind haproxy (docs/deploy.md).

Each process writes under the database's writer lock (sync.hub.storage_pg), so:

* one terminal's batch sent to two processes at the same moment lands once: one applies
  it, the other finds it stored (duplicates), and the log holds the terminal's events
  once each, in its seq order, with its audit chain whole;
* terminals pushing through haproxy while one process is SIGKILLed mid-apply and started
  again lose nothing and double nothing: the killed process's open transaction is rolled
  back by the server, haproxy sends the next requests to the other, and each terminal
  re-sends what it got no answer for.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bench.bench_sync import FakeTerminal
from bench.hubfarm import HAProxy
from sync import client as sc
from sync import protocol
from sync.hub import admin, open_hub


@pytest.fixture
def pg_storage(pg_cluster, tmp_path):
    storage = open_hub(pg_cluster.new_database(), files=tmp_path / "files")
    admin.create_branch(storage, code="B", name="基准支部")
    yield storage
    storage.close()


@pytest.fixture
def farm(pg_storage, hub_server, tmp_path):
    """Two hub processes on the one database, and haproxy in front of them."""
    hubs = [hub_server(pg_storage, log_path=tmp_path / f"hub{i}.log") for i in range(2)]
    with HAProxy(tmp_path, [h.port for h in hubs]) as proxy:
        yield hubs, proxy


def _terminals(storage, n: int) -> list[FakeTerminal]:
    terminals = [FakeTerminal(random.Random(100 + i)) for i in range(n)]
    for t in terminals:
        storage.insert_terminal(terminal_id=t.terminal_id, branch="B",
                                public_key=protocol.public_key_b64(t.key), label="",
                                at="2026-11-30T09:00:00.000+08:00")
    return terminals


def _assert_whole(storage, t: FakeTerminal, n: int) -> None:
    """The terminal's ``n`` events are in the log once each, in seq order, with the chain."""
    mine = [e for e in storage.log_for_branch("B") if e["origin"] == t.terminal_id]
    assert [e["seq"] for e in mine] == list(range(1, n + 1))
    row = storage.get_terminal(t.terminal_id)
    assert (row["stored_seq"], row["audit_seq"], row["audit_hash"]) == (n, n, t.head)
    chain = storage.audit_chain(t.terminal_id)
    assert [c["seq"] for c in chain] == list(range(1, n + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(chain, chain[1:], strict=False))


def test_one_batch_sent_to_two_processes_at_once_lands_once_in_order(farm, pg_storage):
    hubs, _ = farm
    [t] = _terminals(pg_storage, 1)
    clients = [t.client(h.url) for h in hubs]
    for _ in range(8):
        events, entries = t.events(200)
        body = {"events": events, "audit": entries}
        together = threading.Barrier(2)

        def send(client, body=body, together=together) -> dict:
            together.wait()
            return client.request("POST", "/v1/push", compress=True, body=body).json()

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(send, clients))
        assert sorted(a["applied"] for a in answers) == [0, 200]
        assert sorted(a["duplicates"] for a in answers) == [0, 200]
        assert {a["stored_seq"] for a in answers} == {events[-1]["seq"]}
    _assert_whole(pg_storage, t, 8 * 200)


def test_a_process_killed_mid_apply_loses_and_doubles_nothing(farm, pg_storage):
    hubs, proxy = farm
    terminals = _terminals(pg_storage, 6)
    batches = {t.terminal_id: [dict(zip(("events", "audit"), t.events(150), strict=True))
                               for _ in range(10)] for t in terminals}
    errors: list[str] = []

    def run(t: FakeTerminal) -> None:
        client = t.client(proxy.url)
        for body in batches[t.terminal_id]:
            deadline = time.monotonic() + 60
            while True:  # as a terminal does: what got no answer is sent again
                try:
                    answer = client.request("POST", "/v1/push", compress=True,
                                            body=body).json()
                    assert answer["stored_seq"] == body["events"][-1]["seq"]
                    break
                except (sc.SyncError, requests.RequestException) as e:
                    errors.append(type(e).__name__)
                    assert time.monotonic() < deadline, f"no answer for a minute: {e}"
                    time.sleep(0.1)

    with ThreadPoolExecutor(len(terminals)) as pool:
        running = [pool.submit(run, t) for t in terminals]
        time.sleep(0.8)               # pushes are being applied by both processes
        assert not any(f.done() for f in running), "the pushes ended before the kill"
        hubs[0].kill()                # mid-apply: its transaction dies with it
        time.sleep(1.0)
        hubs[0].start()               # back, and taken in again by haproxy
        for f in running:
            f.result()
    for t in terminals:
        _assert_whole(pg_storage, t, 10 * 150)
    log = [e for e in pg_storage.log_for_branch("B") if e["origin"] != "hub"]
    assert len(log) == len({e["event_id"] for e in log}) == 6 * 10 * 150
    # The derived tables followed: every study sitting counted once.
    assert len(pg_storage.export_study("B")) == 6 * 10 * 150


def test_the_sample_haproxy_config_is_valid(tmp_path):
    """deploy/haproxy.cfg as shipped, with a certificate where it expects one."""
    pem = tmp_path / "hub.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=hub.example.cn", "-keyout", str(tmp_path / "k"),
                    "-out", str(tmp_path / "c")], check=True, capture_output=True)
    pem.write_bytes((tmp_path / "c").read_bytes() + (tmp_path / "k").read_bytes())
    shipped = (Path(__file__).resolve().parent.parent / "deploy" / "haproxy.cfg").read_text()
    assert "/etc/lianxin/hub.pem" in shipped
    config = tmp_path / "haproxy.cfg"
    config.write_text(shipped.replace("/etc/lianxin/hub.pem", str(pem)))
    check = subprocess.run([shutil.which("haproxy") or "/usr/sbin/haproxy", "-c", "-f",
                            str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
