"""A tester's switch for the app's network: online, offline, or flaky (loss and latency).

The sync engine consults ``SyncEngine.network`` (a ``NetworkConditions``) when it connects and
wraps its connection in a ``ConditionedTransport``:

* ``online``: nothing changes;
* ``offline``: connecting fails with ``OfflineError`` and open connections are cut at once, as
  when the cable is pulled (the outbox keeps everything; sync resumes when back online);
* ``flaky``: every frame, both ways, is held ``latency_ms`` (± half) and dropped with
  probability ``loss``. A dropped frame is simply never seen, as behind a bad proxy: the engine
  finds out through its ACK and DOCS timeouts, reconnects and resends.

The desktop app's tester control calls ``set(...)`` from the GUI thread; changes apply to the
next frame and ``subscribe`` tells the control to refresh. Thread-safe.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from shared.protocol.transport import Transport


class NetworkMode(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    FLAKY = "flaky"


@dataclass(frozen=True)
class NetworkState:
    mode: NetworkMode = NetworkMode.ONLINE
    loss: float = 0.1
    latency_ms: float = 300.0


class NetworkConditions:
    def __init__(self, state: NetworkState | None = None, *, rng: random.Random | None = None):
        self._state = state or NetworkState()
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._open: dict[ConditionedTransport, asyncio.AbstractEventLoop] = {}
        self._listeners: list[Callable[[NetworkState], None]] = []

    @property
    def state(self) -> NetworkState:
        return self._state

    @property
    def offline(self) -> bool:
        return self._state.mode == NetworkMode.OFFLINE

    def set(
        self,
        mode: NetworkMode | str | None = None,
        *,
        loss: float | None = None,
        latency_ms: float | None = None,
    ) -> NetworkState:
        """Change the conditions; going offline cuts every open connection."""
        current = self._state
        new = NetworkState(
            mode=NetworkMode(mode) if mode is not None else current.mode,
            loss=current.loss if loss is None else float(loss),
            latency_ms=current.latency_ms if latency_ms is None else float(latency_ms),
        )
        if not 0.0 <= new.loss <= 1.0:
            raise ValueError("loss must be a probability between 0 and 1")
        if not 0.0 <= new.latency_ms <= 60_000:
            raise ValueError("latency must be between 0 and 60,000 ms")
        with self._lock:
            self._state = new
            to_cut = list(self._open.items()) if new.mode == NetworkMode.OFFLINE else []
            listeners = list(self._listeners)
        for transport, loop in to_cut:
            loop.call_soon_threadsafe(transport.cut)
        for listener in listeners:
            listener(new)
        return new

    def subscribe(self, listener: Callable[[NetworkState], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                self._listeners.remove(listener)

        return unsubscribe

    def wrap(self, transport: Transport) -> ConditionedTransport:
        wrapped = ConditionedTransport(transport, self)
        with self._lock:
            self._open[wrapped] = asyncio.get_running_loop()
        return wrapped

    def _forget(self, transport: ConditionedTransport) -> None:
        with self._lock:
            self._open.pop(transport, None)

    # what one frame meets on the way
    def _fate(self) -> tuple[bool, float]:
        """(dropped, delay in seconds) for one frame."""
        state = self._state
        if state.mode != NetworkMode.FLAKY:
            return False, 0.0
        with self._lock:
            dropped = self._rng.random() < state.loss
            delay_s = state.latency_ms * self._rng.uniform(0.5, 1.5) / 1000
        return dropped, delay_s


class ConditionedTransport:
    """A ``Transport`` that passes frames through the tester's conditions."""

    def __init__(self, inner: Transport, conditions: NetworkConditions) -> None:
        self._inner = inner
        self._conditions = conditions
        self._cut = False

    @property
    def close_code(self) -> int | None:
        return 1006 if self._cut else self._inner.close_code

    def cut(self) -> None:
        """Drop the connection now (the tester switched the network off)."""
        self._cut = True
        asyncio.ensure_future(self.close(code=1006))

    async def send_bytes(self, data: bytes) -> None:
        if self._cut:
            raise ConnectionResetError("the network was switched off")
        dropped, delay_s = self._conditions._fate()
        if delay_s:
            await asyncio.sleep(delay_s)
        if not dropped:
            await self._inner.send_bytes(data)

    async def receive(self, timeout_s: float | None = None) -> bytes | str | None:
        async with asyncio.timeout(timeout_s):
            while True:
                if self._cut:
                    return None
                data = await self._inner.receive()
                if data is None or self._cut:
                    return None
                dropped, delay_s = self._conditions._fate()
                if delay_s:
                    await asyncio.sleep(delay_s)
                if not dropped:
                    return data

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self._conditions._forget(self)
        return await self._inner.close(code=code, message=message)
