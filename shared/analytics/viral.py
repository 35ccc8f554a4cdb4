"""Viral growth: K-factor, invites, acceptance, cycle time, assisted invites, super-connectors.

An *invite* is an ``invite_sent`` row (inviter → invitee); an *accepted invite* is an
(inviter, invitee) pair with an ``invite_accepted`` row, counted once however many acceptance
rows the pair has (a device may capture it twice), and matched to the latest invite of the
pair sent at or before the acceptance.

Window ``[from_ms, to_ms)`` figures (the seed's formula, kept beside the stable one):

* ``invites_sent``: invites sent in the window; ``invites_accepted``: accepted invites whose
  matched invite was sent in the window and whose acceptance is in the window (so
  ``acceptance_rate`` = accepted ÷ sent never exceeds 1); ``acceptances_not_counted`` says
  what was left out (duplicate rows, invite sent before the window, no invite at all);
* ``viral_coefficient`` = accepted ÷ distinct inviters of the window. It grows with the
  window's length (inviters are counted once, their invites pile up), so it is not compared
  across windows: the *cycle* K below is.

Cycle K (``cycle``; what the summary and the recommendations use): a contact *joins* at its
first acquisition conversion or its first accepted invite (as invitee), whichever is first. For the cohort
that joined in one week, K = accepted invites ÷ cohort size, where an invite counts if a
member sent it within ``cycle_days`` (N) of joining and it was accepted within N days of being
sent: K = invites per new user × acceptance rate, for a fixed cycle. A cohort is *complete*
once 2N days have passed since its week ended; the window's cycle K pools the complete cohorts
whose observation ended inside the window, so it does not grow with the window. Customers from
before the data starts (whose conversions are renewals) have no joining time and no cohort.

* ``cycle_time_days``: for each counted accepted invite, acceptance − matched invite (median,
  mean);
* ``trend``: cycle K per weekly joining cohort of the window, and its least-squares slope per
  week over the complete cohorts;
* an invite is *marketing-assisted* when a campaign send reached the invitee between 7 days
  before and 30 days after the invite; the earliest such send's campaign gets the credit;
* super-connectors: per inviter, accepted invites (first generation) plus those of their
  invitees (second generation), and the revenue of both generations' conversions up to
  ``to_ms`` (the second generation's also on its own); ranked by downstream accepted invites, then revenue;
* campaigns ranked by viral effect: assisted accepted invites, then assisted invites.
"""

from __future__ import annotations

import numpy as np

from .events import ACQUISITION, KIND_CODE, EventFrame
from .paths import DAY_MS

ASSIST_BEFORE_MS = 7 * DAY_MS
ASSIST_AFTER_MS = 30 * DAY_MS
TREND_BUCKET_MS = 7 * DAY_MS
CYCLE_DAYS = 30


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


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


_NEVER = np.iinfo(np.int64).min


def accepted_pairs(frame: EventFrame) -> dict[str, np.ndarray]:
    """One row per accepted (inviter, invitee) pair: ``inviter``, ``invitee``, ``accepted_ms``
    (its first acceptance), ``invited_ms`` (the latest invite of the pair at or before it;
    ``_NEVER`` if none), ``rows`` (acceptance rows of the pair). Cached."""

    def build() -> dict[str, np.ndarray]:
        t = frame.time_ms
        n = max(frame.n_contacts, 1)
        acc = _with_contact(frame, frame.rows_of("invite_accepted"))
        acc = acc[frame.other[acc] >= 0]
        key = frame.other[acc].astype(np.int64) * n + frame.contact[acc]
        # rows are time-sorted, so the first row of each key is its first acceptance
        pairs, first, rows = np.unique(key, return_index=True, return_counts=True)
        accepted_ms = t[acc][first]
        s_key, s_t, _ = _invites_by_pair(frame)
        # latest invite of the pair at or before the acceptance: search (dense pair, time)
        keys, dense = np.unique(np.r_[s_key, pairs], return_inverse=True)
        tmin = int(min(s_t.min(initial=0), accepted_ms.min(initial=0)))
        span = int(max(s_t.max(initial=0), accepted_ms.max(initial=0))) - tmin + 1
        s_comp = dense[: len(s_key)] * span + (s_t - tmin)
        a_dense = dense[len(s_key) :]
        hit = np.searchsorted(s_comp, a_dense * span + (accepted_ms - tmin), side="right") - 1
        ok = (hit >= 0) & (s_key[np.maximum(hit, 0)] == pairs) if len(s_key) else hit >= 0
        invited_ms = np.where(ok, s_t[np.maximum(hit, 0)] if len(s_t) else 0, _NEVER)
        inviter, invitee = np.divmod(pairs, n)
        return {
            "inviter": inviter,
            "invitee": invitee,
            "accepted_ms": accepted_ms,
            "invited_ms": invited_ms,
            "rows": rows,
        }

    return frame.cached("viral_accepted_pairs", build)


