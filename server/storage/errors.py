"""Errors of the storage layer that callers tell apart from bugs.

``SchemaTooNew``: the store was migrated by a newer wedsync than this one; running against it
could misread or damage what the newer version wrote, so the store refuses to open.
``StoreUnavailable``: the database cannot be reached (down, restarting, refusing connections):
an environment error, retried by whoever asked (a device resends what was not acked).
``BadLocation``: a database URL or data directory that names no backend this server has.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of the storage layer's known errors; ``code`` is stable."""

    code = "storage_error"


class SchemaTooNew(StorageError):
    code = "schema_too_new"

    def __init__(self, where: str, found: list[str] | int, known: int | str) -> None:
        self.found = found
        self.known = known
        super().__init__(
            f"{where} was migrated by a newer wedsync (schema {found}; this version knows up to "
            f"{known}): upgrade wedsync, or run it against a copy made for this version"
        )


class StoreUnavailable(StorageError):
    code = "store_unavailable"


class BadLocation(StorageError):
    code = "bad_location"
