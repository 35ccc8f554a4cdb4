"""Faults found by the simulator, reproduced against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from client.sync import SyncError
from shared.protocol import messages as m
from shared.protocol.transport import Transport


class HelloAgainTransport:
    """Sends the HELLO a second time right after the first PUSH: the server refuses the
    connection with an ERROR that carries no batch id while batches are in flight."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.hello: bytes | None = None
        self.pushes = 0

    @property
    def close_code(self) -> int | None:
        return self.inner.close_code

    async def send_bytes(self, data: bytes) -> None:
        await self.inner.send_bytes(data)
        kind = m.decode_frame(data)["t"]
        if kind == m.MsgType.HELLO:
            self.hello = data
        elif kind == m.MsgType.PUSH:
            self.pushes += 1
            if self.pushes == 1:
                await self.inner.send_bytes(self.hello)

    async def receive(self, timeout_s: float | None = None) -> bytes | str | None:
        return await self.inner.receive(timeout_s)

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        return await self.inner.close(code=code, message=message)


async def test_connection_level_refusal_does_not_reject_batches_in_flight(server):
    a = await server.device("a")
    a.batch_size = 5
    a.replica.capture_many(
        [a.replica.make_event(kind="touchpoint", channel="email") for _ in range(200)]
    )
    plain = a.connector

    async def connect(url: str) -> Transport:
        return HelloAgainTransport(await plain(url))

    a.connector = connect
    with pytest.raises(SyncError):
        await a.sync_once()
    assert a.replica.rejected_count() == 0  # in-flight batches were not refused: kept queued
    a.connector = plain
    await a.sync_once()
    assert server.stats()["events"]["total"] == 200
    assert a.replica.queue_depths()[0] == 0


async def test_live_sync_survives_a_server_that_never_answers_hello(server):
    a = await server.device("a")
    a.timeout_s = 0.2

    class Silent:
        close_code = None

        async def send_bytes(self, data: bytes) -> None:
            return None

        async def receive(self, timeout_s=None):
            await asyncio.sleep(timeout_s or 3600)
            raise TimeoutError

        async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
            return True

    attempts = []
    retried = asyncio.Event()

    async def connect(url: str):
        attempts.append(url)
        if len(attempts) == 2:
            retried.set()
        return Silent()

    a.connector = connect
    stop = asyncio.Event()
    reports = []
    loop_task = asyncio.create_task(a.run_forever(stop, on_report=reports.append))
    await asyncio.wait_for(retried.wait(), 10)  # it retried: the timeout did not end the loop
    stop.set()
    await asyncio.wait_for(loop_task, 10)
    assert isinstance(reports[0], SyncError) and "HELLO" in str(reports[0])
