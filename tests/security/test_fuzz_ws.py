"""Websocket frames fuzzed with hypothesis over the message schema (issue 12, point 10): frames
of every message type with fields of the right and the wrong types, events that are nearly
valid, and bytes that are not msgpack at all. Each gets an ACK, DOCS or an ERROR frame with a
known code, and the same socket then still answers a PULL."""

from __future__ import annotations

import aiohttp
import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.protocol import messages as m
from shared.protocol.errors import ErrorCode
from shared.protocol.events import Event
from shared.protocol.ids import new_id
from tests.security.conftest import login
from tests.security.fuzz_server import threaded_server

CODES = {str(c) for c in ErrorCode}
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.binary(max_size=40),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)
ids = st.one_of(st.just(new_id()), st.builds(new_id), st.text(max_size=30), st.binary(max_size=8))


def _event_like() -> st.SearchStrategy:
    valid = Event(new_id(), "conversion", 1_700_000_000_000, 1, value_cents=100).to_wire()
    return st.lists(st.one_of(values, st.sampled_from(valid)), min_size=0, max_size=10) | st.builds(
        lambda i, v: valid[:i] + [v] + valid[i + 1 :], st.integers(0, 8), values
    )


frames = st.one_of(
    # a map of the message schema's keys with any values
    st.fixed_dictionaries(
        {"t": st.one_of(st.sampled_from(list(m.MsgType)).map(int), st.integers(-5, 300))},
        optional={k: values for k in ("b", "c", "e", "u", "s", "k", "v", "token", "device")},
    ).map(lambda f: msgpack.packb(f, use_bin_type=True)),
    # PUSH frames of nearly valid events
    st.builds(
        lambda b, c, events: msgpack.packb({"t": 3, "b": b, "c": c, "e": events}),
        st.integers(0, 2**31),
        st.integers(-1, 5),
        st.lists(_event_like(), max_size=5),
    ),
    # PUSH frames of campaign updates of any shape
    st.builds(
        lambda b, u: msgpack.packb({"t": 3, "b": b, "c": 1, "u": u}, use_bin_type=True),
        st.integers(0, 2**31),
        st.lists(st.lists(st.one_of(ids, st.binary(max_size=30), values), max_size=4), max_size=3),
    ),
    # PULLs with odd vectors and cursors
    st.builds(
        lambda s, k: msgpack.packb({"t": 5, "s": s, "k": k}, use_bin_type=True),
        st.dictionaries(ids, st.one_of(st.binary(max_size=10), values), max_size=3),
        values,
    ),
    # contact events whose fields (merged and stored as JSON by the server) hold anything
    st.builds(
        lambda b, fields: m.push_events_raw(
            b,
            2,
            [
                msgpack.packb(
                    Event(new_id(), "contact", 1_700_000_000_000, 1, contact="c@x.test").to_wire()[
                        :8
                    ]
                    + [{"fields": fields}],
                    use_bin_type=True,
                )
            ],
        ),
        st.integers(0, 2**31),
        st.dictionaries(st.text(max_size=8), values, max_size=4),
    ),
    st.binary(max_size=60),  # not msgpack, or msgpack of anything
)


@pytest.fixture(scope="module")
def sync(tmp_path_factory):
    with threaded_server(tmp_path_factory.mktemp("wsfuzz"), outgoing_queue_frames=10_000) as server:
        session = server.run(_session())
        token = server.run(login(server.url, "marketer", session))
        ws = server.run(_open(session, server.url, token))
        yield server, ws
        server.run(ws.close())
        server.run(session.close())


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


async def _open(session, url: str, token: str):
    ws = await session.ws_connect(url.replace("http", "ws", 1) + "/api/v1/sync")
    await ws.send_bytes(m.hello(token=token, device_id="fuzz", version=1))
    assert msgpack.unpackb((await ws.receive(timeout=10)).data)["t"] == m.MsgType.WELCOME
    return ws


async def _exchange(ws, frame: bytes) -> list[dict]:
    """Send ``frame``, then a PULL; the answers up to the PULL's last DOCS frame."""
    await ws.send_bytes(frame)
    await ws.send_bytes(m.pull({}))
    answers = []
    while True:
        msg = await ws.receive(timeout=20)
        assert msg.type == aiohttp.WSMsgType.BINARY, (msg, frame[:80])
        answer = msgpack.unpackb(msg.data)
        answers.append(answer)
        if answer["t"] == m.MsgType.DOCS and answer.get("done") and not answer.get("live"):
            return answers


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(frame=frames)
def test_any_frame_gets_an_answer_with_a_code_and_the_socket_serves_on(sync, frame):
    server, ws = sync
    for answer in server.run(_exchange(ws, frame)):
        assert answer["t"] in (m.MsgType.ACK, m.MsgType.DOCS, m.MsgType.ERROR, m.MsgType.NOTICE)
        if answer["t"] == m.MsgType.ERROR:
            assert answer["code"] in CODES and answer["code"] != "internal", (answer, frame[:80])
