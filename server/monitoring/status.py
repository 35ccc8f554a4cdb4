"""Health checks as values: a named figure with its target, status, trend and a sentence.

A check is graded by a ``Band``: *healthy* at or better than ``healthy``, *critical* strictly
worse than ``critical``, *warning* in between ("better" is higher or lower, as the band says).
So the viral coefficient's band (healthy 1.2, critical 1.0, higher is better) reads: healthy at
1.2 and above, warning from 1.0 up to 1.2, critical below 1.0. A check without a figure (no
sends yet, no ground truth known) is *unknown*: it is listed, never alerted on, and never makes
the overall status worse.

The overall status is the worst known status of the parts, with the reasons: every critical
check's message, then every warning's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    HEALTHY = "healthy"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


#: how bad a status is, for the overall status (unknown counts as healthy there)
SEVERITY = {Status.HEALTHY: 0, Status.UNKNOWN: 0, Status.WARNING: 1, Status.CRITICAL: 2}


@dataclass(frozen=True)
class Band:
    """Where a figure turns from healthy to warning to critical."""

    healthy: float
    critical: float
    higher_is_better: bool

    def __post_init__(self) -> None:
        if not (math.isfinite(self.healthy) and math.isfinite(self.critical)):
            raise ValueError("thresholds must be finite numbers")
        if self.higher_is_better and self.critical > self.healthy:
            raise ValueError(
                f"critical ({self.critical:g}) above healthy ({self.healthy:g}) "
                "where higher is better"
            )
        if not self.higher_is_better and self.critical < self.healthy:
            raise ValueError(
                f"critical ({self.critical:g}) below healthy ({self.healthy:g}) "
                "where lower is better"
            )

    def grade(self, value: float | None) -> Status:
        if value is None or not math.isfinite(value):
            return Status.UNKNOWN
        if self.higher_is_better:
            if value >= self.healthy:
                return Status.HEALTHY
            return Status.CRITICAL if value < self.critical else Status.WARNING
        if value <= self.healthy:
            return Status.HEALTHY
        return Status.CRITICAL if value > self.critical else Status.WARNING

    def describe(self, unit: str = "") -> str:
        """The target in words: ``≥ 1.2`` or ``≤ 2 s``."""
        sign = "≥" if self.higher_is_better else "≤"
        return f"{sign} {format_value(self.healthy, unit)}"


@dataclass(frozen=True)
class Trend:
    """How the figure moved over ``over_s``: ``change`` (now minus then) and its direction
    (``up``, ``down`` or ``flat``), and whether that is for the better."""

    direction: str
    change: float
    over_s: float
    improving: bool | None = None  # None: flat, or nothing to compare with

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Check:
    """One health check's latest reading."""

    name: str  # stable, dotted: "delivery.bounce_rate"
    title: str  # for people: "Bounce rate"
    group: str  # delivery | content | attribution | viral | sync | storage
    org_id: str | None  # None: the whole server
    value: float | None
    unit: str  # "ratio", "s", "ms", "bytes", "count", "" (a plain number)
    band: Band
    status: Status
    message: str
    at_ms: int
    trend: Trend | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.name, self.org_id)

    @property
    def target(self) -> str:
        return self.band.describe(self.unit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "group": self.group,
            "org_id": self.org_id,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "healthy": self.band.healthy,
            "critical": self.band.critical,
            "higher_is_better": self.band.higher_is_better,
            "status": str(self.status),
            "message": self.message,
            "at_ms": self.at_ms,
            "trend": self.trend.to_dict() if self.trend is not None else None,
            "detail": self.detail,
        }


def graded(
    *,
    name: str,
    title: str,
    group: str,
    org_id: str | None,
    value: float | None,
    unit: str,
    band: Band,
    at_ms: int,
    unknown: str = "no data yet",
    detail: dict[str, Any] | None = None,
    trend: Trend | None = None,
    says: str | None = None,
) -> Check:
    """A check graded by its band, with the usual message: ``Title 3.1 % (target ≤ 2 %):
    warning`` — or ``unknown`` (why) when there is no value. ``says`` is added after it."""
    status = band.grade(value)
    if status is Status.UNKNOWN:
        message = f"{title}: {unknown}"
    else:
        message = f"{title} {format_value(value, unit)} (target {band.describe(unit)})"
        if status is not Status.HEALTHY:
            message += f": {status}"
    if says:
        message += f"; {says}"
    return Check(
        name, title, group, org_id, value, unit, band, status, message, at_ms, trend, detail or {}
    )


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    if unit == "s":
        if value < 120:
            return f"{value:.3g} s"
        if value < 7_200:
            return f"{value / 60:.1f} min"
        return f"{value / 3_600:.1f} h" if value < 172_800 else f"{value / 86_400:.1f} days"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "bytes":
        for size, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(value) >= size:
                return f"{value / size:.1f} {name}"
        return f"{value:.0f} B"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.3g}"


@dataclass(frozen=True)
class Overall:
    status: Status
    reasons: tuple[str, ...]
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"status": str(self.status), "reasons": list(self.reasons), "counts": self.counts}


def overall(checks: Iterable[Check]) -> Overall:
    """The worst known status of ``checks``, with the critical then warning messages."""
    checks = list(checks)
    counts = {str(s): 0 for s in Status}
    for c in checks:
        counts[str(c.status)] += 1
    worst = max((SEVERITY[c.status] for c in checks), default=0)
    status = {0: Status.HEALTHY, 1: Status.WARNING, 2: Status.CRITICAL}[worst]
    reasons = tuple(
        c.message
        for level in (Status.CRITICAL, Status.WARNING)
        for c in sorted(checks, key=lambda c: (c.group, c.name, c.org_id or ""))
        if c.status is level
    )
    return Overall(status, reasons, counts)
