"""What the automation engine and content generation tell the monitor, kept per org over a
sliding window.

The engine reports through the small ``DeliveryObserver`` interface (``trigger_evaluated``
after matching a committed event against the campaigns' triggers, ``send_finished`` after
each SMTP outcome). ``DeliveryRecorder`` implements it; any object with these two methods can
stand in for it, and an engine that has none to call costs nothing. Generations are reported
as ``shared.content.GenerationRecord`` values (the app reports its own through
``POST /api/v1/monitor/generations``; a server-side generator would call ``record``).

Both keep at most ``capacity`` samples per org (the oldest dropped first) and drop what is
older than the window when read, so memory stays bounded whatever the traffic. Each has a lock:
the engine may call from its own thread.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared.content.recorder import GenerationRecord, percentile

SEND_STATUSES = ("sent", "bounced", "deferred", "failed")


class DeliveryObserver(Protocol):
    """What the automation engine tells the monitor (``server.automation`` calls these)."""

    def trigger_evaluated(self, org_id: str, seconds: float) -> None:
        """A committed event was matched against the org's triggers in ``seconds``."""
        ...

    def send_finished(
        self, org_id: str, status: str, *, trigger_to_send_s: float | None = None
    ) -> None:
        """A send ended with ``status`` (``sent``, ``bounced``, ``deferred``, ``failed``);
        ``trigger_to_send_s``: for an accepted send, the time from the moment it became due
        (its trigger, or the end of its wait) to the SMTP server's acceptance."""
        ...


@dataclass(frozen=True)
class DeliveryFigures:
    counts: dict[str, int]  # by send status, in the window
    trigger_to_send_s: list[float]

    @property
    def finished(self) -> int:
        return sum(self.counts.values())

    @property
    def success_rate(self) -> float | None:
        return self.counts["sent"] / self.finished if self.finished else None

    @property
    def bounce_rate(self) -> float | None:
        delivered = self.counts["sent"] + self.counts["bounced"]
        return self.counts["bounced"] / delivered if delivered else None


Clock = Callable[[], float]


class DeliveryRecorder:
    """``DeliveryObserver`` for the monitor; ``on_send``/``on_trigger`` also feed metrics."""

    def __init__(
        self,
        *,
        capacity: int = 10_000,
        clock: Clock = time.time,
        on_send: Callable[[str, float | None], None] | None = None,
        on_trigger: Callable[[float], None] | None = None,
    ) -> None:
        self._capacity = capacity
        self._clock = clock
        self._on_send = on_send
        self._on_trigger = on_trigger
        self._lock = threading.Lock()
        self._sends: dict[str, deque[tuple[float, str, float | None]]] = defaultdict(
            lambda: deque(maxlen=capacity)
        )
        self._triggers: deque[tuple[float, float]] = deque(maxlen=capacity)

    def trigger_evaluated(self, org_id: str, seconds: float) -> None:
        with self._lock:
            self._triggers.append((self._clock(), float(seconds)))
        if self._on_trigger is not None:
            self._on_trigger(float(seconds))

    def send_finished(
        self, org_id: str, status: str, *, trigger_to_send_s: float | None = None
    ) -> None:
        if status not in SEND_STATUSES:
            raise ValueError(f"send status must be one of {', '.join(SEND_STATUSES)}")
        latency = float(trigger_to_send_s) if trigger_to_send_s is not None else None
        with self._lock:
            self._sends[org_id].append((self._clock(), status, latency))
        if self._on_send is not None:
            self._on_send(status, latency)

    def orgs(self) -> list[str]:
        with self._lock:
            return [org for org, sends in self._sends.items() if sends]

    def figures(self, org_id: str, window_s: float) -> DeliveryFigures:
        since = self._clock() - window_s
        with self._lock:
            sends = self._sends.get(org_id, ())
            while sends and sends[0][0] < since:
                sends.popleft()
            rows = list(sends)
        counts = dict.fromkeys(SEND_STATUSES, 0)
        for _, status, _ in rows:
            counts[status] += 1
        latencies = [
            latency for _, status, latency in rows if status == "sent" and latency is not None
        ]
        return DeliveryFigures(counts, latencies)

    def trigger_p99_ms(self, window_s: float) -> tuple[float | None, int]:
        """The 99th percentile of trigger evaluations in the window (ms), and how many."""
        since = self._clock() - window_s
        with self._lock:
            while self._triggers and self._triggers[0][0] < since:
                self._triggers.popleft()
            values = [s * 1000 for _, s in self._triggers]
        return percentile(values, 99), len(values)


@dataclass(frozen=True)
class ContentFigures:
    count: int
    success_rate: float | None
    p99_s: float | None
    fallbacks: dict[str, int]


class ContentRecorder:
    """Generations per org in a sliding window (by the record's ``at_ms``)."""

    def __init__(
        self,
        *,
        capacity: int = 5_000,
        clock: Clock = time.time,
        on_record: Callable[[GenerationRecord], None] | None = None,
    ) -> None:
        self._clock = clock
        self._on_record = on_record
        self._lock = threading.Lock()
        self._records: dict[str, deque[GenerationRecord]] = defaultdict(
            lambda: deque(maxlen=capacity)
        )

    def record(self, org_id: str, record: GenerationRecord) -> None:
        if record.at_ms is None:
            record = GenerationRecord(
                record.requested,
                record.source,
                record.ok,
                record.latency_ms,
                record.fallback,
                int(self._clock() * 1000),
            )
        with self._lock:
            self._records[org_id].append(record)
        if self._on_record is not None:
            self._on_record(record)

    def orgs(self) -> list[str]:
        with self._lock:
            return [org for org, recs in self._records.items() if recs]

    def figures(self, org_id: str, window_s: float) -> ContentFigures:
        since_ms = (self._clock() - window_s) * 1000
        with self._lock:
            recs = [r for r in self._records.get(org_id, ()) if (r.at_ms or 0) >= since_ms]
        fallbacks: dict[str, int] = {}
        for r in recs:
            if r.fallback:
                fallbacks[r.fallback] = fallbacks.get(r.fallback, 0) + 1
        p99 = percentile([r.latency_ms for r in recs], 99)
        return ContentFigures(
            len(recs),
            sum(r.ok for r in recs) / len(recs) if recs else None,
            p99 / 1000 if p99 is not None else None,
            fallbacks,
        )
