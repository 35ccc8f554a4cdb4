"""End to end from the terminal, against a real server on 127.0.0.1 (real SQLite, the
automation engine) and a real SMTP server (aiosmtpd): a campaign built and activated with the
CLI enrols a lead captured on the laptop, the email arrives, and `campaign run` shows it per
step and variant; offline, or with the server gone, the last known figures with their as-of
time. Previews are rendered by the server and test sends reach the mail server."""

from __future__ import annotations

import asyncio
import json

import pytest

from server.automation.wiring import engine_of
from tests.conftest import PASSWORD, USERS
from tests.server.automation.mail import Inbox
from wedsync.cli import main


def cli(capsys, profile, *args: str) -> tuple[int, str, str]:
    code = main(["client", "--profile", str(profile), *args])
    out, err = capsys.readouterr()
    return code, out, err


async def run_cli(capsys, profile, *args: str) -> tuple[int, str, str]:
    return await asyncio.to_thread(cli, capsys, profile, *args)


def cli_json(capsys, profile, *args: str) -> dict:
    code, out, err = cli(capsys, profile, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
async def inbox():
    box = Inbox().start()
    yield box
    box.stop()


async def mail_server_set(server, inbox: Inbox) -> None:
    admin = await server.device("admin-laptop", "admin")
    await admin.api("PUT", "/api/v1/smtp", inbox.smtp_settings())


async def logged_in(capsys, server, user: str = "marketer"):
    profile = server.tmp / "profiles" / f"cli-{user}"
    code, _, err = await run_cli(
        capsys, profile, "login", "--server", server.url,
        "--email", USERS[user][0], "--password", PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    return profile


def open_day(capsys, profile) -> tuple[str, list[dict]]:
    """Spring open day: on a lead, variant B, wait two days, a goal."""
    cid = cli_json(capsys, profile, "campaign", "create", "--name", "Spring open day")["id"]
    for args in (
        ["set", cid, "trigger", '{"event": "lead"}'],
        ["variant", "add", cid, "--subject", "Come and see the barn, {{ first_name }}",
         "--body", "Hi {{ first_name }},\n\nOur open day is on 12 April."],
        ["variant", "add", cid, "--subject", "Your date, our meadow, {{ first_name }}",
         "--body", "Hello {{ first_name }}, see https://barn.test/open-day"],
    ):  # fmt: skip
        cli_json(capsys, profile, "campaign", *args)
    variants = cli_json(capsys, profile, "campaign", "step", "list", cid)["variants"]
    chosen = json.dumps({"variant": variants[1]["id"]})
    cli_json(capsys, profile, "campaign", "step", "add", cid, "send_email", "--config", chosen)
    cli_json(capsys, profile, "campaign", "step", "add", cid, "wait", "--config", '{"days": 2}')
    cli_json(capsys, profile, "campaign", "step", "add", cid, "goal")
    return cid, variants


async def test_a_lead_captured_offline_is_emailed_and_the_run_view_shows_it(server, capsys, inbox):
    await mail_server_set(server, inbox)
    profile = await logged_in(capsys, server)
    cid, variants = open_day(capsys, profile)
    code, out, err = await run_cli(capsys, profile, "campaign", "activate", cid)
    assert code == 0, err
    assert out.strip() == "Spring open day is active on the server."

    # at the fair, with no network: the lead is captured and queued
    cli(capsys, profile, "offline", "on")
    code, _, err = cli(
        capsys, profile, "event", "add", "--kind", "lead", "--contact", "ella@couple.test"
    )
    assert code == 0, err
    code, _, err = await run_cli(capsys, profile, "campaign", "run", cid)
    assert code == 1 and "[no_figures]: no figures for Spring open day on this computer yet" in err
    cli(capsys, profile, "offline", "off")
    code, _, err = await run_cli(capsys, profile, "sync")
    assert code == 0, err

    (mail,) = await inbox.wait_for(1)
    assert mail["To"] == "ella@couple.test"
    assert mail["Subject"] == "Your date, our meadow, there"  # no first name: the fallback
    engine = engine_of(server.app)
    await engine.until(lambda: engine.mailer.stats["sent"] == 1)

    code, out, err = await run_cli(capsys, profile, "campaign", "run", cid)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Spring open day (active), figures as of ")
    total = next(line for line in lines if line.startswith("All steps"))
    assert total.split()[2:] == ["1", "1", "1", "0", "0", "0", "0", "0", "0"]  # 1 waits
    send = next(line for line in lines if line.startswith("1. Send email"))
    assert send.startswith("1. Send email: Variant B: Your date, our meadow")
    assert send.split()[-9:] == ["1", "0", "1", "0", "0", "0", "0", "0", "0"]
    variant = next(line for line in lines if line.startswith("   Variant B"))
    assert variant.split()[-4:] == ["1", "0", "0", "0"]
    assert not any(line.startswith("   Variant A") for line in lines)  # step 1 sends B only
    wait = next(line for line in lines if line.startswith("2. Wait 2 days"))
    assert wait.split()[4:6] == ["1", "1"]  # reached, and waiting there
    assert cid not in out and variants[1]["id"] not in out
    live = json.loads((await run_cli(capsys, profile, "campaign", "run", cid, "--json"))[1])
    assert live["live"] is True and live["totals"]["sent"] == 1

    cli(capsys, profile, "offline", "on")
    code, out, _ = await run_cli(capsys, profile, "campaign", "run", cid)
    assert code == 0
    assert "Last known figures: this profile works offline; received " in out
    cached = json.loads((await run_cli(capsys, profile, "campaign", "run", cid, "--json"))[1])
    assert cached["live"] is False and cached["as_of_ms"] == live["as_of_ms"]
    assert cached["totals"] == live["totals"] and cached["steps"] == live["steps"]

    cli(capsys, profile, "offline", "off")
    await server.runner.cleanup()  # the server goes away
    code, out, _ = await run_cli(capsys, profile, "campaign", "run", cid)
    assert code == 0
    assert f"Last known figures: the server cannot be reached (cannot reach {server.url}" in out


async def test_preview_is_rendered_by_the_server_and_a_test_send_arrives(server, capsys, inbox):
    await mail_server_set(server, inbox)
    profile = await logged_in(capsys, server)
    cid, _ = open_day(capsys, profile)
    assert (await run_cli(capsys, profile, "sync"))[0] == 0

    code, out, err = await run_cli(
        capsys, profile, "campaign", "preview", cid, "--variant", "A",
        "--contact", '{"first_name": "Ella"}',
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith(
        "Spring open day, variant A\nSubject: Come and see the barn, Ella\n\n"
        "Hi Ella,\n\nOur open day is on 12 April."
    )
    for args, refusal in (
        (["--variant", "Q"], "no variant 'Q' in this campaign (variants: A, B)"),
        (["--contact", '"ella"'], "the contact is a JSON object of personalisation fields"),
    ):
        code, _, err = await run_cli(capsys, profile, "campaign", "preview", cid, *args)
        assert code == 1 and refusal in err, err
    preview = json.loads(
        (await run_cli(capsys, profile, "campaign", "preview", cid, "--variant", "b", "--json"))[1]
    )
    assert preview["subject"] == "Your date, our meadow, there"
    assert "https://barn.test/open-day" in preview["html"]

    code, out, err = await run_cli(
        capsys, profile, "campaign", "test-send", cid, "--to", "anna@venue.test",
        "--variant", "A", "--contact", '{"first_name": "Ella"}',
    )  # fmt: skip
    assert code == 0, err
    (mail,) = await inbox.wait_for(1)
    assert mail["To"] == "anna@venue.test" and mail["Subject"] == "Come and see the barn, Ella"
    assert out.strip() == (
        "Sent a test of Spring open day (variant A) to anna@venue.test; "
        f"the mail server accepted it as {mail['Message-ID']}."
    )

    inbox.replies.append("550 5.1.1 no such mailbox")
    code, _, err = await run_cli(
        capsys, profile, "campaign", "test-send", cid, "--to", "nobody@venue.test"
    )
    assert code == 1
    assert "the test email to nobody@venue.test was not accepted: 550" in err
    assert "no such mailbox" in err

    code, _, err = await run_cli(
        capsys, profile, "campaign", "test-send", cid, "--to", "not an email"
    )
    assert code == 1 and "'not an email' is not an email address" in err

    viewer = await logged_in(capsys, server, "viewer")
    assert (await run_cli(capsys, viewer, "sync"))[0] == 0
    code, _, err = await run_cli(capsys, viewer, "campaign", "test-send", cid, "--to", "a@b.test")
    assert code == 1 and "[forbidden]" in err, err
    assert len(inbox.messages) == 1
