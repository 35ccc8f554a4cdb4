"""The health monitor: reads every check on a schedule, keeps the latest readings and their
trends, and hands them to the alert router.

Two rhythms: every ``interval_s`` the cheap checks (delivery, content, sync, storage, SMTP
probes); every ``business_interval_s`` also the ones that need the ROI report (attribution
accuracy, the viral coefficient), which run on the report service's own thread. Reads of the
store run on the monitor's own thread with its own handle; SMTP probes are coroutines with a
timeout; nothing waits on the event loop's thread.

The monitor is also a commit listener (``server.commits``): for each commit it notes, in a few
dictionary operations, the org's last sync (when a device of the org is connected: a push is
waiting for its ack) and the commit's events, duration and queue wait for the metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import replace
from pathlib import Path
from typing import Any

from shared.protocol.events import WIRE_ID, WIRE_KIND, WIRE_OCCURRED_AT_MS, WIRE_PAYLOAD
from shared.protocol.kinds import MARKETING

from ..commits import Commit
from ..hub import Hub
from ..storage import Storage
from ..writer import PriorityWriter
from . import checks as c
from .alerts import AlertRouter
from .config import CHECKS, MonitorConfig
from .metrics import Metrics, class_name
from .probes import SmtpProbe, probe_smtp, read_backlog, read_store
from .recorders import ContentRecorder, DeliveryRecorder
from .status import Check, overall
from .trends import Readings

log = logging.getLogger(__name__)

_CROCKFORD = {ch: i for i, ch in enumerate("0123456789ABCDEFGHJKMNPQRSTVWXYZ")}

GROUPS = ("delivery", "content", "attribution", "viral", "sync", "storage")
SMTP_PROBES_AT_ONCE = 8


class Monitor:
    def __init__(
        self,
        *,
        config: MonitorConfig,
        storage: Storage,
        data_dir: Path,
        writer: PriorityWriter,
        hub: Hub,
        executor: Executor,
        reports: Any = None,
        delivery: DeliveryRecorder | None = None,
        content: ContentRecorder | None = None,
        alerts: AlertRouter | None = None,
        metrics: Metrics | None = None,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        trigger_timings: Callable[[], list[float]] | None = None,
    ) -> None:
        """``storage``: a read handle of the monitor's own, used on ``executor`` only.
        ``trigger_timings``: takes the trigger evaluations (seconds) made since it was last
        called (the automation engine's)."""
        self.config = config
        self._storage = storage
        self._data_dir = data_dir
        self._writer = writer
        self._hub = hub
        self._executor = executor
        self._reports = reports
        self.delivery = delivery or DeliveryRecorder()
        self.content = content or ContentRecorder()
        self.alerts = alerts
        self._metrics = metrics
        self._now_ms = now_ms
        self._trigger_timings = trigger_timings
        self.checks: dict[tuple[str, str | None], Check] = {}
        self.org_names: dict[str, str] = {}
        self.readings = Readings()
        self.evaluations = 0
        self.as_of_ms: int | None = None
        self._business: dict[tuple[str, str | None], Check] = {}
        self._smtp_failures: dict[str, int] = {}
        self._last_sync_ms: dict[str, int] = {}
        self._seeded: set[str] = set()
        self._started_ms = now_ms()
        self._busy: tuple[float, float] | None = None  # (writer busy s, monotonic) last read
        self._lock = asyncio.Lock()
        #: set after each reading (a test waits for the first one before it changes anything)
        self.evaluated = asyncio.Event()

    # ------------------------------------------------------------------ commit listener

    def committed(self, commit: Commit) -> None:
        now = self._now_ms()
        stats = self._writer.stats
        for org_id, changes in commit.orgs.items():
            if self._hub.count_org(org_id):
                self._last_sync_ms[org_id] = now
            if changes.events and stats.last_priority == MARKETING:
                self._note_sends(org_id, changes.events)
        metrics = self._metrics
        if metrics is None or not metrics.enabled or commit.remote:
            return  # another process's commit is in that process's metrics, not this writer's
        cls = class_name(stats.last_priority)
        metrics.commit_duration.labels(cls).observe(stats.last_commit_s)
        metrics.queue_wait.labels(cls).observe(stats.last_wait_s)
        events = sum(len(ch.events) for ch in commit.orgs.values() if ch.events)
        if events:  # a writer batch holds one class: its events are all of that class
            metrics.sync_events.labels(cls).inc(events)

    def _note_sends(self, org_id: str, events: tuple[list[Any], ...]) -> None:
        """The engine's own ``send`` and ``bounce`` events (they carry the send's id): an
        accepted send, with the time from its send row's creation (the id's time part) to the
        SMTP server's acceptance (the event's time); a hard bounce; a soft bounce (deferred
        until the engine gave up)."""
        for ev in events:
            kind = ev[WIRE_KIND]
            if kind != "send" and kind != "bounce":
                continue
            payload = ev[WIRE_PAYLOAD] or {}
            if "send_id" not in payload:
                continue  # a device's capture, not a send the server made
            if kind == "send":
                created_ms = ulid_ms(ev[WIRE_ID])
                latency = (ev[WIRE_OCCURRED_AT_MS] - created_ms) / 1000 if created_ms else None
                self.delivery.send_finished(
                    org_id,
                    "sent",
                    trigger_to_send_s=max(0.0, latency) if latency is not None else None,
                )
            else:
                hard = payload.get("kind") == "hard"
                self.delivery.send_finished(org_id, "bounced" if hard else "failed")

    # ------------------------------------------------------------------ reading

    async def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def run(self) -> None:
        """Read the checks for ever (the app's background task)."""
        next_business = 0.0
        while True:
            started = time.monotonic()
            business = started >= next_business
            try:
                await self.evaluate(business=business)
            except Exception:  # a failed reading must not stop the monitor
                log.exception("health evaluation failed")
            if business:
                next_business = started + self.config.business_interval_s
            await asyncio.sleep(self.config.interval_s)

    async def evaluate(self, *, business: bool = True) -> list[Check]:
        """Read every check now (``business``: the report-based ones too), alert on what
        changed, and return the readings."""
        async with self._lock:
            return await self._evaluate(business)

    async def _evaluate(self, business: bool) -> list[Check]:
        cfg = self.config
        now = self._now_ms()
        self.org_names = names = await self._read(self._org_names)
        store = await self._read(read_store, self._storage, self._data_dir)
        backlog = await self._read(read_backlog, self._storage, now)
        smtp = await self._read(self._smtp_rows, list(names))
        seeds = await self._read(self._seed_orgs, [o for o in names if o not in self._seeded])

        found: list[Check] = []
        found += c.storage_checks(cfg, store, now)
        found.append(c.backlog_check(cfg, backlog, now))
        if self._trigger_timings is not None:
            for seconds in self._trigger_timings():
                self.delivery.trigger_evaluated("", seconds)
        p99, n = self.delivery.trigger_p99_ms(cfg.delivery_window_s)
        found.append(c.trigger_check(cfg, p99, n, now))
        probes = await self._probe_smtp(smtp)
        delivery_orgs = set(self.delivery.orgs()) | set(smtp)
        for org in sorted(delivery_orgs):
            name = names.get(org)
            found += c.delivery_checks(
                cfg, org, name, self.delivery.figures(org, cfg.delivery_window_s), now
            )
            if org in smtp:
                found.append(
                    c.smtp_check(
                        cfg, org, name, self._smtp_failures.get(org, 0), probes.get(org), now
                    )
                )
        for org in sorted(self.content.orgs()):
            found += c.content_checks(
                cfg, org, names.get(org), self.content.figures(org, cfg.content_window_s), now
            )
        found += self._sync_checks(now)
        for org, seeded in seeds.items():
            self._seeded.add(org)
            if seeded and org not in self._last_sync_ms:
                self._last_sync_ms[org] = self._started_ms
        for org in names:
            if self._hub.count_org(org):  # a connected device is in sync (live)
                self._last_sync_ms[org] = now
        for org in sorted(names):
            found.append(
                c.silence_check(
                    cfg, org, names[org], self._last_sync_ms.get(org), self._hub.count_org(org), now
                )
            )
        if business and self._reports is not None:
            self._business = {}
            for org in sorted(names):
                for check in await self._business_checks(org, names[org], now):
                    self._business[check.key] = check
        found += [b for b in self._business.values() if b.org_id in names]

        current: dict[tuple[str, str | None], Check] = {}
        for check in found:
            self.readings.add(check.key, check.at_ms, check.value)
            if check.trend is None and check.at_ms == now:
                trend = self.readings.trend(check.key, now, cfg.trend_window_s, check.band)
                if trend is not None:
                    check = replace(check, trend=trend)
            current[check.key] = check
        self.readings.forget(set(current))
        self.checks = current
        self.as_of_ms = now
        self.evaluations += 1
        if self.alerts is not None:
            await self.alerts.observe(current.values(), now_ms=now)
        self.evaluated.set()
        return list(current.values())

    def _org_names(self) -> dict[str, str]:
        out = {}
        for name in self._storage.org_names():
            org_id = self._storage.org_id(name)
            if org_id is not None:
                out[org_id] = name
        return out

    def _smtp_rows(self, orgs: list[str]) -> dict[str, Any]:
        rows = {}
        for org in orgs:
            try:
                row = self._storage.smtp_settings(org)
            except (AttributeError, NotImplementedError):
                return {}
            if row is not None:
                rows[org] = row
        return rows

    def _seed_orgs(self, orgs: list[str]) -> dict[str, bool]:
        """Orgs first seen since start: whether they hold events (then their devices synced at
        some time before the server started)."""
        return {org: self._storage.event_time_range(org)[1] is not None for org in orgs}

    async def _probe_smtp(self, rows: dict[str, Any]) -> dict[str, SmtpProbe]:
        gate = asyncio.Semaphore(SMTP_PROBES_AT_ONCE)

        async def one(org: str, row: Any) -> tuple[str, SmtpProbe]:
            async with gate:
                return org, await probe_smtp(
                    row.host,
                    row.port,
                    security=row.security,
                    timeout_s=self.config.smtp_probe_timeout_s,
                )

        probes = dict(await asyncio.gather(*(one(o, r) for o, r in rows.items())))
        for org, probe in probes.items():
            self._smtp_failures[org] = 0 if probe.ok else self._smtp_failures.get(org, 0) + 1
            if self._metrics is not None:
                self._metrics.smtp_probes.labels("ok" if probe.ok else "failed").inc()
        for org in [o for o in self._smtp_failures if o not in rows]:
            del self._smtp_failures[org]
        return probes

    def _sync_checks(self, now: int) -> list[Check]:
        stats = self._writer.stats
        mono = time.monotonic()
        busy_ratio = None
        if self._busy is not None and mono > self._busy[1]:
            busy_ratio = min(1.0, max(0.0, (stats.busy_s - self._busy[0]) / (mono - self._busy[1])))
        self._busy = (stats.busy_s, mono)
        waits = {cls: stats.oldest_wait_s(cls, mono) for cls in range(4)}
        return c.sync_checks(
            self.config,
            queued=dict(stats.queued_items),
            waits_s=waits,
            busy_ratio=busy_ratio,
            at_ms=now,
        )

    async def _business_checks(self, org: str, name: str, now: int) -> list[Check]:
        window_ms = self.config.viral_window_days * 86_400_000
        try:
            report = await self._reports.roi(org, from_ms=now - window_ms, to_ms=now)
        except Exception as exc:  # a report that fails is an unknown reading, not a crash
            log.warning("health: the report of org %s failed: %s", org, exc)
            report = {}
        return [
            c.accuracy_check(self.config, org, name, report, now),
            c.viral_check(self.config, org, name, report, now),
        ]

    # ------------------------------------------------------------------ views

    def view(self, org_id: str | None) -> dict[str, Any]:
        """What an admin of ``org_id`` sees: the server-wide checks and the org's."""
        mine = [ch for ch in self.checks.values() if ch.org_id is None or ch.org_id == org_id]
        mine.sort(key=lambda ch: (GROUPS.index(ch.group), list(CHECKS).index(ch.name)))
        return {
            "as_of_ms": self.as_of_ms,
            "overall": overall(mine).to_dict(),
            "checks": [ch.to_dict() for ch in mine],
        }


def ulid_ms(ulid: str) -> int | None:
    """The time part of a ULID (epoch ms), None when it is not one."""
    value = 0
    try:
        for ch in ulid[:10].upper():
            value = value * 32 + _CROCKFORD[ch]
    except (KeyError, AttributeError):
        return None
    return value
