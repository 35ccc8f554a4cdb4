"""Backup and restore of a data directory's SQLite file, with SQLite's online backup API.

``backup_file`` copies the whole database in one step of the backup API, inside one read
transaction: a snapshot as of one commit, taken while the server goes on committing (in WAL
mode a reader blocks no writer). The copy is written beside its target, checked
(``PRAGMA integrity_check``), synced and only then renamed to the target, so a backup file is
either whole or absent.

``restore_file`` checks a backup (a WedSync server store this version can read) and copies it
over the data directory's file through the same API, which rewrites the live file and its
write-ahead log consistently; the file it replaces is kept first as a backup of its own. The
caller holds the data directory (no server running: ``server.serving_lock``) and has started a
new log epoch (``server.log_epoch``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from ..errors import StorageError
from .connection import DB_FILENAME, connect, refuse_newer_schema
from .migrations import migrations


class BackupError(StorageError):
    """A backup could not be written, or a file to restore is not a usable backup."""

    code = "backup_failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def backup_file(data_dir: Path, target: Path) -> dict[str, object]:
    """Copy the store of ``data_dir`` to the new file ``target`` (consistent while a server
    writes); what was copied."""
    source_path = Path(data_dir) / DB_FILENAME
    if not source_path.exists():
        raise BackupError(f"no server store in {data_dir} (no {DB_FILENAME})")
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} exists; give a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # pages=-1: every page in one step, one snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            summary = _summary(copy)
        finally:
            copy.close()
    finally:
        source.close()
    _fsync(partial)
    os.replace(partial, target)
    _fsync(target.parent)
    return {"file": str(target), "bytes": target.stat().st_size, **summary}


def check_backup(path: Path) -> dict[str, object]:
    """What a backup file holds; ``BackupError`` unless it is a whole WedSync server store that
    this version can run on."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be opened: {exc}") from None
    try:
        db = sqlite_utils.Database(conn)
        if (
            not db["_sqlite_migrations"].exists()
            or not db.execute(
                "SELECT 1 FROM _sqlite_migrations WHERE migration_set = ?", (migrations.name,)
            ).fetchone()
        ):
            raise BackupError(f"{path} is not a WedSync server store")
        refuse_newer_schema(db, path)
        return _summary(conn)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database ({exc})") from None
    finally:
        conn.close()


def restore_file(data_dir: Path, source: Path, *, keep_previous_as: Path) -> dict[str, object]:
    """Replace the store of ``data_dir`` by the backup ``source``; the store it had is copied
    to ``keep_previous_as`` first (when there was one)."""
    held = check_backup(source)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    live_path = data_dir / DB_FILENAME
    kept = None
    if live_path.exists():
        backup_file(data_dir, keep_previous_as)
        kept = str(keep_previous_as)
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        live = connect(live_path)
        try:
            backup.backup(live)
            live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            live.close()
    finally:
        backup.close()
    return {"restored": held, "previous_kept_as": kept}


def _summary(conn: sqlite3.Connection) -> dict[str, object]:
    check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if check != "ok":
        raise BackupError(f"the copy failed SQLite's integrity check: {check}")

    def count(sql: str) -> int:
        try:
            return conn.execute(sql).fetchone()[0] or 0
        except sqlite3.OperationalError:  # a table this store does not have yet
            return 0

    return {
        "events": count("SELECT count(*) FROM events"),
        "campaigns": count("SELECT count(*) FROM campaigns"),
        "last_change_seq": count("SELECT max(seq) FROM campaign_updates"),
    }


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
