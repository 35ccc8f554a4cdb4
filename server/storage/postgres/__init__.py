"""The PostgreSQL backend: the server's store shared by several server processes.

``PostgresStorage`` implements ``server.storage.Storage`` by composing one class per aggregate
(``accounts``, ``events``, ``campaigns``, ``conflicts``, ``audit``, ``contacts``, ``stats``,
``automation``) and
the inter-process ``bus`` (LISTEN/NOTIFY), each running its SQL through ``connection``'s pooled
handle; the schema is ``migrations``. Driver: psycopg 3, synchronous, with ``psycopg_pool``: the
storage protocols are synchronous and called from the writer's and readers' threads, which a
pool of blocking connections serves directly (an asyncio driver would need a loop of its own in
each of those threads, or every call bounced through one).

Coordination between processes is PostgreSQL's own: ``ON CONFLICT`` keys for exactly-once
events, one advisory lock taken by every numbered commit (commit seqs, the campaign log and
campaign merges in one order), row locks for contacts, NOTIFY for live fan-out.
"""

from __future__ import annotations

from .accounts import PostgresAccounts
from .audit import PostgresAudit
from .automation import PostgresAutomation
from .bus import PostgresBus
from .campaigns import PostgresCampaigns
from .conflicts import PostgresConflicts
from .connection import PgSettings, is_postgres_url, migrate, open_pool, redacted, schema_version
from .contacts import PostgresContacts
from .events import PostgresEvents
from .migrations import LATEST, MIGRATIONS
from .stats import PostgresStats

__all__ = [
    "LATEST",
    "MIGRATIONS",
    "PgSettings",
    "PostgresStorage",
    "is_postgres_url",
    "migrate",
    "open_postgres",
    "redacted",
    "schema_version",
]


class PostgresStorage(
    PostgresAccounts,
    PostgresEvents,
    PostgresCampaigns,
    PostgresConflicts,
    PostgresAudit,
    PostgresContacts,
    PostgresStats,
    PostgresAutomation,
    PostgresBus,
):
    """The ``Storage`` protocol on one PostgreSQL database, through a pool of connections."""

    def reader(self) -> PostgresStorage:
        """Another handle on the same pool, for another thread."""
        return PostgresStorage(self.settings, self.pool, owns_pool=False)

    @property
    def location(self) -> str:
        return redacted(self.settings.conninfo)


def open_postgres(url: str, *, serving: bool = False) -> PostgresStorage:
    """The database at ``url`` (migrated as needed; ``SchemaTooNew`` if it is ahead of this
    version). ``serving`` is accepted for the common signature: a pool serves every thread."""
    settings = PgSettings.from_url(url)
    migrate(settings)
    return PostgresStorage(settings, open_pool(settings), owns_pool=True)
