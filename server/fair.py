"""An executor that takes turns between organisations, so one org's load cannot starve another's.

A plain thread pool serves jobs in arrival order: an org that queues thirty reports (or forty
pulls) makes every other org wait behind all of them. ``FairExecutor`` keeps one queue per key
(an org id) and its workers take the oldest job of each key in turn, so another org's job waits
for at most one job per busy org, whatever their queues hold. A key may have at most
``max_queued_per_key`` jobs waiting: past that ``submit`` raises ``Overloaded`` at once (the
caller answers 503 or an error frame with ``unavailable``), so a flood costs neither memory nor
other orgs' time.

The key of a job is the org of the caller (``TURN``, a context variable set where the caller is
authenticated: the HTTP auth middleware, a sync connection after its HELLO), or one given to
``submit_for``. Jobs without one share the key ``""``.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from .errors import Overloaded

#: whose turn a job submitted from this context takes (an org id); "" for none
TURN: contextvars.ContextVar[str] = contextvars.ContextVar("wedsync_turn", default="")


class FairExecutor(Executor):
    def __init__(
        self,
        *,
        workers: int = 1,
        max_queued_per_key: int = 64,
        name: str = "wedsync-fair",
        what: str = "requests",
    ) -> None:
        self._queues: dict[str, deque[tuple[Future, Callable, tuple]]] = {}
        self._ring: deque[str] = deque()  # keys with waiting jobs, in turn order
        self._cond = threading.Condition()
        self._max = max_queued_per_key
        self._what = what
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        if kwargs:
            return self.submit_for(TURN.get(), lambda: fn(*args, **kwargs))
        return self.submit_for(TURN.get(), fn, *args)

    def submit_for(self, key: str, fn: Callable, /, *args: Any) -> Future:
        future: Future = Future()
        with self._cond:
            if self._stopping:
                raise RuntimeError("executor shut down")
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
                self._ring.append(key)
            if len(queue) >= self._max:
                raise Overloaded(
                    f"too many {self._what} waiting for this organisation; retry shortly"
                )
            queue.append((future, fn, args))
            self._cond.notify()
        return future

    def queued(self, key: str) -> int:
        with self._cond:
            return len(self._queues.get(key, ()))

    def _next(self) -> tuple[Future, Callable, tuple] | None:
        with self._cond:
            while not self._ring and not self._stopping:
                self._cond.wait()
            if not self._ring:
                return None
            key = self._ring.popleft()
            queue = self._queues[key]
            job = queue.popleft()
            if queue:
                self._ring.append(key)  # its next job waits for every other key's turn
            else:
                del self._queues[key]
            return job

    def _work(self) -> None:
        while (job := self._next()) is not None:
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cond:
            self._stopping = True
            if cancel_futures:
                for queue in self._queues.values():
                    for future, _fn, _args in queue:
                        future.cancel()
                self._queues.clear()
                self._ring.clear()
            self._cond.notify_all()
        if wait:
            for thread in self._threads:
                thread.join()
