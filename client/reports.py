"""The ROI report as the app's dashboard and the CLI see it: for a period, from the server, or
offline the last snapshot kept in the replica, with the events captured here that it cannot
count yet overlaid as pending.

The figures are the server's (``GET /api/v1/reports/roi``); a live answer is kept in the
replica (``client.store.report_snapshots``) with the report of the period before it (for the
dashboard's trends). When the server cannot be reached (offline, no login, working offline)
the last snapshot of the same period is returned with ``live=False``, the time it is as of and
the reason. Nothing is recomputed locally: the pending overlay only counts local events (how
many, of which kind, what value) and says they are pending. No Qt.

Periods are whole windows in UTC, the report's own time base: the last 30 or 90 days end at the
next whole minute (so apps asking at the same moment share one computation on the server), this
quarter starts on the calendar quarter's first day, a custom range runs from the first day's
start to the end of the last day.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .store import events_not_in_snapshot, report_snapshot, save_report_snapshot
from .sync import NotLoggedIn, OfflineError, ServerUnreachable, SyncError

if TYPE_CHECKING:
    from .store import LocalEvent, Replica
    from .sync import SyncEngine

DAY_MS = 86_400_000
MINUTE_MS = 60_000
PATH = "/api/v1/reports/roi"
#: the period kinds, in the order the period picker lists them
KINDS = {
    "this_quarter": "This quarter",
    "last_30_days": "Last 30 days",
    "last_90_days": "Last 90 days",
    "custom": "Custom range",
    "all": "All history",
}
#: what a trend compares with, per kind
BEFORE = {
    "this_quarter": "the same length before",
    "last_30_days": "the 30 days before",
    "last_90_days": "the 90 days before",
    "custom": "the same length before",
}
#: sections of the previous period's report that trends read (the rest is not kept)
PREVIOUS_KEYS = ("summary", "ltv", "window")


class NoSnapshot(SyncError):
    """Offline, and the server never gave this period's report to this computer."""

    code = "no_snapshot"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _day_start(ms: int) -> int:
    return ms - ms % DAY_MS


@dataclass(frozen=True)
class Period:
    kind: str  # a key of ``KINDS``
    from_ms: int | None  # None with ``all``: the server's whole history
    to_ms: int | None

    @property
    def key(self) -> str:
        """The snapshot's key: one per kind, one per custom range."""
        if self.kind == "custom":
            return f"custom:{self.from_ms}:{self.to_ms}"
        return self.kind

    @property
    def label(self) -> str:
        if self.kind == "custom" and self.from_ms is not None and self.to_ms is not None:
            return f"{_date(self.from_ms)} – {_date(self.to_ms - 1)}"
        return KINDS[self.kind]

    def query(self) -> str:
        parts = [f"{k}={v}" for k, v in (("from", self.from_ms), ("to", self.to_ms)) if v]
        return "&".join(parts)

    def previous(self) -> Period | None:
        """The period of the same length just before (what trends compare with)."""
        if self.from_ms is None or self.to_ms is None:
            return None
        length = self.to_ms - self.from_ms
        return Period("custom", self.from_ms - length, self.from_ms)

    def contains(self, ms: int) -> bool:
        lo = self.from_ms if self.from_ms is not None else -(2**62)
        hi = self.to_ms if self.to_ms is not None else 2**62
        return lo <= ms < hi


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%d %b %Y").lstrip("0")


