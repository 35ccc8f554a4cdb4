"""Server errors, each with a stable code from the protocol's ``ErrorCode``.

Boundaries turn them into error frames (websocket) or JSON problems (HTTP); refusals by role or
org are written to the audit log before they are answered.
"""

from __future__ import annotations

from shared.protocol.errors import ErrorCode


class ServerError(Exception):
    code: ErrorCode = ErrorCode.INTERNAL
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthError(ServerError):
    code = ErrorCode.UNAUTHENTICATED
    http_status = 401


class Forbidden(ServerError):
    code = ErrorCode.FORBIDDEN
    http_status = 403


class NotFoundError(ServerError):
    code = ErrorCode.NOT_FOUND
    http_status = 404


class BadRequest(ServerError):
    code = ErrorCode.BAD_REQUEST
    http_status = 400


class AlreadyExists(ServerError):
    code = ErrorCode.CONFLICT
    http_status = 409


class BadUpdate(ServerError):
    code = ErrorCode.BAD_UPDATE
    http_status = 400


class Overloaded(ServerError):
    """Too much of one org's (or one peer's) work is waiting: retry shortly."""

    code = ErrorCode.UNAVAILABLE
    http_status = 503


class RateLimited(ServerError):
    """Too many attempts (failed logins) from one account or address: retry after a wait."""

    code = ErrorCode.RATE_LIMITED
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooLarge(ServerError):
    """A value or a document beyond its limit."""

    code = ErrorCode.TOO_LARGE
    http_status = 413
