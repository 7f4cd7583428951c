"""The hub over TLS: ``lianxin hub serve --cert --key`` started as a real process on
127.0.0.1 with a self-signed certificate made here (cryptography).

Pins: a terminal that trusts that certificate (``LIANXIN_HUB_CA``) enrolls and syncs over
https — it gets the branch and a staff account made at the hub, and its payment reaches
the hub; a terminal without it is refused by its own certificate check, with a clear
network error and nothing enrolled on either side; plain http to the TLS port gets nothing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hub_fixtures import serve

from core import branch, dues, members
from core.clock import CST, FixedClock
from core.store import Store
from sync import client as sc
from sync.hub import admin
from sync.hub import report as hub_report

NOW = dt.datetime(2026, 11, 15, 10, 0, tzinfo=CST)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lianxin-hub-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "hub.crt", folder / "hub.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_hub(tmp_path_factory, new_hub_storage):
    """(storage, https url, certificate path): the hub started by the CLI command."""
    folder = tmp_path_factory.mktemp("tls-hub")
    cert, key = _self_signed(folder)
    storage = new_hub_storage(folder)
    admin.create_branch(storage, code="TEST", name="测试村党支部", township="青石镇",
                        clock=FixedClock(NOW))
    admin.add_staff(storage, "TEST", staff_no="T01", name="李会计", role="collector",
                    pin="1357", clock=FixedClock(NOW))
    if not storage.postgres:
        storage.conn.execute("PRAGMA wal_checkpoint(FULL)")
    try:
        with serve(storage, cli=True, certfile=cert, keyfile=key) as hub:
            yield storage, hub.url, cert
    finally:
        storage.close()


def _terminal(tmp_path: Path) -> Store:
    return Store.create(tmp_path / "terminal" / "terminal.db",
                        clock=FixedClock(dt.datetime(2026, 11, 15, 11, 0, tzinfo=CST)))


def test_a_terminal_trusting_the_hub_certificate_enrolls_and_syncs(tls_hub, tmp_path,
                                                                  monkeypatch):
    storage, url, cert = tls_hub
    monkeypatch.setenv("LIANXIN_HUB_CA", str(cert))
    t = _terminal(tmp_path)
    result = sc.enroll(t.path, url, admin.issue_enroll_code(storage, "TEST")["code"])
    assert result["branch"]["code"] == "TEST" and t.meta("sync.hub_url") == url
    first = sc.sync_once(t)
    assert first["pushed"] == 0 and first["pulled"] >= 2
    assert branch.get(t).code == "TEST"
    ok = branch.confirm(t, "T01", "1357")  # a staff account made at the hub
    members.add(t, member_no="T001", name="赵大山", category="farmer", farmer_fen=50,
                dues_from="2026-11", actor="test")
    dues.pay(t, "T001", months=1, confirmation=ok)
    assert sc.sync_once(t)["pushed"] == 2  # the member (a proposal) and the payment
    assert hub_report.build(storage, "TEST", "2026-11")["dues"]["ledger_fen"] == 50
    t.close()


def test_without_the_certificate_the_terminal_refuses_the_hub(tls_hub, tmp_path, monkeypatch):
    storage, url, _ = tls_hub
    monkeypatch.delenv("LIANXIN_HUB_CA", raising=False)
    t = _terminal(tmp_path)
    terminals = len(admin.list_terminals(storage))
    with pytest.raises(sc.SyncError) as e:
        sc.enroll(t.path, url, admin.issue_enroll_code(storage, "TEST")["code"])
    assert e.value.code == "network" and "CERTIFICATE_VERIFY_FAILED" in e.value.detail
    assert t.meta("sync.hub_url") is None
    assert len(admin.list_terminals(storage)) == terminals
    with pytest.raises(requests.RequestException):  # no plain http on the TLS port
        requests.get(url.replace("https://", "http://") + "/health", timeout=5)
    t.close()
