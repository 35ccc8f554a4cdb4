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

from .events import KIND_CODE, EventFrame
from .paths import DAY_MS

ASSIST_BEFORE_MS = 7 * DAY_MS
ASSIST_AFTER_MS = 30 * DAY_MS
TREND_BUCKET_MS = 7 * DAY_MS


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _k(frame: EventFrame, sent: np.ndarray, accepted: np.ndarray) -> tuple[int, int, int]:
    inviters = len(np.unique(frame.contact[sent]))
    return int(accepted.sum()), int(sent.sum()), inviters


def viral_metrics(
    frame: EventFrame, *, from_ms: int, to_ms: int, campaign_names: dict[str, str] | None = None,
    top: int = 10,
) -> dict:
    """Viral figures for the window (JSON-ready)."""
    t = frame.time_ms
    in_window = (t >= from_ms) & (t < to_ms)
    is_sent = (frame.kind == KIND_CODE["invite_sent"]) & (frame.contact >= 0)
    is_acc = (frame.kind == KIND_CODE["invite_accepted"]) & (frame.contact >= 0)
    sent_w, acc_w = is_sent & in_window, is_acc & in_window
    accepted, sent, inviters = _k(frame, sent_w, acc_w)

    # cycle time: match each acceptance to the latest earlier invite of the same pair
    n = max(frame.n_contacts, 1)
    si = np.flatnonzero(is_sent & (frame.other >= 0))
    ai = np.flatnonzero(acc_w & (frame.other >= 0))
    s_key = frame.contact[si].astype(np.int64) * n + frame.other[si]
    a_key = frame.other[ai].astype(np.int64) * n + frame.contact[ai]
    order = np.lexsort((t[si], s_key))
    s_key, s_t = s_key[order], t[si][order]
    hit = np.searchsorted(s_key, a_key, side="right") - 1
    matched = (hit >= 0) & (s_key[np.maximum(hit, 0)] == a_key)
    cycle_days = (t[ai][matched] - s_t[hit[matched]]) / DAY_MS
    cycle_days = cycle_days[cycle_days >= 0]

    # 7-day trend of K
    buckets = []
    start = from_ms
    while start < to_ms:
        end = min(start + TREND_BUCKET_MS, to_ms)
        w = (t >= start) & (t < end)
        a, s, i = _k(frame, is_sent & w, is_acc & w)
        buckets.append({"from_ms": start, "to_ms": end, "accepted": a, "invites": s,
                        "inviters": i, "k": _ratio(a, i)})
        start = end
    ks = [(j, b["k"]) for j, b in enumerate(buckets) if b["k"] is not None]
    slope = float(np.polyfit([j for j, _ in ks], [k for _, k in ks], 1)[0]) if len(ks) > 1 \
        else None

    # marketing-assisted invites: a send to the invitee in [invite - 7d, invite + 30d]
    sends = np.flatnonzero(frame.kind == KIND_CODE["send"])
    sends = sends[frame.contact[sends] >= 0]
    send_key = frame.contact[sends].astype(np.int64)
    sorder = np.lexsort((t[sends], send_key))
    sends, send_key = sends[sorder], send_key[sorder]
    tmin = int(t.min()) if len(t) else 0
    span = (int(t.max()) - tmin + ASSIST_AFTER_MS + ASSIST_BEFORE_MS + 1) if len(t) else 1
    comp = send_key * span + (t[sends] - tmin + ASSIST_BEFORE_MS)
    inv = np.flatnonzero(sent_w & (frame.other >= 0))
    inv_key = frame.other[inv].astype(np.int64) * span + (t[inv] - tmin + ASSIST_BEFORE_MS)
    lo = np.searchsorted(comp, inv_key - ASSIST_BEFORE_MS, side="left")
    hi = np.searchsorted(comp, inv_key + ASSIST_AFTER_MS, side="right")
    assisted = hi > lo
    # was the assisted invite accepted? (pair seen in an acceptance)
    acc_pairs = np.unique(frame.other[np.flatnonzero(is_acc & (frame.other >= 0))].astype(
        np.int64) * n + frame.contact[np.flatnonzero(is_acc & (frame.other >= 0))])
    inv_pair = frame.contact[inv].astype(np.int64) * n + frame.other[inv]
    was_accepted = np.isin(inv_pair, acc_pairs)
    credited = frame.campaign[sends[lo[assisted]]]
    n_camp = len(frame.campaigns)
    assisted_by = np.bincount(credited[credited >= 0], minlength=n_camp)
    assisted_acc = np.bincount(credited[(credited >= 0) & was_accepted[assisted]],
                               minlength=n_camp)
    names = campaign_names or {}
    ranked = sorted(
        (
            {"campaign": frame.campaigns[c], "name": names.get(frame.campaigns[c]),
             "assisted_invites": int(assisted_by[c]),
             "assisted_accepted_invites": int(assisted_acc[c])}
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
        "trend": {"bucket_days": TREND_BUCKET_MS // DAY_MS, "buckets": buckets,
                  "slope_per_week": slope},
        "marketing_assisted_invites": int(assisted.sum()),
        "marketing_assisted_share": _ratio(int(assisted.sum()), len(inv)),
        "super_connectors": super_connectors(frame, from_ms=from_ms, to_ms=to_ms, top=top),
        "campaigns_by_viral_effect": ranked[:top],
    }


def super_connectors(frame: EventFrame, *, from_ms: int, to_ms: int, top: int = 10) -> list[dict]:
    """Inviters ranked by downstream accepted invites (two generations), then revenue."""
    t = frame.time_ms
    n = frame.n_contacts
    acc = np.flatnonzero((frame.kind == KIND_CODE["invite_accepted"]) & (frame.other >= 0)
                         & (frame.contact >= 0) & (t >= from_ms) & (t < to_ms))
    pairs = np.unique(frame.other[acc].astype(np.int64) * n + frame.contact[acc])
    inviter, invitee = np.divmod(pairs, max(n, 1))
    conv = np.flatnonzero((frame.kind == KIND_CODE["conversion"]) & (frame.contact >= 0)
                          & (t < to_ms))
    revenue = np.bincount(frame.contact[conv], weights=frame.value_cents[conv] / 100.0,
                          minlength=n)
    gen1 = np.bincount(inviter, minlength=n).astype(float)
    rev1 = np.bincount(inviter, weights=revenue[invitee], minlength=n)
    gen2 = np.bincount(inviter, weights=gen1[invitee], minlength=n)
    rev2 = np.bincount(inviter, weights=rev1[invitee], minlength=n)
    downstream = gen1 + gen2
    total_rev = rev1 + rev2
    candidates = np.flatnonzero(downstream > 0)
    order = np.lexsort((candidates, -total_rev[candidates], -downstream[candidates]))
    return [
        {"contact": frame.contacts[c], "accepted_invites": int(gen1[c]),
         "second_generation_invites": int(gen2[c]), "downstream_invites": int(downstream[c]),
         "downstream_revenue": round(float(total_rev[c]), 2)}
        for c in candidates[order][:top].tolist()
    ]
