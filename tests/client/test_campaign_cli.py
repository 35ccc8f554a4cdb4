"""`wedsync client campaign …` builds a campaign from a script, checked with the campaign rules
before anything is written, and reads its run, previews and test sends from a server that
answers the automation contract (a real aiohttp server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json

import pytest

from client.store import Replica
from tests.client.automation_server import AutomationServer, run_view, start
from tests.conftest import free_port
from wedsync.cli import main

TRIGGER = {
    "event": "touchpoint",
    "conditions": [{"field": "channel", "op": "eq", "value": "wedding_fair"}],
}


def cli(capsys, profile, *args: str) -> tuple[int, str, str]:
    code = main(["client", "--profile", str(profile), "campaign", *args])
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys, profile, *args: str) -> dict:
    code, out, err = cli(capsys, profile, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def new_campaign(capsys, profile, name: str = "Spring open day") -> str:
    return cli_json(capsys, profile, "create", "--name", name)["id"]


def test_trigger_and_audience_are_checked_before_they_are_written(tmp_path, capsys):
    p = tmp_path / "p"
    cid = new_campaign(capsys, p)
    code, out, _ = cli(capsys, p, "set", cid, "trigger", json.dumps(TRIGGER))
    assert code == 0 and "Trigger   On touchpoint · 1 condition" in out
    code, out, _ = cli(
        capsys,
        p,
        "set",
        cid,
        "audience",
        '{"match": "all", "rules": [{"field": "role", "op": "eq", "value": "supplier"}]}',
    )
    assert code == 0 and "Audience  role is 'supplier'" in out
    assert cid not in out  # named, not by id

    for field, value, expected in (
        ("trigger", '{"event": "teleport"}', "[bad_trigger]: the trigger fires on one of lead"),
        ("trigger", '{"event": ', "[bad_request]: the trigger is not JSON"),
        ("audience", '{"match": "most"}', "[bad_audience]: the audience matches 'all' or 'any'"),
        ("audience", '{"rules": [{"field": "role", "op": "like"}]}', "[bad_audience]"),
    ):
        code, _, err = cli(capsys, p, "set", cid, field, value)
        assert code == 1 and expected in err, err
    stored = Replica(p).campaign(cid)
    assert stored["trigger"] == TRIGGER
    assert stored["audience_segment"]["rules"][0]["value"] == "supplier"


def test_steps_are_added_in_place_named_by_number_and_removed(tmp_path, capsys):
    p = tmp_path / "p"
    cid = new_campaign(capsys, p)
    cli_json(capsys, p, "variant", "add", cid, "--subject", "Come and see", "--body", "Hi")
    for kind, config in (("send_email", None), ("wait", '{"days": 3}'), ("goal", None)):
        extra = ["--config", config] if config else []
        cli_json(capsys, p, "step", "add", cid, kind, *extra)
    code, out, _ = cli(
        capsys, p, "step", "add", cid, "branch", "--at", "2", "--config", '{"then": 3}'
    )
    assert code == 0
    assert "Added step 2: Branch: if opened within 3 days → step 4; else next" in out
    listed = cli_json(capsys, p, "step", "list", cid)["steps"]
    assert [(s["number"], s["kind"]) for s in listed] == [
        (1, "send_email"),
        (2, "branch"),
        (3, "wait"),
        (4, "goal"),
    ]
    assert listed[1]["config"]["then"] == listed[3]["id"]
    assert listed[2]["config"] == {"days": 3, "hours": 0}

    for args, expected in (
        (["branch", "--at", "3", "--config", '{"then": 1}'], "[bad_jump]"),
        (["wait", "--config", '{"days": 900}'], "[bad_step_config]: days must be a whole number"),
        (["wait", "--config", '{"weeks": 1}'], "has no setting 'weeks'"),
        (["goal", "--at", "9"], "--at is a position from 1 to 5"),
        (["branch", "--config", '{"then": 7}'], "there is no step 7"),
    ):
        code, _, err = cli(capsys, p, "step", "add", cid, *args)
        assert code == 1 and expected in err, err
    assert len(Replica(p).campaign(cid)["steps"]) == 4

    code, out, _ = cli(capsys, p, "step", "remove", cid, "4")
    assert code == 0 and "Removed step 4: Goal: leave when converted" in out
    after = cli_json(capsys, p, "step", "list", cid)["steps"]
    assert [s["kind"] for s in after] == ["send_email", "branch", "wait"]
    assert after[1]["config"]["then"] is None  # the jump to the removed step falls through
    code, _, err = cli(capsys, p, "step", "remove", cid, "9")
    assert code == 1 and "there is no step 9 (this campaign has steps 1 to 3)" in err


def test_a_variant_takes_an_html_part_from_a_file(tmp_path, capsys):
    p = tmp_path / "p"
    cid = new_campaign(capsys, p)
    html = tmp_path / "barn.html"
    html.write_text("<p>Hi {{ first_name }}, <a href='https://barn.test'>see the barn</a></p>")
    code, out, _ = cli(
        capsys, p, "variant", "add", cid, "--subject", "The barn in bloom", "--body", "Hi",
        "--html", str(html),
    )  # fmt: skip
    assert code == 0 and "Added Variant A: The barn in bloom (with an HTML part)" in out
    cli_json(capsys, p, "variant", "add", cid, "--subject", "Your date, our meadow", "--body", "Hi")
    variants = Replica(p).campaign(cid)["variants"]
    assert [(v["label"], v.get("html")) for v in variants] == [
        ("A", html.read_text()),
        ("B", None),
    ]
    code, _, err = cli(capsys, p, "variant", "add", cid, "--subject", " ", "--body", "Hi")
    assert code == 1 and "a variant needs a subject and a body" in err
    code, _, err = cli(
        capsys, p, "variant", "add", cid, "--subject", "S", "--body", "B", "--html", "nope.html"
    )
    assert code == 1 and "cannot read nope.html" in err


@pytest.fixture
async def automation():
    server = AutomationServer()
    runner = await start(server, free_port())
    yield server
    await runner.cleanup()


async def login(capsys, profile, server: AutomationServer) -> None:
    code = await asyncio.to_thread(
        main,
        ["client", "--profile", str(profile), "login", "--server", server.url,
         "--email", "anna@venue.test", "--password", "pw"],
    )  # fmt: skip
    capsys.readouterr()
    assert code == 0


def two_variant_campaign(capsys, profile) -> tuple[str, list[dict]]:
    cid = new_campaign(capsys, profile)
    for subject in ("Come and see the barn, {{ first_name }}", "Your date, our meadow"):
        cli_json(capsys, profile, "variant", "add", cid, "--subject", subject, "--body", "Hi")
    cli_json(capsys, profile, "step", "add", cid, "send_email")
    cli_json(capsys, profile, "step", "add", cid, "wait", "--config", '{"days": 2}')
    return cid, Replica(profile).campaign(cid)["variants"]


async def test_the_run_view_names_steps_and_variants_and_is_kept_for_offline(
    tmp_path, capsys, automation
):
    p = tmp_path / "p"
    cid, variants = two_variant_campaign(capsys, p)
    await login(capsys, p, automation)
    automation.runs[cid] = run_view(cid, variants, as_of_ms=1_767_000_000_000)

    code, out, err = await asyncio.to_thread(cli, capsys, p, "run", cid)
    assert code == 0, err
    assert out.startswith("Spring open day (active), figures as of 2025-12-29")
    assert "Last known figures" not in out
    lines = out.splitlines()
    header = next(line for line in lines if "Enrolled" in line)
    assert header.split() == [
        "Enrolled", "Waiting", "Sent", "Opened", "Clicked", "Converted",
        "Held", "out", "Bounced", "Suppressed",
    ]  # fmt: skip
    total = next(line for line in lines if line.startswith("All steps"))
    assert total.split()[2:] == ["120", "31", "104", "52", "21", "9", "12", "3", "1"]
    assert any(line.startswith("1. Send email: the best variant") for line in lines)
    assert any(line.startswith("2. Wait 2 days") for line in lines)
    variant_b = next(line for line in lines if "Variant B: Your date, our meadow" in line)
    assert variant_b.split()[-4:] == ["52", "22", "8", "3"]
    assert cid not in out and variants[0]["id"] not in out

    live = json.loads((await asyncio.to_thread(cli, capsys, p, "run", cid, "--json"))[1])
    assert live["live"] is True and live["as_of_ms"] == 1_767_000_000_000
    assert live["steps"][0]["variants"][1]["label"] == "B"

    main(["client", "--profile", str(p), "offline", "on"])
    capsys.readouterr()
    automation.runs[cid] = run_view(cid, variants, as_of_ms=1_768_000_000_000)  # not asked
    code, out, _ = await asyncio.to_thread(cli, capsys, p, "run", cid)
    assert code == 0
    assert "figures as of 2025-12-29" in out
    assert "Last known figures: this profile works offline; received 20" in out
    cached = json.loads((await asyncio.to_thread(cli, capsys, p, "run", cid, "--json"))[1])
    assert cached["live"] is False and cached["as_of_ms"] == 1_767_000_000_000
    assert cached["totals"] == live["totals"] and cached["steps"] == live["steps"]


async def test_with_the_server_down_the_run_view_is_the_last_known_one(
    tmp_path, capsys, automation
):
    p = tmp_path / "p"
    cid, variants = two_variant_campaign(capsys, p)
    await login(capsys, p, automation)
    code, _, err = await asyncio.to_thread(cli, capsys, p, "run", cid)
    assert code == 1 and "[not_found]" in err and "no such campaign on the server" in err

    automation.runs[cid] = run_view(cid, variants, as_of_ms=1_767_000_000_000)
    assert (await asyncio.to_thread(cli, capsys, p, "run", cid))[0] == 0
    other = new_campaign(capsys, p, "Winter win-back")
    replica = Replica(p)
    replica.set_setting("server_url", f"http://127.0.0.1:{free_port()}")  # nobody listens
    replica.close()
    code, out, _ = await asyncio.to_thread(cli, capsys, p, "run", cid)
    assert code == 0 and "Last known figures: the server cannot be reached (cannot reach" in out
    code, _, err = await asyncio.to_thread(cli, capsys, p, "run", other)
    assert code == 1 and "[no_figures]: no figures for Winter win-back on this computer yet" in err


async def test_preview_and_test_send_go_through_the_server(tmp_path, capsys, automation):
    p = tmp_path / "p"
    cid, variants = two_variant_campaign(capsys, p)
    automation.templates = {
        v["id"]: {"subject": v["subject"], "body": "Hi {{ first_name }}"} for v in variants
    }
    await login(capsys, p, automation)

    code, out, err = await asyncio.to_thread(
        cli, capsys, p, "preview", cid, "--variant", "a", "--contact", '{"first_name": "Ella"}'
    )
    assert code == 0, err
    assert "Spring open day, variant A\nSubject: Come and see the barn, Ella\n\nHi Ella" in out
    assert automation.previews[-1] == {
        "variant": variants[0]["id"],
        "contact": {"first_name": "Ella"},
    }
    code, _, err = await asyncio.to_thread(cli, capsys, p, "preview", cid, "--variant", "Q")
    assert code == 1 and "no variant 'Q' in this campaign (variants: A, B)" in err
    asked = len(automation.previews)
    code, _, err = await asyncio.to_thread(cli, capsys, p, "preview", cid, "--contact", '"ella"')
    assert code == 1 and "the contact is a JSON object of personalisation fields" in err
    assert len(automation.previews) == asked  # refused before asking the server

    code, out, err = await asyncio.to_thread(
        cli, capsys, p, "test-send", cid, "--to", "anna@venue.test", "--variant", "B"
    )
    assert code == 0, err
    assert out.strip() == (
        "Sent a test of Spring open day (variant B) to anna@venue.test; "
        "the mail server accepted it as <1@venue.test>."
    )
    assert automation.sends == [{"to": "anna@venue.test", "variant": variants[1]["id"]}]

    automation.refuse_sends["nobody@venue.test"] = "550 no such mailbox"
    code, _, err = await asyncio.to_thread(
        cli, capsys, p, "test-send", cid, "--to", "nobody@venue.test"
    )
    assert code == 1
    assert "[bounced]: the test email to nobody@venue.test was not accepted: 550 no such" in err
    code, _, err = await asyncio.to_thread(cli, capsys, p, "test-send", cid, "--to", "not an email")
    assert code == 1 and "'not an email' is not an email address" in err
    assert len(automation.sends) == 2  # the bad address never reached the server

    automation.role = "viewer"
    await login(capsys, p, automation)
    code, _, err = await asyncio.to_thread(cli, capsys, p, "test-send", cid, "--to", "a@venue.test")
    assert code == 1 and "[forbidden]: viewers cannot send email" in err


def test_steps_in_the_engines_other_forms_and_the_new_campaign_fields(tmp_path, capsys):
    p = tmp_path / "p"
    cid = new_campaign(capsys, p)
    code, out, err = cli(capsys, p, "step", "add", cid, "wait", "--config", '{"duration_s": 5400}')
    assert code == 0, err
    assert "Added step 1: Wait 1 hour 30 minutes" in out
    code, out, err = cli(
        capsys, p, "step", "add", cid, "wait", "--config", '{"until_local_time": "09:00"}'
    )
    assert code == 0 and "Added step 2: Wait until 09:00, the contact's local time" in out
    cli_json(capsys, p, "step", "add", cid, "goal")
    code, out, err = cli(
        capsys, p, "step", "add", cid, "split", "--at", "2",
        "--config", '{"weights": [1, 1, 2], "then": [null, 3, 3]}',
    )  # fmt: skip
    assert code == 0, err
    steps = Replica(p).campaign(cid)["steps"]
    assert steps[0]["config"] == {"duration_s": 5400}  # the defaults did not mix in
    assert steps[1]["config"]["then"] == [None, steps[3]["id"], steps[3]["id"]]

    assert cli(capsys, p, "set", cid, "holdout_pct", "10")[0] == 0
    assert (
        cli(capsys, p, "set", cid, "reentry", '{"mode": "cooldown", "cooldown_s": 86400}')[0] == 0
    )
    stored = Replica(p).campaign(cid)
    assert stored["holdout_pct"] == 10 and stored["reentry"]["cooldown_s"] == 86_400
    code, _, err = cli(capsys, p, "set", cid, "holdout_pct", "95")
    assert code == 1 and "[bad_holdout]" in err
    code, _, err = cli(capsys, p, "set", cid, "reentry", '"sometimes"')
    assert code == 1 and "[bad_reentry]" in err


async def test_steps_are_named_from_this_replica_and_else_by_the_servers_words(
    tmp_path, capsys, automation
):
    p = tmp_path / "p"
    cid, variants = two_variant_campaign(capsys, p)
    chosen = json.dumps({"variant": variants[1]["id"]})
    cli_json(capsys, p, "step", "add", cid, "send_email", "--config", chosen)
    await login(capsys, p, automation)
    view = run_view(cid, variants, as_of_ms=1_767_000_000_000)
    fixed = {**view["steps"][0], "index": 2, "label": "3. Send email"}
    extra = {**view["steps"][1], "index": 3, "kind": "goal", "label": "4. Goal: conversion"}
    view["steps"] = [*view["steps"], fixed, extra]
    automation.runs[cid] = view

    answer = json.loads((await asyncio.to_thread(cli, capsys, p, "run", cid, "--json"))[1])
    labels = [s["label"] for s in answer["steps"]]
    assert labels == [
        "Send email: the best variant",
        "Wait 2 days",
        "Send email: Variant B: Your date, our meadow",
        "Goal: conversion",  # not in this replica (yet): the server's words, without its number
    ]
    assert [v["label"] for v in answer["steps"][0]["variants"]] == ["A", "B"]
    assert [v["label"] for v in answer["steps"][2]["variants"]] == ["B"]  # the one it sends
