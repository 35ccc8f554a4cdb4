"""Where alerts go: a signed webhook, email to the org's admins, a notice in the desktop app.

* **Webhook** — ``POST`` of the alert as JSON to the server's webhook and to the org's own, if
  it has one. Signed like Stripe's: ``X-WedSync-Signature: t=<unix seconds>,v1=<hex>`` where
  ``v1`` is HMAC-SHA256 of ``"<t>.<body>"`` under the webhook's secret; ``X-WedSync-Alert-Id``
  is the same on every retry (a receiver can drop repeats). A refused connection, a timeout, a
  5xx or a 429 is retried with exponential backoff (``webhook_backoff_s``, doubling, at most
  60 s) up to ``webhook_attempts`` attempts; any other 4xx is not retried.
* **Email** — one plain-text message to each admin of the org, through the org's own SMTP
  settings (``server.delivery.SmtpSender``, with its retries). A server-wide check goes to
  the admins of every org. No figure beyond the alert's own is in the mail.
* **App** — a ``NOTICE`` frame (kind ``health_alert``) to the org's connected admins through
  the live hub (every org's, for a server-wide check). Devices not connected read the history.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiohttp

from shared.protocol import messages as m

from ..delivery import RetryPolicy, SendStatus, SmtpSender, SmtpSettings
from ..hub import Hub
from .alerts import Alert, ChannelError
from .config import AlertSettings, Webhook

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-WedSync-Signature"
ALERT_ID_HEADER = "X-WedSync-Alert-Id"
NOTICE_KIND = "health_alert"
MAX_BACKOFF_S = 60.0
MAIL_RETRY = RetryPolicy(attempts=3)

Sleep = Callable[[float], Awaitable[None]]


def alert_body(alert: Alert) -> dict:
    """What a webhook receives and the app shows: the alert, without delivery outcomes."""
    body = alert.to_dict()
    body.pop("channels", None)
    body.pop("suppressed", None)
    body["at"] = datetime.fromtimestamp(alert.at_ms / 1000, UTC).isoformat()
    return body


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: bytes, body: bytes, header: str, *, tolerance_s: float = 300.0) -> bool:
    """What a receiver does: the signature matches and is recent."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        settings: AlertSettings,
        *,
        org_hooks: Callable[[str | None], Webhook | None] = lambda org_id: None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._org_hooks = org_hooks
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _targets(self, alert: Alert) -> list[Webhook]:
        hooks = [self.settings.webhook, self._org_hooks(alert.org_id)]
        return [h for h in hooks if h is not None]

    async def deliver(self, alert: Alert) -> str:
        targets = self._targets(alert)
        if not targets:
            return "skipped: no webhook configured"
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout_s)
            )
        body = json.dumps(alert_body(alert), separators=(",", ":")).encode()
        results = await asyncio.gather(
            *(self._post(t, body, alert.id) for t in targets), return_exceptions=True
        )
        failed = [str(r) for r in results if isinstance(r, Exception)]
        if failed:
            raise ChannelError("; ".join(failed))
        return "delivered to " + ", ".join(str(r) for r in results)

    async def _post(self, hook: Webhook, body: bytes, alert_id: str) -> str:
        assert self._session is not None
        attempts = self.settings.webhook_attempts
        last = ""
        for attempt in range(1, attempts + 1):
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(hook.secret, body, int(time.time())),
                ALERT_ID_HEADER: alert_id,
                "User-Agent": "wedsync-monitor",
            }
            try:
                async with self._session.post(hook.url, data=body, headers=headers) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        return f"{_host(hook.url)} ({resp.status}, attempt {attempt})"
                    last = f"HTTP {resp.status}"
                    if resp.status < 500 and resp.status != 429:
                        raise ChannelError(f"{_host(hook.url)}: {last}, not retried")
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = f"{type(exc).__name__}"
            if attempt < attempts:
                await self._sleep(
                    min(MAX_BACKOFF_S, self.settings.webhook_backoff_s * 2 ** (attempt - 1))
                )
        raise ChannelError(f"{_host(hook.url)}: {last} after {attempts} attempts")


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url


@dataclass(frozen=True)
class MailRoute:
    """How to reach one org's admins: its SMTP settings, its sender address, the admins."""

    org_id: str
    settings: SmtpSettings | None  # None: the org has no usable SMTP settings
    from_address: str | None
    admins: list[str]
    why_not: str | None = None  # why ``settings`` is None


class EmailChannel:
    name = "email"

    def __init__(
        self,
        routes: Callable[[str | None], Awaitable[list[MailRoute]]],
        *,
        retry: RetryPolicy = MAIL_RETRY,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """``routes(org_id)``: the org's route (None: every org's, for a server-wide alert)."""
        self._routes = routes
        self._retry = retry
        self._sleep = sleep

    async def deliver(self, alert: Alert) -> str:
        routes = await self._routes(alert.org_id)
        sent, problems = 0, []
        for route in routes:
            if not route.admins:
                continue
            if route.settings is None or not route.from_address:
                problems.append(f"org {route.org_id}: {route.why_not or 'no SMTP settings'}")
                continue
            async with SmtpSender(route.settings, retry=self._retry, sleep=self._sleep) as smtp:
                for admin in route.admins:
                    result = await smtp.send(_mail(alert, route.from_address, admin))
                    if result.status is SendStatus.SENT:
                        sent += 1
                    else:
                        problems.append(
                            f"{admin}: {result.status} {result.code or ''} {result.detail[:120]}".strip()
                        )
        if problems and not sent:
            raise ChannelError("; ".join(problems))
        if not sent:
            return "skipped: no admin to write to"
        tail = f" ({'; '.join(problems)})" if problems else ""
        return f"delivered to {sent} admin{'s' if sent != 1 else ''}{tail}"


def _mail(alert: Alert, sender: str, to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = alert.subject
    msg["Date"] = format_datetime(datetime.fromtimestamp(alert.at_ms / 1000, UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["X-WedSync-Alert-Id"] = alert.id
    when = datetime.fromtimestamp(alert.at_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        alert.message,
        "",
        f"Check:   {alert.title} ({alert.check})",
        f"Status:  {alert.status}",
        f"Target:  {alert.target}",
        f"Where:   {alert.org_name or 'the whole server'}",
        f"When:    {when}",
        "",
        "The Health page of the WedSync app shows every check and the alert history.",
    ]
    msg.set_content("\n".join(lines))
    return msg


class AppChannel:
    name = "app"

    def __init__(self, hub: Hub, *, roles: tuple[str, ...] = ("admin",)) -> None:
        self._hub = hub
        self._roles = roles

    async def deliver(self, alert: Alert) -> str:
        frame = m.notice(NOTICE_KIND, alert_body(alert))
        orgs = (
            [alert.org_id]
            if alert.org_id is not None
            else sorted({p.org_id for p in self._hub.principals()})
        )
        sent = sum(self._hub.broadcast(org, frame, roles=self._roles) for org in orgs)
        if not sent:
            return "skipped: no admin connected"
        return f"delivered to {sent} device{'s' if sent != 1 else ''}"
