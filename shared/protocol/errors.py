"""Error codes shared by both sides of the wire.

Every refusal the server sends and every malformed input the client meets is one of these codes;
boundaries turn them into error frames, HTTP problems or one-line CLI messages.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_FRAME = "bad_frame"  # not msgpack, not a map, unknown message type, missing fields
    TOO_LARGE = "too_large"  # frame above the size limit
    BAD_VERSION = "bad_version"  # protocol version the server does not speak
    UNAUTHENTICATED = "unauthenticated"  # no hello, unknown or revoked token, wrong password
    FORBIDDEN = "forbidden"  # authenticated, but the role or org does not allow it
    BAD_EVENT = "bad_event"  # an event that fails validation
    BAD_UPDATE = "bad_update"  # a campaign update pycrdt cannot apply
    BAD_REQUEST = "bad_request"  # an HTTP body or argument that fails validation
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # e.g. a user that already exists
    UNAVAILABLE = "unavailable"  # server shutting down or overloaded: retry later
    RATE_LIMITED = "rate_limited"  # too many attempts (e.g. failed logins): retry after a wait
    INTERNAL = "internal"


class ProtocolError(Exception):
    """A frame, event or document that does not follow the protocol."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
