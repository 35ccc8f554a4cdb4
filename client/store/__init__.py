"""The local replica (SQLite via sqlite-utils): no Qt, no network."""

from .errors import InvalidInput, NotFound, StoreError
from .replica import DB_FILENAME, CaptureResult, Changes, Replica

__all__ = [
    "DB_FILENAME",
    "CaptureResult",
    "Changes",
    "InvalidInput",
    "NotFound",
    "Replica",
    "StoreError",
]
