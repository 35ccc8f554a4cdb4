"""Pull by change cursor: a pull costs what changed since the device's last pull, not the number of
campaigns; a device without a usable cursor takes the state-vector path and converges."""

import asyncio

import aiohttp
import msgpack
import pytest

from client.credentials import account_for
from server import campaigns as server_campaigns
from shared.protocol import messages as m

pytestmark = pytest.mark.backends


class Recording:
    """A transport that keeps every frame sent and received, decoded."""

    def __init__(self, inner, sent, received):
        self.inner, self.sent, self.received = inner, sent, received

    @property
    def close_code(self):
        return self.inner.close_code

    async def send_bytes(self, data):
        self.sent.append(msgpack.unpackb(data))
        await self.inner.send_bytes(data)

    async def receive(self, timeout_s=None):
        data = await self.inner.receive(timeout_s)
        if isinstance(data, bytes):
            self.received.append(msgpack.unpackb(data))
        return data

    async def close(self, **kw):
        return await self.inner.close(**kw)


def record(engine):
    sent, received = [], []
    connect = engine.connector

    async def connector(url):
        return Recording(await connect(url), sent, received)

    engine.connector = connector
    return sent, received


def of_type(frames, t):
    return [f for f in frames if f["t"] == t]


def server_states(server):
    return {cid: bytes(state) for cid, state in server.rows("SELECT id, state FROM campaigns")}


def replica_states(engine):
    return {c["id"]: engine.replica.campaign_state(c["id"]) for c in engine.replica.campaigns()}


def count_campaign_reads(monkeypatch, server):
    """Counts the server's reads of campaign states (the state-vector path)."""
    calls = {"campaigns": 0, "updates_for": 0}
    backend = type(server.ctx.reader)
    campaigns, updates_for = backend.campaigns, server_campaigns.updates_for

    def counted_campaigns(self, org_id):
        calls["campaigns"] += 1
        return campaigns(self, org_id)

    def counted_updates_for(*args):
        calls["updates_for"] += 1
        return updates_for(*args)

    monkeypatch.setattr(backend, "campaigns", counted_campaigns)
    monkeypatch.setattr(server_campaigns, "updates_for", counted_updates_for)
    return calls


async def test_a_pull_with_nothing_changed_sends_no_vectors_and_reads_no_campaign(
    server, monkeypatch
):
    a = await server.device("a")
    for i in range(5):
        a.replica.create_campaign(name=f"Campaign {i}")
    await a.sync_once()
    b = await server.device("b", "marketer2")
    sent, received = record(b)
    calls = count_campaign_reads(monkeypatch, server)

    await b.sync_once()  # first sync: no cursor, the state-vector path
    first_pull = of_type(sent, m.MsgType.PULL)[-1]
    assert "k" not in first_pull
    assert calls["updates_for"] == 1 and calls["campaigns"] == 1
    done = of_type(received, m.MsgType.DOCS)[-1]
    assert done["done"] and done["n"] == 5 and done["k"] > 0
    assert b.replica.pull_cursor() == done["k"]

    sent.clear()
    received.clear()
    await b.sync_once()
    pull = of_type(sent, m.MsgType.PULL)[-1]
    assert pull["s"] == {} and pull["k"] == done["k"]
    assert calls["updates_for"] == 1 and calls["campaigns"] == 1  # nothing read this time
    (answer,) = of_type(received, m.MsgType.DOCS)
    assert answer["u"] == [] and answer["done"] and answer["n"] == 0 and answer["k"] == done["k"]
    assert replica_states(b) == server_states(server)


