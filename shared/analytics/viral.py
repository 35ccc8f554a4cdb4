"""Viral growth: K-factor, invites, acceptance, cycle time, assisted invites, super-connectors.

Definitions (window ``[from_ms, to_ms)``):

* ``viral_coefficient`` K = accepted invites ÷ distinct inviting users (both in the window);
* ``invites_per_inviter`` = invites sent ÷ inviting users; ``acceptance_rate`` = accepted ÷ sent;
* ``cycle_time_days``: for each accepted invite, the time since the latest invite from that
  inviter to that invitee (median and mean);
* ``trend``: K per 7-day bucket starting at ``from_ms``, and its least-squares slope per week;
* an invite is *marketing-assisted* when a campaign send reached the invitee between 7 days
  before and 30 days after the invite; the earliest such send's campaign gets the credit;
* super-connectors: per inviter, accepted invites (first generation) plus those of their
  invitees (second generation), and the revenue of both generations' conversions up to
  ``to_ms``; ranked by downstream accepted invites, then revenue;
* campaigns ranked by viral effect: assisted accepted invites, then assisted invites.
"""

from __future__ import annotations

import numpy as np

from .events import EventFrame
from .paths import DAY_MS

ASSIST_BEFORE_MS = 7 * DAY_MS
ASSIST_AFTER_MS = 30 * DAY_MS
TREND_BUCKET_MS = 7 * DAY_MS


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _k(frame: EventFrame, sent: np.ndarray, accepted: np.ndarray) -> tuple[int, int, int]:
    """(accepted, sent, distinct inviters) from the row indices of invites and acceptances."""
    inviters = len(np.unique(frame.contact[sent]))
    return int(len(accepted)), int(len(sent)), inviters


def _with_contact(frame: EventFrame, rows: np.ndarray) -> np.ndarray:
    return rows[frame.contact[rows] >= 0]


def _sends_by_contact(frame: EventFrame) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Send rows with a contact ordered by (contact, time), their keys contact × span + time
    offset (for range searches per contact), the first event time and the span. Cached: it
    depends on the frame alone."""

    def build() -> tuple[np.ndarray, np.ndarray, int, int]:
        t = frame.time_ms
        sends = _with_contact(frame, frame.rows_of("send"))
        send_key = frame.contact[sends].astype(np.int64)
        order = np.lexsort((t[sends], send_key))
        sends, send_key = sends[order], send_key[order]
        tmin = int(t[0]) if len(t) else 0  # rows are time-sorted
        span = (int(t[-1]) - tmin + ASSIST_AFTER_MS + ASSIST_BEFORE_MS + 1) if len(t) else 1
        comp = send_key * span + (t[sends] - tmin + ASSIST_BEFORE_MS)
        return sends, comp, tmin, span

    return frame.cached("viral_sends_by_contact", build)


def _invites_by_pair(frame: EventFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Invites with both parties ordered by (inviter × contacts + invitee, time): their pair
    keys and times; and the distinct (inviter, invitee) pairs of acceptances. Cached."""

    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = frame.time_ms
        n = max(frame.n_contacts, 1)
        si = _with_contact(frame, frame.rows_of("invite_sent"))
        si = si[frame.other[si] >= 0]
        s_key = frame.contact[si].astype(np.int64) * n + frame.other[si]
        order = np.lexsort((t[si], s_key))
        acc = _with_contact(frame, frame.rows_of("invite_accepted"))
        acc = acc[frame.other[acc] >= 0]
        acc_pairs = np.unique(frame.other[acc].astype(np.int64) * n + frame.contact[acc])
        return s_key[order], t[si][order], acc_pairs

    return frame.cached("viral_invites_by_pair", build)


