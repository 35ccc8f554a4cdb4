"""A columnar, numpy-backed view of events for analytics.

``EventFrame`` holds one row per event in parallel numpy arrays. Strings (kinds, contacts,
campaigns, channels) are stored as integer codes into small lookup tables; ``-1`` means "absent".
The few payload fields analytics needs (invitee/inviter, score, nps, conversion type, contact role,
an enrolment's holdout flag, a spend's period) are extracted once into their own columns; the rest
of the payload is not kept.

Conversion types (payload ``conversion_type``, see ``CONVERSION_TYPES``) are coded in
``conv_type``; a conversion without one keeps working: the legacy payload ``type``
(``booking``/``subscription``) is read, and ``conversion_class`` decides what is still unknown by
the contact's history (docs/analytics.md, "Conversion types").

Invariants: rows are sorted by ``(occurred_at_ms, id)``; lookup tables are sorted by name; a
contact's role comes from its last ``contact`` event with a role in that row order. So a frame is a
function of its set of rows, not of the order they were given in: ``from_rows(a + b)`` equals
``from_rows(b + a)`` and ``from_rows(a).append(b)`` (rows with equal ids keep their input order).
The frame is immutable after construction; all times are epoch milliseconds UTC.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from shared.protocol.kinds import EVENT_CLASSES

#: Kinds the analytics read beyond the common ones (the protocol lists both): the automation
#: engine's ``enrolment`` (payload ``{"enrolment": id, "holdout": bool, "step": n}``) and
#: ``spend`` (a record of money spent on a channel: ``value_cents``, ``channel``, optional
#: ``campaign``, payload ``{"days": n}``: the period starting at ``occurred_at``; its rules are
#: ``shared.protocol.spend``'s).
ANALYTICS_KINDS: tuple[str, ...] = ("enrolment", "spend")
#: Kind codes are fixed (independent of the data) so callers may compare against them directly.
KINDS: tuple[str, ...] = tuple(sorted(set(EVENT_CLASSES) | set(ANALYTICS_KINDS)))
KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(KINDS)}

#: payload ``conversion_type`` values. Acquisition: new_booking, first_purchase,
#: subscription_start; retention: renewal; expansion: upsell.
CONVERSION_TYPES: tuple[str, ...] = (
    "new_booking",
    "first_purchase",
    "subscription_start",
    "renewal",
    "upsell",
)
#: ``conv_type`` codes: 0 no type; 1..5 ``CONVERSION_TYPES``; 6 a ``conversion_type`` not in
#: that list; 7 / 8 no ``conversion_type`` but the legacy ``type`` booking / subscription.
UNTYPED, UNRECOGNISED, LEGACY_BOOKING, LEGACY_SUBSCRIPTION = 0, 6, 7, 8
TYPE_NAMES: tuple[str, ...] = (
    "(none)",
    *CONVERSION_TYPES,
    "(unrecognised)",
    "booking (legacy type)",
    "subscription (legacy type)",
)
_TYPE_CODE = {t: i + 1 for i, t in enumerate(CONVERSION_TYPES)}
#: conversion classes (``EventFrame.conversion_class``)
ACQUISITION, RETENTION, EXPANSION = 1, 2, 3
CLASS_NAMES = {ACQUISITION: "acquisition", RETENTION: "retention", EXPANSION: "expansion"}
#: the class a type code fixes; codes absent here are decided by the contact's history
_FIXED_CLASS = {1: ACQUISITION, 2: ACQUISITION, 3: ACQUISITION, 4: RETENTION, 5: EXPANSION}
_FIXED_CLASS[LEGACY_BOOKING] = ACQUISITION
#: codes of subscription payments (supplier LTV, churn): subscription_start, renewal, legacy
SUBSCRIPTION_CODES = (3, 4, LEGACY_SUBSCRIPTION)


def conversion_type_code(payload: Any) -> int:
    """The ``conv_type`` code of a conversion's payload."""
    payload = payload if isinstance(payload, dict) else _EMPTY
    t = payload.get("conversion_type")
    if t is not None:
        return _TYPE_CODE.get(t, UNRECOGNISED) if isinstance(t, str) else UNRECOGNISED
    legacy = payload.get("type")
    return (
        LEGACY_BOOKING
        if legacy == "booking"
        else LEGACY_SUBSCRIPTION
        if legacy == "subscription"
        else UNTYPED
    )


