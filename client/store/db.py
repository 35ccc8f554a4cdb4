"""Opening the replica's SQLite file: WAL, pragmas, and the schema migrations.

One file per profile. Every migration runs in its own transaction (sqlite-utils ``Migrations``,
in ``client.store.migrations``). The file's ``user_version`` records the schema it is at, so a
current file opens without importing sqlite-utils: the headless CLI starts in well under 0.2 s.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import StoreError

#: the number of migrations in ``client.store.migrations``; a file at this version is current
SCHEMA_VERSION = 6


class Database:
    """The replica's connection: plain SQL, and ``atomic()`` for transactions that nest as
    savepoints. Used from one thread at a time (the store's callers serialise access)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, parameters)

    def executescript(self, script: str) -> sqlite3.Cursor:
        return self.conn.executescript(script)

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        """One transaction; inside another, a savepoint that rolls back alone."""
        if self.conn.in_transaction:
            name = f"replica_{secrets.token_hex(8)}"
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:  # an error may have ended the whole transaction
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    self.conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        self.conn.execute("BEGIN")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()


def _make_private(path: Path) -> None:
    """The replica holds the org's contacts and campaigns: a new profile directory is made 0700
    and the file 0600 before SQLite opens it (its ``-wal`` and ``-shm`` files take the file's
    mode); an existing file readable by others is made 0600."""
    import os

    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(path.parent, 0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if file.stat().st_mode & 0o077:
                os.chmod(file, 0o600)


def open_database(path: Path) -> Database:
    """Open (creating if needed) and migrate the replica at ``path``."""
    _make_private(path)
    try:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA cache_size=-65536")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"the local store {path} was written by a newer WedSync (schema {version}, "
                f"this version knows {SCHEMA_VERSION}); upgrade the app"
            )
        if version < SCHEMA_VERSION:
            from . import migrations

            migrations.apply(conn)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db = Database(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open the local store {path}: {exc}") from exc
    return db
