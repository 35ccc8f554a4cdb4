"""Alerts: when a check turns critical, and when it recovers; deduplicated, with a cooldown, and
a history admins read.

Per check and org (``Check.key``) the router keeps an *episode*: it opens when the check turns
critical and closes when it is healthy again (a warning in between keeps it open: the trouble is
not over). Opening an episode sends one ``critical`` alert; closing one whose critical alert
went out sends one ``recovered`` alert. Nothing else is sent while an episode stays open, however
often the monitor reads the check (deduplication). A check that turns critical again within
``cooldown_s`` of its last critical alert (a flapping check) is recorded in the history as
``suppressed`` and not sent; if it is still critical when the cooldown ends, the alert goes out
then, so a real problem is never hidden for longer than the cooldown. Unknown readings change
nothing.

Alerts are written to the history (``AlertHistory``) before any channel is tried, then each
channel's outcome is added to the entry. After a restart the history restores the episodes, so
a check still critical does not alert again and one found healthy sends its recovery.
Deliveries run as tasks of their own: ``observe`` never waits for a webhook or a mail server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from shared.protocol.ids import new_id

from .config import AlertSettings
from .status import Check, Status, format_value

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    id: str
    at_ms: int
    kind: str  # critical | recovered
    org_id: str | None
    org_name: str | None
    check: str
    title: str
    status: str
    value: float | None
    unit: str
    target: str
    message: str
    #: why it was not sent ("cooldown"); None: it was
    suppressed: str | None = None
    #: channel -> outcome ("delivered …", "failed: …", "skipped: …"); empty until tried
    channels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Alert:
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.check, self.org_id)

    @property
    def subject(self) -> str:
        head = "Critical" if self.kind == "critical" else "Recovered"
        where = f" ({self.org_name})" if self.org_name else " (server)"
        figure = format_value(self.value, self.unit)
        return f"[WedSync] {head}: {self.title} {figure}{where}"


def alert_of(check: Check, kind: str, *, at_ms: int, org_name: str | None) -> Alert:
    return Alert(
        id=new_id(),
        at_ms=at_ms,
        kind=kind,
        org_id=check.org_id,
        org_name=org_name,
        check=check.name,
        title=check.title,
        status=str(check.status),
        value=check.value,
        unit=check.unit,
        target=check.target,
        message=check.message,
    )


class AlertHistory:
    """Alerts, newest last, in memory and in a JSON-lines file (one alert or one outcome
    update per line). File writes run on ``executor``, one at a time in the order asked."""

    def __init__(self, path: Path | None, *, keep: int = 5000, executor: Executor | None = None):
        self.path = path
        self.keep = keep
        self._executor = executor
        self._alerts: dict[str, Alert] = {}
        self._order: deque[str] = deque()
        self._lines = 0
        self._writing = asyncio.Lock()  # one write at a time, in the order they were asked for

    def load(self) -> list[Alert]:
        """Read the file (synchronously: at start-up, off the loop)."""
        if self.path is None or not self.path.exists():
            return []
        lines = 0
        with self.path.open(encoding="utf-8") as f:
            for line in f:
                lines += 1
                try:
                    raw = json.loads(line)
                except ValueError:
                    log.warning("alert history %s: an unreadable line skipped", self.path)
                    continue
                if "update" in raw:
                    found = self._alerts.get(raw["update"])
                    if found is not None:
                        self._alerts[found.id] = replace(found, channels=raw["channels"])
                else:
                    self._add(Alert.from_dict(raw))
        self._lines = lines
        return list(self)

    def __iter__(self):
        return (self._alerts[i] for i in self._order)

    def _add(self, alert: Alert) -> None:
        self._alerts[alert.id] = alert
        self._order.append(alert.id)
        while len(self._order) > self.keep:
            self._alerts.pop(self._order.popleft(), None)

    async def append(self, alert: Alert) -> None:
        self._add(alert)
        await self._write(json.dumps(alert.to_dict()))

    async def set_channels(self, alert_id: str, channels: dict[str, str]) -> None:
        found = self._alerts.get(alert_id)
        if found is not None:
            self._alerts[alert_id] = replace(found, channels=channels)
        await self._write(json.dumps({"update": alert_id, "channels": channels}))

    def recent(self, *, org_id: str | None, limit: int) -> list[Alert]:
        """The newest ``limit`` alerts an admin of ``org_id`` may read: the org's and the
        server's, newest first."""
        out = []
        for alert_id in reversed(self._order):
            alert = self._alerts[alert_id]
            if alert.org_id is None or alert.org_id == org_id:
                out.append(alert)
                if len(out) >= limit:
                    break
        return out

    async def _write(self, line: str) -> None:
        if self.path is None:
            return
        async with self._writing:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._write_sync, line)

    def _write_sync(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._lines > 2 * self.keep:  # rewrite with what is kept, so the file stays bounded
            tmp = self.path.with_suffix(".tmp")
            with tmp.open("w", encoding="utf-8") as f:
                for alert in list(self):
                    f.write(json.dumps(alert.to_dict()) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            self._lines = len(self._order)
            return  # the line's alert is in what was rewritten
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._lines += 1


class Channel(Protocol):
    name: str

    async def deliver(self, alert: Alert) -> str:
        """Send ``alert``; the outcome in words ("delivered …", "skipped: …"). Raises
        ``ChannelError`` when it could not be delivered."""
        ...


class ChannelError(Exception):
    """A channel could not deliver an alert (after its retries)."""


@dataclass
class _Episode:
    open: bool = False
    announced: bool = False  # the episode's critical alert went out
    last_critical_ms: int | None = None  # the last critical alert that went out


class AlertRouter:
    def __init__(
        self,
        settings: AlertSettings,
        history: AlertHistory,
        channels: Sequence[Channel],
        *,
        org_name: Callable[[str | None], str | None] = lambda org_id: None,
        on_alert: Callable[[Alert], None] | None = None,
        on_delivery: Callable[[str, str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.history = history
        self.channels = list(channels)
        self._org_name = org_name
        self._on_alert = on_alert
        self._on_delivery = on_delivery
        self._episodes: dict[tuple[str, str | None], _Episode] = {}
        self._tasks: set[asyncio.Task] = set()

    def restore(self, alerts: Iterable[Alert]) -> None:
        """Rebuild the episodes from the history (oldest first)."""
        for alert in alerts:
            ep = self._episodes.setdefault(alert.key, _Episode())
            if alert.kind == "critical":
                ep.open = True
                ep.announced = alert.suppressed is None
                if alert.suppressed is None:
                    ep.last_critical_ms = alert.at_ms
            else:
                ep.open = ep.announced = False

    async def observe(self, checks: Iterable[Check], *, now_ms: int) -> list[Alert]:
        """Decide what ``checks`` (the latest readings) call for; record those alerts and start
        their deliveries. Returns the alerts recorded (sent or suppressed)."""
        made: list[Alert] = []
        cooldown_ms = self.settings.cooldown_s * 1000
        for check in checks:
            if check.status is Status.UNKNOWN:
                continue
            ep = self._episodes.setdefault(check.key, _Episode())
            cooled = ep.last_critical_ms is None or now_ms - ep.last_critical_ms >= cooldown_ms
            if check.status is Status.CRITICAL:
                if not ep.open:
                    ep.open = True
                    ep.announced = cooled
                    alert = self._alert(check, "critical", now_ms, None if cooled else "cooldown")
                    made.append(alert)
                    if cooled:
                        ep.last_critical_ms = now_ms
                elif not ep.announced and cooled:
                    ep.announced = True
                    ep.last_critical_ms = now_ms
                    made.append(self._alert(check, "critical", now_ms, None))
            elif check.status is Status.HEALTHY and ep.open:
                ep.open = False
                if ep.announced:
                    ep.announced = False
                    made.append(self._alert(check, "recovered", now_ms, None))
        for alert in made:
            await self.history.append(alert)
            if self._on_alert is not None:
                self._on_alert(alert)
            if alert.suppressed is None:
                task = asyncio.get_running_loop().create_task(self._deliver(alert))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                log.info(
                    "alert suppressed (cooldown)",
                    extra={
                        "event": "alert_suppressed",
                        "check": alert.check,
                        "org_id": alert.org_id,
                    },
                )
        return made

    def _alert(self, check: Check, kind: str, now_ms: int, suppressed: str | None) -> Alert:
        alert = alert_of(check, kind, at_ms=now_ms, org_name=self._org_name(check.org_id))
        return replace(alert, suppressed=suppressed)

    async def _deliver(self, alert: Alert) -> None:
        async def one(channel: Channel) -> tuple[str, str]:
            try:
                outcome = await channel.deliver(alert)
                state = "skipped" if outcome.startswith("skipped") else "delivered"
            except ChannelError as exc:
                outcome, state = f"failed: {exc}", "failed"
            except Exception as exc:  # a bug in a channel must not lose the other channels
                log.exception("alert channel %s failed", channel.name)
                outcome, state = f"failed: internal error ({type(exc).__name__})", "failed"
            if self._on_delivery is not None:
                self._on_delivery(channel.name, state)
            return channel.name, outcome

        results = dict(await asyncio.gather(*(one(c) for c in self.channels)))
        try:
            await self.history.set_channels(alert.id, results)
        except OSError:  # the outcome stays in memory; the next rewrite of the file keeps it
            log.exception("alert history: could not record the outcome of %s", alert.id)
        log.info(
            "alert %s %s delivered",
            alert.kind,
            alert.check,
            extra={"event": "alert_delivered", "org_id": alert.org_id, "channels": results},
        )

    async def drain(self) -> None:
        """Wait for the deliveries under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
