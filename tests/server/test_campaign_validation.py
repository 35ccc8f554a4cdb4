"""The server keeps the campaign rules on every merged campaign, over a real server on 127.0.0.1:
a campaign that may not run is held as a draft by an ordinary, synced correction, every replica
ends with the same doc, nothing the device wrote is lost, and the device is told why."""

from __future__ import annotations

from typing import Any

import pycrdt

from shared.protocol import campaign as schema
from shared.protocol import campaign_rules as rules


def launchable(doc: pycrdt.Doc) -> list[schema.GuardedEdit | None]:
    """A trigger, an email and its content: all a campaign needs to run."""
    schema.add_step(doc, "send_email", {"variant": "auto"})
    schema.add_variant(doc, subject="Barn open day", body="Come and see the barn in May.")
    return [schema.set_field(doc, "trigger", {"event": "lead", "conditions": []})]


def listen(engine) -> list[dict[str, Any]]:  # noqa: ANN001
    """The ``campaign_invalid`` notices the device receives from now on."""
    heard: list[dict[str, Any]] = []
    engine.notice_callbacks.append(
        lambda kind, body: heard.append(body) if kind == rules.CAMPAIGN_INVALID else None
    )
    return heard


async def on_server(engine, cid: str) -> dict[str, Any]:  # noqa: ANN001
    return await engine.api("GET", f"/api/v1/campaigns/{cid}")


async def two_devices(server, **fields: Any):  # noqa: ANN001
    a, b = await server.device("a"), await server.device("b", "marketer2")
    cid, _ = a.replica.create_campaign(name="Spring open day", fields=fields)
    await a.sync_once()
    await b.sync_once()
    return cid, a, b


def codes(hold_or_notice: dict[str, Any]) -> list[str]:
    return [p["code"] for p in hold_or_notice["problems"]]


async def test_activating_an_incomplete_campaign_holds_it_as_a_draft_on_every_replica(server):
    cid, a, b = await two_devices(server)
    heard = listen(a)

    a.replica.set_campaign_field(cid, "status", "active")
    await a.sync_once()
    await b.sync_once()

    for snap in (a.replica.campaign(cid), b.replica.campaign(cid), await on_server(a, cid)):
        assert snap["status"] == "draft"
        assert snap["hold"]["status"] == "active"
        assert codes(snap["hold"]) == [rules.MISSING_TRIGGER, rules.MISSING_STEPS]
    assert a.replica.campaign_state(cid) == b.replica.campaign_state(cid)
    (notice,) = heard
    assert notice["code"] == rules.CAMPAIGN_INVALID and notice["campaign"] == cid
    assert notice["held"] == "active" and notice["name"] == "Spring open day"
    assert notice["message"].startswith("kept as a draft, not active: choose the event")
    assert codes(notice) == [rules.MISSING_TRIGGER, rules.MISSING_STEPS]
    # the device's edit is kept: its guarded status edit is the field's head, not overwritten
    assert schema.heads(a.replica.campaign_doc(cid), "status")
    assert (await a.api("GET", "/api/v1/conflicts?status=open"))["conflicts"] == []


async def test_a_complete_campaign_activates_and_no_notice_is_sent(server):
    cid, a, b = await two_devices(server)
    heard = listen(a)
    a.replica.edit_campaign(cid, launchable)
    a.replica.set_campaign_field(cid, "status", "active")
    await a.sync_once()
    await b.sync_once()
    for snap in (a.replica.campaign(cid), b.replica.campaign(cid), await on_server(b, cid)):
        assert snap["status"] == "active" and snap["hold"] is None
    assert heard == []


async def test_a_held_campaign_once_fixed_loses_its_hold_and_activates(server):
    cid, a, b = await two_devices(server)
    a.replica.set_campaign_field(cid, "status", "active")
    await a.sync_once()
    assert a.replica.campaign(cid)["hold"] is not None

    b_heard = listen(b)
    await b.sync_once()
    b.replica.edit_campaign(cid, launchable)  # b fixes what a was told
    await b.sync_once()
    assert b.replica.campaign(cid)["hold"] is None  # nothing stands in the way any more
    assert b.replica.campaign(cid)["status"] == "draft"

    await a.sync_once()
    a.replica.set_campaign_field(cid, "status", "active")  # based on what it has seen
    await a.sync_once()
    await b.sync_once()
    assert a.replica.campaign(cid)["status"] == b.replica.campaign(cid)["status"] == "active"
    assert b_heard == []
    assert (await a.api("GET", "/api/v1/conflicts?status=open"))["conflicts"] == []


