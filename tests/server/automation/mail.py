"""A real SMTP server (aiosmtpd on 127.0.0.1) for the engine's tests, and campaign builders.

``Inbox`` runs aiosmtpd's handler on its own thread; tests wait for mail with ``await
inbox.wait_for(n)``, which wakes on each message through the test's loop (no polling)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from email.message import EmailMessage
from typing import Any

import pycrdt
from aiosmtpd.controller import Controller

from shared.protocol import campaign as schema


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """Accepts mail (or answers DATA with ``replies`` in turn, then "250 OK")."""

    def __init__(self, replies: list[str] | None = None) -> None:
        self.replies = list(replies or [])
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.refused = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self.controller: Controller | None = None
        self.port = 0

    def start(self) -> Inbox:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    async def stop(self) -> None:
        """Stop the server from a thread, so the loop's own SMTP clients can see it go."""
        if self.controller is not None:
            await asyncio.to_thread(self.controller.stop)

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd's
        if self.replies:
            self.refused += 1
            reply = self.replies.pop(0)
        else:
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.messages.append(message)
            self.envelopes.append(envelope)
            reply = "250 OK queued"
        assert self._loop is not None and self._changed is not None
        self._loop.call_soon_threadsafe(self._changed.set)
        return reply

    async def wait_for(self, count: int, timeout_s: float = 30.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived."""
        assert self._changed is not None

        async def until() -> None:
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout_s)
        return self.messages

    def smtp_settings(self, sender: str = "Venue Team <hello@venue.test>") -> dict[str, Any]:
        return {"host": "127.0.0.1", "port": self.port, "security": "none", "from": sender}


def build_campaign(
    doc: pycrdt.Doc, *, status: str = "active", first: str = "auto", **fields: Any
) -> dict[str, str]:
    """The story's churn-prevention campaign in ``doc`` (inside the caller's transaction):
    score band trigger, an email with two variants (``first``: "auto" for the A/B draw, or "a"),
    wait for a click or 3 days, a follow-up, a conversion goal. Returns the step and variant ids
    by name."""
    values = {
        "name": "Churn prevention",
        "type": "churn_prevention",
        "trigger": {
            "event": "health_score",
            "band": {"enter": ["at_risk", "critical"], "at_risk_below": 50, "critical_below": 35},
        },
        "audience_segment": {"match": "all", "rules": [{"field": "role", "op": "eq",
                                                       "value": "supplier"}]},
        "holdout_pct": 10,
        **fields,
    }  # fmt: skip
    for key, value in values.items():
        schema.set_field(doc, key, value)
    ids = {
        "a": schema.add_variant(
            doc,
            subject="{{ first_name }}, your WedSync score needs a look",
            body="Hi {{ first_name }},\n\nSee your dashboard: https://wedsync.test/dashboard\n"
            "Or book a call: https://wedsync.test/call",
        ),
        "b": schema.add_variant(
            doc,
            subject="A hand with your listing, {{ first_name }}?",
            body="Hello {{ first_name }}, a hand with your listing: https://wedsync.test/help",
        ),
    }
    ids["email"] = schema.add_step(
        doc, "send_email", {"variant": "auto" if first == "auto" else ids[first]}
    )
    ids["wait"] = schema.add_step(
        doc, "wait_for", {"event": "click", "timeout_days": 3, "on_timeout": None}
    )
    ids["follow_up"] = schema.add_step(doc, "send_email", {"variant": ids["b"]})
    ids["goal"] = schema.add_step(doc, "goal", {"event": "conversion"})
    schema.set_field(doc, "status", status)
    return ids