def period(
    kind: str,
    *,
    now_ms: int | None = None,
    from_ms: int | None = None,
    to_ms: int | None = None,
) -> Period:
    """The window of ``kind`` now; ``custom`` takes ``from_ms`` and ``to_ms`` (any time in the
    first and the last day: the range covers both days whole)."""
    if kind not in KINDS:
        raise ValueError(f"unknown period {kind!r}: one of {', '.join(KINDS)}")
    now = _now_ms() if now_ms is None else now_ms
    end = -(-(now + 1) // MINUTE_MS) * MINUTE_MS  # the next whole minute (now included)
    if kind == "all":
        return Period("all", None, None)
    if kind == "custom":
        if from_ms is None or to_ms is None:
            raise ValueError("a custom period needs its first and last day")
        first, last = sorted((_day_start(from_ms), _day_start(to_ms)))
        return Period("custom", first, last + DAY_MS)
    if kind == "this_quarter":
        today = datetime.fromtimestamp(now / 1000, UTC)
        start = datetime(today.year, 3 * ((today.month - 1) // 3) + 1, 1, tzinfo=UTC)
        return Period(kind, int(start.timestamp() * 1000), end)
    days = 30 if kind == "last_30_days" else 90
    return Period(kind, end - days * DAY_MS, end)


# ---------------------------------------------------------------------- pending overlay


@dataclass(frozen=True)
class Pending:
    """Local events a snapshot does not count: how many of each kind, the conversions' value
    (pounds), per day, per campaign and per channel. ``queued``: how many still wait to sync."""

    events: int = 0
    queued: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    conversions: int = 0
    revenue: float = 0.0
    by_day: dict[int, dict[str, float]] = field(default_factory=dict)  # day start (ms) -> figures
    by_campaign: dict[str, dict[str, float]] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)  # touches (any kind) per channel

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "queued": self.queued,
            "by_kind": dict(self.by_kind),
            "conversions": self.conversions,
            "revenue": self.revenue,
            "by_day": {str(k): v for k, v in self.by_day.items()},
            "by_campaign": self.by_campaign,
            "by_channel": self.by_channel,
        }


def pending_of(groups: list[LocalEvent]) -> Pending:
    """Add up grouped local events (``client.store.events_not_in_snapshot``)."""
    by_kind: dict[str, int] = {}
    by_day: dict[int, dict[str, float]] = {}
    by_campaign: dict[str, dict[str, float]] = {}
    by_channel: dict[str, int] = {}
    conversions, revenue = 0, 0.0
    for group in groups:
        n = group.count
        by_kind[group.kind] = by_kind.get(group.kind, 0) + n
        if group.channel:
            by_channel[group.channel] = by_channel.get(group.channel, 0) + n
        if group.kind != "conversion":
            continue
        value = group.value_cents / 100
        conversions += n
        revenue += value
        day = by_day.setdefault(group.day_ms, {"conversions": 0, "revenue": 0.0})
        day["conversions"] += n
        day["revenue"] += value
        if group.campaign:
            camp = by_campaign.setdefault(group.campaign, {"conversions": 0, "revenue": 0.0})
            camp["conversions"] += n
            camp["revenue"] += value
    return Pending(
        events=sum(g.count for g in groups),
        queued=sum(g.queued for g in groups),
        by_kind=by_kind,
        conversions=conversions,
        revenue=round(revenue, 2),
        by_day=by_day,
        by_campaign=by_campaign,
        by_channel=by_channel,
    )


# ---------------------------------------------------------------------- the dashboard's data


@dataclass(frozen=True)
class Snapshot:
    """One period's report as shown: live from the server, or the last one kept here."""

    period: Period
    report: dict[str, Any]
    previous: dict[str, Any] | None  # the period before (trimmed), for trends
    live: bool
    as_of_ms: int  # when the figures were current
    fetched_at_ms: int  # when this computer received them
    offline_reason: str | None  # why the server was not asked (``live`` False)
    pending: Pending  # local events the report cannot count yet

    @property
    def window(self) -> tuple[int | None, int | None]:
        window = self.report.get("window") or {}
        return window.get("from_ms"), window.get("to_ms")

    def describe(self) -> dict[str, Any]:
        """For ``--json``: what the figures are and how fresh."""
        return {
            "period": self.period.kind,
            "period_label": self.period.label,
            "live": self.live,
            "as_of_ms": self.as_of_ms,
            "fetched_at_ms": self.fetched_at_ms,
            "offline_reason": self.offline_reason,
            "pending": self.pending.to_dict(),
        }


def trim_previous(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in PREVIOUS_KEYS if k in report}


async def fetch_snapshot(
    engine: SyncEngine,
    chosen: Period,
    *,
    with_previous: bool = True,
    previous: dict[str, Any] | None = None,
) -> Snapshot:
    """``chosen``'s report from the server (kept here with the period before it), or offline the
    last one kept. ``previous``: the period before as already fetched (not asked again).
    ``NoSnapshot`` when offline with none; the server's refusals (a role that may not read
    reports) are raised as they are."""
    replica = engine.replica
    before = chosen.previous() if with_previous and previous is None else None
    try:
        asks = [engine.api("GET", f"{PATH}?{chosen.query()}")]
        if before is not None:
            asks.append(engine.api("GET", f"{PATH}?{before.query()}"))
        answers = await asyncio.gather(*asks)
    except (OfflineError, ServerUnreachable, NotLoggedIn) as exc:
        return await last_snapshot(engine.replica, chosen, reason=_reason(exc), run=engine.run_db)
    report = answers[0]
    if len(answers) > 1:
        previous = trim_previous(answers[1])
    fetched = _now_ms()
    as_of = int(report.get("as_of_ms") or fetched)
    window = report.get("window") or {}
    await engine.run_db(
        lambda: save_report_snapshot(
            replica,
            chosen.key,
            from_ms=int(window.get("from_ms") or chosen.from_ms or 0),
            to_ms=int(window.get("to_ms") or chosen.to_ms or 0),
            report=report,
            previous=previous,
            as_of_ms=as_of,
            fetched_at_ms=fetched,
        )
    )
    pending = await engine.run_db(pending_for, replica, chosen, fetched)
    return Snapshot(chosen, report, previous, True, as_of, fetched, None, pending)


async def last_snapshot(
    replica: Replica, chosen: Period, *, reason: str, run: Any = None
) -> Snapshot:
    """The period's last snapshot with the local events it cannot count (``run``: how to call
    the store, e.g. ``SyncEngine.run_db``; default: here)."""

    async def call(fn: Any, *args: Any) -> Any:
        return await run(fn, *args) if run is not None else fn(*args)

    kept = await call(report_snapshot, replica, chosen.key)
    if kept is None:
        raise NoSnapshot(
            f"no report for {chosen.label[0].lower()}{chosen.label[1:]} on this computer yet "
            f"(reports come from the server, and {reason})"
        )
    pending = await call(pending_for, replica, chosen, kept.fetched_at_ms)
    return Snapshot(
        chosen,
        kept.report,
        kept.previous,
        False,
        kept.as_of_ms,
        kept.fetched_at_ms,
        reason,
        pending,
    )


def pending_for(replica: Replica, chosen: Period, fetched_at_ms: int) -> Pending:
    """The pending overlay of ``chosen`` over a snapshot received at ``fetched_at_ms``."""
    lo = chosen.from_ms if chosen.from_ms is not None else 0
    hi = chosen.to_ms if chosen.to_ms is not None else 2**62
    if chosen.kind not in ("custom", "all"):
        hi = max(hi, _now_ms() + MINUTE_MS)  # a capture made since the period was taken
    events = events_not_in_snapshot(replica, from_ms=lo, to_ms=hi, captured_after_ms=fetched_at_ms)
    return pending_of(events)


def with_pending(snapshot: Snapshot, pending: Pending) -> Snapshot:
    return replace(snapshot, pending=pending)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, NotLoggedIn):
        return "this profile is not logged in to a server"
    if isinstance(exc, OfflineError):
        return "this profile works offline"
    return f"the server cannot be reached ({exc})"
