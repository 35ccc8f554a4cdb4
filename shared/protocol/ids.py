"""Identifiers made on the device: ULIDs (time-ordered, 26 Crockford base32 characters)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

ID_LENGTH = 26
_ID_FULLMATCH = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}").fullmatch


def _default_ulid() -> Any:
    """python-ulid's ``ULID()``, imported on the first id made: the import reads package
    metadata (~25 ms), which commands that only read never need."""
    global _make
    from ulid import ULID

    _make = ULID
    return ULID()


#: what ``new_id`` calls for a new ULID (``use_factory`` swaps it, e.g. for reproducible runs)
_make: Callable[[], Any] = _default_ulid


def new_id() -> str:
    """A new globally unique, time-ordered id."""
    return str(_make())


def use_factory(factory: Callable[[], Any] | None) -> Callable[[], Any]:
    """Make ids with ``factory`` (returns a ULID) from now on, or with python-ulid's again when
    None; returns the factory that was in use, to be restored later."""
    global _make
    previous = _make
    _make = factory if factory is not None else _default_ulid
    return previous


def is_id(value: object) -> bool:
    return isinstance(value, str) and _ID_FULLMATCH(value) is not None
