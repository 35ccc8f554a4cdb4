"""The per-contact views of the app's viral tracker and attribution visualiser: the invite tree
and a contact's journey, answered from the org's events, refused for another org's contacts and
for bad input."""

import aiohttp

from client.credentials import account_for
from devtools.seed import seed_demo
from server.storage import open_storage
from tests.conftest import start_server


async def _status(server, device, path):
    token = server.tokens.get(account_for(device.replica.device_id))
    async with (
        aiohttp.ClientSession() as s,
        s.get(server.url + path, headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        return resp.status, (await resp.json())["error"]["code"]


def _tree_people(node):
    yield node
    for child in node["children"]:
        yield from _tree_people(child)


async def test_invite_tree_and_journey_from_the_orgs_events(tmp_path):
    server = await start_server(tmp_path)
    try:
        seed_demo(
            server.data_dir, org="Org A", seed=3, suppliers=20, couples=200, campaigns=4, days=60
        )
        viewer = await server.device("v", "viewer")
        report = await viewer.api("GET", "/api/v1/reports/roi")
        top = report["viral"]["super_connectors"][0]
        tree = await viewer.api("GET", f"/api/v1/viral/tree?contact={top['contact']}&depth=2")
        root = tree["root"]
        assert root["contact"] == top["contact"]
        # the first generation is at least the report's accepted invites (pending invites too)
        assert root["invites_accepted"] >= top["accepted_invites"] > 0
        assert len(root["children"]) == root["invites_sent"]
        second = sum(
            1 for child in root["children"] for g in child["children"] if g["accepted_at_ms"]
        )
        assert second >= top["second_generation_invites"]
        people = list(_tree_people(root))
        assert tree["nodes"] == len(people) and not tree["truncated"]
        assert len({p["contact"] for p in people}) == len(people)  # each person once
        shallow = await viewer.api("GET", f"/api/v1/viral/tree?contact={top['contact']}&depth=1")
        assert all(not c["children"] for c in shallow["root"]["children"])

        # the journey: the contact's events in the order they happened, campaigns by name
        names = {c["campaign"]: c["name"] for c in report["campaigns"]}
        storage = open_storage(server.data_dir)
        try:
            org_id = storage.org_id("Org A")
            busy = max(
                (r for r in storage.event_rows(org_id, None, None) if r[3] and r[4]),
                key=lambda r: r[2],
            )[3]
        finally:
            storage.close()
        body = await viewer.api("GET", f"/api/v1/contacts/journey?contact={busy}")
        times = [e["occurred_at_ms"] for e in body["events"]]
        assert body["contact"] == busy and times == sorted(times) and body["total"] >= len(times)
        named = [e for e in body["events"] if e["campaign"]]
        assert named and all(e["campaign_name"] == names[e["campaign"]] for e in named)
        limited = await viewer.api("GET", f"/api/v1/contacts/journey?contact={busy}&limit=1")
        assert limited["events"] == body["events"][-1:]
        assert limited["truncated"] == (body["total"] > 1)

        # another org: the same answer as an unknown contact
        other = await server.device("o", "other")
        for path in (
            f"/api/v1/viral/tree?contact={top['contact']}",
            f"/api/v1/contacts/journey?contact={busy}",
            "/api/v1/contacts/journey?contact=nobody@example.com",
        ):
            assert await _status(server, other, path) == (404, "not_found")
        assert await _status(server, viewer, "/api/v1/viral/tree?contact=nobody@example.com") == (
            404,
            "not_found",
        )
        # bad input: a precise 400
        for path in (
            "/api/v1/viral/tree",
            f"/api/v1/viral/tree?contact={top['contact']}&depth=9",
            f"/api/v1/viral/tree?contact={top['contact']}&depth=two",
            "/api/v1/contacts/journey?contact=" + "x" * 400,
            f"/api/v1/contacts/journey?contact={busy}&limit=0",
        ):
            assert await _status(server, viewer, path) == (400, "bad_request"), path
        # no token: refused
        async with (
            aiohttp.ClientSession() as s,
            s.get(server.url + f"/api/v1/viral/tree?contact={top['contact']}") as resp,
        ):
            assert resp.status == 401
    finally:
        for e in server.engines:
            await e.close()
        await server.runner.cleanup()
