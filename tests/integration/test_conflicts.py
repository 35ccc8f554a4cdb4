"""Conflicts over a real server on 127.0.0.1 (each storage backend): detection, resolution, roles,
audit."""

import asyncio

import pytest

from client.sync import RemoteError
from shared.protocol import campaign as schema

pytestmark = pytest.mark.backends


def server_rows(server, sql, args=()):
    return server.rows(sql, args)


async def shared_campaign(server, *names, users=("marketer", "marketer2", "marketer3")):
    engines = [await server.device(n, u) for n, u in zip(names, users, strict=False)]
    cid, _ = engines[0].replica.create_campaign(name="Spring open day")
    engines[0].replica.set_campaign_field(cid, "budget_cents", 40_000)
    for e in engines:
        await e.sync_once()
    return cid, engines


def make_launchable(replica, cid):
    """A trigger, an email step and its content: what a campaign needs to become active."""

    def build(doc):
        schema.add_step(doc, "send_email", {"variant": "auto"})
        schema.add_variant(doc, subject="Barn open day", body="Come and see the barn.")
        return [schema.set_field(doc, "trigger", {"event": "lead"})]

    replica.edit_campaign(cid, build)


async def open_conflicts(engine):
    return (await engine.api("GET", "/api/v1/conflicts?status=open"))["conflicts"]


async def test_sequential_edits_raise_no_conflict(server):
    cid, (a, b) = await shared_campaign(server, "a", "b")
    a.replica.set_campaign_field(cid, "budget_cents", 50_000)
    await a.sync_once()
    await b.sync_once()
    b.replica.set_campaign_field(cid, "budget_cents", 80_000)
    await b.sync_once()
    await a.sync_once()
    assert await open_conflicts(a) == []
    assert a.replica.campaign(cid)["budget_cents"] == 80_000


@pytest.mark.parametrize("replicas", [2, 3])
async def test_concurrent_budget_edits_raise_one_conflict_with_every_candidate(server, replicas):
    names = ["a", "b", "c"][:replicas]
    cid, engines = await shared_campaign(server, *names)
    for i, e in enumerate(engines):
        e.replica.set_offline(True)
        e.replica.set_campaign_field(cid, "budget_cents", 50_000 + 30_000 * i)
    for e in engines:
        e.replica.set_offline(False)
        await e.sync_once()
    for e in engines:
        await e.sync_once()
    conflicts = await open_conflicts(engines[0])
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict["field"] == "budget_cents" and conflict["kind"] == "concurrent_edit"
    assert sorted(c["value"] for c in conflict["candidates"]) == [
        50_000 + 30_000 * i for i in range(replicas)
    ]
    authors = ["marketer@a.test", "marketer2@a.test", "marketer3@a.test"][:replicas]
    assert {c["author"] for c in conflict["candidates"]} == set(authors)
    assert all(c["device"] and c["hlc"] for c in conflict["candidates"])
    assert sorted(c["device_name"] for c in conflict["candidates"]) == names  # named at login
    # the provisional winner is the same everywhere, and every replica shows the badge
    values = {e.replica.campaign(cid)["budget_cents"] for e in engines}
    assert len(values) == 1 and values == {conflict["provisional"]}
    assert all(conflict["id"] in e.replica.campaign(cid)["open_conflicts"] for e in engines)


async def test_concurrent_edits_of_different_guarded_fields_and_text_raise_nothing(server):
    cid, (a, b) = await shared_campaign(server, "a", "b")
    a.replica.set_offline(True)
    b.replica.set_offline(True)
    a.replica.set_campaign_field(cid, "budget_cents", 90_000)
    b.replica.set_campaign_field(cid, "schedule_start", "2027-05-01")
    a.replica.set_campaign_field(cid, "description", "Barn tour, then cake.")
    b.replica.set_campaign_field(cid, "description", "Barn tour and tasting.")
    for e in (a, b, a):
        e.replica.set_offline(False)
        await e.sync_once()
    assert await open_conflicts(a) == []
    camp = a.replica.campaign(cid)
    assert camp["budget_cents"] == 90_000 and camp["schedule_start"] == "2027-05-01"
    assert "cake" in camp["description"] and "tasting" in camp["description"]