async def test_edits_valid_apart_but_invalid_merged_return_the_campaign_to_draft(server):
    """One laptop activates a complete campaign while another, offline, removes its only email:
    each edit was fine where it was made; the merge may not run, so it is held everywhere."""
    cid, a, b = await two_devices(server)
    a.replica.edit_campaign(cid, launchable)
    await a.sync_once()
    await b.sync_once()
    a.replica.set_offline(True)
    b.replica.set_offline(True)
    a.replica.set_campaign_field(cid, "status", "active")

    def remove_the_email(doc: pycrdt.Doc) -> None:
        del doc.get("steps", type=pycrdt.Array)[0]

    b.replica.edit_campaign(cid, remove_the_email)
    heard = listen(b)  # the device whose update the server corrected: connected at the time
    for engine in (a, b):
        engine.replica.set_offline(False)
        await engine.sync_once()
    await a.sync_once()

    assert a.replica.campaign(cid)["status"] == b.replica.campaign(cid)["status"] == "draft"
    assert codes(a.replica.campaign(cid)["hold"]) == [rules.MISSING_STEPS]
    assert a.replica.campaign_state(cid) == b.replica.campaign_state(cid)
    assert (await on_server(a, cid))["steps"] == [] and a.replica.campaign(cid)["variants"]
    assert [n["held"] for n in heard] == ["active"]  # a, not connected then, reads the hold


async def test_a_running_campaign_emptied_elsewhere_is_held_too(server):
    cid, a, b = await two_devices(server)
    a.replica.edit_campaign(cid, launchable)
    a.replica.set_campaign_field(cid, "status", "active")
    await a.sync_once()
    await b.sync_once()
    assert b.replica.campaign(cid)["status"] == "active"

    def blank_the_content(doc: pycrdt.Doc) -> None:
        doc.get("variants", type=pycrdt.Array)[0]["body"] = "   "

    b.replica.edit_campaign(cid, blank_the_content)
    await b.sync_once()
    await a.sync_once()
    for snap in (a.replica.campaign(cid), b.replica.campaign(cid)):
        assert snap["status"] == "draft"
        assert codes(snap["hold"]) == [rules.MISSING_CONTENT]


async def test_malformed_values_from_a_device_are_named_and_break_nothing(server):
    cid, a, b = await two_devices(server)
    heard = listen(a)

    def malformed(doc: pycrdt.Doc) -> list[schema.GuardedEdit | None]:
        schema.add_step(doc, "wait", {"days": "soon"})
        # a kind this app does not know (add_step refuses it, an older or foreign app may not)
        doc.get("steps", type=pycrdt.Array).append(
            pycrdt.Map({"id": "x1", "kind": "teleport", "config": pycrdt.Map()})
        )
        return [
            schema.set_field(doc, "trigger", {"kind": "lead"}),
            schema.set_field(doc, "frequency_cap", [1, 2]),
        ]

    a.replica.edit_campaign(cid, malformed)
    await a.sync_once()
    (notice,) = heard
    assert notice["held"] is None  # a draft: nothing to hold, but the device is told
    assert sorted(codes(notice)) == sorted(
        [rules.BAD_TRIGGER, rules.BAD_FREQUENCY_CAP, rules.BAD_STEP_CONFIG, rules.BAD_STEP]
    )
    fields = {p["code"]: p["field"] for p in notice["problems"]}
    assert fields[rules.BAD_STEP] == "steps.x1" and fields[rules.BAD_STEP_CONFIG].endswith(".days")

    # the server kept serving, merged the edit like any other, and nobody diverged
    a.replica.capture(kind="lead", contact="ana@x.test")
    report = await a.sync_once()
    assert report.pushed[1] == 1
    await b.sync_once()
    assert a.replica.campaign_state(cid) == b.replica.campaign_state(cid)
    assert b.replica.campaign(cid)["trigger"] == {"kind": "lead"}

    a.replica.add_campaign_note(cid, "still broken")  # nothing new: no new notice
    await a.sync_once()
    assert len(heard) == 1

    a.replica.set_campaign_field(cid, "status", "active")
    await a.sync_once()
    assert a.replica.campaign(cid)["status"] == "draft"
    assert rules.BAD_TRIGGER in codes(heard[-1]) and heard[-1]["held"] == "active"


def test_the_same_doc_always_gets_the_same_correction():
    """The server writes its correction under a client id drawn from the doc, so a replay (or a
    second server process correcting the same state) makes the very same change."""
    from server.campaigns import keep_rules

    doc = schema.new_doc()
    with doc.transaction():
        schema.set_field(doc, "name", "Spring open day")
        schema.set_field(doc, "status", "active")
    state = doc.get_update()
    corrected = []
    for _ in range(2):
        replay = schema.doc_from_state(state)
        (notice,) = keep_rules("c1", replay, {})
        corrected.append(replay.get_update())
    assert corrected[0] == corrected[1]
    assert schema.snapshot(replay)["status"] == "draft" and notice["held"] == "active"
    assert keep_rules("c1", replay, schema.snapshot(replay)) == []  # nothing more to do
    assert replay.get_update() == corrected[1]
