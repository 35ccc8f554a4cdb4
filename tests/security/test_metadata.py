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
from tests.conftest import query_store
from tests.security.conftest import login, open_ws


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


async def test_an_edit_of_an_archived_campaign_claiming_to_be_the_servers_is_still_flagged(
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
    kinds = query_store(guarded.data_dir, "SELECT kind FROM conflicts")
    assert kinds == [("archived_edit",)]
    [(meta,)] = query_store(
        guarded.data_dir, "SELECT meta FROM campaign_updates ORDER BY seq DESC LIMIT 1"
    )
    kept = msgpack.unpackb(meta)
    assert "by_server_for" not in kept and kept["author"] == "marketer@a.test"


async def test_metadata_of_the_wrong_shape_is_dropped_not_a_failure(guarded):
    cid = new_id()
    async with aiohttp.ClientSession() as session:
        ws = await open_ws(guarded.url, await login(guarded.url, "marketer", session), session)
        doc = schema.new_doc()
        with doc.transaction():
            edit = schema.set_field(doc, "budget_cents", 100)
        bad_guard = {**edit.to_meta(), "value": b"\x00bytes"}
        metas = [
            {"hlc": b"not a clock", "guards": {"a": "map"}},
            {"hlc": 2**64 - 1, "guards": [bad_guard, "text", 5]},
            {"guards": [{**edit.to_meta(), "base": {"x": 1}}]},
        ]
        for batch, meta in enumerate(metas, start=1):
            update = doc.get_update() if batch == 1 else _rename(doc, f"n{batch}")
            ack = await _ack(ws, m.push_updates(batch, [(cid, update, meta)]))
            assert ack["t"] == m.MsgType.ACK, ack
