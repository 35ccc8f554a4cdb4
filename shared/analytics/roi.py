"""Campaign ROI, channel performance, growth, LTV, CAC and NPS.

* Campaign: ``sends``, ``open_rate`` = opens ÷ sends, ``click_rate`` = clicks ÷ opens,
  ``conversions`` and ``revenue`` attributed to the campaign by the chosen model (acquisition
  conversions by default), ``conversion_rate`` = conversions ÷ sends, ``cost`` from the cost
  ledger (``costs.py``), ``roi_ratio`` = revenue ÷ cost, ``roi_pct`` = (revenue − cost) ÷ cost ×
  100, and ``tier``: excellent (ratio > 5), good (> 3), profitable (> 1), needs_optimization,
  or ``unpriced`` when nothing was charged to the campaign (its ratio is unknown, not infinite).
* Channel: touches (as paths count them: invite_accepted counts for referral), cost from the
  same ledger, each model's credit, and ``roi_ratio`` = revenue under the ROI model ÷ cost
  (None for an unpriced channel).
* Growth: per calendar month, conversions and revenue (and their acquisition / retention /
  expansion split); a month only partly inside the window (or past the data's last event) is
  ``partial`` and is not compared with a whole one (``growth_pct`` None); ``daily_growth_pct``
  compares revenue per covered day instead.
* LTV, suppliers: ARPA (subscription revenue per paying account-month) × margin ÷ monthly churn
  rate (accounts whose payments stopped ÷ account-months), by cohort (month of first payment).
  LTV, couples: mean revenue of a paying couple (their own conversions). The revenue of the
  couples they referred is theirs, not counted again: ``referral_value`` reports it beside.
  CAC per segment = the segment's share of marketing cost ÷ its new customers (first
  acquisition conversion in the window). NPS = % promoters (9–10) − % detractors (0–6).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from .attribution import Credit
from .costs import CostModel, Costs
from .events import ACQUISITION, CLASS_NAMES, SUBSCRIPTION_CODES, EventFrame
from .paths import DAY_MS

__all__ = ["CostModel"]

MONTH_MS = 30 * DAY_MS
TIERS = ((5.0, "excellent"), (3.0, "good"), (1.0, "profitable"))


def tier(roi_ratio: float | None) -> str:
    if roi_ratio is not None:
        for threshold, name in TIERS:
            if roi_ratio > threshold:
                return name
    return "needs_optimization"


def _div(a: float, b: float) -> float | None:
    return float(a) / float(b) if b else None


def campaign_roi(
    frame: EventFrame,
    campaigns: list[dict],
    credit: Credit,
    *,
    from_ms: int,
    to_ms: int,
    costs: Costs,
) -> list[dict]:
    """ROI rows, one per known campaign (and any campaign seen in events), best ROI first."""
    n = len(frame.campaigns)

    def count(kind: str) -> np.ndarray:
        camp = frame.campaign[frame.rows_of(kind, lo=from_ms, hi=to_ms)]
        return np.bincount(camp[camp >= 0], minlength=n)

    sends, opens, clicks = count("send"), count("open"), count("click")
    attributed = dict(
        zip(credit.labels, zip(credit.conversions, credit.value, strict=True), strict=True)
    )
    by_id = {c["id"]: c for c in campaigns}
    ids = list(by_id) + [c for c in frame.campaigns if c not in by_id]
    code = {c: i for i, c in enumerate(frame.campaigns)}
    rows = []
    for cid in ids:
        meta = by_id.get(cid, {"id": cid})
        i = code.get(cid)
        s = int(sends[i]) if i is not None else 0
        o = int(opens[i]) if i is not None else 0
        k = int(clicks[i]) if i is not None else 0
        conv, revenue = attributed.get(cid, (0.0, 0.0))
        cost_cents = costs.by_campaign.get(cid, 0.0)
        ratio = _div(revenue * 100, cost_cents)
        rows.append(
            {
                "campaign": cid,
                "name": meta.get("name"),
                "type": meta.get("type"),
                "status": meta.get("status"),
                "sends": s,
                "opens": o,
                "clicks": k,
                "open_rate": _div(o, s),
                "click_rate": _div(k, o),
                "conversions": round(conv, 6),
                "conversion_rate": _div(conv, s),
                "revenue": round(revenue, 2),
                "cost": round(cost_cents / 100, 2),
                "roi_ratio": ratio,
                "roi_pct": None if ratio is None else (ratio - 1.0) * 100,
                "tier": tier(ratio) if cost_cents else "unpriced",
            }
        )
    rows.sort(key=lambda r: (-(r["roi_ratio"] or 0.0), r["campaign"]))
    return rows


def channel_performance(
    credits: dict[str, Credit], *, costs: Costs, roi_model: str = "linear"
) -> list[dict]:
    labels = set(costs.touches) | set(costs.by_channel)
    for c in credits.values():
        labels.update(c.labels)
    rows = []
    by_model = {model: credit.as_dict() for model, credit in credits.items()}
    for name in sorted(labels):
        cost_cents = costs.by_channel.get(name, 0.0)
        row = {
            "channel": name,
            "touches": costs.touches.get(name, 0),
            "cost": round(cost_cents / 100, 2),
            "priced": bool(cost_cents),
        }
        for model, credit in by_model.items():
            d = credit.get(name, {"conversions": 0.0, "value": 0.0})
            row[model] = {
                "conversions": round(d["conversions"], 6),
                "revenue": round(d["value"], 2),
            }
        revenue = row.get(roi_model, {}).get("revenue", 0.0)
        row["roi_ratio"] = _div(revenue * 100, cost_cents)
        rows.append(row)
    return rows


def _month(ms: np.ndarray) -> np.ndarray:
    """Calendar month index (year × 12 + month − 1) of epoch milliseconds."""
    days = (ms // DAY_MS).astype("datetime64[D]")
    months = days.astype("datetime64[M]").astype(np.int64)
    return months


def monthly_growth(
    frame: EventFrame, *, from_ms: int, to_ms: int, data_end_ms: int | None = None
) -> list[dict]:
    """Per month of the window: conversions and revenue by class; months not wholly covered
    (by the window, or by the data: ``data_end_ms`` is just after its last event) are partial."""
    t = frame.time_ms
    m = frame.rows_of("conversion", lo=from_ms, hi=to_ms)
    if not len(m):
        return []
    month = _month(t[m])
    lo = int(month.min())
    idx = month - lo
    revenue = np.bincount(idx, weights=frame.value_cents[m] / 100.0)
    count = np.bincount(idx)
    cls = frame.conversion_class()[m]
    by_class = {
        name: np.bincount(
            idx, weights=(cls == code) * frame.value_cents[m] / 100.0, minlength=len(count)
        )
        for code, name in CLASS_NAMES.items()
    }
    covered_to = to_ms if data_end_ms is None else min(to_ms, data_end_ms)
    out = []
    prev = None
    for j in range(len(revenue)):
        year, mon = divmod(lo + j + 1970 * 12, 12)
        start = int(datetime(year, mon + 1, 1, tzinfo=UTC).timestamp() * 1000)
        nyear, nmon = divmod(year * 12 + mon + 1, 12)
        end = int(datetime(nyear, nmon + 1, 1, tzinfo=UTC).timestamp() * 1000)
        days = max(0, min(end, covered_to) - max(start, from_ms)) / DAY_MS
        partial = start < from_ms or end > covered_to
        row = {
            "month": f"{year:04d}-{mon + 1:02d}",
            "conversions": int(count[j]),
            "revenue": round(float(revenue[j]), 2),
            **{f"{k}_revenue": round(float(v[j]), 2) for k, v in by_class.items()},
            "partial": partial,
            "days_covered": days,
            "growth_pct": None,
            "daily_growth_pct": None,
        }
        if prev is not None:
            if not partial and not prev["partial"] and prev["revenue"]:
                row["growth_pct"] = (row["revenue"] / prev["revenue"] - 1) * 100
            if days and prev["days_covered"] and prev["revenue"]:
                per_day = row["revenue"] / days
                row["daily_growth_pct"] = (
                    per_day / (prev["revenue"] / prev["days_covered"]) - 1
                ) * 100
        out.append(row)
        prev = row
    return out


def supplier_ltv(frame: EventFrame, *, to_ms: int, margin: float) -> dict:
    t = frame.time_ms
    m = frame.rows_of("conversion", hi=to_ms)
    m = m[np.isin(frame.conv_type[m], SUBSCRIPTION_CODES) & (frame.contact[m] >= 0)]
    if not len(m):
        return {"ltv": None, "arpa": None, "monthly_churn_rate": None, "cohorts": []}
    who, month, value = frame.contact[m], _month(t[m]), frame.value_cents[m] / 100.0
    last_month = int(_month(np.array([to_ms - 1]))[0])
    n = frame.n_contacts
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, who, month)
    last = np.full(n, -1)
    np.maximum.at(last, who, month)
    paid = np.unique(who)
    # account-months: distinct (account, month) pairs with a payment
    pairs = np.unique(who.astype(np.int64) * 100_000 + month)
    acc_months = np.bincount(pairs // 100_000, minlength=n)
    churned = last < last_month - 1  # no payment in the last two months
    rev = np.bincount(who, weights=value, minlength=n)
    cohorts = []

    def summary(accounts: np.ndarray) -> dict:
        am = acc_months[accounts].sum()
        churn = _div(churned[accounts].sum(), am)
        arpa = _div(rev[accounts].sum(), am)
        ltv = arpa * margin / churn if arpa is not None and churn else None
        return {
            "accounts": int(len(accounts)),
            "arpa": arpa,
            "monthly_churn_rate": churn,
            "ltv": ltv,
        }

    for cohort in np.unique(first[paid]).tolist():
        year, mon = divmod(cohort + 1970 * 12, 12)
        cohorts.append(
            {"cohort": f"{year:04d}-{mon + 1:02d}", **summary(paid[first[paid] == cohort])}
        )
    return {**summary(paid), "margin": margin, "cohorts": cohorts}


def couple_ltv(frame: EventFrame, *, to_ms: int) -> dict:
    """Mean revenue of a paying couple (their own conversions); ``referral_value``: the mean
    revenue of the couples they referred (each accepted pair once), reported beside the LTV
    and not added to it (that revenue is the referred couples' own LTV)."""
    m = frame.rows_of("conversion", hi=to_ms)
    m = m[~np.isin(frame.conv_type[m], SUBSCRIPTION_CODES) & (frame.contact[m] >= 0)]
    n = frame.n_contacts
    rev = np.bincount(frame.contact[m], weights=frame.value_cents[m] / 100.0, minlength=n)
    buyers = np.flatnonzero((rev > 0) & (frame.role != 1))
    acc = frame.rows_of("invite_accepted", hi=to_ms)
    acc = acc[(frame.other[acc] >= 0) & (frame.contact[acc] >= 0)]
    pairs = np.unique(frame.other[acc].astype(np.int64) * max(n, 1) + frame.contact[acc])
    inviter, invitee = np.divmod(pairs, max(n, 1))
    referred = np.bincount(inviter, weights=rev[invitee], minlength=n)
    if not len(buyers):
        return {"ltv": None, "booking_value": None, "referral_value": None, "couples": 0}
    booking = float(rev[buyers].mean())
    return {
        "couples": int(len(buyers)),
        "booking_value": booking,
        "referral_value": float(referred[buyers].mean()),
        "ltv": booking,
        "ltv_includes_referrals": False,
    }


def new_customers(frame: EventFrame, *, from_ms: int, to_ms: int, role: int | None = None) -> int:
    """Contacts whose first acquisition conversion falls in ``[from_ms, to_ms)`` (of one
    ``role``: 1 suppliers, 2 couples, 0 unknown; None: all)."""

    def first_conversion() -> np.ndarray:
        m = frame.rows_of("conversion")
        m = m[(frame.contact[m] >= 0) & (frame.conversion_class()[m] == ACQUISITION)]
        first = np.full(frame.n_contacts, np.iinfo(np.int64).max)
        # rows are time-sorted: a contact's first row is its earliest conversion
        who, at = np.unique(frame.contact[m], return_index=True)
        first[who] = frame.time_ms[m[at]]
        return first

    first = frame.cached("first_acquisition_ms", first_conversion)
    new = (first >= from_ms) & (first < to_ms)
    if role is not None:
        new &= frame.role == role
    return int(new.sum())


def nps(frame: EventFrame, *, from_ms: int, to_ms: int) -> dict:
    s = frame.score[frame.rows_of("survey", lo=from_ms, hi=to_ms)]
    s = s[~np.isnan(s)]
    if not len(s):
        return {"nps": None, "responses": 0}
    promoters, detractors = float((s >= 9).mean()), float((s <= 6).mean())
    return {
        "nps": (promoters - detractors) * 100,
        "responses": int(len(s)),
        "promoters": promoters,
        "detractors": detractors,
    }


def month_label(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m")
