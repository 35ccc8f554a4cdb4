"""Business-intelligence reports from the server's store (the ROI report).

Reports run on their own thread with their own read connection, so a report never delays sync.
The columnar event frame of an org is built once per data version (the writer's last commit and
the last campaign update) and reused until new data arrives.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from shared.analytics import EventFrame, build_roi_report

from .storage import SQLiteStorage


@dataclass
class _Cached:
    version: tuple[int, int]
    frame: EventFrame


class ReportService:
    def __init__(self, storage: SQLiteStorage) -> None:
        self._storage = storage
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wedsync-reports")
        self._frames: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._storage.close()

    async def roi(self, org_id: str, *, from_ms: int | None, to_ms: int | None) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.roi_sync, org_id, from_ms, to_ms)

    def frame(self, org_id: str) -> EventFrame:
        version = self._storage.data_version(org_id)
        with self._lock:
            cached = self._frames.get(org_id)
            if cached is None or cached.version != version:
                frame = EventFrame.from_rows(list(self._storage.event_rows(org_id, None, None)))
                cached = self._frames[org_id] = _Cached(version, frame)
        return cached.frame

    def roi_sync(self, org_id: str, from_ms: int | None, to_ms: int | None) -> dict[str, Any]:
        frame = self.frame(org_id)
        campaigns = [{"id": row.id, **row.snapshot} for row in self._storage.campaigns(org_id)]
        lo, hi = self._storage.event_time_range(org_id)
        start = from_ms if from_ms is not None else (lo if lo is not None else 0)
        end = to_ms if to_ms is not None else ((hi + 1) if hi is not None else start + 1)
        report = build_roi_report(frame, from_ms=start, to_ms=end, campaigns=campaigns)
        report.setdefault("window", {"from_ms": start, "to_ms": end})
        return report
