"""Events as automation reads them: an ``Event`` of the protocol or a plain dict.

The engine sees events from several places (a commit, the store, a test) in both shapes; this
module gives them one read-only view and one order. A dict may carry ``occurred_at_ms`` or the
ISO ``occurred_at`` of ``Event.to_dict``.

Order: *later* means a larger hybrid-clock stamp, ties broken by id (the stamp survives bad
device clocks; an event without one is placed by its occurrence time).

Tracking events that are not engagement (an open fetched by a mail-privacy proxy, a click by a
security scanner) carry a truthy ``non_engagement`` in their payload: journeys never count them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.protocol.events import Event, ms_from_iso
from shared.protocol.hlc import COUNTER_BITS

from .errors import AutomationCode, AutomationError

EVENT_ATTRS = (
    "id",
    "kind",
    "occurred_at_ms",
    "hlc",
    "contact",
    "campaign",
    "channel",
    "value_cents",
)


@dataclass(frozen=True, slots=True)
class Fact:
    """One event, read-only, whatever shape it came in."""

    id: str
    kind: str
    occurred_at_ms: int
    hlc: int = 0
    contact: str | None = None
    campaign: str | None = None
    channel: str | None = None
    value_cents: int | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> tuple[int, str]:
        return (self.hlc or self.occurred_at_ms << COUNTER_BITS, self.id)

    @property
    def engagement(self) -> bool:
        return not self.payload.get("non_engagement")

    def attr(self, name: str) -> Any:
        return getattr(self, name) if name in EVENT_ATTRS else None


def as_fact(event: Any) -> Fact:
    """A ``Fact`` from an ``Event``, a ``Fact`` or a dict; AutomationError(STATE_INVALID) when a
    dict lacks a kind or a time."""
    if isinstance(event, Fact):
        return event
    if isinstance(event, Event):
        return Fact(
            event.id,
            event.kind,
            event.occurred_at_ms,
            event.hlc,
            event.contact,
            event.campaign,
            event.channel,
            event.value_cents,
            event.payload or {},
        )
    if not isinstance(event, Mapping):
        raise AutomationError(AutomationCode.STATE_INVALID, f"not an event: {type(event).__name__}")
    occurred = event.get("occurred_at_ms")
    if occurred is None and isinstance(event.get("occurred_at"), str):
        occurred = ms_from_iso(event["occurred_at"])
    kind = event.get("kind")
    if not isinstance(kind, str) or not isinstance(occurred, int) or isinstance(occurred, bool):
        raise AutomationError(
            AutomationCode.STATE_INVALID, "an event needs a kind and an occurrence time"
        )
    return Fact(
        str(event.get("id") or ""),
        kind,
        occurred,
        int(event.get("hlc") or 0),
        event.get("contact"),
        event.get("campaign"),
        event.get("channel"),
        event.get("value_cents"),
        event.get("payload") or {},
    )
