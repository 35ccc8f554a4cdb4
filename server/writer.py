"""The single writer with a priority queue in front of it.

Every write of synced data goes through here. Jobs wait in one queue ordered by
(priority class, arrival), shared by all connections, so when many devices push at once the
server commits class 0 before class 1 before 2 before 3 across all of them. The writer takes the
best job plus every queued job of the same class (up to ``max_items`` items), runs them in one
SQLite transaction on its own thread — each job in a savepoint, so one bad job fails alone — and
only then resolves the jobs' futures: commit, then ack.

A job is ``run(storage, commit_seq)``; one that changes what others follow (events, campaign
docs) returns an ``Outcome`` whose ``Changes`` say so. After a commit and before any of its acks,
the writer hands one ``Commit`` (``server.commits``: the seq and, per org, the new events,
campaign changes and notices) to each of its ``listeners``, in the order they were added; the
contract they keep is in ``server.commits``. The writer checks each job's declaration against
the events the storage counted: events stored without one make the commit's events unknown.

Several processes may write to one store (PostgreSQL, or an admin command beside a running
server). Each commit starts with ``Storage.begin_commit``, which numbers it after every commit
recorded by anyone (and, on a shared store, holds the others off until it ends); when that seq is
not the one after this writer's last, another process committed in between, and ``on_rollback``
runs before the jobs, so that caches of stored state (the campaign docs) reload. ``announce``,
when set, runs last inside the transaction with the folded ``Commit``: what it announces
(``Storage.announce``) reaches the other processes exactly when this commit does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .commits import Changes, Commit, CommitListener, Outcome, fold
from .storage import Storage

log = logging.getLogger(__name__)


class EventsJob:
    """A writer job that stores one org's events (validated wire arrays); its outcome's value is
    ``(stored, duplicates)``."""

    org_id: str
    events: list[Any]

    def __call__(self, storage: Storage, seq: int) -> Outcome[tuple[int, int]]:
        raise NotImplementedError


@dataclass(order=True)
class _Queued:
    priority: int
    arrival: int
    size: int = field(compare=False)
    run: Callable[[Storage, int], Any] = field(compare=False)
    future: asyncio.Future = field(compare=False)


@dataclass
class WriterStats:
    """What the writer did so far; read on the loop's thread (the monitor, ``/api/v1/stats``)."""

    commits: int = 0
    jobs: int = 0
    items: int = 0
    busy_s: float = 0.0
    queued_items: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(4), 0))
    #: jobs per priority class since start
    jobs_by_class: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(4), 0))
    #: the last commit: its class, items, how long its transaction took and how long its
    #: oldest job had waited in the queue (what listeners read in ``committed``)
    last_priority: int = 0
    last_items: int = 0
    last_commit_s: float = 0.0
    last_wait_s: float = 0.0
    #: per class, when each queued job arrived (``time.monotonic``), oldest first: a class's
    #: jobs leave the queue in arrival order, so the head is its oldest waiting job
    _arrived: dict[int, deque[float]] = field(
        default_factory=lambda: {c: deque() for c in range(4)}, repr=False
    )

    def oldest_wait_s(self, priority: int, now: float | None = None) -> float:
        """How long the oldest queued job of ``priority`` has waited (0: none waits)."""
        arrived = self._arrived.get(priority)
        if not arrived:
            return 0.0
        return max(0.0, (time.monotonic() if now is None else now) - arrived[0])


