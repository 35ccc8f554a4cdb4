"""Campaign ROI, channel performance, LTV, CAC and NPS.

* Campaign: ``sends``, ``open_rate`` = opens ÷ sends, ``click_rate`` = clicks ÷ opens,
  ``conversions`` and ``revenue`` attributed to the campaign by the chosen model,
  ``conversion_rate`` = conversions ÷ sends, ``cost`` from the ``CostModel``,
  ``roi_ratio`` = revenue ÷ cost, ``roi_pct`` = (revenue − cost) ÷ cost × 100, and ``tier``:
  excellent (ratio > 5), good (> 3), profitable (> 1), else needs_optimization.
* Cost of a campaign = sends × ``per_send_cents`` + its budget (if ``include_budget``), raised by
  ``premium_surcharge`` for premium campaigns. Cost of a channel = touches × its per-touch cost
  (email: the per-send cost) + its fixed monthly cost × months in the window.
* LTV, suppliers: ARPA (subscription revenue per paying account-month) × margin ÷ monthly churn
  rate (accounts whose payments stopped ÷ account-months), by cohort (month of first payment).
  LTV, couples: mean booking revenue per booking couple + mean revenue of the couples they
  referred (accepted invites). CAC = marketing cost ÷ new customers (first conversion in the
  window). NPS = % promoters (9–10) − % detractors (0–6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from .attribution import Credit
from .events import EventFrame
from .paths import DAY_MS

MONTH_MS = 30 * DAY_MS
TIERS = ((5.0, "excellent"), (3.0, "good"), (1.0, "profitable"))


@dataclass(frozen=True)
class CostModel:
    per_send_cents: int = 5
    #: cost per touch on a channel (e.g. {"paid_search": 150}); email sends use per_send_cents
    per_channel_cents: dict[str, int] = field(default_factory=dict)
    #: fixed monthly cost per channel (e.g. fair stands)
    channel_monthly_cents: dict[str, int] = field(default_factory=dict)
    premium_surcharge: float = 0.25
    include_budget: bool = True
    margin: float = 0.8  # gross margin used for supplier LTV


def tier(roi_ratio: float | None) -> str:
    if roi_ratio is not None:
        for threshold, name in TIERS:
            if roi_ratio > threshold:
                return name
    return "needs_optimization"


def _div(a: float, b: float) -> float | None:
    return float(a) / float(b) if b else None


def campaign_cost_cents(campaign: dict, sends: int, cost: CostModel) -> float:
    base = sends * cost.per_send_cents
    if cost.include_budget:
        base += int(campaign.get("budget_cents") or 0)
    if campaign.get("type") == "premium":
        base *= 1.0 + cost.premium_surcharge
    return float(base)


def campaign_roi(
    frame: EventFrame,
    campaigns: list[dict],
    credit: Credit,
    *,
    from_ms: int,
    to_ms: int,
    cost: CostModel,
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
        cost_cents = campaign_cost_cents(meta, s, cost)
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
                "tier": tier(ratio),
            }
        )
    rows.sort(key=lambda r: (-(r["roi_ratio"] or 0.0), r["campaign"]))
    return rows


def channel_cost_cents(
    frame: EventFrame, *, from_ms: int, to_ms: int, cost: CostModel
) -> dict[str, float]:
    ch = frame.channel[frame.rows_of("touchpoint", "lead", "send", lo=from_ms, hi=to_ms)]
    counts = np.bincount(ch[ch >= 0], minlength=len(frame.channels))
    months = (to_ms - from_ms) / MONTH_MS
    out = {}
    for i, name in enumerate(frame.channels):
        unit = cost.per_send_cents if name == "email" else cost.per_channel_cents.get(name, 0)
        out[name] = float(counts[i] * unit + cost.channel_monthly_cents.get(name, 0) * months)
    return out


def channel_performance(
    frame: EventFrame, credits: dict[str, Credit], *, from_ms: int, to_ms: int, cost: CostModel
) -> list[dict]:
    ch = frame.channel[
        frame.rows_of("touchpoint", "lead", "send", "open", "click", lo=from_ms, hi=to_ms)
    ]
    touches = np.bincount(ch[ch >= 0], minlength=len(frame.channels))
    costs = channel_cost_cents(frame, from_ms=from_ms, to_ms=to_ms, cost=cost)
    labels = set()
    for c in credits.values():
        labels.update(c.labels)
    rows = []
    by_model = {model: credit.as_dict() for model, credit in credits.items()}
    for name in sorted(labels | set(frame.channels)):
        i = frame.channels.index(name) if name in frame.channels else None
        row = {
            "channel": name,
            "touches": int(touches[i]) if i is not None else 0,
            "cost": round(costs.get(name, 0.0) / 100, 2),
        }
        for model, credit in by_model.items():
            d = credit.get(name, {"conversions": 0.0, "value": 0.0})
            row[model] = {
                "conversions": round(d["conversions"], 6),
                "revenue": round(d["value"], 2),
            }
        rows.append(row)
    return rows


def _month(ms: np.ndarray) -> np.ndarray:
    """Calendar month index (year × 12 + month − 1) of epoch milliseconds."""
    days = (ms // DAY_MS).astype("datetime64[D]")
    months = days.astype("datetime64[M]").astype(np.int64)
    return months


def monthly_growth(frame: EventFrame, *, from_ms: int, to_ms: int) -> list[dict]:
    t = frame.time_ms
    m = frame.rows_of("conversion", lo=from_ms, hi=to_ms)
    if not len(m):
        return []
    month = _month(t[m])
    lo = int(month.min())
    idx = month - lo
    revenue = np.bincount(idx, weights=frame.value_cents[m] / 100.0)
    count = np.bincount(idx)
    out = []
    for j in range(len(revenue)):
        year, mon = divmod(lo + j + 1970 * 12, 12)
        prev = revenue[j - 1] if j else None
        out.append(
            {
                "month": f"{year:04d}-{mon + 1:02d}",
                "conversions": int(count[j]),
                "revenue": round(float(revenue[j]), 2),
                "growth_pct": None if not prev else (revenue[j] / prev - 1) * 100,
            }
        )
    return out


def supplier_ltv(frame: EventFrame, *, to_ms: int, margin: float) -> dict:
    t = frame.time_ms
    m = frame.rows_of("conversion", hi=to_ms)
    m = m[(frame.conv_type[m] == 2) & (frame.contact[m] >= 0)]
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
    m = frame.rows_of("conversion", hi=to_ms)
    m = m[(frame.conv_type[m] != 2) & (frame.contact[m] >= 0)]
    n = frame.n_contacts
    rev = np.bincount(frame.contact[m], weights=frame.value_cents[m] / 100.0, minlength=n)
    buyers = np.flatnonzero(rev > 0)
    acc = frame.rows_of("invite_accepted", hi=to_ms)
    acc = acc[frame.other[acc] >= 0]
    referred = np.bincount(frame.other[acc], weights=rev[frame.contact[acc]], minlength=n)
    if not len(buyers):
        return {"ltv": None, "booking_value": None, "referral_value": None, "couples": 0}
    booking = float(rev[buyers].mean())
    referral = float(referred[buyers].mean())
    return {
        "couples": int(len(buyers)),
        "booking_value": booking,
        "referral_value": referral,
        "ltv": booking + referral,
    }


def new_customers(frame: EventFrame, *, from_ms: int, to_ms: int) -> int:
    """Contacts whose first conversion falls in ``[from_ms, to_ms)``."""

    def first_conversion() -> np.ndarray:
        m = frame.rows_of("conversion")
        m = m[frame.contact[m] >= 0]
        first = np.full(frame.n_contacts, np.iinfo(np.int64).max)
        # rows are time-sorted: a contact's first row is its earliest conversion
        who, at = np.unique(frame.contact[m], return_index=True)
        first[who] = frame.time_ms[m[at]]
        return first

    first = frame.cached("first_conversion_ms", first_conversion)
    return int(((first >= from_ms) & (first < to_ms)).sum())


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
