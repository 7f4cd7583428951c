"""Digest authentication for REGISTER (RFC 3261 §22, RFC 2617, RFC 8760 for SHA-256).

A trunk or PBX answers our REGISTER with 401 (WWW-Authenticate) or 407
(Proxy-Authenticate); we answer the challenge with an Authorization / Proxy-Authorization
header and send the REGISTER again with the next CSeq. ``verify`` is the registrar's side,
used by tests and by anyone running the line behind a registrar of their own.
"""

from __future__ import annotations

import hashlib
import os
import re

__all__ = ["Challenge", "authorization", "parse_challenge", "verify"]

_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)')
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


class Challenge(dict):
    """The parameters of a Digest challenge (realm, nonce, qop, opaque, algorithm)."""


def _params(text: str) -> dict[str, str]:
    return {k.lower(): v[1:-1].replace('\\"', '"') if v.startswith('"') else v
            for k, v in _PARAM.findall(text)}


def parse_challenge(header: str) -> Challenge:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"not a Digest challenge: {header[:40]!r}")
    params = _params(rest)
    if "realm" not in params or "nonce" not in params:
        raise ValueError("Digest challenge without realm or nonce")
    return Challenge(params)


def _h(algorithm: str, text: str) -> str:
    try:
        return _HASHES[algorithm.upper().removesuffix("-SESS")](text.encode()).hexdigest()
    except KeyError:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}") from None


def _response(algorithm: str, user: str, password: str, realm: str, method: str, uri: str,
              nonce: str, qop: str | None, nc: str, cnonce: str) -> str:
    ha1 = _h(algorithm, f"{user}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = _h(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


def authorization(challenge: Challenge, user: str, password: str, method: str, uri: str,
                  *, nc: int = 1, cnonce: str | None = None) -> str:
    """The Authorization header value answering ``challenge``."""
    algorithm = challenge.get("algorithm", "MD5")
    qops = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in qops else None
    if qops and qop is None:
        raise ValueError(f"unsupported qop {challenge['qop']!r}")
    cnonce = cnonce or os.urandom(8).hex()
    ncs = f"{nc:08x}"
    resp = _response(algorithm, user, password, challenge["realm"], method, uri,
                     challenge["nonce"], qop, ncs, cnonce)
    parts = [f'username="{user}"', f'realm="{challenge["realm"]}"',
             f'nonce="{challenge["nonce"]}"', f'uri="{uri}"', f'response="{resp}"',
             f"algorithm={algorithm}"]
    if qop:
        parts += [f"qop={qop}", f"nc={ncs}", f'cnonce="{cnonce}"']
    if "opaque" in challenge:
        parts.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(parts)


def verify(header: str, password: str, method: str, *, realm: str, nonce: str) -> bool:
    """Registrar side: does this Authorization header prove the password for our nonce?"""
    scheme, _, rest = header.strip().partition(" ")
    p = _params(rest)
    if scheme.lower() != "digest" or p.get("realm") != realm or p.get("nonce") != nonce:
        return False
    try:
        want = _response(p.get("algorithm", "MD5"), p.get("username", ""), password, realm,
                         method, p.get("uri", ""), nonce, p.get("qop"), p.get("nc", ""),
                         p.get("cnonce", ""))
    except ValueError:
        return False
    return want == p.get("response")
