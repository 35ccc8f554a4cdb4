"""Copy a whole server store to another backend: SQLite to PostgreSQL when an organisation
outgrows one machine, and back for a local analysis copy (`wedsync admin copy`).

Both stores are opened (so migrated to this version's schema) and every table is copied as it
is, ids, commit seqs and update-log seqs included: devices' tokens, change cursors and event
ids stay valid against the copy. The target must be empty. Afterwards the copy is verified: every
table's row count, and every campaign's state and snapshot, must equal the source's; the answer
says what was copied and what was checked. Nothing may write to the source meanwhile (stop its
server): the copy is of one moment only if nothing moves.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

from . import Location, is_database_url, open_storage
from .base import Storage
from .errors import StorageError

#: tables kept apart from the copy: each store's own bookkeeping
SKIPPED = frozenset({"wedsync_schema", "_sqlite_migrations", "sqlite_sequence"})
#: copied first, in this order: the tables others refer to by foreign key
FIRST = ("orgs", "users")


class CopyError(StorageError):
    code = "copy_failed"


def _dump(location: Location) -> ModuleType:
    if is_database_url(location):
        from .postgres import dump
    else:
        from .sqlite import dump
    return dump


def copy_store(source: Location, target: Location) -> dict[str, Any]:
    started = time.perf_counter()
    src, dst = open_storage(source), open_storage(target)
    try:
        src_dump, dst_dump = _dump(source), _dump(target)
        src_tables, dst_tables = src_dump.tables(src), dst_dump.tables(dst)
        rest = sorted(set(src_tables) - SKIPPED - set(FIRST))
        names = [n for n in FIRST if n in src_tables] + rest
        missing = [n for n in names if n not in dst_tables]
        if missing:
            raise CopyError(f"the target has no table {', '.join(missing)}: versions differ")
        busy = {n: dst_dump.count(dst, n) for n in names if dst_dump.count(dst, n)}
        if busy:
            raise CopyError(
                "the target is not empty ("
                + ", ".join(f"{n}: {c} rows" for n, c in sorted(busy.items()))
                + "); copy into a new database or data directory"
            )
        copied: dict[str, int] = {}
        for name in names:
            columns = src_tables[name]
            if sorted(columns) != sorted(dst_tables[name]):
                raise CopyError(f"table {name} has other columns in the target: versions differ")
            copied[name] = dst_dump.import_rows(
                dst, name, columns, src_dump.export_rows(src, name, columns)
            )
        dst_dump.after_import(dst, names)
        checked = verify(src, dst, src_dump, dst_dump, names)
    finally:
        src.close()
        dst.close()
    return {
        "from": src.location,
        "to": dst.location,
        "rows": copied,
        "verified": checked,
        "seconds": round(time.perf_counter() - started, 2),
    }


def verify(
    src: Storage, dst: Storage, src_dump: ModuleType, dst_dump: ModuleType, names: list[str]
) -> dict[str, Any]:
    """Raise ``CopyError`` unless every table's count and every campaign match."""
    for name in names:
        a, b = src_dump.count(src, name), dst_dump.count(dst, name)
        if a != b:
            raise CopyError(f"table {name}: {a} rows in the source, {b} in the copy")
    campaigns = 0
    for org in src.org_names():
        org_id = src.org_id(org)
        if dst.org_id(org) != org_id:
            raise CopyError(f"organisation {org!r} is missing from the copy")
        theirs = {c.id: c for c in dst.campaigns(org_id)}
        for row in src.campaigns(org_id):
            copy = theirs.get(row.id)
            if copy is None or copy.state != row.state or copy.snapshot != row.snapshot:
                raise CopyError(f"campaign {row.id} differs in the copy")
            campaigns += 1
        if src.updates_after(org_id, 0) != dst.updates_after(org_id, 0):
            raise CopyError(f"organisation {org!r}: the campaign update log differs")
        if src.data_version(org_id) != dst.data_version(org_id):
            raise CopyError(f"organisation {org!r}: commits differ")
    if src.stats() != dst.stats():
        raise CopyError("the stores' counts differ after the copy")
    return {"tables": len(names), "campaigns": campaigns, "events": dst.stats()["events"]["total"]}
