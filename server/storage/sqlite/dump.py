"""Whole tables in and out of a SQLite store, for ``server.storage.copy`` (SQLite <-> PostgreSQL).

Rows cross as tuples in the column order asked for, in batches, so a large store streams.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from . import SQLiteStorage


def tables(storage: SQLiteStorage) -> dict[str, list[str]]:
    """Every table of the store (not SQLite's or the migrations' own) and its columns."""
    names = [
        r[0]
        for r in storage.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name"
        )
    ]
    return {n: [c[1] for c in storage.db.execute(f'PRAGMA table_info("{n}")')] for n in names}


def export_rows(
    storage: SQLiteStorage, table: str, columns: list[str], batch: int = 10_000
) -> Iterator[list[tuple]]:
    cols = ", ".join(f'"{c}"' for c in columns)
    cursor = storage.db.conn.execute(f'SELECT {cols} FROM "{table}"')
    while rows := cursor.fetchmany(batch):
        yield [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]


def import_rows(
    storage: SQLiteStorage, table: str, columns: list[str], batches: Iterable[list[tuple]]
) -> int:
    cols = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    done = 0
    with storage.transaction():
        for rows in batches:
            storage.db.conn.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', rows)
            done += len(rows)
    return done


def count(storage: SQLiteStorage, table: str) -> int:
    return storage.db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def after_import(storage: SQLiteStorage, tables: list[str]) -> None:
    """Nothing to do: AUTOINCREMENT follows the largest id inserted."""
