"""The sync protocol's request authentication: Ed25519 keys, signatures, auth headers.

Part of ``sync.protocol`` (which re-exports everything here): what a terminal signs and
what the hub verifies, written down once.

    new_private_key / *_key_* helpers   key files and the public key's wire form
    signing_string / sign / verify      what is signed, and the check of it
    parse_auth_headers / check_time     the four X-Lianxin-* headers and the time window
    wall_ms                             protocol time: the wall clock, on both sides
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .protocol_errors import ProtocolError

TIME_WINDOW_MS = 300_000          # a request's time may differ from the hub's by this much

H_TERMINAL = "X-Lianxin-Terminal"
H_TIME = "X-Lianxin-Time"
H_NONCE = "X-Lianxin-Nonce"
H_SIGNATURE = "X-Lianxin-Signature"
H_HUB_TIME = "X-Lianxin-Hub-Time"
H_LOCAL_TIME = "X-Lianxin-Local-Time"



def wall_ms() -> int:
    """Protocol time in milliseconds: request timestamps, the replay window, enrollment code
    expiry. Always the wall clock (a pinned business clock, ``LIANXIN_NOW``, never moves it),
    so a terminal and a hub agree without sharing anything but the time of day."""
    return int(time.time() * 1000)


_TERMINAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_NONCE = re.compile(r"[0-9a-f]{32}")


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def public_key_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def load_public_key(b64: str) -> Ed25519PublicKey:
    """The wire form: base64 of the raw 32 bytes. Anything else is a ``bad_request``."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError, TypeError) as e:
        raise ProtocolError("bad_request", "public_key is not base64") from e
    if len(raw) != 32:
        raise ProtocolError("bad_request", "public_key is not 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def signing_string(method: str, path_with_query: str, time_ms: str, nonce: str,
                   body: bytes) -> bytes:
    """What is signed: method, path and query as sent, time, nonce, SHA-256 of the raw body."""
    return "\n".join([method.upper(), path_with_query, time_ms, nonce,
                      hashlib.sha256(body).hexdigest()]).encode("utf-8")


def sign(key: Ed25519PrivateKey, method: str, path_with_query: str, time_ms: str, nonce: str,
         body: bytes) -> str:
    return base64.b64encode(key.sign(signing_string(method, path_with_query, time_ms, nonce,
                                                    body))).decode("ascii")


def verify(public: Ed25519PublicKey, signature_b64: str, method: str, path_with_query: str,
           time_ms: str, nonce: str, body: bytes) -> bool:
    try:
        sig = base64.b64decode(signature_b64, validate=True)
        public.verify(sig, signing_string(method, path_with_query, time_ms, nonce, body))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


@dataclass(frozen=True)
class AuthHeaders:
    terminal_id: str
    time_ms: int
    nonce: str
    signature: str


def parse_auth_headers(headers: Mapping[str, str]) -> AuthHeaders:
    """The four auth headers, checked for shape (not yet for truth)."""
    values = [headers.get(h) for h in (H_TERMINAL, H_TIME, H_NONCE, H_SIGNATURE)]
    if not all(values):
        raise ProtocolError("auth_missing")
    terminal_id, time_ms, nonce, signature = values
    if not valid_terminal_id(terminal_id):
        raise ProtocolError("auth_missing", f"{H_TERMINAL} is not a terminal id")
    if not time_ms.isascii() or not time_ms.isdigit() or len(time_ms) > 15:
        raise ProtocolError("auth_missing", f"{H_TIME} is not unix milliseconds")
    if not _NONCE.fullmatch(nonce):
        raise ProtocolError("auth_missing", f"{H_NONCE} is not 16 bytes of lower-case hex")
    return AuthHeaders(terminal_id, int(time_ms), nonce, signature)


def check_time(time_ms: int, hub_ms: int) -> None:
    if abs(time_ms - hub_ms) > TIME_WINDOW_MS:
        raise ProtocolError("stale_time", f"request time is {time_ms - hub_ms} ms from the hub's",
                            hub_time=hub_ms)


def valid_terminal_id(value) -> bool:
    return isinstance(value, str) and bool(_TERMINAL_ID.fullmatch(value))
