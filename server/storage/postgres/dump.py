"""Whole tables in and out of a PostgreSQL store, for ``server.storage.copy``.

Rows go in by ``COPY ... FROM STDIN`` (identity columns take the copied values) and come out
through a server-side cursor, in batches; after an import each identity sequence is moved past
the largest value copied, so new rows never reuse a copied seq or id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from . import PostgresStorage


def tables(storage: PostgresStorage) -> dict[str, list[str]]:
    rows = storage._all(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name <> 'wedsync_schema' "
        "ORDER BY table_name, ordinal_position"
    )
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def export_rows(
    storage: PostgresStorage, table: str, columns: list[str], batch: int = 10_000
) -> Iterator[list[tuple]]:
    cols = ", ".join(f'"{c}"' for c in columns)
    with storage._connection() as conn, conn.transaction():
        with conn.cursor(name=f"wedsync_dump_{table}") as cur:
            cur.itersize = batch
            cur.execute(f'SELECT {cols} FROM "{table}"')
            while rows := cur.fetchmany(batch):
                yield [tuple(r) for r in rows]


def import_rows(
    storage: PostgresStorage, table: str, columns: list[str], batches: Iterable[list[tuple]]
) -> int:
    cols = ", ".join(f'"{c}"' for c in columns)
    done = 0
    with storage._connection() as conn, conn.transaction():
        with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
            for rows in batches:
                for row in rows:
                    copy.write_row(row)
                done += len(rows)
    return done


def count(storage: PostgresStorage, table: str) -> int:
    return storage._one(f'SELECT count(*) FROM "{table}"')[0]


def after_import(storage: PostgresStorage, tables: list[str]) -> None:
    identities = storage._all(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'"
    )
    for table, column in identities:
        if table in tables:
            storage._one(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
                f'coalesce((SELECT max("{column}") FROM "{table}"), 0) + 1, false)'
            )
