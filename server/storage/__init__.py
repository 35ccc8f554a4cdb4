"""The server's store behind one interface: ``open_storage`` gives a ``Storage``.

``Storage`` (``base``) composes one protocol per aggregate (``AccountStore``, ``EventStore``,
``ReportReads``, ``CampaignStore``, ``ConflictStore``, ``AuditStore``, ``ContactStore``,
``StatsStore``); the values crossing it are in ``rows``. Backends live in subpackages
(``sqlite``); callers never name one.
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    AccountStore,
    AuditStore,
    CampaignStore,
    ConflictStore,
    ContactStore,
    EventStore,
    ReportReads,
    StatsStore,
    Storage,
)
from .rows import (
    AuditEntry,
    CampaignRow,
    ContactRow,
    DataVersion,
    DeviceAuth,
    LoggedUpdate,
    UserRow,
    UserSummary,
)

__all__ = [
    "AccountStore",
    "AuditEntry",
    "AuditStore",
    "CampaignRow",
    "CampaignStore",
    "ConflictStore",
    "ContactRow",
    "ContactStore",
    "DataVersion",
    "DeviceAuth",
    "EventStore",
    "LoggedUpdate",
    "ReportReads",
    "StatsStore",
    "Storage",
    "UserRow",
    "UserSummary",
    "open_storage",
]


def open_storage(data_dir: Path | str, *, serving: bool = False) -> Storage:
    """Open (creating and migrating as needed) the server's store kept in ``data_dir``: the
    embedded SQLite backend. ``serving``: this is the handle a running server writes through
    (backends may move housekeeping off the committing thread); readers come from its
    ``reader()``. The backend is imported here, on first use, not with this package."""
    from .sqlite import open_sqlite

    return open_sqlite(Path(data_dir), serving=serving)
