"""The local replica (SQLite via sqlite-utils): no Qt, no network."""

from .errors import InvalidInput, NotFound, StoreError
from .replica import DB_FILENAME, CaptureResult, Changes, Replica
from .report_snapshots import (
    LocalEvent,
    ReportSnapshot,
    events_not_in_snapshot,
    report_snapshot,
    save_report_snapshot,
)
from .run_views import CachedRunView, run_view, save_run_view

__all__ = [
    "DB_FILENAME",
    "CachedRunView",
    "CaptureResult",
    "Changes",
    "InvalidInput",
    "LocalEvent",
    "NotFound",
    "Replica",
    "ReportSnapshot",
    "StoreError",
    "events_not_in_snapshot",
    "report_snapshot",
    "run_view",
    "save_report_snapshot",
    "save_run_view",
]
