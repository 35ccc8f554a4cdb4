"""`campaign activate / pause / archive` set the status here, sync, and report the server's
verdict: a campaign that is not ready is kept a draft by the server (a real one on 127.0.0.1),
and the CLI says why; offline, it says the change is queued and what the server will refuse."""

from __future__ import annotations

import asyncio
import json

from client.store import Replica
from tests.conftest import PASSWORD, USERS
from wedsync.cli import main


def cli(capsys, profile, *args: str) -> tuple[int, str, str]:
    code = main(["client", "--profile", str(profile), *args])
    out, err = capsys.readouterr()
    return code, out, err


async def logged_in(capsys, server, name: str = "laptop"):
    profile = server.tmp / "profiles" / name
    code, _, err = await asyncio.to_thread(
        cli, capsys, profile, "login", "--server", server.url,
        "--email", USERS["marketer"][0], "--password", PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    return profile


def create(capsys, profile, *, complete: bool) -> str:
    code, out, _ = cli(capsys, profile, "campaign", "create", "--name", "Spring open day", "--json")
    cid = json.loads(out)["id"]
    if complete:
        for args in (
            ["set", cid, "trigger", '{"event": "lead"}'],
            ["variant", "add", cid, "--subject", "Come and see the barn", "--body", "Hi"],
            ["step", "add", cid, "send_email"],
        ):
            assert cli(capsys, profile, "campaign", *args)[0] == 0
    return cid


async def test_an_incomplete_campaign_is_kept_a_draft_and_the_cli_says_why(server, capsys):
    profile = await logged_in(capsys, server)
    cid = create(capsys, profile, complete=False)

    code, out, err = await asyncio.to_thread(cli, capsys, profile, "campaign", "activate", cid)
    assert code == 1 and out == ""
    assert err.strip() == (
        "wedsync: error [campaign_invalid]: the server kept 'Spring open day' a draft, not "
        "active: choose the event that starts the campaign (its trigger); add at least one step"
    )
    stored = Replica(profile).campaign(cid)
    assert stored["status"] == "draft"
    assert [p["code"] for p in stored["hold"]["problems"]] == ["missing_trigger", "missing_steps"]
    code, out, _ = cli(capsys, profile, "campaign", "step", "list", cid)
    assert "Held as a draft (asked for active):\n  • choose the event" in out


async def test_a_complete_campaign_goes_active_then_paused_then_archived(server, capsys):
    profile = await logged_in(capsys, server)
    cid = create(capsys, profile, complete=True)

    for verb, status in (("activate", "active"), ("pause", "paused"), ("archive", "archived")):
        code, out, err = await asyncio.to_thread(cli, capsys, profile, "campaign", verb, cid)
        assert code == 0, err
        assert out.strip() == f"Spring open day is {status} on the server."
    server_copy = await server.device("other")
    await server_copy.sync_once()
    assert server_copy.replica.campaign(cid)["status"] == "archived"

    code, _, err = await asyncio.to_thread(cli, capsys, profile, "campaign", "activate", cid)
    assert code == 1 and "an archived campaign cannot change" in err


async def test_offline_the_change_is_queued_with_what_the_server_will_refuse(server, capsys):
    profile = await logged_in(capsys, server)
    cid = create(capsys, profile, complete=False)
    cli(capsys, profile, "offline", "on")

    code, out, _ = await asyncio.to_thread(
        cli, capsys, profile, "campaign", "activate", cid, "--json"
    )
    result = json.loads(out)
    assert code == 0 and result["queued"] and not result["synced"]
    assert result["status"] == "active"  # here, until the server decides
    assert [p["code"] for p in result["problems"]] == ["missing_trigger", "missing_steps"]
    code, out, _ = await asyncio.to_thread(cli, capsys, profile, "campaign", "pause", cid)
    assert code == 0 and out.startswith(
        "Spring open day: paused here, queued: this profile works offline."
    )

    cli(capsys, profile, "offline", "off")
    code, out, err = await asyncio.to_thread(cli, capsys, profile, "campaign", "activate", cid)
    assert code == 1 and "kept 'Spring open day' a draft, not active" in err
