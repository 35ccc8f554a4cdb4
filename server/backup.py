"""`wedsync admin backup` and `wedsync admin restore`: a data directory's store to a file and
back, with a new log epoch after each restore (``server.log_epoch``).

A backup runs while the server serves (SQLite's online backup API: one consistent snapshot).
A restore needs the server stopped: it takes the data directory's lock (``server.serving_lock``)
and refuses while a server holds it. It checks the file first, then starts a new epoch, then
replaces the store, keeping the store it replaces beside it. PostgreSQL stores are backed up
with PostgreSQL's own tools (docs/operations.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from . import log_epoch, serving_lock
from .cli import store_location
from .errors import BadRequest


def _data_dir(args: argparse.Namespace, what: str) -> Path:
    location = store_location(args)
    if not isinstance(location, Path):
        raise BadRequest(
            f"{what} works on a data directory (SQLite); back up PostgreSQL with pg_dump and "
            "restore with pg_restore (docs/operations.md)"
        )
    return location


def backup_command(args: argparse.Namespace) -> dict[str, Any]:
    from .storage.sqlite.backup import backup_file

    data_dir = _data_dir(args, "backup")
    done = backup_file(data_dir, args.to)
    return {**done, "log_epoch": log_epoch.load_or_create(data_dir).epoch}


def restore_command(args: argparse.Namespace) -> dict[str, Any]:
    from .storage.sqlite.backup import DB_FILENAME, check_backup, restore_file

    data_dir = _data_dir(args, "restore")
    source = Path(args.source).resolve()
    with serving_lock.hold(data_dir, purpose="restore"):
        check_backup(source)  # before anything changes
        at_ms = time.time_ns() // 1_000_000
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(at_ms / 1000))
        epoch = log_epoch.start_new(data_dir, at_ms=at_ms, restored_from=str(source))
        done = restore_file(
            data_dir, source, keep_previous_as=data_dir / f"{DB_FILENAME}.before-restore-{stamp}"
        )
    return {**done, "log_epoch": epoch.epoch, "data_dir": str(data_dir)}


def human_backup(result: dict[str, Any]) -> str:
    return (
        f"backed up to {result['file']} ({result['bytes']:,} bytes): {result['events']:,} "
        f"events, {result['campaigns']:,} campaigns, change log up to {result['last_change_seq']}"
    )


def human_restore(result: dict[str, Any]) -> str:
    held = result["restored"]
    kept = result["previous_kept_as"]
    return "\n".join(
        [
            f"restored {result['data_dir']}: {held['events']:,} events, {held['campaigns']:,} "
            f"campaigns, change log up to {held['last_change_seq']}",
            f"new log epoch {result['log_epoch']}: devices that synced after the backup re-pull "
            "their campaigns by state vector on their next sync",
            f"the store it replaced: {kept}" if kept else "there was no store before",
        ]
    )


backup_command.human = human_backup  # type: ignore[attr-defined]
restore_command.human = human_restore  # type: ignore[attr-defined]
