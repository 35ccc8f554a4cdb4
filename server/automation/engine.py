"""The automation engine: a commit listener that wakes its own tasks, and those tasks.

``AutomationEngine.committed`` is a writer commit listener (``server.commits``): on the loop
thread, after each commit, it only sets events (no reading, no writing), so it never blocks a
device's ack. Its tasks do the work, each as writer jobs (``rounds``, ``mailer``):

* **events**: reads committed events after its durable cursor and runs triggers, wake-ups,
  suppressions (``Rounds.events``), round after round while there are more;
* **due**: advances the enrolments whose time has come (``Rounds.due``), sleeping until the
  earliest due time or until woken (a new enrolment, a wake-up, a campaign's status);
* **mail**: drains each org's due sends through its SMTP server (``Mailer.drain``), one lane per
  org, sleeping until the next send is due or one is queued;
* **dates**: pages through contacts for date-relative triggers (``Rounds.scan``);
* **allocation**: once every ``allocation_interval_s`` of the engine's clock (and at start),
  each active campaign's A/B/n send steps get their next allocation from the committed sends,
  clicks and conversions (``Allocator.reallocate``); the other rounds draw variants by it.

Everything the engine knows is in the store: its cursor, the enrolments with their due times,
the queued sends. A restart (or ``kill -9``) loses nothing: the cursor resumes at the first event
not handled, due enrolments are due, claims of the dead process are taken back (``reclaim_sends``
at start: one server process serves a SQLite store), and a poll every ``idle_poll_s`` covers
anything another process wrote.

Time comes from ``now_ms`` (the simulator passes its virtual clock); every wait is an asyncio
timer, so virtual time drives the engine as it drives the rest of the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.content.bandit import Settings
from shared.protocol.events import WIRE_KIND
from shared.protocol.ids import new_id

from ..commits import Changes, Commit, Outcome
from ..delivery.smtp import RetryPolicy, SmtpSender
from ..delivery.tracking import RecentClicks
from ..storage import Storage
from .allocation import INTERVAL_S, Allocator, Pending, compute
from .index import CampaignIndex
from .mailer import Mailer
from .rounds import Round, Rounds
from .secrets import SecretBox

log = logging.getLogger(__name__)

#: writer queue class of the engine's jobs (its own events are marketing class)
PRIORITY = 1
#: kinds of the engine's own records that need no round of their own
QUIET_KINDS = frozenset({"send", "enrolment"})


@dataclass(frozen=True)
class EngineConfig:
    public_url: str  # the base of tracking links
    default_tz: str = "UTC"  # contacts without a time zone
    event_batch: int = 500
    due_batch: int = 200
    send_batch: int = 50
    lease_s: int = 600
    smtp_rate_per_s: float | None = 20.0  # per org; None: no limit
    retry: RetryPolicy = RetryPolicy()
    scan_interval_s: int = 900
    idle_poll_s: float = 60.0
    #: the live allocation between a send step's variants (``shared.content.bandit``)
    bandit: Settings = Settings()
    allocation_interval_s: float = INTERVAL_S


class AutomationEngine:
    def __init__(
        self,
        *,
        writer: Any,
        box: SecretBox,
        config: EngineConfig,
        now_ms: Callable[[], int] | None = None,
        sender_factory: Callable[..., SmtpSender] = SmtpSender,
        render_executor: Any = None,
    ) -> None:
        self._writer = writer
        self.box = box
        self.config = config
        self.now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self.worker = new_id()
        self.progress = asyncio.Event()
        self.index = CampaignIndex()
        self.allocator = Allocator(config.bandit, config.allocation_interval_s)
        self.rounds = Rounds(
            self.index,
            default_tz=config.default_tz,
            event_batch=config.event_batch,
            due_batch=config.due_batch,
            scan_interval_s=config.scan_interval_s,
            allocator=self.allocator,
        )
        self.mailer = Mailer(
            submit=self.submit,
            rounds=self.rounds,
            box=box,
            public_url=config.public_url,
            now_ms=self.now_ms,
            worker=self.worker,
            batch=config.send_batch,
            lease_s=config.lease_s,
            rate_per_s=config.smtp_rate_per_s,
            retry=config.retry,
            sender_factory=sender_factory,
            render_executor=render_executor,
            on_progress=self.progress.set,
        )
        self._events = asyncio.Event()
        #: orgs whose campaigns changed since the last events round (their index is refreshed)
        self._campaigns_changed: set[str] = set()
        self._due = asyncio.Event()
        self._mail = asyncio.Event()
        self._allocate = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._lanes: dict[str, asyncio.Task] = {}
        self._again: set[str] = set()  # orgs whose running lane must claim once more
        self.stats = {
            "rounds": 0,
            "events": 0,
            "enrolled": 0,
            "advanced": 0,
            "queued": 0,
            "allocation_rounds": 0,
            "reallocated": 0,
        }
        #: set after every round and every send handled (``until`` waits on it)
        #: seconds spent matching each triggering event against its org's campaigns
        self.trigger_timings: list[float] = []
        self.keep_timings = False
        #: what the tracking routes keep between requests: orgs' keys, recent clicks
        self.tracking_keys_cache: dict[str, list[bytes]] = {}
        self.recent_clicks = RecentClicks()

    # ------------------------------------------------------------------ the listener

    def committed(self, commit: Commit) -> None:
        """A commit listener: note that there is work (never reads or writes here). The
        engine's own record of a send or an enrolment asks for nothing at once (the cursor
        passes over it with the next round): waking for it would double the rounds."""
        if not commit.events_known or any(
            changes.events is None
            or changes.campaigns
            or any(e[WIRE_KIND] not in QUIET_KINDS for e in changes.events)
            for changes in commit.orgs.values()
        ):
            self._events.set()
        self._campaigns_changed.update(o for o, c in commit.orgs.items() if c.campaigns)

    def nudge(self) -> None:
        """Look at everything now (an admin changed the mail settings, a test)."""
        self.mailer.resting.clear()
        for event in (self._events, self._due, self._mail, self._allocate):
            event.set()

    def set_clock(self, now_ms: Callable[[], int]) -> None:
        """Run on another clock from here on (a virtual one in tests and the simulator)."""
        self.now_ms = now_ms
        self.mailer.set_clock(now_ms)

    # ------------------------------------------------------------------ running

    async def submit(self, job: Callable[[Storage, int], Any]) -> Any:
        return await self._writer.submit(PRIORITY, 1, job)

    async def start(self) -> None:
        await self.submit(self._start_job)
        self._tasks = [
            asyncio.create_task(self._loop("events", self._events, self._events_round)),
            asyncio.create_task(self._loop("due", self._due, self._due_round)),
            asyncio.create_task(self._loop("mail", self._mail, self._mail_round)),
            asyncio.create_task(self._loop("dates", asyncio.Event(), self._scan_round)),
            asyncio.create_task(self._loop("allocation", self._allocate, self._allocation_round)),
        ]
        self.nudge()

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._lanes.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks, self._lanes = [], {}
        await self.mailer.close()

    def _start_job(self, storage: Storage, seq: int) -> None:
        self.rounds.device_id(storage)
        self.rounds.cursor(storage)
        taken = storage.reclaim_sends(now_ms=self.now_ms(), worker=self.worker)
        if taken:
            log.info("took back %d sends claimed before the restart", taken)

    async def _loop(self, name: str, wake: asyncio.Event, work: Callable[[], Any]) -> None:
        """Run ``work`` (returns seconds until it should run again, or None for the idle poll)
        whenever woken or due; an error is logged and retried after a pause, never fatal."""
        while True:
            wake.clear()
            try:
                delay = await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("automation %s round failed; trying again shortly", name)
                delay = 5.0
            if delay is not None and delay <= 0:
                continue
            timeout = (
                self.config.idle_poll_s if delay is None else min(delay, self.config.idle_poll_s)
            )
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the event is set, and stop() would then wait out the idle poll
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await wake.wait()

    def _job(self, run: Callable[[Storage, int, int], Round]) -> Callable[[Storage, int], Any]:
        def job(storage: Storage, seq: int) -> Any:
            done = run(storage, seq, self.now_ms())
            if not done.events or done.org_id is None:
                return done
            stored, duplicates = storage.insert_events(
                org_id=done.org_id,
                device_id=self.rounds.device_id(storage),
                events=done.events,
                priority=PRIORITY,
                commit_seq=seq,
            )
            declared = tuple(done.events) if not duplicates else None
            return Outcome(done, Changes(done.org_id, events=declared))

        return job

    async def until(self, condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
        """Wait until ``condition()`` holds, looking again after each round or send (tests,
        benchmarks: no polling)."""

        async def wait() -> None:
            while True:
                self.progress.clear()
                if condition():
                    return
                await self.progress.wait()

        await asyncio.wait_for(wait(), timeout_s)

    def _after(self, done: Round) -> None:
        self.progress.set()
        self.stats["rounds"] += 1
        self.stats["events"] += done.read
        self.stats["enrolled"] += done.enrolled
        self.stats["advanced"] += done.advanced
        self.stats["queued"] += done.queued
        if self.keep_timings:
            self.trigger_timings.extend(t for _, t in done.timings)
        if done.queued and done.org_id is not None:
            self._lane(done.org_id)  # straight to the org's lane: no query in between

    async def _events_round(self) -> float | None:
        changed, self._campaigns_changed = self._campaigns_changed, set()

        def run(storage: Storage, seq: int, now: int) -> Round:
            for org_id in sorted(changed):  # a status moved: held ones resume, archived exit
                self.rounds.refresh(storage, org_id, now)
            return self.rounds.events(storage, seq, now)

        try:
            done: Round = await self.submit(self._job(run))
        except BaseException:
            self._campaigns_changed |= changed
            raise
        self._after(done)
        if done.woken or changed:
            self._due.set()  # wake-ups made enrolments due
        if changed:
            self._mail.set()  # a resumed campaign's held sends are due again
        return 0 if done.more else None

    async def _due_round(self) -> float | None:
        def run(storage: Storage, seq: int, now: int) -> Round:
            done = self.rounds.due(storage, now)
            done.next_due_ms = storage.next_due_ms()
            return done

        done: Round = await self.submit(self._job(run))
        self._after(done)
        if done.more:
            return 0
        if done.next_due_ms is None:
            return None
        return max(0.0, (done.next_due_ms - self.now_ms()) / 1000)

    async def _scan_round(self) -> float | None:
        done: Round = await self.submit(self._job(lambda st, seq, now: self.rounds.scan(st, now)))
        self._after(done)
        return 0 if done.more else float(self.config.scan_interval_s) / 4

    async def _allocation_round(self) -> float | None:
        """Reallocate every test whose counts moved, when a round is due by the clock (the
        loop's timer, or a nudge after the clock moved)."""
        now = self.now_ms()
        if not self.allocator.due(now):
            return self.allocator.next_in_s(now)
        woken = Round()

        def collect(storage: Storage, seq: int) -> tuple[int, list[Pending]]:
            campaigns = []
            for name in storage.org_names():
                org_id = storage.org_id(name)
                if org_id is None:
                    continue
                index = self.rounds.refresh(storage, org_id, now, woken)
                campaigns.extend(
                    (c.id, c.journey)
                    for c in index.campaigns.values()
                    if c.status == "active" and c.journey is not None
                )
            return self.allocator.collect(storage, campaigns)

        # the counts are read in a writer job, the posterior draws run on a thread (a few ms
        # per test), the new states are saved in a second job
        tests, pending = await self.submit(collect)
        computed = await asyncio.to_thread(compute, pending, now) if pending else []
        done = await self.submit(
            lambda storage, seq: self.allocator.save(storage, tests, computed, now)
        )
        self.stats["allocation_rounds"] += 1
        self.stats["reallocated"] += done.moved
        if woken.woken:
            self._due.set()
            self._mail.set()
        self.progress.set()
        return self.allocator.next_in_s(self.now_ms())

    async def _mail_round(self) -> float | None:
        now = self.now_ms()

        def due(storage: Storage, seq: int) -> tuple[list[str], int | None]:
            return storage.orgs_with_due_sends(now), storage.next_send_due_ms()

        orgs, next_due = await self.submit(due)
        delays = []
        for org_id in orgs:
            resting = self.mailer.resting.get(org_id, 0)
            if resting > now:
                delays.append((resting - now) / 1000)
                continue
            self._lane(org_id)
        if next_due is not None and next_due > now:
            delays.append((next_due - now) / 1000)
        # a running lane wakes this loop when it is done
        return min(delays) if delays else None

    def _lane(self, org_id: str) -> None:
        """Make sure the org's lane runs; a running one claims again before it ends."""
        if self.mailer.resting.get(org_id, 0) > self.now_ms():
            return
        lane = self._lanes.get(org_id)
        if lane is None or lane.done():
            self._lanes[org_id] = asyncio.create_task(self._drain(org_id))
        else:
            self._again.add(org_id)

    async def _drain(self, org_id: str) -> None:
        try:
            while True:
                self._again.discard(org_id)
                before = self.mailer.stats["sent"]
                handled = await self.mailer.drain(org_id)
                if handled > self.mailer.stats["sent"] - before:
                    self._mail.set()  # some wait (quiet hours, a deferral): time the next look
                if org_id not in self._again:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("mail lane of org %s failed; its sends stay queued", org_id)
            self._mail.set()
