"""Ids are keys within an org (issue 12, point 6): another org's use of an event or campaign id
neither loses a push nor tells that the id exists, by a duplicate count, a 403 against a 404 or
an "already exists"."""

from __future__ import annotations

import aiohttp
import msgpack
import pycrdt

from server import admin
from shared.protocol import campaign as schema
from shared.protocol import messages as m
from shared.protocol.events import Event
from shared.protocol.ids import new_id
from tests.conftest import PASSWORD, reply
from tests.security.conftest import login, open_ws, rows


async def _push(ws, frame: bytes) -> dict:
    await ws.send_bytes(frame)
    return await reply(ws)


def _events(ids: list[str], batch: int) -> bytes:
    events = [Event(i, "conversion", 1_700_000_000_000, 1, value_cents=100) for i in ids]
    return m.push_events_raw(batch, 0, [msgpack.packb(e.to_wire()) for e in events])


def _campaign(name: str) -> bytes:
    doc = schema.new_doc()
    with doc.transaction():
        doc.get("name", type=pycrdt.Text).insert(0, name)
    return doc.get_update()


async def test_an_event_id_pushed_by_two_orgs_is_stored_for_each(guarded):
    ids = [new_id() for _ in range(3)]
    async with aiohttp.ClientSession() as session:
        ws_a = await open_ws(guarded.url, await login(guarded.url, "marketer", session), session)
        ws_b = await open_ws(guarded.url, await login(guarded.url, "other", session), session)
        assert (await _push(ws_a, _events(ids, 1)))["n"] == 3
        ack = await _push(ws_b, _events(ids, 1))
        assert (ack["n"], ack["d"]) == (3, 0)  # stored, and nothing says org A has them
        assert (await _push(ws_b, _events(ids, 2)))["d"] == 3  # org B's own duplicates still are
    stored = rows(guarded.data_dir, "SELECT org_id, id FROM events")
    assert len(stored) == 6 and len({org for org, _ in stored}) == 2


async def test_a_campaign_id_used_by_two_orgs_is_two_campaigns(guarded):
    cid = new_id()
    async with aiohttp.ClientSession() as session:
        a = await login(guarded.url, "marketer", session)
        b = await login(guarded.url, "other", session)
        ws_a = await open_ws(guarded.url, a, session)
        ws_b = await open_ws(guarded.url, b, session)
        assert (await _push(ws_a, m.push_updates(1, [(cid, _campaign("Spring"), {})])))["n"] == 1
        assert (await _push(ws_b, m.push_updates(1, [(cid, _campaign("Autumn"), {})])))["n"] == 1
        for token, name in ((a, "Spring"), (b, "Autumn")):
            headers = {"Authorization": f"Bearer {token}"}
            async with session.get(f"{guarded.url}/api/v1/campaigns/{cid}", headers=headers) as r:
                assert r.status == 200 and (await r.json())["name"] == name


async def test_another_orgs_ids_get_the_same_answer_as_ids_that_do_not_exist(guarded):
    cid = new_id()
    async with aiohttp.ClientSession() as session:
        a = await login(guarded.url, "marketer", session)
        b = {"Authorization": f"Bearer {await login(guarded.url, 'other_admin', session)}"}
        ws_a = await open_ws(guarded.url, a, session)
        assert (await _push(ws_a, m.push_updates(1, [(cid, _campaign("Spring"), {})])))["n"] == 1
        answers = []
        for target in (cid, new_id()):
            for method, path in (
                ("GET", f"/api/v1/campaigns/{target}"),
                ("GET", f"/api/v1/conflicts/{target}"),
                ("POST", f"/api/v1/conflicts/{target}/resolve"),
            ):
                async with session.request(
                    method, guarded.url + path, headers=b, json={"candidate": 0}
                ) as resp:
                    body = await resp.json()
                    answers.append((path.replace(target, "ID"), resp.status, body["error"]["code"]))
        assert answers[:3] == answers[3:]
        assert {status for _, status, _ in answers} == {404}


async def test_creating_a_user_whose_email_is_in_another_org_reveals_nothing(guarded):
    async with aiohttp.ClientSession() as session:
        b_admin = {"Authorization": f"Bearer {await login(guarded.url, 'other_admin', session)}"}
        body = {"email": "marketer@a.test", "password": "a different long secret", "role": "viewer"}
        async with session.post(guarded.url + "/api/v1/users", headers=b_admin, json=body) as r:
            assert r.status == 201, await r.text()
        # each logs in to its own org, by its own password
        for password, org in ((PASSWORD, "Org A"), ("a different long secret", "Org B")):
            async with session.post(
                guarded.url + "/api/v1/login",
                json={"email": "marketer@a.test", "password": password},
            ) as r:
                assert r.status == 200 and (await r.json())["org"] == org
        # the same email twice in one org is still refused
        async with session.post(guarded.url + "/api/v1/users", headers=b_admin, json=body) as r:
            assert r.status == 409


def test_the_admin_cli_can_add_an_email_used_in_another_org(tmp_path):
    admin.create_user(tmp_path, email="ann@x.test", password=PASSWORD, role="admin", org="A")
    made = admin.create_user(
        tmp_path, email="ann@x.test", password="another long secret", role="viewer", org="B"
    )
    assert made["org"] == "B"


def test_a_data_dir_of_before_is_migrated_with_its_rows(tmp_path):
    """A store made before ids were keys within an org keeps every row, now keyed by org."""
    import sqlite_utils

    from server.storage import open_storage
    from server.storage.sqlite import migrations

    db = sqlite_utils.Database(tmp_path / "server.sqlite")
    migrations.apply(db, stop_before="m008_security_ids_by_org")
    event = Event(new_id(), "conversion", 1_700_000_000_000, 1, value_cents=5).to_wire()
    db.execute(
        "INSERT INTO events (id, org_id, device_id, kind, priority, occurred_at_ms, hlc, "
        "received_at_ms, commit_seq) VALUES (?, 'o', 'd', 'conversion', 0, ?, 1, 0, 1)",
        (event[0], event[2]),
    )
    db.execute(
        "INSERT INTO campaigns (id, org_id, state, snapshot, updated_at_ms) "
        "VALUES ('c', 'o', x'0000', '{}', 0)"
    )
    db.close()
    storage = open_storage(tmp_path)
    try:
        assert storage.campaign("c", org_id="o") is not None
        assert storage.campaign("c", org_id="p") is None
        assert [r[0] for r in storage.event_rows("o", None, None)] == [event[0]]
        keys = storage.db.execute("SELECT name, pk FROM pragma_table_info('events') WHERE pk")
        assert sorted(keys.fetchall(), key=lambda r: r[1]) == [("org_id", 1), ("id", 2)]
    finally:
        storage.close()