class PriorityWriter:
    def __init__(
        self,
        storage: Storage,
        *,
        max_items: int = 20_000,
        on_rollback: Callable[[], None] | None = None,
        executor: Executor | None = None,
    ) -> None:
        """``executor`` runs the commits (default: one writer thread; the simulator passes an
        inline one so a run is reproducible). ``on_rollback``: called when what this writer's
        caches hold may differ from the store (a failed commit, another process's commit)."""
        self._storage = storage
        self._on_rollback = on_rollback
        self._max_items = max_items
        self._queue: asyncio.PriorityQueue[_Queued] = asyncio.PriorityQueue()
        self._arrivals = itertools.count()
        self._executor = executor or ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="wedsync-writer"
        )
        self._task: asyncio.Task | None = None
        #: told of every commit, after it and before its acks (see ``server.commits``)
        self.listeners: list[CommitListener] = []
        #: called inside each commit's transaction, last, with the folded commit
        self.announce: Callable[[Storage, Commit], None] | None = None
        self._commit_seq = storage.last_commit_seq()
        self.stats = WriterStats()

    def add_listener(self, listener: CommitListener) -> None:
        self.listeners.append(listener)

    @property
    def running(self) -> bool:
        """Whether the writer takes jobs now (started, not stopped, its loop alive)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="priority-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(ConnectionAbortedError("server shutting down"))
        self._executor.shutdown(wait=True)

    async def submit(self, priority: int, size: int, run: Callable[[Storage, int], Any]) -> Any:
        """Queue ``run(storage, commit_seq)``; resolves after the transaction holding it committed,
        with what ``run`` returned (an ``Outcome``'s value)."""
        return await self.enqueue(priority, size, run)

    def enqueue(
        self, priority: int, size: int, run: Callable[[Storage, int], Any]
    ) -> asyncio.Future:
        """Queue ``run(storage, commit_seq)`` without waiting for it: the returned future
        resolves after the transaction holding it committed (``submit`` awaits it)."""
        future = asyncio.get_running_loop().create_future()
        self.stats.queued_items[priority] += size
        self.stats._arrived.setdefault(priority, deque()).append(time.monotonic())
        self._queue.put_nowait(_Queued(priority, next(self._arrivals), size, run, future))
        return future

    async def run_exclusive(self, run: Callable[[Storage], Any]) -> Any:
        """Run a write outside the queue's batching (account changes, admin actions), on the
        writer thread so it never races a batch."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, run, self._storage)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            batch = [first]
            items = first.size
            while not self._queue.empty() and items < self._max_items:
                head = self._queue._queue[0]  # peek: PriorityQueue keeps a heap in _queue
                if head.priority != first.priority:
                    break
                nxt = self._queue.get_nowait()
                batch.append(nxt)
                items += nxt.size
            seq = self._commit_seq + 1
            arrived = self.stats._arrived.setdefault(first.priority, deque())
            waited = time.monotonic() - arrived[0] if arrived else 0.0
            for _ in batch:
                if arrived:
                    arrived.popleft()
            started = time.perf_counter()
            try:
                results, commit = await loop.run_in_executor(
                    self._executor, self._commit, batch, seq
                )
                seq = self._commit_seq = commit.seq
            except BaseException as exc:  # the transaction failed as a whole: fail every job
                log.exception("commit %s failed", seq)
                self.stats.queued_items[first.priority] -= items  # they left the queue too
                if self._on_rollback is not None:
                    self._on_rollback()
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(
                            exc if isinstance(exc, Exception) else RuntimeError(str(exc))
                        )
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            took = time.perf_counter() - started
            self.stats.busy_s += took
            self.stats.commits += 1
            self.stats.jobs += len(batch)
            self.stats.jobs_by_class[first.priority] = self.stats.jobs_by_class.get(
                first.priority, 0
            ) + len(batch)
            self.stats.items += items
            self.stats.queued_items[first.priority] -= items
            self.stats.last_priority = first.priority
            self.stats.last_items = items
            self.stats.last_commit_s = took
            self.stats.last_wait_s = waited
            for listener in self.listeners:
                try:
                    listener.committed(commit)
                except Exception:  # a listener's bug must not keep the acks back
                    log.exception("commit listener %r failed on commit %s", listener, seq)
            for job, (ok, value) in zip(batch, results, strict=True):
                if job.future.done():
                    continue
                if ok:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(value)

    def _commit(self, batch: list[_Queued], seq: int) -> tuple[list[tuple[bool, Any]], Commit]:
        storage = self._storage
        results: list[tuple[bool, Any]] = []
        changes: list[Changes] = []
        events_known = True
        with storage.transaction():
            # Another process (a server sharing the database, `wedsync seed-demo`) may have
            # recorded commits since this writer last did: number this one after them, and
            # drop what may be stale before any job reads it.
            first = storage.begin_commit()
            if first > seq and self._on_rollback is not None:
                self._on_rollback()
            seq = max(seq, first)
            for job in batch:
                inserted = storage.events_inserted
                try:
                    with storage.transaction():  # a savepoint: a failing job rolls back alone
                        value = job.run(storage, seq)
                except Exception as exc:  # reported to the job's caller, who answers the device
                    results.append((False, exc))
                    continue
                except BaseException as exc:  # pyo3 PanicException from a malformed CRDT update
                    if isinstance(exc, KeyboardInterrupt | SystemExit):
                        raise
                    results.append((False, RuntimeError(f"internal panic: {exc}")))
                    continue
                stored = storage.events_inserted - inserted
                if isinstance(value, Outcome):
                    changes.append(value.changes)
                    declared = value.changes.events
                    if declared is not None and len(declared) != stored:
                        events_known = False
                    value = value.value
                elif stored:  # events no job declared
                    events_known = False
                results.append((True, value))
            storage.record_commit(
                seq=seq,
                priority=batch[0].priority,
                items=sum(j.size for j in batch),
                at_ms=time.time_ns() // 1_000_000,
            )
            commit = fold(changes, seq=seq, events_known=events_known)
            if self.announce is not None:
                self.announce(storage, commit)
        return results, commit
