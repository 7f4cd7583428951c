"""Schemathesis against the real hub process: every operation in its OpenAPI document
(``/openapi.json``), with generated parameters and bodies, signed as an enrolled terminal
and unsigned, never gets a server error, and every answer is JSON (media bytes aside).

Bounded: ten examples per operation and generation mode (valid and invalid data), each sent
signed and unsigned, so it takes seconds.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime

import pytest
import requests
import schemathesis
from hub_fixtures import serve
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from core import branch
from core.clock import CST, FixedClock
from core.store import Store
from sync import client as sc
from sync import protocol
from sync.hub import admin


@schemathesis.serializer("audio/wav")
def _wav_body(ctx, value) -> bytes:
    """Voice audio (``PUT /v1/voice/…``) is sent as raw bytes: whatever was generated."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


class TerminalAuth(requests.auth.AuthBase):
    """Signs each prepared request exactly as sent (protocol v1), like the client does."""

    def __init__(self, terminal_id: str, key):
        self.terminal_id, self.key = terminal_id, key

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        t, nonce = str(int(time.time() * 1000)), secrets.token_hex(16)
        r.headers.update({
            protocol.H_PROTOCOL: str(protocol.PROTOCOL_VERSION),
            protocol.H_TERMINAL: self.terminal_id, protocol.H_TIME: t, protocol.H_NONCE: nonce,
            protocol.H_SIGNATURE: protocol.sign(self.key, r.method, r.path_url, t, nonce, body)})
        return r


@pytest.fixture(scope="module")
def hub(tmp_path_factory, new_hub_storage):
    root = tmp_path_factory.mktemp("schemathesis")
    storage = new_hub_storage(root / "hub")
    admin.create_branch(storage, code="TEST", name="测试村党支部")
    terminal = Store.create(root / "terminal.db",
                            clock=FixedClock(datetime(2026, 11, 15, 10, 0, tzinfo=CST)))
    branch.setup(terminal, code="TEST", name="测试村党支部", actor="test")
    # The fuzzer enrolls far more often than 10 times a minute: reach the enrollment code.
    with serve(storage, env={"LIANXIN_HUB_ENROLL_PER_MINUTE": "0"}) as running:
        sc.enroll(terminal.path, running.url, admin.issue_enroll_code(storage, "TEST")["code"])
        auth = TerminalAuth(terminal.terminal_id,
                            protocol.load_private_key(sc.key_path(terminal.path).read_bytes()))
        yield running, auth
    terminal.close()
    storage.close()


def _operations(url: str) -> list:
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE,
                                  schemathesis.GenerationMode.NEGATIVE])
def test_no_server_errors(hub, mode):
    proc, auth = hub
    operations = _operations(proc.url)
    assert {op.label for op in operations} >= {
        "GET /health", "GET /v1/info", "POST /v1/enroll", "POST /v1/push", "GET /v1/pull",
        "GET /v1/media/{sha256}", "GET /v1/voice/missing", "PUT /v1/voice/{message_id}"}
    calls, unsatisfiable = [], []
    for op in operations:
        # The schemathesis pytest plugin does not load on this pytest, so the hypothesis
        # test is built here, one per operation.
        @given(case=op.as_strategy(mode))
        @settings(max_examples=10, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            for signed in (True, False):
                r = case.call(base_url=proc.url, auth=auth if signed else None, timeout=30)
                calls.append(r.status_code)
                assert r.status_code < 500, (case.method, case.path, r.text[:300])
                ctype = r.headers.get("content-type") or [""]
                if not (ctype[0] if isinstance(ctype, list) else ctype).startswith(
                        "application/octet"):
                    r.json()  # every other answer is JSON

        try:
            check()
        except Unsatisfiable:  # nothing invalid exists for an operation without inputs
            assert mode == schemathesis.GenerationMode.NEGATIVE, op.label
            unsatisfiable.append(op.label)
    assert len(calls) >= 2 * (len(operations) - len(unsatisfiable)) * 5
    assert "POST /v1/push" not in unsatisfiable