Row = tuple[str, str, int, "str | None", "str | None", "str | None", "int | None", "dict[str, Any]"]

_EMPTY: dict[str, Any] = {}
#: values kept by ``EventFrame.carried`` (and fits kept by ``EventFrame.fitted``)
CARRY_MAX = 32
#: a fit kept across appends (``EventFrame.fitted``) is reused until the frame holds more than
#: this share of events beyond those it was fitted on (docs/analytics.md, "Fits kept across
#: appends")
FIT_STALE_GROWTH = 0.01


def _encode(values: Sequence[str | None]) -> tuple[np.ndarray, list[str]]:
    """Categorical codes for a column of optional strings (names sorted, ``-1`` for None).

    ``dict.fromkeys`` finds the distinct values and ``map`` over the index looks every value up,
    both without a Python-level loop per row."""
    names = sorted(k for k in dict.fromkeys(values) if k is not None)
    index: dict[str | None, int] = {k: i for i, k in enumerate(names)}
    index[None] = -1
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))
    return codes, names


def _payload_values(payloads: Sequence[Any], rows: np.ndarray, key: str) -> list[Any]:
    """``payload.get(key)`` for the given rows (a missing payload counts as empty)."""
    return [(payloads[i] or _EMPTY).get(key) for i in rows.tolist()]


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else np.nan


