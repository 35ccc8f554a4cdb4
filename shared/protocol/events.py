"""Events: immutable facts captured on a device, and their validation.

On the wire an event is a msgpack array in ``WIRE_FIELDS`` order (arrays decode about twice as fast
as maps). The org and device of an event are not sent: the server takes them from the
authenticated connection, so a device can never write into another org.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import ErrorCode, ProtocolError
from .ids import is_id
from .kinds import EVENT_CLASSES

WIRE_FIELDS = (
    "id",
    "kind",
    "occurred_at_ms",
    "hlc",
    "contact",
    "campaign",
    "channel",
    "value_cents",
    "payload",
)

MIN_OCCURRED_MS = 946_684_800_000  # 2000-01-01
MAX_OCCURRED_MS = 4_102_444_800_000  # 2100-01-01
MAX_VALUE_CENTS = 10**13  # pycrdt and JSON consumers stay exact far below 2**53
MAX_CONTACT_LEN = 320
MAX_NAME_LEN = 64
MAX_PAYLOAD_KEYS = 64
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-.]{0,63}$")


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    kind: str
    occurred_at_ms: int
    hlc: int
    contact: str | None = None
    campaign: str | None = None
    channel: str | None = None
    value_cents: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def priority(self) -> int:
        return EVENT_CLASSES[self.kind]

    def to_wire(self) -> list[Any]:
        return [
            self.id,
            self.kind,
            self.occurred_at_ms,
            self.hlc,
            self.contact,
            self.campaign,
            self.channel,
            self.value_cents,
            self.payload or None,
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "occurred_at": iso_from_ms(self.occurred_at_ms),
            "hlc": self.hlc,
            "contact": self.contact,
            "campaign": self.campaign,
            "channel": self.channel,
            "value_cents": self.value_cents,
            "payload": dict(self.payload),
        }


def _bad(index: int | None, message: str) -> ProtocolError:
    where = f"event {index}: " if index is not None else ""
    return ProtocolError(ErrorCode.BAD_EVENT, where + message)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def event_from_wire(item: object, index: int | None = None) -> Event:
    """Validate one wire array and build the event; ProtocolError(BAD_EVENT) says what is wrong."""
    if not isinstance(item, list | tuple) or len(item) != len(WIRE_FIELDS):
        raise _bad(index, f"must be an array of {len(WIRE_FIELDS)} fields {list(WIRE_FIELDS)}")
    ev_id, kind, occurred, hlc, contact, campaign, channel, value, payload = item
    if not is_id(ev_id):
        raise _bad(index, f"id {ev_id!r} is not a ULID")
    if kind not in EVENT_CLASSES:
        raise _bad(index, f"unknown kind {kind!r}")
    if not _is_int(occurred) or not MIN_OCCURRED_MS <= occurred <= MAX_OCCURRED_MS:
        raise _bad(index, f"occurred_at_ms {occurred!r} is not a time between 2000 and 2100")
    if not _is_int(hlc) or not 0 <= hlc < 2**63:
        raise _bad(index, f"hlc {hlc!r} is not a 63-bit clock stamp")
    if contact is not None and (not isinstance(contact, str) or not 0 < len(contact) <= 320):
        raise _bad(index, "contact must be a non-empty string of at most 320 characters")
    if campaign is not None and not is_id(campaign):
        raise _bad(index, f"campaign {campaign!r} is not a campaign id")
    if channel is not None and (not isinstance(channel, str) or not _NAME_RE.match(channel)):
        raise _bad(index, f"channel {channel!r} must be a lowercase name like 'wedding_fair'")
    if value is not None and (not _is_int(value) or abs(value) > MAX_VALUE_CENTS):
        raise _bad(index, f"value_cents {value!r} must be an integer of at most 10^13")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict) or len(payload) > MAX_PAYLOAD_KEYS:
        raise _bad(index, f"payload must be a map of at most {MAX_PAYLOAD_KEYS} keys")
    if not all(isinstance(k, str) for k in payload):
        raise _bad(index, "payload keys must be strings")
    return Event(ev_id, kind, occurred, hlc, contact, campaign, channel, value, payload)


def iso_from_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


def ms_from_iso(text: str) -> int:
    """Parse an ISO-8601 time (``Z`` or an offset; naive means UTC) into epoch milliseconds."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError) as exc:
        raise ProtocolError(ErrorCode.BAD_EVENT, f"occurred_at {text!r} is not an ISO-8601 time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
