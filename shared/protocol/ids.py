"""Identifiers made on the device: ULIDs (time-ordered, 26 Crockford base32 characters)."""

from __future__ import annotations

import re

from ulid import ULID

ID_LENGTH = 26
_ID_FULLMATCH = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}").fullmatch


def new_id() -> str:
    """A new globally unique, time-ordered id."""
    return str(ULID())


def is_id(value: object) -> bool:
    return isinstance(value, str) and _ID_FULLMATCH(value) is not None
