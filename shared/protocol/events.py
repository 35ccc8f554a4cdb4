"""Events: immutable facts captured on a device, and their validation.

On the wire an event is a msgpack array in ``WIRE_FIELDS`` order (arrays decode about twice as fast
as maps). The org and device of an event are not sent: the server takes them from the
authenticated connection, so a device can never write into another org.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from .errors import ErrorCode, ProtocolError
from .ids import is_id
from .kinds import EVENT_CLASSES, NAME_PATTERN, RULED_KINDS
from .spend import spend_problem

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
#: Where each field sits in a wire array, by name; every reader of wire arrays indexes by these.
WIRE_INDEX: dict[str, int] = {name: i for i, name in enumerate(WIRE_FIELDS)}
WIRE_ID = WIRE_INDEX["id"]
WIRE_KIND = WIRE_INDEX["kind"]
WIRE_OCCURRED_AT_MS = WIRE_INDEX["occurred_at_ms"]
WIRE_HLC = WIRE_INDEX["hlc"]
WIRE_CONTACT = WIRE_INDEX["contact"]
WIRE_CAMPAIGN = WIRE_INDEX["campaign"]
WIRE_CHANNEL = WIRE_INDEX["channel"]
WIRE_VALUE_CENTS = WIRE_INDEX["value_cents"]
WIRE_PAYLOAD = WIRE_INDEX["payload"]

MIN_OCCURRED_MS = 946_684_800_000  # 2000-01-01
MAX_OCCURRED_MS = 4_102_444_800_000  # 2100-01-01
MAX_VALUE_CENTS = 10**13  # pycrdt and JSON consumers stay exact far below 2**53
MAX_CONTACT_LEN = 320
MAX_NAME_LEN = 64
MAX_PAYLOAD_KEYS = 64
#: a payload at most this deep, with at most this many values and this much text (and bytes)
MAX_PAYLOAD_DEPTH = 8
MAX_PAYLOAD_VALUES = 1_000
MAX_PAYLOAD_TEXT = 10_000
_NAME_RE = re.compile(NAME_PATTERN)


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
    if not isinstance(kind, str) or kind not in EVENT_CLASSES:
        raise _bad(index, f"unknown kind {kind!r}")
    if not _is_int(occurred) or not MIN_OCCURRED_MS <= occurred <= MAX_OCCURRED_MS:
        raise _bad(index, f"occurred_at_ms {occurred!r} is not a time between 2000 and 2100")
    if not _is_int(hlc) or not 0 <= hlc < 2**63:
        raise _bad(index, f"hlc {hlc!r} is not a 63-bit clock stamp")
    if contact is not None and (not isinstance(contact, str) or not 0 < len(contact) <= 320):
        raise _bad(index, "contact must be a non-empty string of at most 320 characters")
    if campaign is not None and not is_id(campaign):
        raise _bad(index, f"campaign {campaign!r} is not a campaign id")
    if channel is not None and (not isinstance(channel, str) or not _NAME_RE.fullmatch(channel)):
        raise _bad(index, f"channel {channel!r} must be a lowercase name like 'wedding_fair'")
    if value is not None and (not _is_int(value) or abs(value) > MAX_VALUE_CENTS):
        raise _bad(index, f"value_cents {value!r} must be an integer of at most 10^13")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict) or len(payload) > MAX_PAYLOAD_KEYS:
        raise _bad(index, f"payload must be a map of at most {MAX_PAYLOAD_KEYS} keys")
    if not all(isinstance(k, str) for k in payload):
        raise _bad(index, "payload keys must be strings")
    problem = payload_problem(payload)
    if problem is not None:
        raise _bad(index, problem)
    if kind in RULED_KINDS:
        ruled = spend_problem(contact, channel, value, payload)
        if ruled is not None:
            raise _bad(index, f"{kind} [{ruled[0]}]: {ruled[1]}")
    return Event(ev_id, kind, occurred, hlc, contact, campaign, channel, value, payload)


_JSON_SCALARS = (str, int, float, bool, type(None))
#: payload keys the server reads, and what each must hold: a contact's ``fields`` are merged and
#: stored as JSON; a conversion's type is compared with names
_TYPED_KEYS: dict[str, type | tuple[type, ...]] = {
    "fields": dict,
    "conversion_type": str,
    "type": str,
}


def payload_problem(payload: dict[str, Any]) -> str | None:
    """What makes a payload (a map with string keys) break its limits, in words; None when it
    is fine. Any msgpack value may sit in a payload (extension types and timestamps included),
    within ``MAX_PAYLOAD_DEPTH``, ``MAX_PAYLOAD_VALUES`` and ``MAX_PAYLOAD_TEXT`` (bytes count
    as text); the keys the server reads (``_TYPED_KEYS``) must hold their type, and a contact's
    ``fields`` JSON-like data only."""
    for key, kind in _TYPED_KEYS.items():
        if key in payload and payload[key] is not None and not isinstance(payload[key], kind):
            return f"payload {key!r} must be {kind.__name__}, not {type(payload[key]).__name__}"
    stack: list[tuple[Any, int, bool]] = [(payload, 1, False)]
    values = text = 0
    while stack:
        value, depth, json_only = stack.pop()
        values += 1
        if values > MAX_PAYLOAD_VALUES:
            return f"payload has more than {MAX_PAYLOAD_VALUES} values"
        if isinstance(value, str | bytes | bytearray):
            if json_only and not isinstance(value, str):
                return "payload 'fields' must hold JSON-like values"
            text += len(value)
        elif isinstance(value, dict):
            if depth > MAX_PAYLOAD_DEPTH:
                return f"payload is nested deeper than {MAX_PAYLOAD_DEPTH} levels"
            for key, item in value.items():
                if not isinstance(key, str):
                    return "payload keys must be strings"
                text += len(key)
                stack.append((item, depth + 1, json_only or (depth == 1 and key == "fields")))
        elif isinstance(value, list | tuple):
            if depth > MAX_PAYLOAD_DEPTH:
                return f"payload is nested deeper than {MAX_PAYLOAD_DEPTH} levels"
            stack.extend((v, depth + 1, json_only) for v in value)
        elif isinstance(value, float) and not math.isfinite(value):
            return "payload numbers must be finite"
        elif json_only and not isinstance(value, _JSON_SCALARS):
            return "payload 'fields' must hold JSON-like values"
        if text > MAX_PAYLOAD_TEXT:
            return f"payload holds more than {MAX_PAYLOAD_TEXT:,} characters of text"
    return None


_KINDS_BY_CLASS: dict[int, frozenset[str]] = {}
for _kind, _cls in EVENT_CLASSES.items():
    _KINDS_BY_CLASS[_cls] = _KINDS_BY_CLASS.get(_cls, frozenset()) | {_kind}
_ID_FULLMATCH = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}").fullmatch
_NAME_FULLMATCH = _NAME_RE.fullmatch


def validate_batch(items: list, priority: int) -> list[list[Any]]:
    """Validate a batch of wire arrays of one priority class; returns them unchanged.

    The hot path of ingest: column-wise checks run in C-level loops. When any check fails, each
    event is validated alone so the error names the first bad event and field precisely.
    """
    try:
        if not items:
            return items
        if set(map(type, items)) != _LIST or set(map(len, items)) != _WIDTH:
            raise ValueError
        ids, kinds, occurred, hlcs, contacts, campaigns, channels, values, payloads = zip(
            *items, strict=True
        )
        ok = _columns_ok(
            priority, ids, kinds, occurred, hlcs, contacts, campaigns, channels, values, payloads
        )
    except (ValueError, TypeError):
        ok = False
    if not ok:
        for i, item in enumerate(items):
            event = event_from_wire(item, i)
            if event.priority != priority:
                raise ProtocolError(
                    ErrorCode.BAD_EVENT,
                    f"event {i}: kind {event.kind!r} is class {event.priority}, batch is class {priority}",
                )
        raise ProtocolError(ErrorCode.BAD_EVENT, "batch failed validation")  # pragma: no cover
    return items


_NONE = type(None)
_INT, _STR, _OPT_INT, _OPT_STR, _OPT_DICT = {int}, {str}, {int, _NONE}, {str, _NONE}, {dict, _NONE}
_LIST, _WIDTH = {list}, {len(WIRE_FIELDS)}


def _columns_ok(
    priority, ids, kinds, occurred, hlcs, contacts, campaigns, channels, values, payloads
) -> bool:
    """Column-wise checks with C-level loops (map, set, min, max): the same rules as
    ``event_from_wire``, without a Python call per event."""
    if not (set(map(type, occurred)) == _INT and set(map(type, hlcs)) == _INT):
        return False
    if not (
        MIN_OCCURRED_MS <= min(occurred)
        and max(occurred) <= MAX_OCCURRED_MS
        and 0 <= min(hlcs)
        and max(hlcs) < 2**63
    ):
        return False
    if not _KINDS_BY_CLASS[priority].issuperset(kinds) or not all(map(_ID_FULLMATCH, ids)):
        return False
    if not (
        set(map(type, contacts)) <= _OPT_STR
        and set(map(type, campaigns)) <= _OPT_STR
        and set(map(type, channels)) <= _OPT_STR
        and set(map(type, values)) <= _OPT_INT
        and set(map(type, payloads)) <= _OPT_DICT
    ):
        return False
    if "" in contacts or "" in campaigns or "" in channels:
        return False
    if max(map(len, filter(None, contacts)), default=0) > MAX_CONTACT_LEN:
        return False
    if not (
        all(map(_ID_FULLMATCH, filter(None, campaigns)))
        and all(map(_NAME_FULLMATCH, filter(None, channels)))
    ):
        return False
    money = [v for v in values if v is not None]
    if money and not (-MAX_VALUE_CENTS <= min(money) and max(money) <= MAX_VALUE_CENTS):
        return False
    return all(
        len(p) <= MAX_PAYLOAD_KEYS and set(map(type, p)) <= _STR and payload_problem(p) is None
        for p in filter(None, payloads)
    ) and _ruled_ok(kinds, contacts, channels, values, payloads)


def _ruled_ok(kinds, contacts, channels, values, payloads) -> bool:
    """The rules of kinds that have their own (``RULED_KINDS``), on the few events of them."""
    if RULED_KINDS.isdisjoint(kinds):
        return True
    return all(
        spend_problem(contacts[i], channels[i], values[i], payloads[i] or {}) is None
        for i, kind in enumerate(kinds)
        if kind in RULED_KINDS
    )


# The wire array as a msgspec type: decoding a PUSH frame against it checks every type, range and
# length in C, about five times faster than a generic msgpack decode followed by Python checks.
# What a type cannot say (the id alphabet, the channel pattern, the kind's class) is checked by
# ``decoded_batch_ok`` on whole columns.
_Id = Annotated[str, msgspec.Meta(min_length=26, max_length=26)]
WireEvent = tuple[
    _Id,
    str,
    Annotated[int, msgspec.Meta(ge=MIN_OCCURRED_MS, le=MAX_OCCURRED_MS)],
    Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)],
    Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CONTACT_LEN)] | None,
    _Id | None,
    Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME_LEN)] | None,
    Annotated[int, msgspec.Meta(ge=-MAX_VALUE_CENTS, le=MAX_VALUE_CENTS)] | None,
    Annotated[dict[str, Any], msgspec.Meta(max_length=MAX_PAYLOAD_KEYS)] | None,
]
_ID_ALPHABET_FULLMATCH = re.compile(r"[0-9A-HJKMNP-TV-Z]*").fullmatch


def decoded_batch_ok(events: list[tuple], priority: int) -> bool:
    """The checks left after a batch was decoded as ``list[WireEvent]``; False means the batch
    must go through ``validate_batch`` to learn which event is wrong."""
    if not events:
        return True
    ids, kinds, _, _, contacts, campaigns, channels, values, payloads = zip(*events, strict=True)
    return (
        _KINDS_BY_CLASS[priority].issuperset(kinds)
        and _ruled_ok(kinds, contacts, channels, values, payloads)
        and all(payload_problem(p) is None for p in payloads if p)
        # every id is 26 characters long already, so one match over all of them checks each
        and _ID_ALPHABET_FULLMATCH("".join(ids)) is not None
        and all(map(_ID_FULLMATCH, set(campaigns).difference((None,))))
        and all(map(_NAME_FULLMATCH, set(channels).difference((None,))))
    )


def event_from_row(row: list[Any]) -> Event:
    """An Event from a wire array already checked by ``validate_batch`` (``Event``'s fields are
    in wire order, the payload last)."""
    return Event(*row[:WIRE_PAYLOAD], payload=row[WIRE_PAYLOAD] or {})


def iso_from_ms(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def ms_from_iso(text: str) -> int:
    """Parse an ISO-8601 time (``Z`` or an offset; naive means UTC) into epoch milliseconds."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError) as exc:
        raise ProtocolError(
            ErrorCode.BAD_EVENT, f"occurred_at {text!r} is not an ISO-8601 time"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
