"""Sending through an org's SMTP server with ``aiosmtplib``: retries, bounces, a rate limit.

One ``SmtpSender`` per org holds one connection (reused between messages, reopened after any
error) and sends one message at a time through it. Outcomes (``SendResult.status``):

* ``sent``: the server accepted the message (2xx after DATA).
* ``bounced``: a permanent refusal of the *recipient or the message* (5xx to RCPT or DATA):
  record a bounce event and suppress the contact.
* ``deferred``: temporary failures (4xx replies, refused or dropped connections, timeouts)
  that lasted through every retry: schedule the send again later, same idempotency key.
* ``failed``: the org's settings are wrong (5xx to the greeting, login or MAIL FROM, TLS not
  offered): not the contact's fault, never a bounce; tell an admin.

Retries back off exponentially (``RetryPolicy``: 1 s, 2 s, 4 s … up to ``max_delay_s``).
A timeout after the message was handed over is ambiguous (it may have been delivered): the
retry carries the same Message-ID, which is the most a sender can do.

The per-org rate limit is a token bucket (``rate_per_s``, ``burst``) taken once per attempt.

The password comes from the caller (the server keeps it out of plain files) and is never
logged or shown: it is excluded from ``repr`` and no log line carries settings.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from enum import StrEnum
from types import TracebackType

import aiosmtplib

from .errors import DeliveryCode, DeliveryError
from .message import BuiltMessage, to_wire

log = logging.getLogger(__name__)

SECURITY = ("starttls", "tls", "none")
QUIT_TIMEOUT_S = 2.0

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str = "starttls"  # "starttls" | "tls" | "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if (
            not isinstance(self.host, str)
            or not self.host.strip()
            or any(c in self.host for c in " /\r\n")
        ):
            raise DeliveryError(DeliveryCode.SMTP_SETTINGS_INVALID, "SMTP host must be a host name")
        if (
            not isinstance(self.port, int)
            or isinstance(self.port, bool)
            or not 0 < self.port < 65536
        ):
            raise DeliveryError(DeliveryCode.SMTP_SETTINGS_INVALID, "SMTP port must be 1-65535")
        if self.security not in SECURITY:
            raise DeliveryError(
                DeliveryCode.SMTP_SETTINGS_INVALID,
                f"SMTP security must be one of {', '.join(SECURITY)}",
            )
        if (self.username is None) != (self.password is None):
            raise DeliveryError(
                DeliveryCode.SMTP_SETTINGS_INVALID, "SMTP login needs both a user and a password"
            )
        if not 0 < self.timeout_s <= 600:
            raise DeliveryError(DeliveryCode.SMTP_SETTINGS_INVALID, "SMTP timeout must be 0-600 s")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0

    def delay_s(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))


class SendStatus(StrEnum):
    SENT = "sent"
    BOUNCED = "bounced"
    DEFERRED = "deferred"
    FAILED = "failed"


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    code: int | None  # the SMTP reply code, when there was one
    detail: str  # the server's reply text or the connection error
    attempts: int
    message_id: str | None = None


class TokenBucket:
    """A token bucket: at most ``burst`` at once, refilled at ``rate_per_s``."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int = 1,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate_per_s)
        self._stamp = now

    async def acquire(self) -> None:
        async with self._lock:  # first come, first served
            self._refill()
            while self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.rate_per_s)
                self._refill()
            self._tokens -= 1


