"""TLS served by the server itself (issue 12, point 12): `--tls-cert`/`--tls-key` serve https and
wss; the client verifies the certificate, against a CA file of the deployment's when given, and
refuses a certificate it cannot verify."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from client.store import Replica
from client.sync import SyncEngine, SyncError
from tests.conftest import PASSWORD
from tests.security.conftest import start_guarded, stop

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture
def certificate(tmp_path):
    """A certificate for 127.0.0.1 signed by a CA of the test's own."""
    d = tmp_path / "pki"
    d.mkdir()

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=WedSync test CA",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    return d


async def test_the_server_serves_tls_and_the_client_verifies_it(tmp_path, certificate):
    server = await start_guarded(
        tmp_path, tls_cert=certificate / "server.pem", tls_key=certificate / "server.key"
    )
    url = server.url.replace("http://", "https://")
    trusted = SyncEngine(
        Replica(tmp_path / "trusted"), tokens=server.tokens, ca_file=str(certificate / "ca.pem")
    )
    stranger = SyncEngine(Replica(tmp_path / "stranger"), tokens=server.tokens)
    try:
        await trusted.login(url, "marketer@a.test", PASSWORD, "laptop")
        trusted.replica.capture(kind="touchpoint", channel="email")
        assert (await trusted.sync_once()).pushed[0] == 1  # wss, verified
        with pytest.raises(SyncError, match="certificate|SSL"):
            await stranger.login(url, "marketer@a.test", PASSWORD, "laptop")
    finally:
        for engine in (trusted, stranger):
            await engine.close()
            engine.replica.close()
        await stop(server)
