"""Conversion paths: the ordered touchpoints before each conversion, and non-converting paths.

A ``PathSet`` is a CSR-style set of paths: path ``p`` owns touches ``offsets[p]:offsets[p+1]``,
each touch with a label (a channel or a campaign code) and, for paths built from events, a time.
Every path carries weights: ``conversions`` (for paths built from events 1 or 0; for aggregated
paths a count), ``value`` (revenue of those conversions) and ``nulls`` (how many times the path
ended without converting). Touches within a path are ordered by ``occurred_at``.

Rules used by ``build_paths`` (documented in docs/analytics.md):

* touch kinds are touchpoint, lead, send, open, click, invite_sent and invite_accepted; a touch
  without a channel is labelled "email" (send/open/click) or "referral" (invites) or "(unknown)";
* a conversion's path holds the contact's touches after their previous conversion and at most
  ``lookback_ms`` before it (a touch at the same millisecond as the conversion counts);
* a contact's touches after their last conversion form one non-converting path, trimmed to the
  lookback window ending at the last of those touches;
* conversions with no touch in the window are counted as ``unattributed``: no model credits them;
* ``scope`` picks the conversions that end paths: ``"acquisition"`` (the default: new bookings,
  first purchases, subscription starts, and untyped first conversions), ``"retention"``,
  ``"expansion"`` or ``"all"``. Every conversion still ends the touches before it: a path ending
  in a conversion outside the scope is left out (its touches led to something else), and so are
  the trailing touches of a contact whose last conversion is outside the scope (an existing
  customer's touches are not a failed acquisition).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.protocol.kinds import TOUCH_KINDS

from .events import ACQUISITION, CLASS_NAMES, EXPANSION, KIND_CODE, RETENTION, EventFrame

DAY_MS = 86_400_000
DEFAULT_LOOKBACK_MS = 30 * DAY_MS
NO_CAMPAIGN = "(no campaign)"
SCOPES: dict[str, tuple[int, ...]] = {
    **{name: (code,) for code, name in CLASS_NAMES.items()},
    "all": (ACQUISITION, RETENTION, EXPANSION),
}


@dataclass(frozen=True, eq=False)
class PathSet:
    """Paths in CSR form. ``labels`` names the codes in ``touch_label``."""

    labels: list[str]
    offsets: np.ndarray  # int64, len n_paths + 1
    touch_label: np.ndarray  # int32 codes into labels
    conversions: np.ndarray  # float64 per path
    value: np.ndarray  # float64 per path
    nulls: np.ndarray  # float64 per path
    touch_time_ms: np.ndarray | None = None  # int64 per touch
    conv_time_ms: np.ndarray | None = None  # int64 per path (end of path for non-converting)
    contact: np.ndarray | None = None  # int32 per path
    unattributed_conversions: float = 0.0
    unattributed_value: float = 0.0
    #: rows of an aggregated file left out (no channel): rows, conversions, value, nulls
    skipped: dict[str, float] | None = None
    #: structures derived from these paths by the models (see ``prepared.py``): ``_cache`` for
    #: those that depend on the labels, ``_structure`` for those that do not (shared with the
    #: same paths under other labels, see ``relabel``). PathSets are immutable, so these never
    #: go stale.
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    _structure: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_paths(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def touch_path(self) -> np.ndarray:
        """Path index of every touch (computed once; do not modify)."""
        tp = self._structure.get("touch_path")
        if tp is None:
            tp = np.repeat(np.arange(self.n_paths), self.lengths)
            tp.flags.writeable = False
            self._structure["touch_path"] = tp
        return tp

    def relabel(self, touch_label: np.ndarray, labels: list[str]) -> PathSet:
        """The same paths with other labels per touch (e.g. campaigns instead of channels)."""
        return PathSet(
            labels,
            self.offsets,
            touch_label.astype(np.int32),
            self.conversions,
            self.value,
            self.nulls,
            self.touch_time_ms,
            self.conv_time_ms,
            self.contact,
            self.unattributed_conversions,
            self.unattributed_value,
            _structure=self._structure,
        )

    def path_strings(self, limit: int | None = None, sep: str = " > ") -> list[str]:
        """Human-readable paths (``wedding_fair > email``), first ``limit`` paths."""
        n = self.n_paths if limit is None else min(limit, self.n_paths)
        out = []
        for p in range(n):
            codes = self.touch_label[self.offsets[p] : self.offsets[p + 1]]
            out.append(sep.join(self.labels[c] for c in codes.tolist()))
        return out

    def top_paths(self, limit: int = 12) -> list[dict[str, Any]]:
        """The converting paths grouped by their sequence of labels, the ``limit`` with most
        conversions (then value, then the sequence): ``{"path": [label, ...], "conversions",
        "value"}``; for the flow chart of paths. Computed once per limit."""
        key = ("top_paths", limit)
        if key not in self._cache:
            self._cache[key] = self._top_paths(limit)
        return [{**row, "path": list(row["path"])} for row in self._cache[key]]

    def _top_paths(self, limit: int) -> list[dict[str, Any]]:
        converting = np.flatnonzero(self.conversions > 0)
        if not len(converting) or limit <= 0:
            return []
        # a group per distinct sequence (its bytes), the figures summed in path order
        codes = self.touch_label
        width = codes.dtype.itemsize
        buf = codes.tobytes()
        starts = (self.offsets[converting] * width).tolist()
        ends = (self.offsets[converting + 1] * width).tolist()
        groups: dict[bytes, int] = {}
        group = np.fromiter(
            (groups.setdefault(buf[a:b], len(groups)) for a, b in zip(starts, ends, strict=True)),
            dtype=np.int64,
            count=len(converting),
        )
        n = np.bincount(group, weights=self.conversions[converting], minlength=len(groups))
        v = np.bincount(group, weights=self.value[converting], minlength=len(groups))
        keys = list(groups)
        rows = [
            (
                [self.labels[c] for c in np.frombuffer(keys[g], dtype=codes.dtype).tolist()],
                float(n[g]),
                float(v[g]),
            )
            for g in range(len(keys))
        ]
        rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
        return [
            {"path": path, "conversions": n, "value": round(v, 2)} for path, n, v in rows[:limit]
        ]


@dataclass(frozen=True, eq=False)
class Journeys:
    """Channel paths and the same paths labelled by campaign."""

    channels: PathSet
    campaigns: PathSet


def build_paths(
    frame: EventFrame,
    *,
    from_ms: int | None = None,
    to_ms: int | None = None,
    lookback_ms: int = DEFAULT_LOOKBACK_MS,
    scope: str = "acquisition",
) -> Journeys:
    """Paths of every contact for conversions of ``scope`` in ``[from_ms, to_ms)`` (all if
    None).

    Touches may precede ``from_ms`` by up to the lookback. Non-converting paths are those of
    contacts whose touches after their last conversion end inside the window.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}; got {scope!r}")
    key = ("paths", from_ms, to_ms, lookback_ms, scope)
    cached = frame._cache.get(key)
    if cached is not None:
        return cached
    lo = np.iinfo(np.int64).min if from_ms is None else from_ms
    hi = np.iinfo(np.int64).max if to_ms is None else to_ms
    t = frame.time_ms
    has_contact = frame.contact >= 0
    is_conv = (frame.kind == KIND_CODE["conversion"]) & has_contact & (t < hi)
    is_touch = frame.mask(*TOUCH_KINDS) & has_contact & (t < hi) & (t >= lo - lookback_ms)

    # Rows are time-sorted; a stable sort on contact gives (contact, time) order.
    ci = np.flatnonzero(is_conv)
    ci = ci[np.argsort(frame.contact[ci], kind="stable")]
    ti = np.flatnonzero(is_touch)
    ti = ti[np.argsort(frame.contact[ti], kind="stable")]
    c_contact, c_time = frame.contact[ci].astype(np.int64), t[ci]
    t_contact, t_time = frame.contact[ti].astype(np.int64), t[ti]

    tmin = int(min(c_time.min(initial=0), t_time.min(initial=0)))
    span = int(max(c_time.max(initial=0), t_time.max(initial=0))) - tmin + 1
    c_key = c_contact * span + (c_time - tmin)
    t_key = t_contact * span + (t_time - tmin)
    nxt = np.searchsorted(c_key, t_key, side="left")  # first conversion at or after the touch
    valid = nxt < len(ci)
    if len(ci):
        nxt_c = np.minimum(nxt, len(ci) - 1)
        before_conv = valid & (c_contact[nxt_c] == t_contact)
        converting = before_conv & ((c_time[nxt_c] - t_time) <= lookback_ms)
    else:  # no conversion: every touch is on a non-converting path
        nxt_c = np.zeros(len(ti), dtype=np.int64)
        before_conv = converting = np.zeros(len(ti), dtype=bool)

    # Which conversions count (inside the window, of the scope); touches of others are dropped.
    in_scope = np.isin(frame.conversion_class()[ci], SCOPES[scope])
    conv_in = (c_time >= lo) & in_scope
    keep_conv_touch = converting & conv_in[nxt_c] if len(ci) else converting
    # Non-converting touches: after the contact's last conversion, unless that conversion is
    # outside the scope (the contact is then a customer of another kind, not a failed path).
    after_last = ~before_conv
    if len(ci) and not in_scope.all():
        last = np.flatnonzero(np.r_[c_contact[1:] != c_contact[:-1], True])  # per contact
        out_last = np.zeros(frame.n_contacts + 1, dtype=bool)
        out_last[c_contact[last]] = ~in_scope[last]
        after_last &= ~out_last[t_contact]
    null_t = np.flatnonzero(after_last)
    # Trim each contact's null path to the lookback window ending at its last touch, and keep
    # only null paths ending inside [lo, hi).
    nc = t_contact[null_t]
    last_time = np.zeros(0, dtype=np.int64)
    if len(null_t):
        starts = np.flatnonzero(np.r_[True, nc[1:] != nc[:-1]])
        ends = np.r_[starts[1:], len(nc)]
        last_time = t_time[null_t][ends - 1]
        last_per_touch = np.repeat(last_time, ends - starts)
        ok = (last_per_touch - t_time[null_t] <= lookback_ms) & (last_per_touch >= lo)
        null_t = null_t[ok]
        nc = nc[ok]

    n_conv = len(ci)
    conv_kept = np.flatnonzero(conv_in)
    # Path ids: converting paths first (one per kept conversion), then one per null contact.
    conv_path_id = np.full(n_conv, -1, dtype=np.int64)
    conv_path_id[conv_kept] = np.arange(len(conv_kept))
    null_contacts, null_inv = np.unique(nc, return_inverse=True)
    n_paths = len(conv_kept) + len(null_contacts)

    sel_conv = np.flatnonzero(keep_conv_touch)
    touch_rows = np.r_[ti[sel_conv], ti[null_t]]
    touch_pid = np.r_[conv_path_id[nxt_c[sel_conv]], len(conv_kept) + null_inv]
    order = np.argsort(touch_pid, kind="stable")  # already time-ordered within a path
    touch_rows, touch_pid = touch_rows[order], touch_pid[order]
    counts = np.bincount(touch_pid, minlength=n_paths)
    offsets = np.zeros(n_paths + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])

    conversions = np.zeros(n_paths)
    conversions[: len(conv_kept)] = 1.0
    value = np.zeros(n_paths)
    value[: len(conv_kept)] = frame.value_cents[ci[conv_kept]] / 100.0
    nulls = np.zeros(n_paths)
    nulls[len(conv_kept) :] = 1.0
    conv_time = np.r_[
        c_time[conv_kept],
        t_time[np.searchsorted(t_contact, null_contacts, side="right") - 1]
        if len(null_contacts)
        else np.zeros(0, np.int64),
    ]
    path_contact = np.r_[c_contact[conv_kept], null_contacts].astype(np.int32)

    empty = counts[: len(conv_kept)] == 0
    unattributed_conv = float(empty.sum())
    unattributed_value = float(value[: len(conv_kept)][empty].sum())
    keep = np.ones(n_paths, dtype=bool)
    keep[: len(conv_kept)] = ~empty
    offsets = np.r_[0, np.cumsum(counts[keep])].astype(np.int64)

    ch_labels = list(frame.channels)
    ch = frame.channel[touch_rows].astype(np.int64)
    kind = frame.kind[touch_rows]
    missing = ch < 0
    if missing.any():
        defaults = {
            "email": ("send", "open", "click"),
            "referral": ("invite_sent", "invite_accepted"),
        }
        for name, kinds in defaults.items():
            m = missing & np.isin(kind, [KIND_CODE[k] for k in kinds])
            if m.any():
                if name not in ch_labels:
                    ch_labels.append(name)
                ch[m] = ch_labels.index(name)
        m = ch < 0
        if m.any():
            ch_labels.append("(unknown)")
            ch[m] = len(ch_labels) - 1
    channels = PathSet(
        labels=ch_labels,
        offsets=offsets,
        touch_label=ch.astype(np.int32),
        conversions=conversions[keep],
        value=value[keep],
        nulls=nulls[keep],
        touch_time_ms=t[touch_rows],
        conv_time_ms=conv_time[keep],
        contact=path_contact[keep],
        unattributed_conversions=unattributed_conv,
        unattributed_value=unattributed_value,
    )
    camp = frame.campaign[touch_rows].astype(np.int64)
    camp_labels = list(frame.campaigns) + [NO_CAMPAIGN]
    camp[camp < 0] = len(camp_labels) - 1
    result = Journeys(channels, channels.relabel(camp, camp_labels))
    frame._cache[key] = result
    return result
