"""Virtual time and a deterministic scheduler for the simulation.

``VirtualTimeLoop`` is an asyncio loop whose clock only moves when every task is waiting: instead
of blocking in ``select`` for the next timer, it jumps the clock to it. Sleeps, timeouts, network
latencies and backoff all run on this clock, so a run of hours of device time takes seconds and
never depends on the machine's speed. With no threads involved (``InlineExecutor`` runs replica
and storage work in the calling task) and every choice drawn from one seeded ``random.Random``,
the same seed replays the same run: the loop's ready queue is FIFO and its timer heap is ordered
by time and insertion.

``deterministic_ids`` makes the ULIDs of one run depend on the seed and the virtual clock only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import random
import selectors
from collections.abc import Callable, Iterator
from typing import Any

from ulid import ULID

from shared.protocol import ids

#: Virtual time zero: 2025-06-01T00:00:00Z, so events fall in a plausible range.
EPOCH_MS = 1_748_736_000_000


class SimulationStalled(RuntimeError):
    """Every task waits on something that no timer or frame will ever bring: a deadlock."""


class _VirtualSelector(selectors.BaseSelector):
    """Polls the real selector (the loop's self-pipe) without blocking, then advances the
    virtual clock by the timeout the loop asked to wait."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self):  # noqa: ANN201 - the selectors module's own signature
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list:
        ready = self._real.select(0)
        if ready:
            return ready
        if timeout is None:
            raise SimulationStalled("no task can make progress and no timer is pending")
        if timeout > 0:
            self._loop.advance(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._virtual_s = 0.0
        super().__init__(selector=_VirtualSelector(self))

    def time(self) -> float:
        return self._virtual_s

    def advance(self, seconds: float) -> None:
        self._virtual_s += seconds

    def now_ms(self) -> int:
        """Virtual wall-clock time in epoch milliseconds."""
        return EPOCH_MS + int(self._virtual_s * 1000)


class InlineExecutor(concurrent.futures.Executor):
    """Runs each submitted call at once in the caller: no threads, so no scheduling noise."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task, as a pool does
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


@contextlib.contextmanager
def deterministic_ids(rng: random.Random, now_ms: Callable[[], int]) -> Iterator[None]:
    """Within the block, ``shared.protocol.ids.new_id`` draws its randomness from ``rng`` and
    its timestamp from the virtual clock."""

    def make() -> ULID:
        return ULID.from_bytes(now_ms().to_bytes(6, "big") + rng.randbytes(10))

    saved = ids.use_factory(make)  # every caller of new_id is covered
    try:
        yield
    finally:
        ids.use_factory(saved)