async def test_after_three_of_two_hundred_campaigns_change_a_pull_carries_only_those(server):
    a = await server.device("a")
    ids = [a.replica.create_campaign(name=f"Campaign {i}")[0] for i in range(200)]
    await a.sync_once()
    b = await server.device("b", "marketer2")
    await b.sync_once()
    assert len(b.replica.campaigns()) == 200
    await a.sync_once()  # a's cursor now covers its own creates
    cursor = a.replica.pull_cursor()

    edited = ids[10], ids[50], ids[150]
    for cid in edited:
        b.replica.add_campaign_note(cid, f"edited {cid}")
    b.replica.set_campaign_field(ids[50], "owner", "ben@a.test")
    await b.sync_once()

    sent, received = record(a)
    report = await a.sync_once()
    pull = of_type(sent, m.MsgType.PULL)[-1]
    assert pull["s"] == {} and pull["k"] == cursor
    docs = of_type(received, m.MsgType.DOCS)
    got = [c for frame in docs for c, _ in frame["u"]]
    assert sorted(got) == sorted(edited)  # one merged update per changed campaign
    assert report.pulled == 3
    assert a.replica.pull_cursor() == docs[-1]["k"] > cursor
    assert a.replica.campaign(ids[50])["owner"] == "ben@a.test"

    await b.sync_once()
    states = server_states(server)
    assert len(states) == 200
    assert replica_states(a) == states == replica_states(b)


async def test_a_cursor_this_server_never_issued_falls_back_to_state_vectors(server, monkeypatch):
    a = await server.device("a")
    ids = [a.replica.create_campaign(name=f"Campaign {i}")[0] for i in range(4)]
    await a.sync_once()
    b = await server.device("b", "marketer2")
    await b.sync_once()
    b.replica.add_campaign_note(ids[2], "from b")
    await b.sync_once()

    a.replica.set_setting("pull_cursor", str(10**12))  # e.g. from another server's data dir
    sent, received = record(a)
    calls = count_campaign_reads(monkeypatch, server)
    await a.sync_once()
    assert of_type(sent, m.MsgType.PULL)[-1]["k"] == 10**12
    assert calls["updates_for"] == 1  # the full path
    done = of_type(received, m.MsgType.DOCS)[-1]
    assert done["n"] == 4 and done["k"] < 10**12
    assert a.replica.pull_cursor() == done["k"]
    assert [n["text"] for n in a.replica.campaign(ids[2])["notes"]] == ["from b"]
    assert replica_states(a) == server_states(server) == replica_states(b)


async def test_a_device_keeps_its_cursor_when_an_answer_is_incomplete(server):
    a = await server.device("a")
    a.replica.create_campaign(name="One")
    await a.sync_once()
    cursor = a.replica.pull_cursor()
    session = await a.connect()
    try:
        session.pull_items = 0
        session.pull_waiter = None  # a DOCS done frame that answers no pull of this session
        await session.dispatch(m.decode_frame(m.docs([], done=True, cursor=cursor + 5, items=0)))
        assert a.replica.pull_cursor() == cursor
        session.pull_waiter = asyncio.get_running_loop().create_future()
        session.pull_items = 0  # one of two items of the answer was lost
        await session.dispatch(m.decode_frame(m.docs([], done=True, cursor=cursor + 5, items=1)))
        assert a.replica.pull_cursor() == cursor
    finally:
        await session.close()


async def test_a_malformed_cursor_gets_an_error_frame_and_the_socket_keeps_serving(server):
    a = await server.device("a")
    a.replica.create_campaign(name="One")
    await a.sync_once()
    token = server.tokens.get(account_for(a.replica.device_id))
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(server.url.replace("http", "ws") + "/api/v1/sync")
        await ws.send_bytes(m.hello(token=token, device_id=a.replica.device_id))
        assert msgpack.unpackb((await ws.receive(timeout=5)).data)["t"] == m.MsgType.WELCOME
        for bad in (-1, "12", True, 1.5, 2**64 - 1, None):
            await ws.send_bytes(msgpack.packb({"t": 5, "s": {}, "k": bad}))
            frame = msgpack.unpackb((await ws.receive(timeout=5)).data)
            assert frame["t"] == m.MsgType.ERROR and frame["code"] == "bad_frame", frame
            assert "cursor" in frame["msg"]
        await ws.send_bytes(m.pull({}, cursor=1))
        frame = msgpack.unpackb((await ws.receive(timeout=5)).data)
        assert frame["t"] == m.MsgType.DOCS and frame["done"] and frame["k"] >= 1
        await ws.close()
