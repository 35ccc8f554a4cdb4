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
from typing import Any

import numpy as np

from shared.protocol.kinds import EVENT_CLASSES

#: Kind codes are fixed (independent of the data) so callers may compare against them directly.
KINDS: tuple[str, ...] = tuple(sorted(EVENT_CLASSES))
KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(KINDS)}

Row = tuple[str, str, int, "str | None", "str | None", "str | None", "int | None", "dict[str, Any]"]


def _encode(values: Iterable[str | None]) -> tuple[np.ndarray, list[str]]:
    """Categorical codes for a column of optional strings (first-seen order, ``-1`` for None)."""
    table: dict[str | None, int] = {None: -1}
    setdefault = table.setdefault
    codes = np.fromiter(
        (setdefault(v, len(table) - 1) for v in values), dtype=np.int32
    )
    names = [k for k in table if k is not None]
    return codes, names


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
            cols = list(zip(*rows, strict=True))
        ids, kinds, times, contacts, campaigns, channels, values, payloads = cols
        n = len(ids)
        kind = np.fromiter((KIND_CODE[k] for k in kinds), dtype=np.int8, count=n)
        time_ms = np.fromiter(times, dtype=np.int64, count=n)
        contact, contact_names = _encode(contacts)
        campaign, campaign_names = _encode(campaigns)
        channel, channel_names = _encode(channels)
        has_value = np.fromiter((v is not None for v in values), dtype=bool, count=n)
        value = np.fromiter((v or 0 for v in values), dtype=np.int64, count=n)

        contact_index = {c: i for i, c in enumerate(contact_names)}
        other = np.full(n, -1, dtype=np.int32)
        score = np.full(n, np.nan)
        conv_type = np.zeros(n, dtype=np.int8)
        role = np.zeros(len(contact_names), dtype=np.int8)
        k_sent, k_acc = KIND_CODE["invite_sent"], KIND_CODE["invite_accepted"]
        k_health, k_survey = KIND_CODE["health_score"], KIND_CODE["survey"]
        k_conv, k_contact = KIND_CODE["conversion"], KIND_CODE["contact"]
        special = np.flatnonzero(
            np.isin(kind, [k_sent, k_acc, k_health, k_survey, k_conv, k_contact])
        )
        for i in special.tolist():
            k = kind[i]
            p = payloads[i] or {}
            if k == k_conv:
                t = p.get("type")
                conv_type[i] = 1 if t == "booking" else 2 if t == "subscription" else 0
            elif k == k_health:
                s = p.get("score")
                if isinstance(s, int | float):
                    score[i] = s
            elif k == k_survey:
                s = p.get("nps")
                if isinstance(s, int | float):
                    score[i] = s
            elif k == k_sent:
                other[i] = contact_index.get(p.get("invitee"), -1)
            elif k == k_acc:
                other[i] = contact_index.get(p.get("inviter"), -1)
            elif k == k_contact and contact[i] >= 0:
                fields = p.get("fields") or {}
                r = fields.get("role") if isinstance(fields, dict) else None
                if r in ("supplier", "couple"):
                    role[contact[i]] = 1 if r == "supplier" else 2

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
