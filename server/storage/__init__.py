"""The server's store behind one interface: ``open_storage`` gives a ``Storage``.

``Storage`` (``base``) composes one protocol per aggregate (``AccountStore``, ``EventStore``,
``ReportReads``, ``CampaignStore``, ``ConflictStore``, ``AuditStore``, ``ContactStore``,
``StatsStore``), and the ``CommitBus`` between processes sharing a store; the values crossing
it are in ``rows``. Backends live in subpackages (``sqlite``, ``postgres``); callers never name
one: ``open_storage`` picks it from where the store is, a data directory (SQLite, the default)
or a ``postgresql://`` URL.
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    AccountStore,
    AuditStore,
    AutomationStore,
    CampaignStore,
    CommitBus,
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
    DeviceSummary,
    EnrolmentRow,
    LoggedUpdate,
    SendRow,
    SmtpRow,
    UserRow,
    UserSummary,
)

__all__ = [
    "AccountStore",
    "CommitBus",
    "AuditEntry",
    "AuditStore",
    "AutomationStore",
    "CampaignRow",
    "CampaignStore",
    "ConflictStore",
    "ContactRow",
    "ContactStore",
    "DataVersion",
    "DeviceAuth",
    "DeviceSummary",
    "EnrolmentRow",
    "EventStore",
    "LoggedUpdate",
    "ReportReads",
    "SendRow",
    "SmtpRow",
    "StatsStore",
    "Storage",
    "UserRow",
    "UserSummary",
    "Location",
    "is_database_url",
    "migrate_store",
    "open_storage",
]

#: where a store may be: a data directory, or a database URL
Location = Path | str


def is_database_url(location: Location | None) -> bool:
    """Whether ``location`` is a database URL (``scheme://...``) rather than a directory."""
    return isinstance(location, str) and "://" in location


def open_storage(
    location: Location, *, serving: bool = False, durability: str = "NORMAL"
) -> Storage:
    """Open (creating and migrating as needed) the server's store at ``location``: a data
    directory (the embedded SQLite backend) or a ``postgresql://`` URL. ``serving``: this is
    the handle a running server writes through (backends may move housekeeping off the
    committing thread); readers come from its ``reader()``. A backend is imported here, on
    first use, not with this package. Raises ``SchemaTooNew`` for a store migrated by a newer
    version, ``BadLocation`` for a URL of no backend this server has. ``durability``: SQLite's
    synchronous mode for the serving handle, NORMAL or FULL (PostgreSQL keeps its own
    ``synchronous_commit``)."""
    if is_database_url(location):
        from .errors import BadLocation

        scheme = str(location).split("://", 1)[0]
        if scheme not in ("postgresql", "postgres"):
            raise BadLocation(f"no storage backend for {scheme}:// URLs (postgresql:// only)")
        from .postgres import open_postgres

        return open_postgres(str(location), serving=serving)
    from .sqlite import open_sqlite

    return open_sqlite(Path(location), serving=serving, synchronous=durability)


def migrate_store(location: Location) -> dict[str, object]:
    """Apply the migrations the store at ``location`` lacks; what was applied and the schema
    it is at now. Raises ``SchemaTooNew`` for a store migrated by a newer version."""
    if is_database_url(location):
        from .postgres import LATEST, PgSettings, migrate, redacted

        settings = PgSettings.from_url(str(location))
        applied = migrate(settings)
        return {
            "backend": "postgresql",
            "store": redacted(settings.conninfo),
            "applied": applied,
            "schema": LATEST,
        }
    from .sqlite import migrate_dir

    applied, latest = migrate_dir(Path(location))
    return {"backend": "sqlite", "store": str(location), "applied": applied, "schema": latest}