def _time_id_order(time_ms: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The permutation that sorts rows by ``(time, id)``, stable for equal ids. A stable sort by
    time, then only runs of equal times whose ids are out of order are sorted by id (rows read
    in id order, as the server reads them, need none)."""
    order = np.argsort(time_ms, kind="stable")
    t = time_ms[order]
    ties = np.flatnonzero(t[1:] == t[:-1])
    if len(ties):
        ordered = ids[order[ties]] <= ids[order[ties + 1]]
        for value in np.unique(t[ties[~ordered.astype(bool)]]).tolist():
            a = int(np.searchsorted(t, value, side="left"))
            b = int(np.searchsorted(t, value, side="right"))
            run = order[a:b]
            order[a:b] = run[sorted(range(b - a), key=ids[run].__getitem__)]
    return order


def _merge_names(old: list[str], new: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The sorted union of two sorted tables and the code maps into it. Each map has one extra
    last entry, ``-1``, so ``map[codes]`` keeps ``-1`` (absent) as it is."""
    added = [k for k in new if _lookup(old, k) < 0]
    if added:
        at = np.array([bisect_left(old, k) for k in added], dtype=np.int64)
        shift = np.cumsum(np.bincount(at, minlength=len(old) + 1))[: len(old)]
        old_map = np.arange(len(old), dtype=np.int32) + shift.astype(np.int32)
        names = sorted(old + added)  # two sorted runs: a linear merge
    else:
        old_map, names = np.arange(len(old), dtype=np.int32), old
    new_map = np.array([bisect_left(names, k) for k in new], dtype=np.int32)
    minus = np.array([-1], dtype=np.int32)
    return names, np.concatenate([old_map, minus]), np.concatenate([new_map, minus])


def _lookup(names: list[str], name: str) -> int:
    """``names.index(name)`` in a sorted table, ``-1`` when absent."""
    i = bisect_left(names, name)
    return i if i < len(names) and names[i] == name else -1


@dataclass(frozen=True, eq=False)
class FitAsOf:
    """The frame a fit was made on (``EventFrame.fitted``)."""

    events: int  # its rows
    contacts: list[str]  # its contact table
    key: Any  # the key it was built for


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
    #: payload "score" (health_score), "nps" (survey) or "days" (spend); NaN elsewhere.
    score: np.ndarray
    #: conversion type code (see ``TYPE_NAMES``), 0 elsewhere.
    conv_type: np.ndarray
    #: contact role from ``contact`` events: 1 supplier, 2 couple, 0 unknown (indexed by contact).
    role: np.ndarray
    #: per contact, the row of the ``contact`` event its role came from (-1: none).
    role_row: np.ndarray
    #: invite rows (ascending) whose other party is named but not a contact of this frame, and
    #: those names: an append that brings the person in resolves them.
    unresolved_rows: np.ndarray
    unresolved_names: list[str]
    #: enrolment rows: 1 held out, 0 treated; -1 elsewhere (or no holdout flag).
    holdout: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    #: values keyed by their own inputs (``carried``), handed on to appended frames
    _carry: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    #: fits by their staleness key (``fitted``), handed on to appended frames
    _fits: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

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

    def carried(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()`` for a ``key`` that holds every input of the value (e.g. the bytes of
        the data a model is fitted on), so it stays right for any frame: kept across
        ``append``, most recent first, at most ``CARRY_MAX`` values."""
        try:
            value = self._carry.pop(key)
        except KeyError:
            value = build()
        self._carry[key] = value
        while len(self._carry) > CARRY_MAX:
            self._carry.pop(next(iter(self._carry)))
        return value

    def fitted(self, key: Any, stale_key: Any, build: Callable[[], Any]) -> tuple[Any, FitAsOf]:
        """``(build(), as_of)`` for ``key`` (a key of this frame's data, like ``cached``), or
        the value a frame this one was appended from built for the same ``stale_key`` while
        this frame has at most ``FIT_STALE_GROWTH`` more events than that one. ``as_of`` says
        which frame the value was built on (its events and contact table: contact codes in the
        value index that table). A value built on this frame is only reused for its own
        ``key``."""
        hit = self._cache.get(("fitted", key))
        if hit is not None:
            return hit
        kept = self._fits.pop(stale_key, None)
        if kept is None or not (
            kept[1].events < len(self) <= kept[1].events * (1 + FIT_STALE_GROWTH)
        ):
            kept = (build(), FitAsOf(len(self), self.contacts, key))
        self._fits[stale_key] = kept
        while len(self._fits) > CARRY_MAX:
            self._fits.pop(next(iter(self._fits)))
        self._cache[("fitted", key)] = kept
        return kept

    def rows_of(self, *kinds: str, lo: int | None = None, hi: int | None = None) -> np.ndarray:
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
            (
                e.id,
                e.kind,
                e.occurred_at_ms,
                e.contact,
                e.campaign,
                e.channel,
                e.value_cents,
                e.payload,
            )
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
        id_arr = np.empty(n, dtype=object)
        id_arr[:] = ids
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
        role_row = np.full(len(contact_names), -1, dtype=np.int64)

        order = _time_id_order(time_ms, id_arr)
        sorted_already = bool(n == 0 or np.all(order[1:] > order[:-1]))
        take = (lambda a: a) if sorted_already else (lambda a: a[order])
        if sorted_already:
            position = np.arange(n, dtype=np.int64)  # input row -> row of the frame
        else:
            position = np.empty(n, dtype=np.int64)
            position[order] = np.arange(n, dtype=np.int64)

        def rows_of(name: str) -> np.ndarray:
            return np.flatnonzero(kind == KIND_CODE[name])

        rows = rows_of("conversion")
        conv_type[rows] = [conversion_type_code(payloads[i]) for i in rows.tolist()]
        holdout = np.full(n, -1, dtype=np.int8)
        rows = rows_of("enrolment")
        holdout[rows] = [
            -1 if h is None else int(bool(h)) for h in _payload_values(payloads, rows, "holdout")
        ]
        for name, key in (("health_score", "score"), ("survey", "nps"), ("spend", "days")):
            rows = rows_of(name)
            score[rows] = [_number(s) for s in _payload_values(payloads, rows, key)]
        unresolved_rows: list[int] = []
        unresolved_names: list[str] = []
        for name, key in (("invite_sent", "invitee"), ("invite_accepted", "inviter")):
            rows = rows_of(name)
            names = _payload_values(payloads, rows, key)
            codes = [contact_index.get(c, -1) for c in names]
            other[rows] = codes
            for r, c, code in zip(rows.tolist(), names, codes, strict=True):
                if code < 0 and isinstance(c, str):
                    unresolved_rows.append(r)
                    unresolved_names.append(c)
        pending = np.array(unresolved_rows, dtype=np.int64)
        pending_pos = position[pending]
        by_pos = np.argsort(pending_pos, kind="stable")
        unresolved_names = [unresolved_names[i] for i in by_pos.tolist()]

        rows = rows_of("contact")
        rows = rows[contact[rows] >= 0]
        codes = np.zeros(len(rows), dtype=np.int8)
        for j, fields in enumerate(_payload_values(payloads, rows, "fields")):
            r = (fields or _EMPTY).get("role") if isinstance(fields or _EMPTY, dict) else None
            if r in ("supplier", "couple"):
                codes[j] = 1 if r == "supplier" else 2
        rows, codes = rows[codes > 0], codes[codes > 0]
        # the last contact event with a role in the frame's row order wins
        at = position[rows]
        by_at = np.argsort(at)
        rows, codes, at = rows[by_at], codes[by_at], at[by_at]
        last = len(rows) - 1 - np.unique(contact[rows][::-1], return_index=True)[1]
        role[contact[rows[last]]] = codes[last]
        role_row[contact[rows[last]]] = at[last]

        return cls(
            ids=take(id_arr),
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
            role_row=role_row,
            unresolved_rows=pending_pos[by_pos],
            unresolved_names=unresolved_names,
            holdout=take(holdout),
        )

    def append(self, rows: Iterable[Sequence[Any]] | EventFrame) -> EventFrame:
        """A new frame of this frame's rows and ``rows`` (``from_rows`` tuples, or a frame):
        equal, column by column and table by table, to ``from_rows`` of all the rows, without
        re-encoding the rows already here. The new frame's cache starts with what stays valid:
        the rows and times of each kind set (merged with the new rows), the contact index when
        no contact is new, the conversion classes when no conversion is new; it is handed the
        values of ``carried`` and the fits of ``fitted``."""
        new = rows if isinstance(rows, EventFrame) else EventFrame.from_rows(rows)
        if not len(new):
            return self
        n, m = len(self), len(new)
        # where each new row goes: after the old rows with a smaller time, or an equal time and
        # a smaller (or equal: input order) id
        lo = np.searchsorted(self.time_ms, new.time_ms, side="left")
        hi = np.searchsorted(self.time_ms, new.time_ms, side="right")
        before = lo.copy()
        for j in np.flatnonzero(hi > lo).tolist():
            before[j] = lo[j] + bisect_right(self.ids[lo[j] : hi[j]], new.ids[j])
        pos_new = before + np.arange(m, dtype=np.int64)
        is_new = np.zeros(n + m, dtype=bool)
        is_new[pos_new] = True
        pos_old = np.flatnonzero(~is_new)

        def merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            out = np.empty(n + m, dtype=a.dtype)
            out[pos_old] = a
            out[pos_new] = b
            return out

        contacts, c_old, c_new = _merge_names(self.contacts, new.contacts)
        campaigns, k_old, k_new = _merge_names(self.campaigns, new.campaigns)
        channels, h_old, h_new = _merge_names(self.channels, new.channels)
        other = merge(c_old[self.other], c_new[new.other])

        # invites whose other party was not a contact: resolvable now if that person came in
        still_rows: list[np.ndarray] = []
        still_names: list[str] = []
        for frame, pos, theirs in ((self, pos_old, new.contacts), (new, pos_new, self.contacts)):
            if not len(frame.unresolved_rows):
                continue
            at = pos[frame.unresolved_rows]
            keep = np.ones(len(at), dtype=bool)
            if theirs:
                for j, name in enumerate(frame.unresolved_names):
                    code = _lookup(contacts, name) if _lookup(theirs, name) >= 0 else -1
                    if code >= 0:
                        other[at[j]] = code
                        keep[j] = False
            still_rows.append(at[keep])
            still_names.extend(
                name for name, k in zip(frame.unresolved_names, keep.tolist(), strict=True) if k
            )
        if still_rows:
            unresolved = np.concatenate(still_rows)
            by_row = np.argsort(unresolved, kind="stable")
            unresolved_rows = unresolved[by_row]
            unresolved_names = [still_names[i] for i in by_row.tolist()]
        else:
            unresolved_rows, unresolved_names = np.zeros(0, dtype=np.int64), []

        # roles: per contact, the later of the old and the new deciding row
        role = np.zeros(len(contacts), dtype=np.int8)
        role_row = np.full(len(contacts), -1, dtype=np.int64)
        old_codes = c_old[: len(self.contacts)]
        role[old_codes] = self.role
        role_row[old_codes] = np.where(self.role_row >= 0, pos_old[self.role_row], -1)
        new_codes = c_new[: len(new.contacts)]
        candidate = np.where(new.role_row >= 0, pos_new[new.role_row], -1)
        later = candidate > role_row[new_codes]
        role[new_codes[later]] = new.role[later]
        role_row[new_codes[later]] = candidate[later]

        out = EventFrame(
            ids=merge(self.ids, new.ids),
            kind=merge(self.kind, new.kind),
            time_ms=merge(self.time_ms, new.time_ms),
            contact=merge(c_old[self.contact], c_new[new.contact]),
            campaign=merge(k_old[self.campaign], k_new[new.campaign]),
            channel=merge(h_old[self.channel], h_new[new.channel]),
            value_cents=merge(self.value_cents, new.value_cents),
            has_value=merge(self.has_value, new.has_value),
            contacts=contacts,
            campaigns=campaigns,
            channels=channels,
            other=other,
            score=merge(self.score, new.score),
            conv_type=merge(self.conv_type, new.conv_type),
            role=role,
            role_row=role_row,
            unresolved_rows=unresolved_rows,
            unresolved_names=unresolved_names,
            holdout=merge(self.holdout, new.holdout),
            _carry=dict(self._carry),
            _fits=dict(self._fits),
        )
        out._carry_cache(self, new, pos_old, pos_new)
        return out

    def _carry_cache(
        self, old: EventFrame, new: EventFrame, pos_old: np.ndarray, pos_new: np.ndarray
    ) -> None:
        """The entries of ``old``'s cache that this frame (``old`` with ``new``'s rows at
        ``pos_new``, ``old``'s at ``pos_old``) can take over, brought up to date."""
        for key, value in list(old._cache.items()):
            if isinstance(key, tuple) and len(key) == 2 and key[0] == "rows_of":
                rows = np.concatenate([pos_old[value[0]], pos_new[new.rows_of(*key[1])]])
                rows.sort(kind="stable")  # two sorted runs: a merge
                self._cache[key] = (rows, self.time_ms[rows])
        index = old._cache.get("contact_index")
        if index is not None and self.contacts is old.contacts:  # no contact added
            self._cache["contact_index"] = index
        classes = old._cache.get("conversion_class")
        if classes is not None and not (new.kind == KIND_CODE["conversion"]).any():
            out = np.zeros(len(self), dtype=np.int8)
            out[pos_old] = classes
            out.flags.writeable = False
            self._cache["conversion_class"] = out

    def conversion_class(self) -> np.ndarray:
        """Per row, the class of a conversion (``ACQUISITION``, ``RETENTION``, ``EXPANSION``;
        0 elsewhere). A type decides it; a conversion with no type (or one not recognised, or
        the legacy ``subscription``) is acquisition when it is the contact's first conversion
        and retention after that. Cached."""

        def build() -> np.ndarray:
            out = np.zeros(len(self), dtype=np.int8)
            rows = self.rows_of("conversion")
            codes = self.conv_type[rows]
            fixed = np.zeros(16, dtype=np.int8)
            for code, cls in _FIXED_CLASS.items():
                fixed[code] = cls
            cls = fixed[codes]
            open_ = np.flatnonzero(cls == 0)
            if len(open_):
                who = self.contact[rows]
                first = np.zeros(len(rows), dtype=bool)
                # rows are time-sorted: a contact's first row is its earliest conversion
                _, at = np.unique(np.where(who >= 0, who, -1), return_index=True)
                first[at] = True
                first[who < 0] = True  # no contact: no history, counts as new
                cls[open_] = np.where(first[open_], ACQUISITION, RETENTION)
            out[rows] = cls
            out.flags.writeable = False
            return out

        return self.cached("conversion_class", build)
