"""Email delivery: sandboxed templates, RFC 5322 messages with tracked links, signed tracking
tokens, and an SMTP sender with retries, bounces and a per-org rate limit.

Imports ``shared`` and the server's errors only; no Qt, no keyring, no client. The engine (a
commit listener, not in this package) decides what to send; this package only sends it.

* ``render``: ``render_variant``, ``render_template``, ``check_variant``.
* ``message``: ``build_message``, ``message_id_for``, ``to_wire``.
* ``tracking``: ``sign``, ``verify``, ``resolve_click``, ``TrackingUrls``, ``classify_open``,
  ``classify_clicks``, ``new_org_key``.
* ``smtp``: ``SmtpSettings``, ``SmtpSender``, ``RetryPolicy``, ``SendResult``, ``TokenBucket``.
"""

from .errors import DeliveryCode, DeliveryError
from .message import BuiltMessage, build_message, message_id_for, to_wire
from .render import RenderedContent, check_variant, render_template, render_variant
from .smtp import RetryPolicy, SendResult, SendStatus, SmtpSender, SmtpSettings, TokenBucket
from .tracking import (
    Click,
    TokenKind,
    TrackingToken,
    TrackingUrls,
    classify_clicks,
    classify_open,
    new_org_key,
    resolve_click,
    sign,
    verify,
)

__all__ = [
    "BuiltMessage",
    "Click",
    "DeliveryCode",
    "DeliveryError",
    "RenderedContent",
    "RetryPolicy",
    "SendResult",
    "SendStatus",
    "SmtpSender",
    "SmtpSettings",
    "TokenBucket",
    "TokenKind",
    "TrackingToken",
    "TrackingUrls",
    "build_message",
    "check_variant",
    "classify_clicks",
    "classify_open",
    "message_id_for",
    "new_org_key",
    "render_template",
    "render_variant",
    "resolve_click",
    "sign",
    "to_wire",
    "verify",
]
