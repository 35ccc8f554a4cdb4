"""Errors of the local store."""

from __future__ import annotations


class StoreError(Exception):
    """The local store cannot do what was asked (bad input, missing item, corrupt or locked file)."""

    code = "store_error"


class NotFound(StoreError):
    code = "not_found"


class InvalidInput(StoreError):
    code = "bad_request"
