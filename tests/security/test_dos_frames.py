"""Denial of service by a logged-in device (issue 12, point 1): a few frames must not stall the
server. Pulls are bounded per connection, authentication has its own thread, campaign text has
its limits on the server, and a flood writes a few log lines, not one per frame."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import aiohttp
import msgpack
import pycrdt
import pytest

import server.sync_ws as sync_ws
from shared.protocol import campaign as schema
from shared.protocol import messages as m
from shared.protocol.ids import new_id
from tests.conftest import reply
from tests.security.conftest import login, open_ws, start_guarded, stop


async def test_forty_pulls_on_one_connection_are_answered_one_at_a_time_and_login_stays_fast(
    tmp_path, monkeypatch
):
    """A viewer sends 40 tiny PULLs while the reader is busy: the server takes one of them at a
    time (the others wait unread), and another org's `GET /me` is answered meanwhile."""
    server = await start_guarded(tmp_path)
    gate = threading.Event()
    entered = threading.Event()
    real = sync_ws.pull_changes

    def slow_pull(*args):
        entered.set()
        assert gate.wait(30), "the test never opened the gate"
        return real(*args)

    monkeypatch.setattr(sync_ws, "pull_changes", slow_pull)
    outstanding = max_outstanding = 0
    executor = server.ctx.reader_executor
    submit = executor.submit

    def counting_submit(fn, *args, **kwargs):
        nonlocal outstanding, max_outstanding
        future = submit(fn, *args, **kwargs)
        if fn is slow_pull:
            outstanding += 1
            max_outstanding = max(max_outstanding, outstanding)

            def done(_f):
                nonlocal outstanding
                outstanding -= 1

            future.add_done_callback(done)
        return future

    monkeypatch.setattr(executor, "submit", counting_submit)
    try:
        async with aiohttp.ClientSession() as session:
            viewer = await login(server.url, "viewer", session)
            other = await login(server.url, "other", session)
            ws = await open_ws(server.url, viewer, session)
            for _ in range(40):
                await ws.send_bytes(m.pull({}))
            assert await asyncio.to_thread(entered.wait, 10)
            # Every PULL the server would read is queued by now on a server that reads them all.
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(1.0):
                    while max_outstanding < 40:
                        await asyncio.sleep(0.01)
            # The reader is held by the viewer's pull; org B's request is authenticated anyway.
            started = time.perf_counter()
            async with session.get(
                server.url + "/api/v1/me", headers={"Authorization": f"Bearer {other}"}
            ) as resp:
                assert resp.status == 200
            assert time.perf_counter() - started < 2.0
            gate.set()
            answered = 0
            while answered < 40:
                frame = msgpack.unpackb((await ws.receive(timeout=10)).data)
                if frame["t"] == m.MsgType.DOCS and frame.get("done"):
                    answered += 1
            assert max_outstanding == 1
            await ws.close()
    finally:
        gate.set()
        await stop(server)


def _update_with_description(chars: int) -> tuple[str, bytes]:
    doc = schema.new_doc()
    with doc.transaction():
        schema.set_field(doc, "name", "big")
        doc.get("description", type=pycrdt.Text).insert(0, "x" * chars)
    return new_id(), doc.get_update()


async def test_campaign_text_beyond_the_limit_is_refused_by_the_server(tmp_path):
    """The client's 100,000-character limit holds on the server too, for any device: at the
    limit the campaign is stored, beyond it the update is refused with ``too_large``."""
    server = await start_guarded(tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            token = await login(server.url, "marketer", session)
            ws = await open_ws(server.url, token, session)
            for batch, chars in ((7, 100_000), (8, 1_000_000)):
                campaign_id, update = _update_with_description(chars)
                await ws.send_bytes(m.push_updates(batch, [(campaign_id, update, {})]))
                frame = await reply(ws)
                assert frame["b"] == batch
                if chars <= 100_000:
                    assert frame["t"] == m.MsgType.ACK and frame["n"] == 1
                else:
                    assert frame["t"] == m.MsgType.ERROR and frame["code"] == "too_large"
            await ws.close()
        assert server.stats()["campaigns"] == 1
    finally:
        await stop(server)


async def test_a_device_that_does_not_read_is_logged_once_not_once_per_frame(tmp_path, caplog):
    server = await start_guarded(tmp_path, outgoing_queue_frames=2)
    try:
        async with aiohttp.ClientSession() as session:
            token = await login(server.url, "marketer", session)
            ws = await open_ws(server.url, token, session)
            # 300 malformed frames in one burst, each answered by an error frame nobody reads
            with caplog.at_level(logging.WARNING, logger="server.hub"):
                for _ in range(300):
                    await ws.send_bytes(b"\xc1")
                while (await ws.receive(timeout=10)).type not in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.CLOSING,
                ):
                    pass
        lines = [r for r in caplog.records if "not reading" in r.getMessage()]
        assert 1 <= len(lines) <= 10
    finally:
        await stop(server)


def test_repeated_log_lines_are_limited_per_window_and_counted():
    from server.logs import RepeatFilter

    now = [0.0]
    limiter = RepeatFilter(burst=3, window_s=60, clock=lambda: now[0])
    logger = logging.getLogger("tests.security.repeats")
    logger.addFilter(limiter)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for i in range(42_960):
            logger.warning("device %s is not reading; disconnecting it", i)
        assert len(records) == 3
        now[0] = 61.0
        logger.warning("device %s is not reading; disconnecting it", "late")
        assert len(records) == 4
        assert "42957 similar messages suppressed" in records[-1].getMessage()
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(limiter)
