"""Identifiers made on the device: ULIDs (time-ordered, 26 Crockford base32 characters)."""

from __future__ import annotations

import functools
import re
from typing import Any

ID_LENGTH = 26
_ID_FULLMATCH = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}").fullmatch


def new_id() -> str:
    """A new globally unique, time-ordered id."""
    return str(_ulid()())


@functools.cache
def _ulid() -> Any:
    """python-ulid's ``ULID``, imported on the first id made: the import reads package metadata
    (~25 ms), which commands that only read never need."""
    from ulid import ULID

    return ULID


def is_id(value: object) -> bool:
    return isinstance(value, str) and _ID_FULLMATCH(value) is not None
