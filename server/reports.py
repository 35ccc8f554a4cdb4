"""Business-intelligence reports from the server's store (the ROI report).

Reports run on their own thread with their own read connection, so a report never delays sync.
The columnar event frame of an org is built once and kept with the commit sequence number it
includes. The report service is a commit listener (``server.commits``): the writer hands it
every commit (after the commit, before the acks) and it notes the commit's new events per org;
the next report appends the events of the commits since the frame's (``EventFrame.append``)
instead of reading every event again. The frame is rebuilt from the store when a commit since
is unknown (another process wrote: ``wedsync seed-demo``, the admin CLI) or its events are not
known (duplicates in a batch, events stored without a declaration). The frame holds events
only: campaign changes never rebuild it (the report reads campaigns anew each time).

Reports of different orgs take turns (``server.fair``): one org asking for thirty reports at
once delays another org's report by at most one report, and waits itself beyond
``reports_queued_per_org`` (503). Identical requests in flight (same org and window) share one
computation.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.analytics import EventFrame, build_roi_report
from shared.analytics.series import revenue_series
from shared.protocol.events import (
    WIRE_CAMPAIGN,
    WIRE_CHANNEL,
    WIRE_CONTACT,
    WIRE_ID,
    WIRE_KIND,
    WIRE_OCCURRED_AT_MS,
    WIRE_PAYLOAD,
    WIRE_VALUE_CENTS,
)

from .commits import Commit
from .fair import TURN
from .storage import Storage

#: Events of recent commits kept for appends; beyond this many the oldest commits are dropped
#: (a frame older than the oldest kept commit is rebuilt).
LOG_MAX_EVENTS = 200_000

T = TypeVar("T")

#: One commit's new events by org; None for the commit or for one org: not known, rebuild.
_Entry = dict[str, tuple[list[Any], ...] | None] | None


@dataclass
class _Cached:
    version: int  # the last commit whose events the frame includes
    frame: EventFrame


def _frame_row(event: list[Any]) -> tuple:
    """A frame row (``EventFrame.from_rows``: the wire fields but the clock) from a wire array."""
    return (
        event[WIRE_ID],
        event[WIRE_KIND],
        event[WIRE_OCCURRED_AT_MS],
        event[WIRE_CONTACT],
        event[WIRE_CAMPAIGN],
        event[WIRE_CHANNEL],
        event[WIRE_VALUE_CENTS],
        event[WIRE_PAYLOAD] or {},
    )


class ReportService:
    def __init__(self, storage: Storage, executor: Executor | None = None) -> None:
        """``storage``: a handle of its own (a ``reader()``), closed with the service;
        ``executor``: runs the reports on one thread (the server passes a ``FairExecutor``)."""
        self._storage = storage
        self._executor = executor or ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="wedsync-reports"
        )
        self._pending: dict[tuple, asyncio.Future] = {}  # identical requests in flight
        self._frames: dict[str, _Cached] = {}
        self._log: dict[int, _Entry] = {}  # commit seq -> its new events by org
        self._log_events = 0
        self._lock = threading.Lock()  # held briefly: _frames and _log
        self._build = threading.Lock()  # one frame build at a time
        self.stats = {"rebuilt": 0, "appended": 0}

    def committed(self, commit: Commit) -> None:
        """Note a commit's new events (a commit listener: called on the loop, before acks)."""
        entry: _Entry = None
        if commit.events_known:
            entry = {
                org_id: changes.events
                for org_id, changes in commit.orgs.items()
                if changes.events is None or changes.events
            }
        with self._lock:
            if not self._frames:
                return  # nothing to bring up to date: the first report reads the store
            self._log[commit.seq] = entry
            self._log_events += sum(len(e) for e in (entry or {}).values() if e)
            while self._log_events > LOG_MAX_EVENTS and self._log:
                self._drop(min(self._log))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._storage.close()

    async def roi(self, org_id: str, *, from_ms: int | None, to_ms: int | None) -> dict[str, Any]:
        key = (org_id, from_ms, to_ms)
        pending = self._pending.get(key)
        if pending is None:
            TURN.set(org_id)  # in the org's turn
            loop = asyncio.get_running_loop()
            pending = loop.run_in_executor(self._executor, self.roi_sync, org_id, from_ms, to_ms)
            self._pending[key] = pending
            pending.add_done_callback(lambda _f: self._pending.pop(key, None))
        return await asyncio.shield(pending)

    async def with_frame(self, org_id: str, fn: Callable[[EventFrame], T]) -> T:
        """``fn(frame)`` on the report thread, in the org's turn, with the org's event frame
        (brought up to date first): per-contact views read the same events as the reports."""
        TURN.set(org_id)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self.frame(org_id)))

    def _drop(self, seq: int) -> None:
        entry = self._log.pop(seq)
        self._log_events -= sum(len(e) for e in (entry or {}).values() if e)

    def _since(self, org_id: str, version: int, to: int) -> list[list[Any]] | None:
        """The org's new events of commits ``version + 1 .. to``; None if one is not known."""
        events: list[list[Any]] = []
        for seq in range(version + 1, to + 1):
            entry = self._log.get(seq)
            if entry is None or org_id in entry and entry[org_id] is None:
                return None
            events.extend(entry.get(org_id) or ())
        return events

    def frame(self, org_id: str) -> EventFrame:
        with self._build:
            version = self._storage.data_version(org_id)[0]  # commits: events, not campaigns
            with self._lock:
                cached = self._frames.get(org_id)
                if cached is not None and cached.version >= version:
                    return cached.frame
                new = None if cached is None else self._since(org_id, cached.version, version)
            if new is not None:
                frame = cached.frame.append(list(map(_frame_row, new)))
                self.stats["appended"] += 1
            else:
                storage = self._storage
                with storage.snapshot():  # the version and the rows of one state
                    version = storage.data_version(org_id)[0]
                    rows = list(storage.event_rows(org_id, None, None))
                frame = EventFrame.from_rows(rows)
                self.stats["rebuilt"] += 1
            with self._lock:
                self._frames[org_id] = _Cached(version, frame)
                oldest = min(c.version for c in self._frames.values())
                for seq in [s for s in self._log if s <= oldest]:
                    self._drop(seq)
            return frame

    def roi_sync(
        self,
        org_id: str,
        from_ms: int | None,
        to_ms: int | None,
        *,
        truth: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        frame = self.frame(org_id)
        campaigns = [{"id": row.id, **row.snapshot} for row in self._storage.campaigns(org_id)]
        lo, hi = self._storage.event_time_range(org_id)
        start = from_ms if from_ms is not None else (lo if lo is not None else 0)
        end = to_ms if to_ms is not None else ((hi + 1) if hi is not None else start + 1)
        report = build_roi_report(frame, from_ms=start, to_ms=end, campaigns=campaigns, truth=truth)
        report.setdefault("window", {"from_ms": start, "to_ms": end})
        # revenue and conversions per day (week, month) for the app's and the web page's charts
        report["series"] = revenue_series(frame, from_ms=start, to_ms=end)
        return report
