"""One handle on the server's SQLite file (WAL): its connection, transactions, checkpoints.

A handle is used from one thread at a time: the writer's handle only from the writer thread, a
reader's (``SQLiteStorage.reader()``) only from the reader thread, so long reports never block
ingest. ``transaction()`` nests as savepoints (sqlite-utils ``atomic``): the outermost block
commits, an inner one that raises rolls back alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from ..errors import SchemaTooNew
from .migrations import migrations

log = logging.getLogger(__name__)
DB_FILENAME = "server.sqlite"


#: SQLite's synchronous modes the server offers (``--durability``): NORMAL, WAL's default for
#: speed, loses nothing to a killed process but may lose the last commits to a power cut;
#: FULL syncs the log at every commit and loses nothing to either
SYNCHRONOUS_MODES = ("NORMAL", "FULL")


def connect(path: Path, synchronous: str = "NORMAL") -> sqlite3.Connection:
    if synchronous not in SYNCHRONOUS_MODES:
        raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}")
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA cache_size=-131072")
    return conn


def make_private(data_dir: Path, path: Path) -> None:
    """The store holds every org's data and the password hashes: a new data directory is made
    0700 and the database file 0600 before SQLite opens it (SQLite gives the ``-wal`` and
    ``-shm`` files the database file's mode); an existing database file readable by others is
    made 0600 too. An existing directory is left as it is (it may be one the operator chose)."""
    if not data_dir.exists():
        data_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(data_dir, 0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if file.stat().st_mode & 0o077:
                os.chmod(file, 0o600)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Checkpointer:
    """Copies the write-ahead log back into the database on its own thread and connection.

    SQLite's automatic checkpoint runs inside whichever commit crosses the threshold, so the
    writer (and every device waiting for an ack) would wait for the copy and its fsyncs. A
    PASSIVE checkpoint never blocks the writer or readers; this one runs after commits, at most
    every ``interval_s``, while the writer goes on. Durability is unchanged: a commit is durable
    once it is in the log, checkpointed or not.
    """

    def __init__(self, path: Path, interval_s: float = 0.05) -> None:
        self._path = path
        self._interval_s = interval_s
        self._wake = threading.Event()
        self._stopping = False
        self.checkpoints = 0
        self._checkpointed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wedsync-checkpoint", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def wait(self, timeout_s: float) -> bool:
        """Wait until a checkpoint has run (since this checkpointer started); False on timeout."""
        return self._checkpointed.wait(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
        try:
            while True:
                self._wake.wait()
                if self._stopping:
                    return
                self._wake.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                    self._checkpointed.set()
                except sqlite3.Error:  # e.g. busy: the next commit nudges again
                    log.warning("background checkpoint failed", exc_info=True)
                time.sleep(self._interval_s)
        finally:
            conn.close()


def refuse_newer_schema(db: sqlite_utils.Database, path: Path) -> None:
    """Raise ``SchemaTooNew`` when the file holds migrations of this set that this version does
    not know: a newer wedsync migrated it, and running on it could misread what that wrote."""
    if not db["_sqlite_migrations"].exists():
        return
    known = {m.name for m in migrations.pending(sqlite_utils.Database(memory=True))}
    applied = [
        r[0]
        for r in db.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (migrations.name,)
        )
    ]
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise SchemaTooNew(str(path), unknown, sorted(known)[-1])


class SQLiteHandle:
    """The connection every aggregate's methods run their SQL on (``self.db``)."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        checkpoint_in_background: bool = False,
        synchronous: str = "NORMAL",
    ) -> None:
        """``checkpoint_in_background``: for the long-running writer (the server), move WAL
        checkpoints off the committing thread (see ``Checkpointer``); ``synchronous``: the
        durability of commits (``SYNCHRONOUS_MODES``)."""
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_FILENAME
        make_private(self.data_dir, self.path)
        self.db = sqlite_utils.Database(connect(self.path, synchronous))
        refuse_newer_schema(self.db, self.path)
        migrations.apply(self.db)
        self._lock = threading.RLock()
        self._depth = 0
        self._checkpointer: Checkpointer | None = None
        if checkpoint_in_background:
            self.db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = Checkpointer(self.path)

    @property
    def checkpointer(self) -> Checkpointer | None:
        """The background checkpointer, when checkpoints run off the committing thread."""
        return self._checkpointer

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            try:
                if self.db.conn.in_transaction:
                    with self.db.atomic():  # a savepoint inside the open transaction
                        yield
                else:
                    with self._immediate():
                        yield
            finally:
                self._depth -= 1
            if self._depth == 0 and self._checkpointer is not None:
                self._checkpointer.nudge()  # committed: the log has grown

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        """The outermost transaction takes the write lock at BEGIN, waiting ``busy_timeout`` for
        another process's writer: a deferred one that read first could not take it later once
        the other writer had committed (SQLITE_BUSY_SNAPSHOT: "database is locked" at once)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        else:
            try:
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.conn.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the file (one read transaction); not for writes."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")
