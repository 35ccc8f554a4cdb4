"""`wedsync client campaign …` builds a campaign from a script, checked with the campaign rules
before anything is written. (The run view, previews and test sends against the real server are in
test_campaign_run_cli.py; the one test here that uses a server answering the automation contract
needs a run view the real server does not give: one with a step this replica has not got.)"""

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


def test_a_captured_event_is_told_in_words_and_kept_exact_in_json(tmp_path, capsys):
    profile = tmp_path / "laptop"
    cid = new_campaign(capsys, profile, "Spring fair")
    base = ["client", "--profile", str(profile), "event", "add", "--kind", "conversion"]
    who = ["--contact", "ella@example.com", "--channel", "email", "--value-cents", "450000"]
    assert main([*base, *who, "--campaign", cid]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("Captured conversion for ella@example.com via email worth £4,500.00")
    assert "in the campaign Spring fair at " in out and out.endswith("queued for the next sync")
    assert cid not in out and "None" not in out and "hlc" not in out
    assert main([*base, *who, "--json"]) == 0
    event = json.loads(capsys.readouterr().out)
    assert event["value_cents"] == 450000 and event["kind"] == "conversion" and event["hlc"] > 0
