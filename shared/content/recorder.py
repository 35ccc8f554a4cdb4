"""Success and latency of every generation, for the health monitor and the benchmark.

A bounded window of the latest ``capacity`` generations (oldest dropped first), each with the
source asked for, the source that answered, whether five usable variants came back, the
latency and, for a fallback, why. ``summary`` gives the success rate and the latency p50/p99
(nearest-rank percentiles). A plain data structure: one owner (the app's loop, the server's
content service) calls it; it does no locking and no I/O.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

TARGET_MS = 2000.0  # the brief: a generation in under 2 s
TARGET_SUCCESS = 0.95  # ... more than 95 % of the time


@dataclass(frozen=True, slots=True)
class GenerationRecord:
    requested: str  # offline | llm
    source: str  # the source whose variants were shown: offline | llm | none
    ok: bool  # five usable variants were shown
    latency_ms: float
    fallback: str | None = None  # the error code that sent an llm request to the offline one
    at_ms: int | None = None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class GenerationRecorder:
    def __init__(self, capacity: int = 1000) -> None:
        self._records: deque[GenerationRecord] = deque(maxlen=capacity)
        self.total = 0  # every generation recorded, also those dropped from the window

    def record(self, record: GenerationRecord) -> None:
        self._records.append(record)
        self.total += 1

    @property
    def records(self) -> list[GenerationRecord]:
        return list(self._records)

    def summary(self) -> dict[str, Any]:
        recs = list(self._records)
        latencies = [r.latency_ms for r in recs]
        ok = [r for r in recs if r.ok]
        llm = [r for r in recs if r.requested == "llm"]
        fallbacks: dict[str, int] = {}
        for r in recs:
            if r.fallback:
                fallbacks[r.fallback] = fallbacks.get(r.fallback, 0) + 1
        success = len(ok) / len(recs) if recs else None
        p99 = percentile(latencies, 99)
        return {
            "count": len(recs),
            "total": self.total,
            "success_rate": success,
            "p50_ms": percentile(latencies, 50),
            "p99_ms": p99,
            "llm_requests": len(llm),
            "llm_answered": sum(1 for r in llm if r.source == "llm" and r.ok),
            "fallbacks": fallbacks,
            "meets_target": (
                None
                if success is None
                else success > TARGET_SUCCESS and p99 is not None and p99 < TARGET_MS
            ),
        }
