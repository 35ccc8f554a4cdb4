"""A simulated SMTP server for the simulation: messages take virtual time to travel, the server
accepts them (or, now and then, defers or bounces), and the reply takes time to come back — so
a server crash can land after the acceptance and before the engine hears of it, the one case
in which the engine sends a message twice (with the same Message-ID).

``SimMail`` records every message it accepted (with when it was handed over and when it was
accepted) and which acceptances were cut off by a crash before the reply reached the engine;
the checkers compare that with the server's records. Every draw comes from the run's seeded
generator, every wait is on the virtual clock: the same seed gives the same mail.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from server.delivery.message import BuiltMessage, to_wire
from server.delivery.smtp import SendResult, SendStatus

#: recipients whose mailbox does not exist: every message to them bounces
BOUNCING = frozenset({"couple13@example.com", "couple37@example.com"})


@dataclass(frozen=True)
class Delivery:
    message_id: str | None
    recipient: str
    handed_at_ms: int  # the engine handed it over (after its row said "sending")
    accepted_at_ms: int


@dataclass
class SimMail:
    rng: random.Random
    now_ms: Callable[[], int]
    delivered: list[Delivery] = field(default_factory=list)
    #: Message-IDs accepted whose "250" never reached the engine (a crash cut it off)
    interrupted: Counter[str] = field(default_factory=Counter)
    deferrals: int = 0
    bounces: int = 0

    def sender(self, settings: Any, **_: Any) -> SimSender:
        """What the engine calls in place of ``SmtpSender`` (same interface)."""
        return SimSender(self)


class SimSender:
    def __init__(self, mail: SimMail) -> None:
        self.mail = mail

    async def __aenter__(self) -> SimSender:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        return None

    async def send(self, message: BuiltMessage | EmailMessage, **_: Any) -> SendResult:
        email = message.message if isinstance(message, BuiltMessage) else message
        return await self.send_raw(
            to_wire(email), sender="", recipient=str(email["To"]), message_id=email["Message-ID"]
        )

    async def send_raw(
        self, raw: bytes, *, sender: str, recipient: str, message_id: str | None = None
    ) -> SendResult:
        mail = self.mail
        handed = mail.now_ms()
        await asyncio.sleep(mail.rng.uniform(0.1, 1.5))  # the message on its way
        if recipient in BOUNCING:
            mail.bounces += 1
            return SendResult(SendStatus.BOUNCED, 550, "5.1.1 no such mailbox", 1, message_id)
        if mail.rng.random() < 0.05:
            mail.deferrals += 1
            return SendResult(SendStatus.DEFERRED, 451, "4.3.0 try again later", 1, message_id)
        mail.delivered.append(Delivery(message_id, recipient, handed, mail.now_ms()))
        try:
            await asyncio.sleep(mail.rng.uniform(0.2, 4.0))  # the "250" on its way back (slow)
        except asyncio.CancelledError:
            mail.interrupted[message_id or ""] += 1
            raise
        return SendResult(SendStatus.SENT, 250, "2.0.0 queued", 1, message_id)
