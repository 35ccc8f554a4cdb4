"""A columnar, numpy-backed view of events for analytics.

``EventFrame`` holds one row per event in parallel numpy arrays. Strings (kinds, contacts,
campaigns, channels) are stored as integer codes into small lookup tables; ``-1`` means "absent".
The few payload fields analytics needs (invitee/inviter, score, nps, conversion type, contact role)
are extracted once into their own columns; the rest of the payload is not kept.

Invariants: rows are sorted by ``occurred_at_ms`` (stable, so events with equal times keep their
input order); the frame is immutable after construction; all times are epoch milliseconds UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from shared.protocol.kinds import EVENT_CLASSES

#: Kind codes are fixed (independent of the data) so callers may compare against them directly.
KINDS: tuple[str, ...] = tuple(sorted(EVENT_CLASSES))
KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(KINDS)}

Row = tuple[str, str, int, "str | None", "str | None", "str | None", "int | None", "dict[str, Any]"]


_EMPTY: dict[str, Any] = {}


def _encode(values: Sequence[str | None]) -> tuple[np.ndarray, list[str]]:
    """Categorical codes for a column of optional strings (first-seen order, ``-1`` for None).

    ``dict.fromkeys`` finds the distinct values in first-seen order and ``map`` over the index
    looks every value up, both without a Python-level loop per row."""
    names = [k for k in dict.fromkeys(values) if k is not None]
    index: dict[str | None, int] = {k: i for i, k in enumerate(names)}
    index[None] = -1
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))
    return codes, names


def _payload_values(payloads: Sequence[Any], rows: np.ndarray, key: str) -> list[Any]:
    """``payload.get(key)`` for the given rows (a missing payload counts as empty)."""
    return [(payloads[i] or _EMPTY).get(key) for i in rows.tolist()]


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else np.nan


@dataclass(frozen=True, eq=False)
class EventFrame:
    """Events as columns. Build with ``from_rows`` (or ``from_events``)."""

    ids: np.ndarray  # object array of event ids
    kind: np.ndarray  # int8 codes into KINDS
    time_ms: np.ndarray  # int64
    contact: np.ndarray  # int32 codes into contacts, -1 = none
    campaign: np.ndarray  # int32 codes into campaigns, -1 = none
    channel: np.ndarray  # int32 codes into channels, -1 = none
    value_cents: np.ndarray  # int64, 0 where absent
    has_value: np.ndarray  # bool
    contacts: list[str]
    campaigns: list[str]
    channels: list[str]
    #: contact code of the other party of an invite (invitee for invite_sent, inviter for
    #: invite_accepted), -1 elsewhere or when that person never appears as a contact.
    other: np.ndarray
    #: payload "score" (health_score) or "nps" (survey); NaN elsewhere.
    score: np.ndarray
    #: 1 = booking, 2 = subscription, 0 = other/unknown (conversions only).
    conv_type: np.ndarray
    #: contact role from ``contact`` events: 1 supplier, 2 couple, 0 unknown (indexed by contact).
    role: np.ndarray
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.time_ms)

    @property
    def n_contacts(self) -> int:
        return len(self.contacts)

    def mask(self, *kinds: str) -> np.ndarray:
        """Boolean mask of rows whose kind is one of ``kinds``."""
        codes = [KIND_CODE[k] for k in kinds]
        if len(codes) == 1:
            return self.kind == codes[0]
        return np.isin(self.kind, codes)

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()``, computed once per frame and key. Only for values that depend on the
        frame's data alone (a new frame, e.g. after new events, starts with an empty cache)."""
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = build()
            return value

    def rows_of(self, *kinds: str, lo: int | None = None, hi: int | None = None
                ) -> np.ndarray:
        """Row indices (ascending, so in time order) of the rows of ``kinds`` with
        ``lo <= occurred_at_ms < hi`` (``None``: unbounded). The rows of each kind set and their
        times are cached; rows are time-sorted, so a window is a slice of them."""
        key = ("rows_of", tuple(sorted(set(kinds))))
        rows, times = self.cached(key, lambda: self._rows_and_times(kinds))
        a = 0 if lo is None else int(np.searchsorted(times, lo, side="left"))
        b = len(rows) if hi is None else int(np.searchsorted(times, hi, side="left"))
        return rows[a : max(a, b)]

    def _rows_and_times(self, kinds: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero(self.mask(*kinds))
        return rows, self.time_ms[rows]

    def contact_code(self, name: str) -> int:
        index = self._cache.get("contact_index")
        if index is None:
            index = {c: i for i, c in enumerate(self.contacts)}
            self._cache["contact_index"] = index
        return index.get(name, -1)

    @classmethod
    def from_events(cls, events: Iterable[Any]) -> EventFrame:
        """Build from ``shared.protocol.events.Event`` objects (or anything with those fields)."""
        return cls.from_rows(
            (e.id, e.kind, e.occurred_at_ms, e.contact, e.campaign, e.channel, e.value_cents,
             e.payload)
            for e in events
        )

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> EventFrame:
        """Build from ``(id, kind, occurred_at_ms, contact, campaign, channel, value_cents,
        payload)`` tuples. Unknown kinds raise ``KeyError``."""
        rows = rows if isinstance(rows, list) else list(rows)
        if not rows:
            cols: list[Sequence[Any]] = [()] * 8
        else:
            if set(map(len, rows)) != {8}:
                raise ValueError("every row needs 8 fields")
            # one C-level pass per column (``zip(*rows)`` is several times slower at 1M rows)
            cols = [list(map(itemgetter(k), rows)) for k in range(8)]
        ids, kinds, times, contacts, campaigns, channels, values, payloads = cols
        n = len(ids)
        kind = np.fromiter(map(KIND_CODE.__getitem__, kinds), dtype=np.int8, count=n)
        time_ms = np.fromiter(times, dtype=np.int64, count=n)
        contact, contact_names = _encode(contacts)
        campaign, campaign_names = _encode(campaigns)
        channel, channel_names = _encode(channels)
        value_obj = np.array(values, dtype=object) if n else np.zeros(0, dtype=object)
        has_value = np.not_equal(value_obj, None) if n else np.zeros(0, dtype=bool)
        value = np.zeros(n, dtype=np.int64)
        value[has_value] = value_obj[has_value].astype(np.int64)

        contact_index = {c: i for i, c in enumerate(contact_names)}
        other = np.full(n, -1, dtype=np.int32)
        score = np.full(n, np.nan)
        conv_type = np.zeros(n, dtype=np.int8)
        role = np.zeros(len(contact_names), dtype=np.int8)

        def rows_of(name: str) -> np.ndarray:
            return np.flatnonzero(kind == KIND_CODE[name])

        rows = rows_of("conversion")
        conv_type[rows] = [1 if t == "booking" else 2 if t == "subscription" else 0
                           for t in _payload_values(payloads, rows, "type")]
        for name, key in (("health_score", "score"), ("survey", "nps")):
            rows = rows_of(name)
            score[rows] = [_number(s) for s in _payload_values(payloads, rows, key)]
        for name, key in (("invite_sent", "invitee"), ("invite_accepted", "inviter")):
            rows = rows_of(name)
            other[rows] = [contact_index.get(c, -1) for c in _payload_values(payloads, rows, key)]
        rows = rows_of("contact")
        rows = rows[contact[rows] >= 0]
        codes = np.zeros(len(rows), dtype=np.int8)
        for j, fields in enumerate(_payload_values(payloads, rows, "fields")):
            r = (fields or _EMPTY).get("role") if isinstance(fields or _EMPTY, dict) else None
            if r in ("supplier", "couple"):
                codes[j] = 1 if r == "supplier" else 2
        rows, codes = rows[codes > 0], codes[codes > 0]
        # the last contact event with a role wins
        last = len(rows) - 1 - np.unique(contact[rows][::-1], return_index=True)[1]
        role[contact[rows[last]]] = codes[last]

        order = np.argsort(time_ms, kind="stable")
        sorted_already = bool(n == 0 or np.all(order[1:] > order[:-1]))
        take = (lambda a: a) if sorted_already else (lambda a: a[order])
        return cls(
            ids=take(np.array(ids, dtype=object)),
            kind=take(kind),
            time_ms=take(time_ms),
            contact=take(contact),
            campaign=take(campaign),
            channel=take(channel),
            value_cents=take(value),
            has_value=take(has_value),
            contacts=contact_names,
            campaigns=campaign_names,
            channels=channel_names,
            other=take(other),
            score=take(score),
            conv_type=take(conv_type),
            role=role,
        )
