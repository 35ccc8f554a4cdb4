"""After a commit: what its jobs declared reaches the devices live, whichever path made it, and a
job that fails leaves nothing behind, neither in the store nor in the writer's cached docs."""

import asyncio
import sqlite3

import aiohttp
import msgpack
import pytest

from client.credentials import account_for
from client.sync import RemoteError
from shared.protocol import campaign as schema
from shared.protocol import messages as m
from shared.protocol.ids import new_id
from tests.conftest import reply


def server_rows(server, sql, args=()):
    conn = sqlite3.connect(server.data_dir / "server.sqlite")
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def budget_conflict(server):
    """Two marketers edit one campaign's budget offline: one open conflict."""
    a, b = await server.device("a"), await server.device("b", "marketer2")
    cid, _ = a.replica.create_campaign(name="Spring open day")
    await a.sync_once()
    await b.sync_once()
    for engine, budget in ((a, 50_000), (b, 80_000)):
        engine.replica.set_offline(True)
        engine.replica.set_campaign_field(cid, "budget_cents", budget)
    for engine in (a, b, a):  # a again: a live update applies on the state it is based on
        engine.replica.set_offline(False)
        await engine.sync_once()
    (conflict,) = (await a.api("GET", "/api/v1/conflicts?status=open"))["conflicts"]
    return cid, conflict, a, b


def waiter(loop):
    """A future and a callback that resolves it from any thread."""
    future = loop.create_future()

    def done(value):
        if not future.done():
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(value))

    return future, done


async def test_a_resolution_reaches_connected_devices_live(server):
    cid, conflict, a, _ = await budget_conflict(server)
    admin = await server.device("adm", "admin")
    await admin.sync_once()
    loop = asyncio.get_running_loop()
    resolved, on_resolved = waiter(loop)
    admin.notice_callbacks.append(
        lambda kind, body: kind == "conflict_resolved" and on_resolved(body)
    )
    changed, on_changed = waiter(loop)
    a.replica.subscribe(
        lambda ch: (
            cid in ch.campaigns
            and a.replica.campaign(cid)["budget_cents"] == 65_000
            and on_changed(True)
        )
    )
    sessions = [await admin.connect(), await a.connect()]
    try:
        await admin.api("POST", f"/api/v1/conflicts/{conflict['id']}/resolve", {"value": 65_000})
        body = await asyncio.wait_for(resolved, 5)
        assert await asyncio.wait_for(changed, 5)  # the marketer's device, without a pull
    finally:
        for session in sessions:
            await session.close()
    assert body["conflict"]["id"] == conflict["id"] and body["conflict"]["status"] == "resolved"
    assert a.replica.campaign(cid)["open_conflicts"] == {}


async def test_a_resolution_commits_with_its_audit_entry_or_not_at_all(server, monkeypatch):
    cid, conflict, a, _ = await budget_conflict(server)
    admin = await server.device("adm", "admin")
    before = server_rows(server, "SELECT state FROM campaigns")
    storage = server.ctx.storage

    def audit_fails(**entry):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(storage, "audit", audit_fails)
    path = f"/api/v1/conflicts/{conflict['id']}/resolve"
    with pytest.raises(RemoteError) as info:
        await admin.api("POST", path, {"value": 65_000})
    assert info.value.code == "internal"
    assert server_rows(server, "SELECT state FROM campaigns") == before
    assert (await admin.api("GET", f"/api/v1/conflicts/{conflict['id']}"))["status"] == "open"

    monkeypatch.undo()  # the disk is back: the same decision goes through, with its entry
    resolved = await admin.api("POST", path, {"value": 65_000})
    assert resolved["status"] == "resolved"
    rows = server_rows(
        server, "SELECT email, target, outcome FROM audit WHERE action = 'resolve_conflict'"
    )
    assert rows == [("admin@a.test", conflict["id"], "ok")]
    await a.sync_once()
    assert a.replica.campaign(cid)["budget_cents"] == 65_000


async def test_a_batch_that_fails_part_way_stores_none_of_it_and_a_resend_is_kept(server):
    device = await server.device("a")
    token = server.tokens.get(account_for(device.replica.device_id))
    doc = schema.new_doc()
    with doc.transaction():
        schema.set_field(doc, "name", "Barn open day")
    good = (new_id(), doc.get_update(), {})
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(server.url.replace("http", "ws") + "/api/v1/sync")
        await ws.send_bytes(m.hello(token=token, device_id=device.replica.device_id))
        assert msgpack.unpackb((await ws.receive(timeout=5)).data)["t"] == m.MsgType.WELCOME
        await ws.send_bytes(m.push_updates(1, [good, (new_id(), b"garbage", {})]))
        error = await reply(ws, 5)
        assert error["t"] == m.MsgType.ERROR and error["code"] == "bad_update"
        assert server.stats()["campaigns"] == 0
        await ws.send_bytes(m.push_updates(2, [good]))  # the device sends it again
        ack = await reply(ws, 5)
        await ws.close()
    assert ack["t"] == m.MsgType.ACK and (ack["b"], ack["n"]) == (2, 1)
    assert server.stats()["campaigns"] == 1