async def test_admin_resolution_reaches_every_replica_including_an_offline_one(server):
    cid, (a, b) = await shared_campaign(server, "a", "b")
    admin = await server.device("adm", "admin")
    await admin.sync_once()
    a.replica.set_offline(True)
    b.replica.set_offline(True)
    a.replica.set_campaign_field(cid, "budget_cents", 50_000)
    b.replica.set_campaign_field(cid, "budget_cents", 80_000)
    for e in (a, b):
        e.replica.set_offline(False)
        await e.sync_once()
    await a.sync_once()
    b.replica.set_offline(True)  # b is away when the admin decides
    (conflict,) = await open_conflicts(admin)
    resolved = await admin.api(
        "POST",
        f"/api/v1/conflicts/{conflict['id']}/resolve",
        {"value": 65_000, "comment": "split the difference"},
    )
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "admin@a.test"
    await a.sync_once()
    await admin.sync_once()
    b.replica.set_offline(False)
    await b.sync_once()
    states = {e.replica.campaign_state(cid) for e in (a, b, admin)}
    (server_state,) = server_rows(server, "SELECT state FROM campaigns WHERE id = ?", (cid,))[0]
    assert states == {bytes(server_state)}  # byte-identical everywhere
    camp = b.replica.campaign(cid)
    assert camp["budget_cents"] == 65_000 and camp["open_conflicts"] == {}
    assert await open_conflicts(admin) == []
    audit = (await admin.api("GET", "/api/v1/audit"))["entries"]
    assert (
        audit[0]["action"] == "resolve_conflict"
        and audit[0]["detail"]["comment"] == "split the difference"
    )


async def test_resolving_by_candidate_and_a_later_edit_needs_no_new_conflict(server):
    cid, (a, b) = await shared_campaign(server, "a", "b")
    admin = await server.device("adm", "admin")
    a.replica.set_offline(True)
    b.replica.set_offline(True)
    a.replica.set_campaign_field(cid, "status", "active")
    b.replica.set_campaign_field(cid, "status", "archived")
    for e in (a, b):
        e.replica.set_offline(False)
        await e.sync_once()
    (conflict,) = await open_conflicts(admin)
    assert conflict["kind"] == "status_race"
    pick = next(i for i, c in enumerate(conflict["candidates"]) if c["value"] == "active")
    await admin.api("POST", f"/api/v1/conflicts/{conflict['id']}/resolve", {"candidate": pick})
    await a.sync_once()
    a.replica.set_campaign_field(cid, "status", "paused")  # made after seeing the resolution
    await a.sync_once()
    assert await open_conflicts(admin) == []
    await b.sync_once()
    assert b.replica.campaign(cid)["status"] == "paused"


async def test_edit_to_an_archived_campaign_is_flagged(server):
    cid, (a, b) = await shared_campaign(server, "a", "b")
    a.replica.set_campaign_field(cid, "status", "archived")
    await a.sync_once()
    await b.sync_once()
    b.replica.add_campaign_note(cid, "one more fair?")
    await b.sync_once()
    (conflict,) = await open_conflicts(a)
    assert conflict["kind"] == "archived_edit"
    assert [c["value"] for c in conflict["candidates"]] == ["archived", "paused"]


async def test_active_campaigns_with_overlapping_audiences_are_flagged(server):
    a = await server.device("a")
    a.replica.upsert_contact("ana@x.test", {"role": "couple", "region": "north"})
    a.replica.upsert_contact("bo@x.test", {"role": "supplier", "region": "north"})
    segment = '{"rules": [{"field": "role", "op": "eq", "value": "couple"}]}'
    ids = []
    for name in ("Barn open day", "Summer fair"):
        cid, _ = a.replica.create_campaign(name=name)
        a.replica.set_campaign_field(cid, "audience_segment", segment)
        a.replica.set_campaign_field(cid, "frequency_cap", '{"max_sends": 2, "per_days": 7}')
        make_launchable(a.replica, cid)
        ids.append(cid)
    await a.sync_once()
    for cid in ids:
        a.replica.set_campaign_field(cid, "status", "active")
    await a.sync_once()
    (conflict,) = await open_conflicts(a)
    assert conflict["kind"] == "audience_overlap"
    assert sorted(c["value"] for c in conflict["candidates"]) == sorted(ids)
    admin = await server.device("adm", "admin")
    await admin.api("POST", f"/api/v1/conflicts/{conflict['id']}/resolve", {"value": ids[0]})
    await a.sync_once()
    assert a.replica.campaign(ids[0])["status"] == "active"
    assert a.replica.campaign(ids[1])["status"] == "paused"


