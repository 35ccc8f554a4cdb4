"""`wedsync admin ... smtp set|show|test` on a data directory, against a real SMTP server; the
password kept out of the store's file, of the answers and of the arguments; `--public-url`."""

from __future__ import annotations

import asyncio
import json
import stat

import pytest

from server import admin
from server.automation.secrets import SECRET_FILE
from server.cli import public_url
from wedsync.cli import main

from .mail import Inbox


@pytest.fixture
async def inbox():
    box = Inbox().start()
    yield box
    await box.stop()


def run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["admin", *argv, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {"stderr": err})


async def arun(capsys, *argv: str) -> tuple[int, dict]:
    """The command in a thread of its own (it runs an event loop), as from a shell."""
    return await asyncio.to_thread(run, capsys, *argv)


async def test_smtp_set_show_and_test_from_the_data_directory(tmp_path, capsys, inbox):
    data = tmp_path / "server"
    admin.create_user(data, email="a@a.test", password="long enough", role="admin", org="Org A")
    secret = tmp_path / "pw"
    secret.write_text("s3cret-smtp\n")
    code, shown = run(
        capsys, "--data-dir", str(data), "smtp", "set", "--org", "Org A", "--host", "127.0.0.1",
        "--port", str(inbox.port), "--security", "none", "--user", "mailer", "--password-file",
        str(secret), "--from", "Venue <hello@venue.test>",
    )  # fmt: skip
    assert code == 0 and shown["password_set"] is True and "s3cret" not in json.dumps(shown)
    assert b"s3cret-smtp" not in (data / "server.sqlite").read_bytes()
    key = data / SECRET_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    code, shown = run(capsys, "--data-dir", str(data), "smtp", "show", "--org", "Org A")
    assert shown["host"] == "127.0.0.1" and shown["user"] == "mailer"
    # aiosmtpd offers no AUTH on a plain connection: the login is refused, never a bounce
    code, refused = await arun(
        capsys, "--data-dir", str(data), "smtp", "test", "--org", "Org A", "--to", "a@b.test"
    )
    assert code == 1 and "smtp_test_failed" in refused["stderr"]
    run(
        capsys, "--data-dir", str(data), "smtp", "set", "--org", "Org A", "--host", "127.0.0.1",
        "--port", str(inbox.port), "--security", "none", "--from", "hello@venue.test",
    )  # fmt: skip
    code, sent = await arun(
        capsys, "--data-dir", str(data), "smtp", "test", "--org", "Org A", "--to", "a@b.test"
    )
    assert code == 0 and sent["accepted"] is True
    (mail,) = await inbox.wait_for(1)
    assert mail["To"] == "a@b.test" and mail["Message-ID"] == sent["message_id"]


def test_bad_settings_and_unknown_orgs_are_refused_with_a_code(tmp_path, capsys):
    data = tmp_path / "server"
    admin.create_user(data, email="a@a.test", password="long enough", role="admin", org="Org A")
    code, out = run(
        capsys, "--data-dir", str(data), "smtp", "set", "--org", "Org B", "--host", "h.test",
        "--port", "25", "--from", "a@b.test",
    )  # fmt: skip
    assert code == 1 and "not_found" in out["stderr"]
    code, out = run(
        capsys, "--data-dir", str(data), "smtp", "set", "--org", "Org A", "--host", "h.test",
        "--port", "99999", "--from", "a@b.test",
    )  # fmt: skip
    assert code == 1 and "smtp_settings_invalid" in out["stderr"]
    code, out = run(
        capsys, "--data-dir", str(data), "smtp", "set", "--org", "Org A", "--host", "h.test",
        "--port", "25", "--from", "nobody",
    )  # fmt: skip
    assert code == 1 and "address_invalid" in out["stderr"]


def test_the_public_url_is_an_http_url_without_its_trailing_slash():
    assert public_url("https://mail.example.com/") == "https://mail.example.com"
    assert public_url(None) is None
    for bad in ("mail.example.com", "ftp://x", "https://x/?a=1"):
        with pytest.raises(ValueError, match="--public-url"):
            public_url(bad)
