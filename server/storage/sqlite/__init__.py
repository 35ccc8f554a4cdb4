"""The embedded SQLite backend (WAL): the server's store in one file in its data directory.

``SQLiteStorage`` implements ``server.storage.Storage`` by composing one class per aggregate
(``accounts``, ``events``, ``campaigns``, ``conflicts``, ``audit``, ``contacts``, ``stats``),
each running its SQL on the handle of ``connection``; the schema is ``migrations``. Only this
package knows SQLite: the rest of the server opens its store with
``server.storage.open_storage``.
"""

from __future__ import annotations

from pathlib import Path

from .accounts import SQLiteAccounts
from .audit import SQLiteAudit
from .campaigns import SQLiteCampaigns
from .conflicts import SQLiteConflicts
from .connection import DB_FILENAME
from .contacts import SQLiteContacts
from .events import SQLiteEvents, pack_payload
from .migrations import migrations
from .stats import SQLiteStats

__all__ = ["DB_FILENAME", "SQLiteStorage", "migrations", "open_sqlite", "pack_payload"]


class SQLiteStorage(
    SQLiteAccounts,
    SQLiteEvents,
    SQLiteCampaigns,
    SQLiteConflicts,
    SQLiteAudit,
    SQLiteContacts,
    SQLiteStats,
):
    """The ``Storage`` protocol on one SQLite file."""

    def reader(self) -> SQLiteStorage:
        """A second handle on the same file, for the reader thread."""
        return SQLiteStorage(self.data_dir)


def open_sqlite(data_dir: Path, *, serving: bool = False) -> SQLiteStorage:
    """The store in ``data_dir`` (created and migrated as needed). ``serving``: the handle a
    running server writes through, whose WAL checkpoints run off the committing thread."""
    return SQLiteStorage(data_dir, checkpoint_in_background=serving)