class _Temporary(Exception):
    def __init__(self, code: int | None, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _reply(exc: aiosmtplib.SMTPResponseException) -> tuple[int, str]:
    return exc.code, str(exc.message)


class SmtpSender:
    """Sends an org's messages through its SMTP server (see the module rules)."""

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        rate_per_s: float | None = None,
        burst: int = 1,
        retry: RetryPolicy = RetryPolicy(),
        tls_context: ssl.SSLContext | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.settings = settings
        self.retry = retry
        self._tls_context = tls_context
        self._sleep = sleep
        self._bucket = (
            TokenBucket(rate_per_s, burst, clock=clock, sleep=sleep) if rate_per_s else None
        )
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> SmtpSender:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                # a server that went away may never answer QUIT: do not wait for it long
                await asyncio.wait_for(client.quit(), QUIT_TIMEOUT_S)
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()  # the server went away first: nothing to say goodbye to

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            timeout=s.timeout_s,
            tls_context=self._tls_context,
        )
        await client.connect()  # greets, upgrades to TLS and logs in as the settings say
        self._client = client
        return client

    async def send(
        self,
        message: BuiltMessage | EmailMessage,
        *,
        sender: str | None = None,
        recipient: str | None = None,
    ) -> SendResult:
        """Send one message; never raises for an SMTP outcome (see ``SendStatus``). The envelope
        defaults to the message's From and To."""
        email = message.message if isinstance(message, BuiltMessage) else message
        envelope_from = sender or parseaddr(str(email["From"] or ""))[1]
        envelope_to = recipient or parseaddr(str(email["To"] or ""))[1]
        message_id = str(email["Message-ID"]) if email["Message-ID"] else None
        return await self.send_raw(
            to_wire(email), sender=envelope_from, recipient=envelope_to, message_id=message_id
        )

    async def send_raw(
        self, raw: bytes, *, sender: str, recipient: str, message_id: str | None = None
    ) -> SendResult:
        """Send a message's bytes as they are (a retry after a crash sends the very bytes the
        first attempt had, Message-ID included); never raises for an SMTP outcome."""
        if message_id is None:
            message_id = _message_id_of(raw)
        async with self._lock:
            attempt = 0
            while True:
                attempt += 1
                try:
                    code, detail = await self._attempt(sender, recipient, raw)
                    return SendResult(SendStatus.SENT, code, detail, attempt, message_id)
                except _Temporary as temporary:
                    await self._drop()
                    log.warning(
                        "smtp %s:%s attempt %d of %d deferred: %s %s",
                        self.settings.host,
                        self.settings.port,
                        attempt,
                        self.retry.attempts,
                        temporary.code,
                        temporary.detail,
                    )
                    if attempt >= self.retry.attempts:
                        return SendResult(
                            SendStatus.DEFERRED,
                            temporary.code,
                            temporary.detail,
                            attempt,
                            message_id,
                        )
                    await self._sleep(self.retry.delay_s(attempt))
                except _Permanent as permanent:
                    await self._drop()
                    return SendResult(
                        permanent.status, permanent.code, permanent.detail, attempt, message_id
                    )

    async def _attempt(self, sender: str, recipient: str, raw: bytes) -> tuple[int, str]:
        """One SMTP transaction; raises _Temporary or _Permanent for anything but success."""
        if self._bucket is not None:
            await self._bucket.acquire()
        try:
            client = await self._connected()
            _, reply = await client.sendmail(sender, [recipient], raw)
            return 250, reply
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            raise _classify(refused.code, str(refused.message), SendStatus.BOUNCED) from None
        except aiosmtplib.SMTPDataError as exc:
            raise _classify(*_reply(exc), SendStatus.BOUNCED) from None
        except aiosmtplib.SMTPResponseException as exc:
            # the greeting, EHLO, login or MAIL FROM refused: the org's settings, not the contact
            raise _classify(*_reply(exc), SendStatus.FAILED) from None
        except (
            aiosmtplib.SMTPTimeoutError,
            aiosmtplib.SMTPServerDisconnected,
            ConnectionError,
        ) as exc:
            raise _Temporary(None, f"{type(exc).__name__}: {exc}") from None
        except aiosmtplib.SMTPConnectError as exc:
            raise _Temporary(None, f"cannot connect: {exc}") from None
        except OSError as exc:  # refused, unreachable, DNS failure
            raise _Temporary(None, f"{type(exc).__name__}: {exc}") from None
        except aiosmtplib.SMTPException as exc:  # e.g. STARTTLS required but not offered
            raise _Permanent(SendStatus.FAILED, None, f"{type(exc).__name__}: {exc}") from None


def _message_id_of(raw: bytes) -> str | None:
    """The Message-ID header of a message's bytes (the header block only is read)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if line[:11].lower() == b"message-id:":
            return line[11:].strip().decode("ascii", "replace") or None
    return None


class _Permanent(Exception):
    def __init__(self, status: SendStatus, code: int | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def _classify(code: int, detail: str, permanent: SendStatus) -> Exception:
    if 400 <= code < 500:
        return _Temporary(code, detail)
    return _Permanent(permanent, code, detail)
