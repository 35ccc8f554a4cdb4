"""Synthetic WedSync data with known channel effects (``wedsync seed-demo``, benchmarks, tests).

Deterministic from the seed. The generative model:

* couples run journeys of touches on channels drawn by popularity; each touch on channel ``c``
  *persuades* the couple with probability ``effects[c]``. The first persuading touch is the
  true cause of the conversion, which follows after up to one more touch and a short delay;
  couples never persuaded do not convert (their touches form non-converting paths);
* email touches are campaign sends (with opens and clicks), referral touches are accepted
  invites from earlier customers (suppliers, weighted towards a few super-connectors, or couples
  who already converted; invitees who convert may invite again: second generation);
* suppliers pay a monthly subscription while their health score, a noisy random walk with a
  per-supplier drift, stays above a churn threshold; they engage (opens, touches) less as
  their health falls. Most were subscribers before the history starts (every payment is a
  ``renewal``); ``NEW_SUPPLIER_SHARE`` join during its first half (their first payment is a
  ``subscription_start``, their later ones renewals). Couples' conversions are ``new_booking``;
  every conversion also carries the legacy ``type`` (booking/subscription) that campaign
  triggers match on;
* converted couples answer an NPS survey now and then.

``truth`` gives, per channel, the share of the couples' bookings (the acquisition conversions
that have touches; suppliers' payments are not caused by channels) and of their revenue it
truly caused: the referee for attribution accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.protocol.campaign import CAMPAIGN_TYPES
from shared.protocol.events import Event

from .paths import DAY_MS

DEFAULT_START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
#: per-touch probability of persuading a couple, and relative popularity of each channel
DEFAULT_EFFECTS: dict[str, float] = {
    "wedding_fair": 0.22,
    "venue_visit": 0.30,
    "instagram": 0.05,
    "facebook": 0.03,
    "pinterest": 0.04,
    "email": 0.08,
    "referral": 0.25,
    "paid_search": 0.10,
    "organic_search": 0.07,
    "direct": 0.12,
}
DEFAULT_POPULARITY: dict[str, float] = {
    "wedding_fair": 0.08,
    "venue_visit": 0.06,
    "instagram": 0.20,
    "facebook": 0.12,
    "pinterest": 0.10,
    "email": 0.20,
    "referral": 0.05,
    "paid_search": 0.08,
    "organic_search": 0.07,
    "direct": 0.04,
}
_CROCKFORD = np.frombuffer(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", dtype=np.uint8)
SUBSCRIPTION_CENTS = (4_900, 9_900)
CHURN_SCORE = 35.0
#: suppliers who join during the history (the rest subscribed before it starts)
NEW_SUPPLIER_SHARE = 0.3
#: share of the couples each campaign would enrol that it holds out (no send)
HOLDOUT_PCT = 10.0
#: the window after enrolment in which a conversion counts for a campaign's lift
LIFT_WINDOW_MS = 30 * DAY_MS


@dataclass(frozen=True, eq=False)
class SyntheticData:
    campaigns: list[dict[str, Any]]
    events: list[Event]
    truth: dict[str, Any]
    start_ms: int
    end_ms: int
    rows: list[tuple] = field(repr=False, default_factory=list)


def make_ids(rng: np.random.Generator, times_ms: np.ndarray) -> list[str]:
    """ULIDs (48-bit time + 80 random bits, Crockford base32) drawn from ``rng``."""
    n = len(times_ms)
    t = times_ms.astype(np.uint64)
    hi = rng.integers(0, 1 << 40, n, dtype=np.uint64)
    lo = rng.integers(0, 1 << 40, n, dtype=np.uint64)
    digits = np.empty((n, 26), dtype=np.uint8)
    for i in range(10):
        digits[:, 9 - i] = (t >> np.uint64(5 * i)) & np.uint64(31)
    for i in range(8):
        digits[:, 17 - i] = (hi >> np.uint64(5 * i)) & np.uint64(31)
        digits[:, 25 - i] = (lo >> np.uint64(5 * i)) & np.uint64(31)
    chars = _CROCKFORD[digits]
    return chars.view("S26").ravel().astype(str).tolist()


class _Columns:
    """Accumulates event columns by kind; codes index ``contacts``/``campaign_ids``/channels."""

    def __init__(self) -> None:
        self.parts: list[tuple] = []

    def add(self, kind, t, contact, *, campaign=None, channel=None, value=None, payload=None):
        n = len(t)
        self.parts.append(
            (
                kind,
                np.asarray(t, np.int64),
                np.asarray(contact, np.int64),
                np.full(n, -1) if campaign is None else np.asarray(campaign, np.int64),
                channel,
                value,
                payload,
            )
        )


#: what planners call their campaigns of each type (the n-th of a type takes the n-th name)
CAMPAIGN_NAMES: dict[str, tuple[str, ...]] = {
    "nurture": ("Fair follow-up", "Private viewing invitation", "Summer open evenings"),
    "viral_referral": ("Refer a couple", "Friends of the barn", "Share your date"),
    "super_connector": ("Planner partners", "Supplier spotlight", "Connector thank-you"),
    "churn_prevention": ("Listing renewal check-in", "Quiet suppliers", "Listing health"),
    "milestone": ("One year to go", "Six months to go", "Anniversary wishes"),
    "win_back": ("Come back for next season", "Lapsed suppliers", "Returning supplier offer"),
    "premium": ("Premium listing upgrade", "Featured supplier", "Premium showcase"),
}


def campaign_name(kind: str, nth: int) -> str:
    """The ``nth`` (from 0) demo campaign of type ``kind``; a type's names run out into
    numbered seasons."""
    names = CAMPAIGN_NAMES.get(kind) or (kind.replace("_", " ").capitalize(),)
    name = names[nth % len(names)]
    return name if nth < len(names) else f"{name} ({nth // len(names) + 1})"


def generate(
    *,
    seed: int,
    suppliers: int = 300,
    couples: int = 3000,
    campaigns: int = 12,
    days: int = 180,
    start_ms: int = DEFAULT_START_MS,
    effects: dict[str, float] | None = None,
    popularity: dict[str, float] | None = None,
    events: bool = True,
    holdout_pct: float = HOLDOUT_PCT,
) -> SyntheticData:
    """Generate campaigns, events and the ground truth. ``events=False`` skips building
    ``Event`` objects and fills only ``rows`` (faster, for benchmarks)."""
    rng = np.random.default_rng(seed)
    effects = dict(effects or DEFAULT_EFFECTS)
    popularity = dict(popularity or DEFAULT_POPULARITY)
    channels = list(effects)
    ch_index = {c: i for i, c in enumerate(channels)}
    pop = np.array([popularity.get(c, 0.0) for c in channels])
    pop /= pop.sum()
    eff = np.array([effects[c] for c in channels])
    end_ms = start_ms + days * DAY_MS
    n_campaigns = max(campaigns, 1)
    camp_times = start_ms + np.sort(rng.integers(0, max(days // 2, 1), n_campaigns)) * DAY_MS
    camp_ids = make_ids(rng, camp_times)
    camp_types = [CAMPAIGN_TYPES[i % len(CAMPAIGN_TYPES)] for i in range(n_campaigns)]
    campaign_list = [
        {
            "id": camp_ids[i],
            "name": campaign_name(camp_types[i], camp_types[:i].count(camp_types[i])),
            "type": camp_types[i],
            "status": "active",
            "budget_cents": int(rng.integers(20, 200)) * 1000,
        }
        for i in range(n_campaigns)
    ]
    # campaigns' appeal: how often each one's sends get opened
    open_rate = rng.uniform(0.2, 0.6, n_campaigns)
    contacts = [f"supplier{i}@example.com" for i in range(suppliers)] + [
        f"couple{i}@example.com" for i in range(couples)
    ]
    cols = _Columns()
    couple0 = suppliers

    # ---- couple journeys ------------------------------------------------------------------
    n_touch = 1 + rng.poisson(2.5, couples)
    total = int(n_touch.sum())
    owner = np.repeat(np.arange(couples), n_touch)
    first = np.r_[0, np.cumsum(n_touch)[:-1]]
    pos = np.arange(total) - np.repeat(first, n_touch)
    ch = rng.choice(len(channels), total, p=pop)
    # journeys begin throughout the history (those that would end after it are cut there), so
    # bookings arrive at a steady rate up to the last day, as in a running business
    begin = rng.uniform(0, days, couples) * DAY_MS
    gaps = rng.exponential(3 * DAY_MS, total)
    gaps[first] = 0
    t_touch = (
        start_ms
        + np.repeat(begin, n_touch)
        + np.cumsum(gaps)
        - np.repeat(np.cumsum(gaps)[first], n_touch)
    )
    t_touch = t_touch.astype(np.int64)
    fires = rng.random(total) < eff[ch]
    # email touches are sends of a campaign; a campaign holds out ``holdout_pct`` % of the
    # couples it would enrol: their sends are not made, so they cannot persuade
    is_email = ch == ch_index.get("email", -1)
    touch_camp = np.full(total, -1, dtype=np.int64)
    touch_camp[is_email] = rng.integers(0, n_campaigns, int(is_email.sum()))
    held_pair = rng.random(couples * n_campaigns) < holdout_pct / 100.0
    pair = owner * n_campaigns + np.maximum(touch_camp, 0)
    held_touch = is_email & held_pair[pair]
    fires &= ~held_touch
    big = np.iinfo(np.int64).max
    fire_pos = np.minimum.reduceat(np.where(fires, pos, big), first)
    converted = fire_pos < big
    cause = np.full(couples, -1)
    cause[converted] = ch[first[converted] + fire_pos[converted]]
    extra = rng.integers(0, 2, couples)
    conv_pos = np.where(converted, np.minimum(fire_pos + extra, n_touch - 1), n_touch - 1)
    keep = (pos <= np.repeat(conv_pos, n_touch)) | ~np.repeat(converted, n_touch)
    delay = rng.integers(DAY_MS // 24, 2 * DAY_MS, couples)
    conv_t = t_touch[first + conv_pos] + delay
    converted &= conv_t < end_ms
    value = np.round(rng.lognormal(np.log(1500), 0.5, couples) * 100).astype(np.int64)
    holdouts, enrol = _holdout_truth(
        n_campaigns=n_campaigns,
        touch_camp=touch_camp,
        keep=keep,
        held_touch=held_touch,
        fires=fires,
        pos=pos,
        first=first,
        n_touch=n_touch,
        owner=owner,
        t_touch=t_touch,
        extra=extra,
        delay=delay,
        end_ms=end_ms,
        converted=converted,
        conv_t=conv_t,
    )
    cols.add(
        "enrolment",
        enrol["t"],
        couple0 + enrol["couple"],
        campaign=enrol["campaign"],
        payload=[
            {"enrolment": f"synthetic-{c}-{k}", "holdout": bool(h), "step": 0}
            for c, k, h in zip(
                enrol["couple"].tolist(),
                enrol["campaign"].tolist(),
                enrol["held"].tolist(),
                strict=True,
            )
        ],
    )

    send_camp = touch_camp[keep & ~held_touch]
    keep &= ~held_touch  # a held-out send is not made
    t_touch, ch, owner = t_touch[keep], ch[keep], owner[keep]
    email = ch == ch_index.get("email", -1)
    referral = ch == ch_index.get("referral", -1)
    other = ~email & ~referral
    cols.add(
        "touchpoint",
        t_touch[other],
        couple0 + owner[other],
        channel=np.asarray(channels, dtype=object)[ch[other]],
    )
    # email touches are campaign sends, sometimes opened and clicked
    e_t, e_who = t_touch[email], couple0 + owner[email]
    e_camp = send_camp[email]
    opened = rng.random(len(e_t)) < open_rate[e_camp]
    clicked = opened & (rng.random(len(e_t)) < 0.3)
    cols.add("send", e_t, e_who, campaign=e_camp, channel="email")
    cols.add(
        "open", e_t[opened] + 3_600_000, e_who[opened], campaign=e_camp[opened], channel="email"
    )
    cols.add(
        "click", e_t[clicked] + 3_900_000, e_who[clicked], campaign=e_camp[clicked], channel="email"
    )
    cc = np.flatnonzero(converted)
    cols.add(
        "conversion",
        conv_t[cc],
        couple0 + cc,
        value=value[cc],
        payload=[{"type": "booking", "conversion_type": "new_booking"}] * len(cc),
    )

    # ---- suppliers: health, subscriptions, engagement, churn -------------------------------
    weeks = max(days // 7, 1)
    drift = rng.normal(0.0, 2.0, suppliers)
    base = rng.uniform(45, 95, suppliers)
    walk = base[:, None] + np.cumsum(drift[:, None] + rng.normal(0, 3, (suppliers, weeks)), 1)
    score = np.clip(walk, 0, 100)
    below = score < CHURN_SCORE
    # joining week: 0 for those who subscribed before the history starts
    joins = rng.random(suppliers) < NEW_SUPPLIER_SHARE
    join_week = np.where(joins, rng.integers(1, max(weeks // 2, 2), suppliers), 0)
    w_idx = np.arange(weeks)
    below &= w_idx[None, :] >= join_week[:, None]  # churn only once subscribed
    churn_week = np.where(below.any(1), below.argmax(1) + 1, weeks + 10)
    alive = (w_idx[None, :] < churn_week[:, None]) & (w_idx[None, :] >= join_week[:, None])
    s_sup, s_week = np.nonzero(alive)
    s_t = start_ms + s_week * 7 * DAY_MS + rng.integers(DAY_MS // 2, DAY_MS, len(s_sup))
    cols.add(
        "health_score",
        s_t,
        s_sup,
        payload=[{"score": int(round(x))} for x in score[s_sup, s_week].tolist()],
    )
    months = days // 30
    plan = rng.integers(0, 2, suppliers)
    # monthly payments from the joining week (a payment precedes that week's engagement)
    paid_week = join_week[:, None] + np.arange(months)[None, :] * 30 // 7
    m_sup, m_idx = np.nonzero((paid_week < churn_week[:, None]) & (paid_week < weeks))
    m_t = (
        start_ms
        + join_week[m_sup] * 7 * DAY_MS
        + m_idx * 30 * DAY_MS
        + rng.integers(0, DAY_MS // 2, len(m_sup))
    )
    starts = joins[m_sup] & (m_idx == 0)
    cols.add(
        "conversion",
        m_t,
        m_sup,
        value=np.asarray(SUBSCRIPTION_CENTS)[plan[m_sup]],
        payload=[
            {"type": "subscription", "conversion_type": "subscription_start" if s else "renewal"}
            for s in starts.tolist()
        ],
    )
    # engagement: weekly opens with probability rising with health
    p_eng = np.clip(score / 100.0, 0.05, 0.95)[s_sup, s_week] * 0.8
    engaged = rng.random(len(s_sup)) < p_eng
    g_camp = rng.integers(0, n_campaigns, int(engaged.sum()))
    cols.add("send", s_t[engaged] + DAY_MS, s_sup[engaged], campaign=g_camp, channel="email")
    cols.add(
        "open", s_t[engaged] + DAY_MS + 7_200_000, s_sup[engaged], campaign=g_camp, channel="email"
    )

    # ---- referrals: accepted invites behind referral touches, plus unanswered ones ---------
    ref_t, ref_who = t_touch[referral], owner[referral]
    n_ref = len(ref_t)
    cycle = rng.exponential(4 * DAY_MS, n_ref).astype(np.int64) + 3_600_000
    sent_t = ref_t - cycle
    zipf = 1.0 / np.arange(1, suppliers + 1) ** 1.1
    zipf /= zipf.sum()
    from_supplier = (rng.random(n_ref) < 0.6) | (not len(cc))
    inviter = np.empty(n_ref, dtype=np.int64)
    inviter[from_supplier] = (
        rng.choice(suppliers, int(from_supplier.sum()), p=zipf) if suppliers else 0
    )
    order = np.argsort(conv_t[cc]) if len(cc) else np.zeros(0, np.int64)
    sorted_conv_t = conv_t[cc][order]
    earlier = np.searchsorted(sorted_conv_t, sent_t[~from_supplier])
    ok = earlier > 0
    pick = (rng.random(int((~from_supplier).sum())) * np.maximum(earlier, 1)).astype(np.int64)
    couple_inviter = np.where(
        ok, couple0 + cc[order][np.minimum(pick, max(len(cc) - 1, 0))] if len(cc) else 0, -1
    )
    inviter[~from_supplier] = couple_inviter
    bad = inviter < 0
    inviter[bad] = rng.choice(suppliers, int(bad.sum()), p=zipf) if suppliers else 0
    invitee = couple0 + ref_who
    cols.add(
        "invite_sent", sent_t, inviter, payload=[{"invitee": contacts[i]} for i in invitee.tolist()]
    )
    cols.add(
        "invite_accepted",
        ref_t,
        invitee,
        channel="referral",
        payload=[{"inviter": contacts[i]} for i in inviter.tolist()],
    )
    n_guest = int(n_ref * 1.5)
    g_inviter = inviter[rng.integers(0, max(n_ref, 1), n_guest)] if n_ref else np.zeros(0)
    g_t = start_ms + rng.integers(0, days * DAY_MS, n_guest)
    cols.add(
        "invite_sent",
        g_t,
        g_inviter,
        payload=[{"invitee": f"guest{j}@example.com"} for j in range(n_guest)],
    )

    # ---- contacts and surveys ---------------------------------------------------------------
    everyone = np.arange(len(contacts))
    cols.add(
        "contact",
        np.full(len(contacts), start_ms),
        everyone,
        payload=[{"fields": {"role": "supplier"}}] * suppliers
        + [{"fields": {"role": "couple"}}] * couples,
    )
    surveyed = cc[rng.random(len(cc)) < 0.2]
    nps = np.clip(np.round(rng.normal(8.0, 2.0, len(surveyed))), 0, 10).astype(int)
    cols.add(
        "survey",
        conv_t[surveyed] + 7 * DAY_MS,
        couple0 + surveyed,
        payload=[{"nps": int(x)} for x in nps.tolist()],
    )

    rows, event_list = _materialise(cols, rng, contacts, camp_ids, end_ms, events)
    caused = np.bincount(cause[cc], minlength=len(channels)).astype(float)
    caused_value = np.bincount(cause[cc], weights=value[cc] / 100.0, minlength=len(channels))
    truth = {
        "effects": effects,
        "popularity": dict(zip(channels, pop.tolist(), strict=True)),
        "conversions": dict(zip(channels, caused.tolist(), strict=True)),
        "shares": dict(zip(channels, (caused / max(caused.sum(), 1)).tolist(), strict=True)),
        "value_shares": dict(
            zip(channels, (caused_value / max(caused_value.sum(), 1e-9)).tolist(), strict=True)
        ),
        "churned_suppliers": int((churn_week <= weeks).sum()),
        "holdouts": {camp_ids[k]: v for k, v in holdouts.items()},
        "new_suppliers": int(joins.sum()),
    }
    return SyntheticData(campaign_list, event_list, truth, start_ms, end_ms, rows)


def _holdout_truth(
    *,
    n_campaigns,
    touch_camp,
    keep,
    held_touch,
    fires,
    pos,
    first,
    n_touch,
    owner,
    t_touch,
    extra,
    delay,
    end_ms,
    converted,
    conv_t,
):
    """Enrolments (one per couple and campaign, just before its first send, made or held out)
    and, per campaign, the truth of its lift: among the enrolled couples who were sent its
    emails, the conversions within ``LIFT_WINDOW_MS`` of enrolling that would not have happened
    without that campaign's sends (the same journeys, the same draws, its touches removed)."""
    big = np.iinfo(np.int64).max
    mail = np.flatnonzero(touch_camp >= 0)
    mail = mail[keep[mail] | held_touch[mail]]  # touches of the journey as it ran
    key = owner[mail] * n_campaigns + touch_camp[mail]
    order = np.lexsort((t_touch[mail], key))
    mail, key = mail[order], key[order]
    uniq, at = np.unique(key, return_index=True)
    t = t_touch[mail[at]] - 60_000
    inside = t < end_ms  # enrolments after the history are not in it
    enrol = {
        "couple": (uniq // n_campaigns)[inside],
        "campaign": (uniq % n_campaigns)[inside],
        "t": t[inside],
        "held": held_touch[mail[at]][inside],
    }
    truth = {}
    for k in range(n_campaigns):
        sel = (enrol["campaign"] == k) & ~enrol["held"]
        who, start = enrol["couple"][sel], enrol["t"][sel]
        without = np.minimum.reduceat(np.where(fires & (touch_camp != k), pos, big), first)[who]
        fired = without < big
        cf_pos = np.minimum(np.where(fired, without, 0) + extra[who], n_touch[who] - 1)
        cf_t = np.where(fired, t_touch[first[who] + cf_pos] + delay[who], big)
        window_end = start + LIFT_WINDOW_MS
        actual = converted[who] & (conv_t[who] > start) & (conv_t[who] <= window_end)
        actual &= conv_t[who] < end_ms
        counterfactual = fired & (cf_t > start) & (cf_t <= window_end) & (cf_t < end_ms)
        held = int(((enrol["campaign"] == k) & enrol["held"]).sum())
        truth[k] = {
            "treated": int(sel.sum()),
            "held_out": held,
            "incremental_conversions": int(actual.sum()) - int(counterfactual.sum()),
        }
    return truth, enrol


def _materialise(cols: _Columns, rng, contacts, camp_ids, end_ms, build_events):
    kinds, times, who, camps, chans, values, payloads = [], [], [], [], [], [], []
    for kind, t, contact, campaign, channel, value, payload in cols.parts:
        n = len(t)
        kinds.append(np.full(n, kind, dtype=object))
        times.append(t)
        who.append(contact)
        camps.append(campaign)
        chans.append(
            channel if isinstance(channel, np.ndarray) else np.full(n, channel, dtype=object)
        )
        values.append(
            np.full(n, None, dtype=object) if value is None else np.asarray(value, dtype=object)
        )
        payloads.append(
            np.full(n, None, dtype=object)
            if payload is None
            else np.asarray(payload + [None], dtype=object)[:-1]
        )
    t = np.concatenate(times)
    keep = t < end_ms
    order = np.argsort(t[keep], kind="stable")
    t = t[keep][order]
    sel = lambda parts: np.concatenate(parts)[keep][order]  # noqa: E731
    kind_a, who_a, camp_a = sel(kinds), sel(who), sel(camps)
    chan_a, val_a, pay_a = sel(chans), sel(values), sel(payloads)
    ids = make_ids(rng, t)
    contact_a = np.asarray(contacts, dtype=object)[who_a]
    camp_names = np.asarray(list(camp_ids) + [None], dtype=object)[camp_a]
    rows = list(
        zip(
            ids,
            kind_a.tolist(),
            t.tolist(),
            contact_a.tolist(),
            camp_names.tolist(),
            chan_a.tolist(),
            val_a.tolist(),
            [p if p is not None else {} for p in pay_a.tolist()],
            strict=True,
        )
    )
    events = []
    if build_events:
        events = [
            Event(i, k, tm, tm << 16, c, cp, chn, v, p) for i, k, tm, c, cp, chn, v, p in rows
        ]
    return rows, events


def attribution_accuracy(shares: dict[str, float], truth: dict[str, float]) -> dict[str, float]:
    """How close a model's channel shares come to the true ones: total variation distance
    (half the L1 distance, 0 = exact, 1 = disjoint) and the largest absolute difference."""
    names = set(shares) | set(truth)
    diffs = [abs(shares.get(n, 0.0) - truth.get(n, 0.0)) for n in names]
    return {"total_variation": 0.5 * sum(diffs), "max_abs_diff": max(diffs, default=0.0)}
