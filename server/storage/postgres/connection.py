"""Handles on the server's PostgreSQL database: a connection pool, transactions, migrations.

Driver: psycopg 3's synchronous API with ``psycopg_pool``. The storage protocols are synchronous
and called from the writer thread and the reader threads, each on its own handle; a handle
borrows a pooled connection for each statement, or for the whole of a ``transaction()`` or
``snapshot()``, so one pool serves every thread of a process within fixed limits, and a
connection broken by a database restart is checked and replaced on the next borrow (no
acknowledged write is at risk: the server acks only after a commit returned).

``transaction()`` nests: the outermost block is a transaction, inner ones are savepoints that
roll back alone. Commits that must be numbered in one order across server processes (the
writer's, the campaign update log) take ``COMMIT_LOCK``, a transaction-scoped advisory lock (see
``PostgresEvents.begin_commit``).

Settings ride on the URL's query and are taken off before it reaches libpq: ``pool_min``,
``pool_max`` (connections per process, default 2 and 10), ``pool_timeout_s`` (how long a thread
waits for a connection, default 10: with the database down, a batch fails, unacked, after that
long and the device retries later), ``statement_timeout_ms`` (default 30,000: no statement holds
a connection or a lock longer).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import BadLocation, SchemaTooNew, StoreUnavailable
from .migrations import LATEST, MIGRATIONS

log = logging.getLogger(__name__)

#: the advisory lock every numbered commit takes (an arbitrary 63-bit constant of this project)
COMMIT_LOCK = 0x5765_6453_796E_4301
MIGRATE_LOCK = 0x5765_6453_796E_4302
SCHEMES = ("postgresql", "postgres")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class PgSettings:
    conninfo: str  # what libpq gets
    pool_min: int = 2
    pool_max: int = 10
    pool_timeout_s: float = 10.0
    statement_timeout_ms: int = 30_000
    options: str = ""  # the URL's own ``options`` (e.g. a search_path), kept beside ours

    @property
    def commit_lock(self) -> int:
        """``COMMIT_LOCK``, told apart per ``options``: stores in different schemas of one
        database (a search_path in the URL) are different stores, with locks of their own."""
        return COMMIT_LOCK ^ _digest(self.options) if self.options else COMMIT_LOCK

    @property
    def channel(self) -> str:
        """The NOTIFY channel of this store (per schema, like ``commit_lock``)."""
        return f"wedsync_commits_{_digest(self.options):x}" if self.options else "wedsync_commits"

    @classmethod
    def from_url(cls, url: str) -> PgSettings:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise BadLocation(f"{url!r} is not a postgresql:// URL")
        ours: dict[str, str] = {}
        theirs = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key in ("pool_min", "pool_max", "pool_timeout_s", "statement_timeout_ms", "options"):
                ours[key] = value
            else:
                theirs.append((key, value))
        conninfo = urlunsplit(parts._replace(query=urlencode(theirs)))
        try:
            return cls(
                conninfo,
                pool_min=int(ours.get("pool_min", 2)),
                pool_max=int(ours.get("pool_max", 10)),
                pool_timeout_s=float(ours.get("pool_timeout_s", 10)),
                statement_timeout_ms=int(ours.get("statement_timeout_ms", 30_000)),
                options=ours.get("options", ""),
            )
        except ValueError as exc:
            raise BadLocation(f"bad pool or timeout setting in {url!r}: {exc}") from None


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


def is_postgres_url(location: object) -> bool:
    return isinstance(location, str) and location.split("://", 1)[0] in SCHEMES


def redacted(conninfo: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(conninfo)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def connect(settings: PgSettings, *, autocommit: bool = True, timeout_s: int = 10):
    """One connection outside the pool (migrations, LISTEN, readiness checks)."""
    try:
        return psycopg.connect(
            settings.conninfo,
            autocommit=autocommit,
            connect_timeout=timeout_s,
            **_session_options(settings),
        )
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(
            f"cannot reach PostgreSQL at {redacted(settings.conninfo)}: {exc}"
        ) from exc


def _session_options(settings: PgSettings) -> dict[str, Any]:
    return {
        "application_name": "wedsync",
        "options": f"-c statement_timeout={settings.statement_timeout_ms}"
        f" -c idle_in_transaction_session_timeout=60000 {settings.options}".strip(),
    }


def open_pool(settings: PgSettings) -> ConnectionPool:
    pool = ConnectionPool(
        settings.conninfo,
        min_size=settings.pool_min,
        max_size=max(settings.pool_max, settings.pool_min),
        timeout=settings.pool_timeout_s,
        kwargs={"autocommit": True, "connect_timeout": 10, **_session_options(settings)},
        reconnect_timeout=24 * 3600,
        name="wedsync",
        open=False,
    )
    pool.open(wait=False)
    return pool


# ---------------------------------------------------------------------------------- migrations


def schema_version(conn: psycopg.Connection) -> int:
    exists = conn.execute("SELECT to_regclass('wedsync_schema') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM wedsync_schema").fetchone()[0]


def migrate(settings: PgSettings) -> list[str]:
    """Apply the migrations the database lacks, each in its own transaction; their names.
    Raises ``SchemaTooNew`` when the database is ahead of this version."""
    applied: list[str] = []
    with connect(settings) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS wedsync_schema (version integer PRIMARY KEY, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            current = schema_version(conn)
            if current > LATEST:
                raise SchemaTooNew(f"the database {redacted(settings.conninfo)}", current, LATEST)
            for m in MIGRATIONS:
                if m.version <= current:
                    continue
                with conn.transaction():
                    conn.execute(m.sql)
                    conn.execute(
                        "INSERT INTO wedsync_schema (version, name) VALUES (%s, %s)",
                        (m.version, m.name),
                    )
                applied.append(f"{m.version:03d}_{m.name}")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))
    return applied


# --------------------------------------------------------------------------------- the handle


class Result:
    """What a statement returned, kept: its rows (if any) and its row count."""

    def __init__(self, cursor: psycopg.Cursor) -> None:
        self.rowcount = cursor.rowcount
        self._rows = cursor.fetchall() if cursor.description is not None else []

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple]:
        return self._rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._rows)


class PgHandle:
    """What every aggregate's methods run their SQL through: ``_one``, ``_all``, ``_run``.

    One thread at a time per handle; handles made by ``reader()`` share the pool."""

    def __init__(self, settings: PgSettings, pool: ConnectionPool, *, owns_pool: bool) -> None:
        self.settings = settings
        self._pool = pool
        self._owns_pool = owns_pool
        self._conn: psycopg.Connection | None = None
        self._closed = False

    @property
    def pool(self) -> ConnectionPool:
        return self._pool

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        if self._conn is not None:
            yield self._conn
            return
        try:
            for _attempt in range(self.settings.pool_max + 2):
                with self._pool.connection() as conn:
                    try:
                        # a connection a database restart broke fails here, not in the
                        # caller's statement; given back broken, the pool drops and replaces it
                        conn.execute("SELECT 1")
                    except psycopg.OperationalError:
                        continue
                    yield conn
                    return
            raise StoreUnavailable(
                f"PostgreSQL connections keep failing ({redacted(self.settings.conninfo)})"
            )
        except PoolTimeout as exc:
            raise StoreUnavailable(
                f"no PostgreSQL connection within {self.settings.pool_timeout_s:g} s "
                f"({redacted(self.settings.conninfo)})"
            ) from exc

    def _one(self, sql: str, params: Any = None) -> tuple | None:
        with self._connection() as conn:
            return conn.execute(sql, params).fetchone()

    def _all(self, sql: str, params: Any = None) -> list[tuple]:
        with self._connection() as conn:
            return conn.execute(sql, params).fetchall()

    def _run(self, sql: str, params: Any = None) -> int:
        with self._connection() as conn:
            return conn.execute(sql, params).rowcount

    def _exec(self, sql: str, params: Any = None) -> Result:
        """A statement's rows and row count, read before the connection goes back."""
        with self._connection() as conn:
            return Result(conn.execute(sql, params))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._conn is not None:
            with self._conn.transaction():  # a savepoint
                yield
            return
        with self._connection() as conn:
            self._conn = conn
            try:
                with conn.transaction():
                    yield
            finally:
                self._conn = None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the database (REPEATABLE READ, read only)."""
        if self._conn is not None:
            yield
            return
        with self._connection() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None
                conn.execute("COMMIT")

    def reachable(self, timeout_s: float = 2.0) -> bool:
        """Whether the database answers now, on a connection of its own (never waits for the
        pool: a readiness probe must answer while every pooled connection is busy), and the pool
        holds a connection again (after an outage it reconnects with a growing pause: until it
        has one, the server cannot commit)."""
        if self._pool.get_stats().get("pool_size", 0) == 0:
            return False
        try:
            conn = psycopg.connect(
                self.settings.conninfo,
                autocommit=True,
                connect_timeout=max(1, int(timeout_s)),
                **_session_options(self.settings),
            )
        except psycopg.Error:
            return False
        try:
            conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False
        finally:
            conn.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_pool:
            self._pool.close()
