"""REGISTER to a trunk or PBX (RFC 3261 §10) with digest authentication, kept fresh.

``Registration.run()`` registers, answers a 401/407 challenge once per nonce, then
re-registers before the binding expires (at 80 % of what the registrar granted) and
retries every 30 s while the registrar is unreachable or refuses. ``stop()`` removes the
binding (Expires: 0). ``state`` is what ``lianxin doctor`` and the logs report.
"""

from __future__ import annotations

import asyncio
import logging
import os

from . import digest
from .call import _Source
from .message import SipMessage, name_addr, param, uri_host_port

__all__ = ["Registration"]

log = logging.getLogger(__name__)
RETRY_S = 30.0


class Registration:
    def __init__(self, endpoint, registrar: str, user: str, password: str, *,
                 domain: str | None = None, expires: int = 600, transport: str = "UDP"):
        self.endpoint = endpoint
        self.registrar = registrar if registrar.startswith("sip:") else f"sip:{registrar}"
        host, port = uri_host_port(self.registrar)
        self.domain = domain or host
        self.user, self.password, self.expires = user, password, expires
        self.source = _Source(transport.upper(), (host, port))
        self.call_id = f"{os.urandom(8).hex()}@{endpoint.advertise}"
        self.tag = os.urandom(4).hex()
        self.cseq = 0
        self.state = "new"              # new | registered | failed: <why> | stopped
        self.granted: int | None = None
        self.registered = asyncio.Event()

    async def register_once(self, expires: int | None = None) -> SipMessage | None:
        """One REGISTER exchange, with the digest retry; the final response or None."""
        if self.source.transport != "UDP":
            raise ValueError("REGISTER is sent over UDP only")
        expires = self.expires if expires is None else expires
        auth: tuple[str, str] | None = None
        for _ in range(3):                           # plain, answered challenge, stale nonce
            self.cseq += 1
            aor = f"sip:{self.user}@{self.domain}"
            headers = [("From", f"<{aor}>;tag={self.tag}"), ("To", f"<{aor}>"),
                       ("Call-ID", self.call_id), ("CSeq", f"{self.cseq} REGISTER"),
                       ("Contact", f"<sip:{self.user}@{self.endpoint.advertise}:"
                                   f"{self.endpoint.port}>"),
                       ("Expires", str(expires))]
            if auth:
                headers.append(auth)
            req = self.endpoint.request("REGISTER", self.registrar, self.source, headers)
            resp = await self.endpoint.transact(req, self.source)
            if resp is None or resp.status not in (401, 407):
                return resp
            name = "WWW-Authenticate" if resp.status == 401 else "Proxy-Authenticate"
            try:
                challenge = digest.parse_challenge(resp.get(name) or "")
            except ValueError as e:
                log.warning("registrar %s: unusable challenge: %s", self.registrar, e)
                return resp
            if auth and (challenge.get("stale", "").lower() != "true"):
                return resp                              # our answer was refused: wrong password
            header = "Authorization" if resp.status == 401 else "Proxy-Authorization"
            auth = (header, digest.authorization(challenge, self.user, self.password,
                                                 "REGISTER", self.registrar))
        return resp

    async def run(self) -> None:
        while True:
            resp = await self.register_once()
            if resp is not None and 200 <= resp.status < 300:
                self.granted = self._granted(resp)
                self.state = "registered"
                self.registered.set()
                log.info("registered as %s at %s for %d s", self.user, self.registrar,
                         self.granted)
                await asyncio.sleep(max(5.0, 0.8 * self.granted))
                continue
            why = "no answer" if resp is None else f"{resp.status} {resp.reason}"
            self.state = f"failed: {why}"
            self.registered.clear()
            log.warning("REGISTER at %s failed: %s; retrying in %d s", self.registrar, why,
                        RETRY_S)
            await asyncio.sleep(RETRY_S)

    def _granted(self, resp: SipMessage) -> int:
        for contact in resp.get_all("Contact"):
            uri = name_addr(contact)[1]
            if f"{self.endpoint.advertise}:{self.endpoint.port}" in uri:
                value = param(contact, "expires")
                if value and value.isdigit():
                    return int(value)
        value = resp.get("Expires") or ""
        return int(value) if value.isdigit() else self.expires

    async def stop(self) -> None:
        if self.state == "registered":
            await self.register_once(expires=0)
        self.state = "stopped"
