"""Delivery errors: templates that do not compile or render, tracking tokens that do not verify,
SMTP settings that cannot be used. Each has a stable code for the API, the app and the audit
log; none of them is ever allowed to crash the engine or lose an enrolment.
"""

from __future__ import annotations

from enum import StrEnum

from server.errors import ServerError


class DeliveryCode(StrEnum):
    TEMPLATE_INVALID = "template_invalid"  # the template does not compile (syntax)
    TEMPLATE_RENDER_FAILED = "template_render_failed"  # it compiled, rendering it failed
    TOKEN_INVALID = "token_invalid"  # a tracking token that is malformed, forged or misused
    TOKEN_EXPIRED = "token_expired"  # a genuine tracking token past its expiry
    SMTP_SETTINGS_INVALID = "smtp_settings_invalid"
    ADDRESS_INVALID = "address_invalid"  # a contact without a usable email address


class DeliveryError(ServerError):
    """A delivery problem with a stable ``code`` (a ``DeliveryCode``) and a clear message."""

    http_status = 422

    def __init__(self, code: DeliveryCode, message: str) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[assignment]  # a delivery code, finer than ErrorCode
        if code in (DeliveryCode.TOKEN_INVALID, DeliveryCode.TOKEN_EXPIRED):
            self.http_status = 400

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
