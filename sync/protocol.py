"""The sync protocol, version 3 (docs/sync-protocol.md), as pure functions: no I/O, no SQL.

Both sides import this module, so what a terminal signs and what the hub verifies, and
what a batch must look like, are written down once. The rules live in three modules, each
re-exported here so callers keep writing ``protocol.sign`` or ``protocol.check_audit``:

    protocol_errors.py  ProtocolError + ERRORS: error codes, HTTP status, English + Chinese
    protocol_auth.py    new_private_key / *_key_* helpers (key files, the public key's wire
                        form), signing_string / sign / verify (Ed25519), the auth headers
                        and the time window
    protocol_batch.py   check_events / check_audit: a push batch's shape, seq continuity,
                        audit chain; check_pairing: every new event travels with its audit
                        entry; parse_push and the JSON body helpers
    protocol_wire.py    v3's compact forms: push rows (no audit field the hub can derive),
                        pull rows, xz for large bodies

Here: the protocol's version and the limits that belong to neither half.
"""

from __future__ import annotations

from core.audit import event_of_entry

from .protocol_auth import (
    H_HUB_TIME,
    H_LOCAL_TIME,
    H_NONCE,
    H_SIGNATURE,
    H_TERMINAL,
    H_TIME,
    TIME_WINDOW_MS,
    AuthHeaders,
    check_time,
    load_private_key,
    load_public_key,
    new_private_key,
    parse_auth_headers,
    private_key_pem,
    public_key_b64,
    sign,
    signing_string,
    valid_terminal_id,
    verify,
    wall_ms,
)
from .protocol_batch import (
    AUDIT_FIELDS,
    EVENT_FIELDS,
    FUTURE_WINDOW_S,
    MAX_SEQ,
    MAX_SKIP_REASON,
    MAX_SKIPS,
    PUSH_BATCH,
    Batch,
    canonical_json,
    check_audit,
    check_authority,
    check_branch_events,
    check_events,
    check_pairing,
    check_payloads,
    check_times,
    parse_batch,
    parse_json_object,
    parse_push,
)
from .protocol_cols import PULL_LINE, pull_lines, read_lines, unpack_cols
from .protocol_errors import ERRORS, ProtocolError
from .protocol_wire import (
    PULL_PAGE,
    PULL_ROWS,
    PUSH_ROWS,
    XZ_ANSWER_FROM,
    compress,
    parse_push_rows,
    pull_request,
    pull_rows,
    push_rows,
    unpack_pull_rows,
    xz_decompress,
)

PROTOCOL_VERSION = 4             # 4: pull pages as columns, in lines (sync.protocol_cols)
MIN_PROTOCOL = 2                  # the oldest terminal protocol this hub serves
H_PROTOCOL = "X-Lianxin-Protocol"  # the terminal's protocol version, on every request
# The terminal's software release, on every request: shown to operators (the console's
# 终端 page), never trusted for anything else.
H_SOFTWARE = "X-Lianxin-Software"
MAX_BODY = 8 * 1024 * 1024        # bytes, after decompression
# A voice message's WAV (PUT /v1/voice/…): core.calls keeps at most 300 s at up to 48 kHz,
# 16-bit mono (28.8 MB with its header), so no message a terminal holds is ever refused.
MAX_VOICE_BYTES = 300 * 48000 * 2 + 1024

__all__ = [
    "AUDIT_FIELDS", "ERRORS", "EVENT_FIELDS", "FUTURE_WINDOW_S", "H_HUB_TIME", "H_LOCAL_TIME", "H_NONCE",
    "H_PROTOCOL", "H_SIGNATURE", "H_SOFTWARE", "H_TERMINAL", "H_TIME", "MAX_BODY",
    "MAX_VOICE_BYTES", "MIN_PROTOCOL", "MAX_SEQ", "MAX_SKIPS", "MAX_SKIP_REASON",
    "PROTOCOL_VERSION", "PULL_LINE", "PULL_PAGE", "PULL_ROWS",
    "PUSH_BATCH", "PUSH_ROWS", "TIME_WINDOW_MS", "XZ_ANSWER_FROM", "AuthHeaders", "Batch", "ProtocolError", "canonical_json",
    "check_audit", "check_authority", "check_branch_events", "check_events", "check_pairing",
    "check_payloads", "check_time", "check_times", "check_version", "compress",
    "event_of_entry", "load_private_key", "load_public_key", "new_private_key",
    "parse_auth_headers", "parse_batch", "parse_json_object", "parse_push", "parse_push_rows",
    "private_key_pem", "public_key_b64", "pull_lines", "pull_request", "pull_rows", "push_rows", "read_lines",
    "unpack_cols", "unpack_pull_rows",
    "xz_decompress", "sign", "signing_string", "valid_terminal_id", "verify", "wall_ms",
]


def check_version(headers) -> None:
    """A terminal of an older protocol (no ``X-Lianxin-Protocol`` header: v1) gets 426
    ``upgrade_required``, whose Chinese tells staff to upgrade, rather than a refusal of
    some rule it does not know."""
    raw = headers.get(H_PROTOCOL, "")
    version = int(raw) if raw.isdigit() and len(raw) < 6 else 1
    if version < MIN_PROTOCOL:
        raise ProtocolError("upgrade_required", f"the terminal speaks sync protocol {version}; "
                            f"this hub needs {MIN_PROTOCOL} or later",
                            hub_protocol=PROTOCOL_VERSION)
