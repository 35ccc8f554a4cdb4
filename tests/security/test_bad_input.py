"""Bad input gets a 4xx or an error frame with a code, never a 500, a traceback or a dropped
socket (issue 12, point 9): deep nesting, numbers out of range, values of the wrong type, text
that is not Unicode, and bodies that arrive in several TCP writes."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import msgpack

from shared.protocol import messages as m
from shared.protocol.events import Event
from shared.protocol.ids import new_id
from tests.conftest import PASSWORD
from tests.security.conftest import login, open_ws


def _port(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


BODIES = [
    b"[" * 1000 + b"]" * 1000,  # nested 1,000 levels
    b'{"email": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"email": "a@a.test", "password": ' + b"9" * 5000 + b"}",  # a huge number
    b'{"email": "\\ud800@a.test", "password": "x"}',  # a lone surrogate
    b'{"email": "a@a.test", "password": 1e999}',
    b'{"email": {"a": 1}, "password": ["x"]}',  # maps and lists where text is expected
    b"\xff\xfe not utf-8",
]


async def test_malformed_login_bodies_are_400_never_500(guarded):
    async with aiohttp.ClientSession() as session:
        for body in BODIES:
            async with session.post(
                guarded.url + "/api/v1/login",
                data=body,
                headers={"Content-Type": "application/json"},
            ) as resp:
                assert resp.status == 400, (body[:60], await resp.text())
                assert (await resp.json())["error"]["code"] == "bad_request"


async def test_query_numbers_out_of_range_are_400(guarded):
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {await login(guarded.url, 'admin', session)}"}
        for query in (
            "/api/v1/reports/roi?from=99999999999999999999999&to=999999999999999999999999",
            "/api/v1/reports/roi?from=-5",
            "/api/v1/reports/roi?to=1e999",
            "/api/v1/audit?limit=99999999999999999999999999",
            "/api/v1/audit?limit=-3",
        ):
            async with session.get(guarded.url + query, headers=headers) as resp:
                assert resp.status == 400, (query, resp.status, await resp.text())


async def test_a_login_split_over_two_tcp_writes_is_read_whole(guarded):
    body = json.dumps({"email": "admin@a.test", "password": PASSWORD}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(guarded))
    writer.write(
        b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body[:10]
    )
    await writer.drain()
    await asyncio.sleep(0.2)  # the second half arrives later, as over a slow link
    writer.write(body[10:])
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 200"), head
    writer.close()


def _event(**fields) -> list:
    wire = Event(new_id(), "contact", 1_700_000_000_000, 1, contact="c@x.test").to_wire()
    wire[8] = fields.get("payload")
    return wire


AFTER_HELLO = [
    # a contact's fields of bytes, where the server keeps JSON
    (
        m.push_events_raw(1, 2, [msgpack.packb(_event(payload={"fields": {"n": b"\xff"}}))]),
        "bad_event",
    ),
    # a payload nested 500 levels deep
    (
        m.push_events_raw(1, 2, [msgpack.packb(_event(payload={"a": [[[[[[[[[[1]]]]]]]]]]}))]),
        "bad_event",
    ),
    # a hybrid-clock stamp beyond 63 bits
    (
        m.push_events_raw(
            1,
            0,
            [
                msgpack.packb(
                    [
                        new_id(),
                        "conversion",
                        1_700_000_000_000,
                        2**64 - 1,
                        None,
                        None,
                        None,
                        5,
                        None,
                    ]
                )
            ],
        ),
        "bad_event",
    ),
    # a map where a number is expected
    (
        m.push_events_raw(
            1,
            0,
            [msgpack.packb([new_id(), "conversion", {"x": 1}, 1, None, None, None, 5, None])],
        ),
        "bad_event",
    ),
    # a cursor out of range, a state vector of the wrong type
    (msgpack.packb({"t": 5, "s": {}, "k": 2**64 - 1}), "bad_frame"),
    (msgpack.packb({"t": 5, "s": {new_id(): "text"}}), "bad_frame"),
    # text that is not UTF-8 (a lone surrogate, encoded as msgpack str bytes)
    (b"\x82\xa1t\x05\xa1s\x81\xa3\xed\xa0\x80\xc4\x00", "bad_frame"),
]
BEFORE_HELLO = [
    b"\x91" * 1000 + b"\xc0",  # nested 1,000 levels, before HELLO
    msgpack.packb({"t": 1, "v": 1, "token": b"bytes", "device": "d"}),
    msgpack.packb({"t": 1, "v": 2**64 - 1, "token": "x", "device": "d"}),
]


async def test_malformed_frames_get_error_frames_with_codes_never_a_failure(guarded):
    """After HELLO each gets its error frame and the socket serves on; before HELLO each gets
    an error frame (not an HTTP answer in the upgraded socket), then a close."""
    async with aiohttp.ClientSession() as session:
        ws = await open_ws(guarded.url, await login(guarded.url, "marketer", session), session)
        for frame, code in AFTER_HELLO:
            await ws.send_bytes(frame)
            msg = await ws.receive(timeout=10)
            assert msg.type == aiohttp.WSMsgType.BINARY, (msg, frame[:60])
            answer = msgpack.unpackb(msg.data)
            assert (answer["t"], answer["code"]) == (m.MsgType.ERROR, code), (answer, frame[:60])
            await ws.send_bytes(m.pull({}))
            assert msgpack.unpackb((await ws.receive(timeout=10)).data)["t"] == m.MsgType.DOCS
        await ws.close()
        for frame in BEFORE_HELLO:
            ws = await open_ws(guarded.url, None, session)
            await ws.send_bytes(frame)
            msg = await ws.receive(timeout=10)
            assert msg.type == aiohttp.WSMsgType.BINARY, msg  # a frame, not an HTTP answer
            assert msgpack.unpackb(msg.data)["t"] == m.MsgType.ERROR
            assert (await ws.receive(timeout=10)).type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
            )