def join_times(frame: EventFrame) -> np.ndarray:
    """Per contact, when it joined: its first acquisition conversion or first accepted invite
    as invitee, whichever is first (int64 max: never, e.g. a customer from before the data,
    whose conversions are renewals). Cached."""

    def build() -> np.ndarray:
        cls = frame.conversion_class()
        out = np.full(frame.n_contacts, np.iinfo(np.int64).max)
        rows = _with_contact(frame, frame.rows_of("conversion", "invite_accepted"))
        rows = rows[(frame.kind[rows] != KIND_CODE["conversion"]) | (cls[rows] == ACQUISITION)]
        # time-sorted rows: assigning in reverse leaves each contact's earliest time
        out[frame.contact[rows][::-1]] = frame.time_ms[rows][::-1]
        return out

    return frame.cached("viral_join_times", build)


def _week(ms: np.ndarray | int) -> np.ndarray | int:
    """Monday-aligned week index since the epoch (1970-01-01 was a Thursday)."""
    return (ms + 3 * DAY_MS) // TREND_BUCKET_MS


def cycle_k(frame: EventFrame, *, from_ms: int, to_ms: int, cycle_days: int = CYCLE_DAYS) -> dict:
    """Cycle K per weekly joining cohort and pooled over the complete cohorts whose
    observation (their week, then 2 × ``cycle_days``) ended inside the window."""
    cycle = cycle_days * DAY_MS
    join = join_times(frame)
    t = frame.time_ms
    # invites sent within the cycle of the inviter's joining, before the window's end
    inv = _with_contact(frame, frame.rows_of("invite_sent", hi=to_ms))
    j_inv = join[frame.contact[inv]]
    in_cycle = (t[inv] >= j_inv) & (t[inv] - j_inv < cycle)
    inv_week = _week(j_inv[in_cycle])
    pairs = accepted_pairs(frame)
    j_pair = join[pairs["inviter"]] if len(pairs["inviter"]) else np.zeros(0, np.int64)
    m = pairs["invited_ms"]
    counted = (
        (m != _NEVER)
        & (m >= j_pair)
        & (m - j_pair < cycle)
        & (pairs["accepted_ms"] - m <= cycle)
        & (pairs["accepted_ms"] < to_ms)
    )
    acc_week = _week(j_pair[counted])
    joined = join[join < to_ms]
    first_week = int(_week(min(from_ms - 2 * cycle - TREND_BUCKET_MS, to_ms)))
    last_week = int(_week(to_ms - 1))
    weeks = last_week - first_week + 1

    def per_week(w: np.ndarray) -> np.ndarray:
        w = w[(w >= first_week) & (w <= last_week)] - first_week
        return np.bincount(w.astype(np.int64), minlength=weeks)

    size, invites, accepted = per_week(_week(joined)), per_week(inv_week), per_week(acc_week)
    start = (np.arange(weeks) + first_week) * TREND_BUCKET_MS - 3 * DAY_MS
    observed_to = start + TREND_BUCKET_MS + 2 * cycle
    complete = observed_to <= to_ms
    pooled = complete & (observed_to > from_ms)
    n_size, n_inv, n_acc = (int(a[pooled].sum()) for a in (size, invites, accepted))
    trend = [
        {
            "from_ms": int(start[j]),
            "to_ms": int(start[j] + TREND_BUCKET_MS),
            "joined": int(size[j]),
            "invites": int(invites[j]),
            "accepted": int(accepted[j]),
            "k": _ratio(int(accepted[j]), int(size[j])),
            "complete": bool(complete[j]),
        }
        for j in range(weeks)
        if start[j] + TREND_BUCKET_MS > from_ms and start[j] < to_ms
    ]
    ks = [(i, b["k"]) for i, b in enumerate(trend) if b["complete"] and b["k"] is not None]
    slope = float(np.polyfit([i for i, _ in ks], [k for _, k in ks], 1)[0]) if len(ks) > 1 else None
    return {
        "k": _ratio(n_acc, n_size),
        "cycle_days": cycle_days,
        "cohorts": int((pooled & (size > 0)).sum()),
        "joined": n_size,
        "invites_per_new_user": _ratio(n_inv, n_size),
        "acceptance_rate": _ratio(n_acc, n_inv),
        "accepted": n_acc,
        "reason": None
        if n_size
        else f"no joining cohort completed its {2 * cycle_days}-day observation in the window",
        "_trend": trend,
        "_slope": slope,
    }


