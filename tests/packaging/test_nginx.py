"""The reverse-proxy example (``packaging/nginx/wedsync.conf``) run by a real nginx with a
self-signed certificate in front of a real server: a device logs in over HTTPS and syncs
through the websocket upgrade; plain HTTP is redirected; /metrics is not served publicly."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ..conftest import PASSWORD, USERS, free_port
from .conftest import ROOT

EXAMPLE = ROOT / "packaging" / "nginx" / "wedsync.conf"

pytestmark = pytest.mark.skipif(
    shutil.which("nginx") is None or shutil.which("openssl") is None,
    reason="nginx and openssl are not installed (Debian's nginx and openssl packages)",
)


def _certificate(where: Path) -> tuple[Path, Path]:
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def _site(text: str, replacements: list[tuple[str, str]]) -> str:
    """The example with this test's addresses and files: each value replaced must be there
    once, so a change of the example's shape fails here rather than testing something else."""
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


async def _wait_listening(port: int, attempts: int = 200) -> None:
    for _ in range(attempts):
        try:
            _, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.02)  # nothing listens yet: the connect failed at once
    raise TimeoutError(f"nothing listens on {port}")


async def _cli(*args: str, env: dict[str, str]) -> dict:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wedsync", *args, "--json",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


def _answers(url: str, plain: int, cert: Path) -> dict:
    context = ssl.create_default_context(cafile=str(cert))
    found = {}
    try:
        urllib.request.urlopen(f"{url}/metrics", context=context, timeout=10)
    except urllib.error.HTTPError as exc:
        found["metrics"] = exc.code

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(f"http://127.0.0.1:{plain}/", timeout=10)
    except urllib.error.HTTPError as exc:
        found["plain"], found["location"] = exc.code, exc.headers["Location"]
    with urllib.request.urlopen(f"{url}/readyz", context=context, timeout=10) as ready:
        found["readyz"] = json.load(ready)
    return found


async def test_a_device_logs_in_and_syncs_through_nginx_with_tls(server, tmp_path):
    cert, key = _certificate(tmp_path)
    tls, plain = free_port(), free_port()
    upstream = server.url.removeprefix("http://")
    site = _site(
        EXAMPLE.read_text(),
        [
            ("server 127.0.0.1:8765;", f"server {upstream};"),
            ("listen 443 ssl;", f"listen 127.0.0.1:{tls} ssl;"),
            ("listen 80;", f"listen 127.0.0.1:{plain};"),
            ("/etc/letsencrypt/live/wedsync.example.com/fullchain.pem", str(cert)),
            ("/etc/letsencrypt/live/wedsync.example.com/privkey.pem", str(key)),
        ],
    )
    (tmp_path / "wedsync.conf").write_text(site)
    conf = tmp_path / "nginx.conf"
    temp = " ".join(
        f"{kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    conf.write_text(
        f"daemon off; worker_processes 1; pid {tmp_path / 'nginx.pid'};\n"
        f"error_log {tmp_path / 'error.log'} warn;\nevents {{}}\n"
        f"http {{ access_log off; {temp} uwsgi_temp_path {tmp_path / 'uwsgi'}; "
        f"scgi_temp_path {tmp_path / 'scgi'}; include {tmp_path / 'wedsync.conf'}; }}\n"
    )
    checked = subprocess.run(["nginx", "-t", "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proxy = await asyncio.create_subprocess_exec(
        "nginx", "-c", str(conf), stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await _wait_listening(tls)
        env = {
            **os.environ,
            "SSL_CERT_FILE": str(cert),  # the device trusts this test's certificate
            "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
            "XDG_DATA_HOME": str(tmp_path / "xdg"),
        }
        profile = ["client", "--profile", str(tmp_path / "laptop")]
        url = f"https://127.0.0.1:{tls}"
        email = USERS["marketer"][0]
        await _cli(
            *profile, "login", "--server", url, "--email", email, "--password", PASSWORD, env=env
        )  # noqa: E501
        campaign = await _cli(*profile, "campaign", "create", "--name", "Via nginx", env=env)
        await _cli(*profile, "event", "add", "--kind", "lead", "--contact", "a@x.test", env=env)
        synced = await _cli(*profile, "sync", env=env)
        assert synced["pushed"]["1"] == 2  # the lead and the campaign's update, over wss://
        assert server.stats()["events"]["by_kind"] == {"lead": 1}
        assert server.rows("SELECT id FROM campaigns") == [(campaign["id"],)]

        # blocking HTTP calls on a thread of their own: the server shares this test's loop
        status = await asyncio.to_thread(_answers, url, plain, cert)
        assert status["metrics"] == 404  # not served through the public name
        assert status["plain"] == 301 and status["location"].startswith("https://")
        assert status["readyz"] == {"ready": True, "pid": os.getpid()}
    finally:
        proxy.terminate()
        await proxy.wait()
