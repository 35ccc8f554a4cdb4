"""Seeded demo campaigns are real campaigns: every type has a trigger, an audience, steps and
content, each one passes the campaign rules, and a real server lets them run."""

from __future__ import annotations

import json
import sqlite3

import pytest

from devtools.demo_campaigns import PLANS, build_campaign
from devtools.seed import seed_demo
from shared.automation import parse_journey, parse_trigger
from shared.protocol import campaign as schema
from shared.protocol import campaign_rules as rules


def stored_campaigns(data_dir) -> list[dict]:  # noqa: ANN001
    conn = sqlite3.connect(data_dir / "server.sqlite")
    try:
        return [json.loads(row[0]) for row in conn.execute("SELECT snapshot FROM campaigns")]
    finally:
        conn.close()


@pytest.mark.parametrize("kind", schema.CAMPAIGN_TYPES)
@pytest.mark.parametrize("status", ["draft", "active", "paused"])
def test_every_campaign_type_has_a_plan_that_passes_the_rules(kind, status):
    doc = build_campaign({"name": f"{kind} #1", "type": kind, "status": status})
    snap = schema.snapshot(doc)
    assert rules.problems(snap) == [] and rules.launch_problems(snap) == []
    assert snap["status"] == status and snap["type"] == kind
    assert snap["trigger"]["event"] in rules.TRIGGER_EVENTS and snap["audience_segment"]["rules"]
    assert len(snap["variants"]) == 2 and len(snap["steps"]) >= 4
    assert snap["steps"][-1]["kind"] != "wait"  # a flow ends with something to do
    # and the journey engine reads it as it is
    assert parse_trigger(snap["trigger"]).event == snap["trigger"]["event"]
    assert len(parse_journey({**snap, "id": "c1"}).nodes) == len(snap["steps"])


def test_a_scheduled_demo_campaign_carries_its_start():
    item = {"name": "Late summer", "type": "nurture", "status": "scheduled"}
    with pytest.raises(rules.CampaignRuleError) as info:
        build_campaign(item)
    assert info.value.code == rules.MISSING_SCHEDULE
    snap = schema.snapshot(build_campaign({**item, "schedule_start": "2026-08-01T09:00"}))
    assert snap["status"] == "scheduled" and rules.problems(snap) == []


def test_the_plans_use_every_step_kind():
    kinds = {kind for plan in PLANS.values() for _, kind, _ in plan.steps}
    assert kinds == set(schema.STEP_KINDS)
    assert set(PLANS) == set(schema.CAMPAIGN_TYPES)


def test_every_seeded_campaign_passes_the_rules(tmp_path):
    seed_demo(tmp_path, org="Org A", seed=3, suppliers=5, couples=40, campaigns=9, days=20)
    campaigns = stored_campaigns(tmp_path)
    assert len(campaigns) == 9
    assert {c["type"] for c in campaigns} == set(schema.CAMPAIGN_TYPES)
    for campaign in campaigns:
        assert campaign["status"] == "active"
        assert rules.problems(campaign) == [], campaign["name"]


async def test_a_server_lets_seeded_campaigns_run_and_edits_keep_them_running(server):
    seed_demo(server.data_dir, org="Org A", seed=4, suppliers=3, couples=20, campaigns=7, days=10)
    device = await server.device("a")
    heard: list[dict] = []
    device.notice_callbacks.append(lambda kind, body: heard.append(body))
    await device.sync_once()
    campaigns = device.replica.campaigns()
    assert len(campaigns) == 7
    for campaign in campaigns:
        device.replica.add_campaign_note(campaign["id"], "Checked before the fair")
    await device.sync_once()
    assert {c["status"] for c in device.replica.campaigns()} == {"active"}
    assert all(c["hold"] is None for c in device.replica.campaigns())
    assert [n for n in heard if n.get("kind") == rules.CAMPAIGN_INVALID] == []