def viral_metrics(
    frame: EventFrame,
    *,
    from_ms: int,
    to_ms: int,
    campaign_names: dict[str, str] | None = None,
    top: int = 10,
) -> dict:
    """Viral figures for the window (JSON-ready)."""
    t = frame.time_ms
    all_sent = _with_contact(frame, frame.rows_of("invite_sent"))
    all_acc = _with_contact(frame, frame.rows_of("invite_accepted"))
    sent_t, acc_t = t[all_sent], t[all_acc]

    def between(rows: np.ndarray, times: np.ndarray, lo: int, hi: int) -> np.ndarray:
        a, b = np.searchsorted(times, [lo, hi], side="left")
        return rows[a : max(a, b)]

    sent_w = between(all_sent, sent_t, from_ms, to_ms)
    acc_w = between(all_acc, acc_t, from_ms, to_ms)
    accepted, sent, inviters = _k(frame, sent_w, acc_w)
    n = max(frame.n_contacts, 1)

    # cycle time: match each acceptance to the latest earlier invite of the same pair
    s_key, s_t, acc_pairs = _invites_by_pair(frame)
    ai = acc_w[frame.other[acc_w] >= 0]
    a_key = frame.other[ai].astype(np.int64) * n + frame.contact[ai]
    hit = np.searchsorted(s_key, a_key, side="right") - 1
    matched = (hit >= 0) & (s_key[np.maximum(hit, 0)] == a_key)
    cycle_days = (t[ai][matched] - s_t[hit[matched]]) / DAY_MS
    cycle_days = cycle_days[cycle_days >= 0]

    # 7-day trend of K
    n_buckets = max(0, -(-(to_ms - from_ms) // TREND_BUCKET_MS))
    sent_b = (t[sent_w] - from_ms) // TREND_BUCKET_MS
    invites_b = np.bincount(sent_b, minlength=n_buckets)
    pairs = np.unique(sent_b * n + frame.contact[sent_w])
    inviters_b = np.bincount(pairs // n, minlength=n_buckets)
    accepted_b = np.bincount((t[acc_w] - from_ms) // TREND_BUCKET_MS, minlength=n_buckets)
    buckets = []
    for j in range(n_buckets):
        start = from_ms + j * TREND_BUCKET_MS
        end = min(start + TREND_BUCKET_MS, to_ms)
        a, s, i = int(accepted_b[j]), int(invites_b[j]), int(inviters_b[j])
        buckets.append(
            {
                "from_ms": start,
                "to_ms": end,
                "accepted": a,
                "invites": s,
                "inviters": i,
                "k": _ratio(a, i),
            }
        )
    ks = [(j, b["k"]) for j, b in enumerate(buckets) if b["k"] is not None]
    slope = float(np.polyfit([j for j, _ in ks], [k for _, k in ks], 1)[0]) if len(ks) > 1 else None

    # marketing-assisted invites: a send to the invitee in [invite - 7d, invite + 30d]
    sends, comp, tmin, span = _sends_by_contact(frame)
    inv = sent_w[frame.other[sent_w] >= 0]
    inv_key = frame.other[inv].astype(np.int64) * span + (t[inv] - tmin + ASSIST_BEFORE_MS)
    lo = np.searchsorted(comp, inv_key - ASSIST_BEFORE_MS, side="left")
    hi = np.searchsorted(comp, inv_key + ASSIST_AFTER_MS, side="right")
    assisted = hi > lo
    # was the assisted invite accepted? (pair seen in an acceptance: acc_pairs)
    inv_pair = frame.contact[inv].astype(np.int64) * n + frame.other[inv]
    was_accepted = np.isin(inv_pair, acc_pairs)
    credited = frame.campaign[sends[lo[assisted]]]
    n_camp = len(frame.campaigns)
    assisted_by = np.bincount(credited[credited >= 0], minlength=n_camp)
    assisted_acc = np.bincount(credited[(credited >= 0) & was_accepted[assisted]], minlength=n_camp)
    names = campaign_names or {}
    ranked = sorted(
        (
            {
                "campaign": frame.campaigns[c],
                "name": names.get(frame.campaigns[c]),
                "assisted_invites": int(assisted_by[c]),
                "assisted_accepted_invites": int(assisted_acc[c]),
            }
            for c in np.flatnonzero(assisted_by).tolist()
        ),
        key=lambda r: (-r["assisted_accepted_invites"], -r["assisted_invites"], r["campaign"]),
    )

    return {
        "viral_coefficient": _ratio(accepted, inviters),
        "invites_sent": sent,
        "invites_accepted": accepted,
        "inviting_users": inviters,
        "invites_per_inviter": _ratio(sent, inviters),
        "acceptance_rate": _ratio(accepted, sent),
        "cycle_time_days": {
            "median": float(np.median(cycle_days)) if len(cycle_days) else None,
            "mean": float(cycle_days.mean()) if len(cycle_days) else None,
            "matched": int(len(cycle_days)),
        },
        "trend": {
            "bucket_days": TREND_BUCKET_MS // DAY_MS,
            "buckets": buckets,
            "slope_per_week": slope,
        },
        "marketing_assisted_invites": int(assisted.sum()),
        "marketing_assisted_share": _ratio(int(assisted.sum()), len(inv)),
        "super_connectors": super_connectors(frame, from_ms=from_ms, to_ms=to_ms, top=top),
        "campaigns_by_viral_effect": ranked[:top],
    }


def super_connectors(frame: EventFrame, *, from_ms: int, to_ms: int, top: int = 10) -> list[dict]:
    """Inviters ranked by downstream accepted invites (two generations), then revenue."""
    n = frame.n_contacts
    acc = frame.rows_of("invite_accepted", lo=from_ms, hi=to_ms)
    acc = acc[(frame.other[acc] >= 0) & (frame.contact[acc] >= 0)]
    pairs = np.unique(frame.other[acc].astype(np.int64) * n + frame.contact[acc])
    inviter, invitee = np.divmod(pairs, max(n, 1))
    conv = _with_contact(frame, frame.rows_of("conversion", hi=to_ms))
    revenue = np.bincount(frame.contact[conv], weights=frame.value_cents[conv] / 100.0, minlength=n)
    gen1 = np.bincount(inviter, minlength=n).astype(float)
    rev1 = np.bincount(inviter, weights=revenue[invitee], minlength=n)
    gen2 = np.bincount(inviter, weights=gen1[invitee], minlength=n)
    rev2 = np.bincount(inviter, weights=rev1[invitee], minlength=n)
    downstream = gen1 + gen2
    total_rev = rev1 + rev2
    candidates = np.flatnonzero(downstream > 0)
    order = np.lexsort((candidates, -total_rev[candidates], -downstream[candidates]))
    return [
        {
            "contact": frame.contacts[c],
            "accepted_invites": int(gen1[c]),
            "second_generation_invites": int(gen2[c]),
            "downstream_invites": int(downstream[c]),
            "downstream_revenue": round(float(total_rev[c]), 2),
        }
        for c in candidates[order][:top].tolist()
    ]
