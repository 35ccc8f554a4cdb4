"""The local replica (SQLite via sqlite-utils): no Qt, no network."""

from .errors import InvalidInput, NotFound, StoreError
from .replica import DB_FILENAME, CaptureResult, Changes, Replica
from .run_views import CachedRunView, run_view, save_run_view

__all__ = [
    "DB_FILENAME",
    "CachedRunView",
    "CaptureResult",
    "Changes",
    "InvalidInput",
    "NotFound",
    "Replica",
    "StoreError",
    "run_view",
    "save_run_view",
]
