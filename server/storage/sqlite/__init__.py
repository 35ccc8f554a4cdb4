"""The embedded SQLite backend (WAL): the server's store in one file in its data directory.

``SQLiteStorage`` implements ``server.storage.Storage`` by composing one class per aggregate
(``accounts``, ``events``, ``campaigns``, ``conflicts``, ``audit``, ``contacts``, ``stats``,
``automation``),
each running its SQL on the handle of ``connection``; the schema is ``migrations``. Only this
package knows SQLite: the rest of the server opens its store with
``server.storage.open_storage``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from ..payloads import pack_payload
from .accounts import SQLiteAccounts
from .audit import SQLiteAudit
from .automation import SQLiteAutomation
from .campaigns import SQLiteCampaigns
from .conflicts import SQLiteConflicts
from .connection import DB_FILENAME, connect, refuse_newer_schema
from .contacts import SQLiteContacts
from .events import SQLiteEvents
from .migrations import migrations
from .stats import SQLiteStats

__all__ = [
    "DB_FILENAME",
    "SQLiteStorage",
    "migrate_dir",
    "migrations",
    "open_sqlite",
    "pack_payload",
]


class SQLiteStorage(
    SQLiteAccounts,
    SQLiteEvents,
    SQLiteCampaigns,
    SQLiteConflicts,
    SQLiteAudit,
    SQLiteContacts,
    SQLiteStats,
    SQLiteAutomation,
):
    """The ``Storage`` protocol on one SQLite file."""

    #: one server process serves a SQLite file: nothing to announce to others
    shared = False

    def reader(self) -> SQLiteStorage:
        """A second handle on the same file, for the reader thread."""
        return SQLiteStorage(self.data_dir)

    @property
    def location(self) -> str:
        return str(self.data_dir)

    def reachable(self, timeout_s: float = 2.0) -> bool:
        """A local file: reachable while it can be read (on a connection of its own: this
        handle may be busy on another thread)."""
        try:
            conn = sqlite3.connect(self.path, timeout=timeout_s)
        except sqlite3.Error:
            return False
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return True
        except sqlite3.Error:
            return False
        finally:
            conn.close()

    def announce(self, message: str) -> None:
        return None

    def listen(
        self, on_message: Callable[[str], None], on_gap: Callable[[], None] | None = None
    ) -> None:
        return None


def migrate_dir(data_dir: Path) -> tuple[list[str], str]:
    """Apply the migrations the file in ``data_dir`` lacks (creating it); their names, and the
    newest migration this version knows."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(connect(data_dir / DB_FILENAME))
    try:
        refuse_newer_schema(db, data_dir / DB_FILENAME)
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
        known = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]
        return pending, known[-1]
    finally:
        db.close()


def open_sqlite(
    data_dir: Path, *, serving: bool = False, synchronous: str = "NORMAL"
) -> SQLiteStorage:
    """The store in ``data_dir`` (created and migrated as needed). ``serving``: the handle a
    running server writes through, whose WAL checkpoints run off the committing thread;
    ``synchronous``: its commits' durability (NORMAL or FULL, ``connection.SYNCHRONOUS_MODES``)."""
    return SQLiteStorage(data_dir, checkpoint_in_background=serving, synchronous=synchronous)
