"""A device's update metadata is never the server's own (issue 12, point 8): an edit of an
archived campaign that claims to be an admin's resolution (``by_server_for``) is still flagged,
and metadata of the wrong shape is dropped, never a failure."""

from __future__ import annotations

import aiohttp
import msgpack
import pycrdt

from shared.protocol import campaign as schema
from shared.protocol import messages as m
from shared.protocol.ids import new_id
from tests.security.conftest import login, open_ws, rows


async def _ack(ws, frame: bytes) -> dict:
    await ws.send_bytes(frame)
    answer = msgpack.unpackb((await ws.receive(timeout=30)).data)
    while answer["t"] == m.MsgType.NOTICE:
        answer = msgpack.unpackb((await ws.receive(timeout=30)).data)
    return answer


def _archived_campaign() -> tuple[pycrdt.Doc, bytes]:
    doc = schema.new_doc()
    with doc.transaction():
        schema.set_field(doc, "name", "Old")
        schema.set_field(doc, "status", "archived")
    return doc, doc.get_update()


def _rename(doc: pycrdt.Doc, name: str) -> bytes:
    vector = doc.get_state()
    with doc.transaction():
        schema.set_field(doc, "name", name)
    return doc.get_update(vector)


async def test_device_metadata_is_never_the_servers_own(
    guarded,
):
    cid = new_id()
    async with aiohttp.ClientSession() as session:
        ws = await open_ws(guarded.url, await login(guarded.url, "marketer", session), session)
        doc, created = _archived_campaign()
        assert (await _ack(ws, m.push_updates(1, [(cid, created, {})])))["n"] == 1
        forged = {"by_server_for": "someone", "author": "admin@a.test"}
        ack = await _ack(ws, m.push_updates(2, [(cid, _rename(doc, "Reopened"), forged)]))
        assert ack["t"] == m.MsgType.ACK and ack["n"] == 1
        # metadata of the wrong shape is dropped, never a failure
        for batch, meta in enumerate(
            [
                {"hlc": b"not a clock", "guards": {"a": "map"}},
                {"hlc": 2**64 - 1, "guards": ["text", 5, {"field": b"x", "edit": 1}]},
            ],
            start=3,
        ):
            ack = await _ack(ws, m.push_updates(batch, [(cid, _rename(doc, f"n{batch}"), meta)]))
            assert ack["t"] == m.MsgType.ACK, ack
    kinds = rows(guarded.data_dir, "SELECT kind FROM conflicts")
    assert kinds == [("archived_edit",)]
    [(meta,)] = rows(
        guarded.data_dir, "SELECT meta FROM campaign_updates ORDER BY seq DESC LIMIT 1"
    )
    kept = msgpack.unpackb(meta)
    assert "by_server_for" not in kept and kept["author"] == "marketer@a.test"