async def test_refusals_change_nothing_and_are_audited(server):
    cid, (a, b) = await shared_campaign(server, "a", "b")
    a.replica.set_offline(True)
    b.replica.set_offline(True)
    a.replica.set_campaign_field(cid, "budget_cents", 1)
    b.replica.set_campaign_field(cid, "budget_cents", 2)
    for e in (a, b):
        e.replica.set_offline(False)
        await e.sync_once()
    (conflict,) = await open_conflicts(a)
    org_a = server_rows(server, "SELECT org_id FROM campaigns")[0][0]
    org_a_states = "SELECT state FROM campaigns WHERE org_id = ?"
    before = server_rows(server, org_a_states, (org_a,))

    # a marketer resolving
    with pytest.raises(RemoteError) as info:
        await a.api("POST", f"/api/v1/conflicts/{conflict['id']}/resolve", {"candidate": 0})
    assert info.value.code == "forbidden"
    # a viewer editing
    viewer = await server.device("v", "viewer")
    await viewer.sync_once()
    viewer.replica.set_campaign_field(cid, "budget_cents", 3)
    report = await viewer.sync_once()
    assert report.rejected == 1
    # org B naming org A's campaign and conflict by id: not found, as ids that do not exist
    other = await server.device("o", "other")
    other_admin = await server.device("oa", "other_admin")
    for call in (
        other.api("GET", f"/api/v1/campaigns/{cid}"),
        other.api("GET", f"/api/v1/conflicts/{conflict['id']}"),
        other_admin.api("POST", f"/api/v1/conflicts/{conflict['id']}/resolve", {"candidate": 0}),
    ):
        with pytest.raises(RemoteError) as info:
            await call
        assert info.value.code == "not_found"
    intruder = other.replica
    with intruder.transaction():  # an update forged on org A's campaign's state and id
        intruder.db.execute(
            "INSERT INTO campaigns (id, state, snapshot, updated_at_ms) SELECT id, state, snapshot, "
            "0 FROM (SELECT ? AS id, ? AS state, '{}' AS snapshot)",
            (cid, a.replica.campaign_state(cid)),
        )
    intruder.set_campaign_field(cid, "budget_cents", 4)
    await other.sync_once()  # stored as org B's own campaign of that id: org A's is untouched

    assert server_rows(server, org_a_states, (org_a,)) == before
    assert (await open_conflicts(a))[0]["status"] == "open"
    audit = server_rows(server, "SELECT email, action, outcome FROM audit ORDER BY id")
    assert ("marketer@a.test", "resolve_conflicts", "refused:forbidden") in audit
    assert ("viewer@a.test", "edit_campaigns", "refused:forbidden") in audit
    assert not [row for row in audit if (row[0] or "").endswith("@b.test")]
    # org A's audit is readable by org A's admin only; org B's refusals are in org B's log
    with pytest.raises(RemoteError):
        await a.api("GET", "/api/v1/audit")


async def test_new_conflicts_reach_connected_admins_live_and_offline_devices_on_reconnect(server):
    cid, (a, b, c) = await shared_campaign(server, "a", "b", "c")
    admin = await server.device("adm", "admin")
    notices = []
    got = asyncio.get_running_loop().create_future()

    def on_notice(kind, body):
        notices.append((kind, body))
        if kind == "conflict" and not got.done():
            got.set_result(body)

    admin.notice_callbacks.append(on_notice)
    session = await admin.connect()  # the admin's app is open and connected
    try:
        c.replica.set_offline(True)  # c is away the whole time
        a.replica.set_offline(True)
        b.replica.set_offline(True)
        a.replica.set_campaign_field(cid, "budget_cents", 11)
        b.replica.set_campaign_field(cid, "budget_cents", 22)
        for e in (a, b):
            e.replica.set_offline(False)
            await e.sync_once()
        body = await asyncio.wait_for(got, 5)
        assert body["conflict"]["field"] == "budget_cents"
        assert len(body["conflict"]["candidates"]) == 2
    finally:
        await session.close()
    assert c.replica.campaign(cid)["open_conflicts"] == {}
    c.replica.set_offline(False)
    await c.sync_once()
    (mark,) = c.replica.campaign(cid)["open_conflicts"].values()
    assert mark == {"field": "budget_cents", "kind": "concurrent_edit"}