def viral_metrics(
    frame: EventFrame,
    *,
    from_ms: int,
    to_ms: int,
    campaign_names: dict[str, str] | None = None,
    top: int = 10,
    cycle_days: int = CYCLE_DAYS,
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
    sent = int(len(sent_w))
    inviters = int(len(np.unique(frame.contact[sent_w])))
    n = max(frame.n_contacts, 1)

    # accepted invites of the window: each pair once, its invite sent in the window
    pairs = accepted_pairs(frame)
    first_in = (pairs["accepted_ms"] >= from_ms) & (pairs["accepted_ms"] < to_ms)
    invited = pairs["invited_ms"]
    counted = first_in & (invited >= from_ms)
    before = first_in & (invited != _NEVER) & (invited < from_ms)
    no_invite = first_in & (invited == _NEVER)
    resolved = int((frame.other[acc_w] >= 0).sum())
    accepted = int(counted.sum())
    cycle_days_arr = (pairs["accepted_ms"][counted] - invited[counted]) / DAY_MS

    cycle = cycle_k(frame, from_ms=from_ms, to_ms=to_ms, cycle_days=cycle_days)
    trend, slope = cycle.pop("_trend"), cycle.pop("_slope")

    # marketing-assisted invites: a send to the invitee in [invite - 7d, invite + 30d]
    sends, comp, tmin, span = _sends_by_contact(frame)
    inv = sent_w[frame.other[sent_w] >= 0]
    inv_key = frame.other[inv].astype(np.int64) * span + (t[inv] - tmin + ASSIST_BEFORE_MS)
    lo = np.searchsorted(comp, inv_key - ASSIST_BEFORE_MS, side="left")
    hi = np.searchsorted(comp, inv_key + ASSIST_AFTER_MS, side="right")
    assisted = hi > lo
    # was the assisted invite accepted? (pair seen in an acceptance: acc_pairs)
    inv_pair = frame.contact[inv].astype(np.int64) * n + frame.other[inv]
    was_accepted = np.isin(inv_pair, _invites_by_pair(frame)[2])
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
        "viral_coefficient_definition": "window: accepted invites ÷ distinct inviters",
        "cycle": cycle,
        "invites_sent": sent,
        "invites_accepted": accepted,
        "inviting_users": inviters,
        "invites_per_inviter": _ratio(sent, inviters),
        "acceptance_rate": _ratio(accepted, sent),
        "acceptances_not_counted": {
            "duplicate_rows": resolved - int(first_in.sum()),
            "invite_sent_before_window": int(before.sum()),
            "no_invite_found": int(no_invite.sum()) + int(len(acc_w)) - resolved,
        },
        "cycle_time_days": {
            "median": float(np.median(cycle_days_arr)) if len(cycle_days_arr) else None,
            "mean": float(cycle_days_arr.mean()) if len(cycle_days_arr) else None,
            "matched": int(len(cycle_days_arr)),
        },
        "trend": {
            "bucket_days": TREND_BUCKET_MS // DAY_MS,
            "of": "cycle K per weekly joining cohort",
            "buckets": trend,
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
            "second_generation_revenue": round(float(rev2[c]), 2),
        }
        for c in candidates[order][:top].tolist()
    ]
