"""Every malformed, oversized, wrong-version or unauthenticated frame gets its error code,
nothing is stored, and the server keeps serving the other devices."""

import aiohttp
import msgpack
import pytest

from client.credentials import account_for
from shared.protocol import messages as m
from shared.protocol.events import Event
from shared.protocol.ids import new_id
from tests.conftest import reply, start_server


async def open_ws(url):
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(url.replace("http", "ws") + "/api/v1/sync")
    return session, ws


async def receive_error(ws):
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.BINARY, msg
    frame = msgpack.unpackb(msg.data)
    assert frame["t"] == m.MsgType.ERROR
    return frame


def event_frame(batch=1):
    ev = Event(new_id(), "conversion", 1_700_000_000_000, 1, value_cents=100)
    return m.push_events_raw(batch, 0, [msgpack.packb(ev.to_wire())])


@pytest.mark.parametrize(
    ("first_frame", "code"),
    [
        (event_frame(), "unauthenticated"),  # a push before hello
        (m.hello(token="not-a-token", device_id="x"), "unauthenticated"),
        (m.hello(token="x", device_id="x", version=99), "bad_version"),
        (b"\xc1\xc1 not msgpack", "bad_frame"),
    ],
)
async def test_handshake_refusals_have_codes_and_store_nothing(server, first_frame, code):
    session, ws = await open_ws(server.url)
    try:
        await ws.send_bytes(first_frame)
        frame = await receive_error(ws)
        assert frame["code"] == code
        assert (await ws.receive(timeout=5)).type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
        )
    finally:
        await session.close()
    assert server.stats()["events"]["total"] == 0


async def test_bad_frames_after_hello_are_refused_and_the_socket_keeps_serving(tmp_path):
    server = await start_server(tmp_path, max_frame_bytes=64 * 1024)
    try:
        good = await server.device("good")
        bad = await server.device("bad")
        token = server.tokens.get(account_for(bad.replica.device_id))
        session, ws = await open_ws(server.url)
        await ws.send_bytes(m.hello(token=token, device_id=bad.replica.device_id))
        assert msgpack.unpackb((await ws.receive(timeout=5)).data)["t"] == m.MsgType.WELCOME

        cases = [
            (b"\x92\x01", "bad_frame"),  # truncated msgpack
            (msgpack.packb({"t": 3, "b": 5, "c": 0, "e": [["x"] * 9]}), "bad_event"),
            (msgpack.packb({"t": 3, "b": 6, "c": 0, "e": []}) + b"\x00" * (70 * 1024), "too_large"),
            (
                msgpack.packb({"t": 3, "b": 7, "c": 1, "u": [[new_id(), b"garbage", {}]]}),
                "bad_update",
            ),
            (m.hello(token=token, device_id="again"), "bad_frame"),
        ]
        for data, code in cases:
            await ws.send_bytes(data)
            assert (await receive_error(ws))["code"] == code
        await ws.send_str("text")
        assert (await receive_error(ws))["code"] == "bad_frame"
        # the same socket still works
        await ws.send_bytes(event_frame(batch=9))
        ack = await reply(ws)
        assert ack["t"] == m.MsgType.ACK and ack["b"] == 9 and ack["n"] == 1
        await session.close()
        # and other devices are served
        good.replica.capture(kind="touchpoint", channel="email")
        assert (await good.sync_once()).pushed[0] == 1
        assert server.stats()["events"]["total"] == 2
        assert server.stats()["campaigns"] == 0
    finally:
        for e in server.engines:
            await e.close()
        await server.runner.cleanup()


async def test_http_api_needs_a_token(server):
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + "/api/v1/campaigns") as resp:
            body = await resp.json()
            assert resp.status == 401 and body["error"]["code"] == "unauthenticated"
        async with session.post(server.url + "/api/v1/login", data=b"{not json") as resp:
            assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_request"
        async with session.post(
            server.url + "/api/v1/login", json={"email": "admin@a.test", "password": "wrong"}
        ) as resp:
            assert resp.status == 401


async def test_tokens_and_passwords_are_stored_hashed(server):
    engine = await server.device("a")
    token = server.tokens.get(account_for(engine.replica.device_id))
    raw = (server.data_dir / "server.sqlite").read_bytes()
    assert token.encode() not in raw
    assert b"correct horse battery" not in raw
