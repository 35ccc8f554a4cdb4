"""Incrementality: what a campaign caused, measured against a held-out control group.

Path-based attribution says which channels sat on converting paths; it cannot say what would
have happened without them. A campaign that holds out a random share of the contacts it would
have enrolled answers that question: the held-out contacts convert at the baseline rate, the
treated ones at the baseline rate plus whatever the campaign added.

Given each arm's contacts, converters and revenue, ``estimate_lift`` reports:

* ``rate_difference`` = p_treated − p_holdout (absolute lift), with the **Newcombe hybrid
  score interval** (Newcombe 1998, method 10), built from each arm's Wilson score interval.
  It stays inside [−1, 1], behaves with zero conversions, and keeps its nominal coverage at the
  small rates marketing sees, where the Wald interval does not;
* ``relative_lift`` = p_treated / p_holdout − 1, with the Katz log interval for the risk ratio
  (ln RR ± z·sqrt(1/x_t − 1/n_t + 1/x_h − 1/n_h)); undefined (``None``) while either arm has
  no conversion;
* ``incremental_conversions`` = rate_difference × treated contacts (the interval scaled alike);
* ``incremental_revenue_cents`` = (mean revenue per treated contact − per held-out contact) ×
  treated contacts, with a Welch normal interval from each arm's per-contact revenue variance;
* ``minimum_detectable_difference``: the absolute lift these group sizes detect with 80 % power
  at the holdout's rate, two-sided at the same confidence;
* ``verdict``: ``insufficient_data`` until each arm holds at least ``MIN_CONTACTS_PER_ARM``
  contacts and the two arms together at least ``MIN_CONVERSIONS`` conversions; then ``lift``
  when the whole difference interval lies above zero, ``harm`` when it lies below, else
  ``no_detectable_lift``.

Pure and deterministic: the same counts give the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from .errors import AnalyticsError
from .events import ACQUISITION, EXPANSION, RETENTION, EventFrame
from .paths import DAY_MS

#: fewer contacts than this in either arm: no verdict (the intervals are still reported)
MIN_CONTACTS_PER_ARM = 50
#: fewer conversions than this over both arms: no verdict
MIN_CONVERSIONS = 10
#: power behind ``minimum_detectable_difference``
POWER = 0.8

METHOD = (
    "rate difference: Newcombe hybrid score interval (Wilson per arm); relative lift: Katz log "
    "risk-ratio interval; revenue: Welch normal interval on revenue per contact"
)


class IncrementalityError(AnalyticsError):
    code = "bad_incrementality_input"


@dataclass(frozen=True)
class Arm:
    """One arm of a holdout test: contacts, how many converted, and their revenue."""

    contacts: int
    converters: int
    revenue_cents: float = 0.0
    revenue_sq_cents: float = 0.0  # sum over contacts of (revenue per contact)²

    def __post_init__(self) -> None:
        if self.contacts < 0 or self.converters < 0 or self.converters > self.contacts:
            raise IncrementalityError(
                f"an arm needs 0 <= converters <= contacts, got {self.converters}/{self.contacts}"
            )
        if not (math.isfinite(self.revenue_cents) and math.isfinite(self.revenue_sq_cents)):
            raise IncrementalityError("an arm's revenue must be finite")

    @classmethod
    def from_contacts(cls, revenue_per_contact_cents: Iterable[float]) -> Arm:
        """An arm from each contact's revenue in the window (0 for a contact who did not
        convert; a converter with a zero-value conversion must be counted by ``converters``,
        so use the constructor for such data)."""
        values = [float(v) for v in revenue_per_contact_cents]
        return cls(
            contacts=len(values),
            converters=sum(1 for v in values if v > 0),
            revenue_cents=math.fsum(values),
            revenue_sq_cents=math.fsum(v * v for v in values),
        )

    @property
    def rate(self) -> float:
        return self.converters / self.contacts if self.contacts else 0.0

    def revenue_mean_var(self) -> tuple[float, float]:
        """Mean revenue per contact and its sample variance (0 with fewer than 2 contacts)."""
        n = self.contacts
        if n == 0:
            return 0.0, 0.0
        mean = self.revenue_cents / n
        if n < 2:
            return mean, 0.0
        return mean, max(0.0, (self.revenue_sq_cents - n * mean * mean) / (n - 1))


@dataclass(frozen=True)
class Lift:
    """What ``estimate_lift`` measured; intervals are (low, high) at ``confidence``."""

    treated: Arm
    holdout: Arm
    confidence: float
    rate_difference: float
    rate_difference_ci: tuple[float, float]
    relative_lift: float | None
    relative_lift_ci: tuple[float, float] | None
    incremental_conversions: float
    incremental_conversions_ci: tuple[float, float]
    incremental_revenue_cents: float
    incremental_revenue_ci_cents: tuple[float, float]
    minimum_detectable_difference: float | None
    verdict: str  # insufficient_data | lift | harm | no_detectable_lift
    reason: str

    def to_dict(self) -> dict:
        return {
            "treated": {
                "contacts": self.treated.contacts,
                "converters": self.treated.converters,
                "conversion_rate": self.treated.rate,
                "revenue_cents": self.treated.revenue_cents,
            },
            "holdout": {
                "contacts": self.holdout.contacts,
                "converters": self.holdout.converters,
                "conversion_rate": self.holdout.rate,
                "revenue_cents": self.holdout.revenue_cents,
            },
            "confidence": self.confidence,
            "rate_difference": self.rate_difference,
            "rate_difference_ci": list(self.rate_difference_ci),
            "relative_lift": self.relative_lift,
            "relative_lift_ci": list(self.relative_lift_ci) if self.relative_lift_ci else None,
            "incremental_conversions": self.incremental_conversions,
            "incremental_conversions_ci": list(self.incremental_conversions_ci),
            "incremental_revenue_cents": self.incremental_revenue_cents,
            "incremental_revenue_ci_cents": list(self.incremental_revenue_ci_cents),
            "minimum_detectable_difference": self.minimum_detectable_difference,
            "verdict": self.verdict,
            "reason": self.reason,
            "method": METHOD,
        }


@lru_cache(maxsize=16)
def _quantile(p: float) -> float:
    """The standard normal quantile (cached: reports ask for the same few)."""
    return NormalDist().inv_cdf(p)


def wilson_interval(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # the exact limits at 0 and n (rounding must not leave p outside its own interval)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def newcombe_interval(
    x1: int, n1: int, x2: int, n2: int, z: float
) -> tuple[float, tuple[float, float]]:
    """p1 − p2 and its Newcombe hybrid score interval (method 10)."""
    p1 = x1 / n1 if n1 else 0.0
    p2 = x2 / n2 if n2 else 0.0
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, (max(-1.0, low), min(1.0, high))


def estimate_lift(*, treated: Arm, holdout: Arm, confidence: float = 0.95) -> Lift:
    """Conversion-rate lift of ``treated`` over ``holdout``, incremental conversions and
    revenue, each with its interval, and a verdict (see the module docstring)."""
    if not 0 < confidence < 1:
        raise IncrementalityError(f"confidence must be in (0, 1), got {confidence}")
    z = _quantile(0.5 + confidence / 2)
    nt, nh = treated.contacts, holdout.contacts
    xt, xh = treated.converters, holdout.converters

    d, (d_low, d_high) = newcombe_interval(xt, nt, xh, nh, z)
    if nt == 0 or nh == 0:
        d, d_low, d_high = 0.0, -1.0, 1.0

    relative = relative_ci = None
    if xt > 0 and xh > 0:
        ratio = treated.rate / holdout.rate
        se = math.sqrt(1 / xt - 1 / nt + 1 / xh - 1 / nh)
        relative = ratio - 1
        relative_ci = (ratio * math.exp(-z * se) - 1, ratio * math.exp(z * se) - 1)

    mt, vt = treated.revenue_mean_var()
    mh, vh = holdout.revenue_mean_var()
    rev = (mt - mh) * nt
    rev_se = math.sqrt((vt / nt if nt else 0.0) + (vh / nh if nh else 0.0)) * nt
    rev_ci = (rev - z * rev_se, rev + z * rev_se)

    mdd = None
    if nt and nh:
        p = holdout.rate
        z_power = _quantile(POWER)
        mdd = (z + z_power) * math.sqrt(max(p * (1 - p), 1e-12) * (1 / nt + 1 / nh))

    if nt < MIN_CONTACTS_PER_ARM or nh < MIN_CONTACTS_PER_ARM:
        verdict = "insufficient_data"
        reason = (
            f"{nt} treated and {nh} held-out contacts; a verdict needs at least "
            f"{MIN_CONTACTS_PER_ARM} in each"
        )
    elif xt + xh < MIN_CONVERSIONS:
        verdict = "insufficient_data"
        reason = f"{xt + xh} conversions in both arms; a verdict needs at least {MIN_CONVERSIONS}"
    elif d_low > 0:
        verdict, reason = "lift", "the whole interval of the rate difference is above zero"
    elif d_high < 0:
        verdict, reason = "harm", "the whole interval of the rate difference is below zero"
    else:
        verdict = "no_detectable_lift"
        reason = "the interval of the rate difference contains zero"

    return Lift(
        treated=treated,
        holdout=holdout,
        confidence=confidence,
        rate_difference=d,
        rate_difference_ci=(d_low, d_high),
        relative_lift=relative,
        relative_lift_ci=relative_ci,
        incremental_conversions=d * nt,
        incremental_conversions_ci=(d_low * nt, d_high * nt),
        incremental_revenue_cents=rev,
        incremental_revenue_ci_cents=rev_ci,
        minimum_detectable_difference=mdd,
        verdict=verdict,
        reason=reason,
    )


# ---- holdout tests from the automation engine's enrolment events -------------------------

#: campaign types whose goal is an existing customer's conversion (renewal, upsell); the
#: others are measured on acquisition conversions
RETENTION_CAMPAIGN_TYPES = ("churn_prevention", "win_back", "premium")
DEFAULT_WINDOW_DAYS = 30


def window_days(campaign: dict) -> float:
    """The campaign's conversion window: its first goal step's ``within_days`` (or
    ``within_s``), else ``conversion_window_days``, else ``DEFAULT_WINDOW_DAYS``."""
    for step in campaign.get("steps") or ():
        if isinstance(step, dict) and step.get("kind") == "goal":
            config = step.get("config") or {}
            if isinstance(config.get("within_days"), int | float) and config["within_days"] > 0:
                return float(config["within_days"])
            if isinstance(config.get("within_s"), int | float) and config["within_s"] > 0:
                return config["within_s"] / 86_400
    days = campaign.get("conversion_window_days")
    return float(days) if isinstance(days, int | float) and days > 0 else DEFAULT_WINDOW_DAYS


def _first_enrolments(frame: EventFrame, from_ms: int, to_ms: int) -> np.ndarray:
    """Rows of each (campaign, contact)'s first enrolment with a holdout flag in the window."""
    rows = frame.rows_of("enrolment", lo=from_ms, hi=to_ms)
    rows = rows[
        (frame.contact[rows] >= 0) & (frame.campaign[rows] >= 0) & (frame.holdout[rows] >= 0)
    ]
    n = max(frame.n_contacts, 1)
    key = frame.campaign[rows].astype(np.int64) * n + frame.contact[rows]
    _, first = np.unique(key, return_index=True)  # time-sorted: the first enrolment
    return rows[np.sort(first)]


def _outcomes(frame: EventFrame, to_ms: int, span: int, base: int) -> dict:
    """Per outcome, conversions before ``to_ms`` keyed contact × span + time, sorted, with
    the running sum of their values (a range of them is a searchsorted pair)."""
    cls = frame.conversion_class()
    conv = frame.rows_of("conversion", hi=to_ms)
    conv = conv[frame.contact[conv] >= 0]
    t = frame.time_ms
    outcomes = {}
    for name, classes in (
        ("acquisition", (ACQUISITION,)),
        ("existing_customers", (RETENTION, EXPANSION)),
    ):
        c = conv[np.isin(cls[conv], classes)]
        comp = frame.contact[c].astype(np.int64) * span + (t[c] - base)
        order = np.argsort(comp, kind="stable")
        value = np.r_[0.0, np.cumsum(frame.value_cents[c][order].astype(float))]
        outcomes[name] = (comp[order], value)
    return outcomes


def holdout_tests(
    frame: EventFrame,
    campaigns: list[dict],
    *,
    from_ms: int,
    to_ms: int,
    confidence: float = 0.95,
) -> list[dict]:
    """One lift estimate per campaign that enrolled contacts in ``[from_ms, to_ms)`` with a
    holdout flag (``enrolment`` events: campaign, contact, payload ``holdout``).

    A contact's first enrolment of the window puts it in one arm; it *converts* when it has a
    conversion of the campaign's outcome class (acquisition; retention and expansion for
    ``RETENTION_CAMPAIGN_TYPES``) after the enrolment and within the campaign's window
    (``window_days``: its goal step's, as the automation engine counts goals), before ``to_ms``;
    its revenue is the value of those conversions. Enrolments whose window is still open at
    ``to_ms`` are counted (both arms alike) and reported as ``open_windows``."""
    rows = frame.cached(
        ("first_enrolments", from_ms, to_ms), lambda: _first_enrolments(frame, from_ms, to_ms)
    )
    if not len(rows):
        return []
    meta = {c["id"]: c for c in campaigns}
    t = frame.time_ms
    span = int(t[-1] - t[0]) + 2 if len(t) else 1
    base = int(t[0]) if len(t) else 0
    outcomes = frame.cached(
        ("holdout_outcomes", to_ms), lambda: _outcomes(frame, to_ms, span, base)
    )

    out = []
    camp_codes = frame.campaign[rows]
    for code in np.unique(camp_codes).tolist():
        cid = frame.campaigns[code]
        c_meta = meta.get(cid, {})
        ctype = c_meta.get("type")
        outcome = "existing_customers" if ctype in RETENTION_CAMPAIGN_TYPES else "acquisition"
        days = window_days(c_meta)
        window_ms = int(float(days) * DAY_MS)
        r = rows[camp_codes == code]
        who = frame.contact[r].astype(np.int64)
        start = t[r]
        end = np.minimum(start + window_ms, to_ms)
        comp, value = outcomes[outcome]
        lo = np.searchsorted(comp, who * span + (start - base), side="right")
        hi = np.searchsorted(comp, who * span + (end - base), side="left")
        hi = np.maximum(hi, lo)
        revenue = value[hi] - value[lo]
        converted = hi > lo
        held = frame.holdout[r] == 1
        arms = {}
        for arm, mask in (("treated", ~held), ("holdout", held)):
            rev = revenue[mask]
            arms[arm] = Arm(
                contacts=int(mask.sum()),
                converters=int(converted[mask].sum()),
                revenue_cents=float(rev.sum()),
                revenue_sq_cents=float((rev * rev).sum()),
            )
        lift = estimate_lift(
            treated=arms["treated"], holdout=arms["holdout"], confidence=confidence
        )
        out.append(
            {
                "campaign": cid,
                "name": c_meta.get("name"),
                "type": ctype,
                "outcome": outcome,
                "window_days": days,
                "enrolled": int(len(r)),
                "open_windows": int((start + window_ms > to_ms).sum()),
                "lift": lift,
            }
        )
    return out


def calibrate(
    tests: list[dict], campaign_credit, channel_credit, *, channel: str = "email"
) -> dict:
    """Lift-calibrated channel credit for one model: the conversions the model credits to the
    tested campaigns (``campaign_credit``: that model's credit by campaign label) against the
    incremental conversions the tests measured; the factor incremental ÷ attributed scales the
    channel's credit (campaign sends are ``channel`` touches). Only tests with a verdict count."""
    usable = [
        t
        for t in tests
        if t["lift"].verdict != "insufficient_data" and t["outcome"] == "acquisition"
    ]
    if not usable:
        return {"calibrated": False, "reason": "no acquisition holdout test with enough data"}
    by_campaign = campaign_credit.as_dict()
    attributed = sum(by_campaign.get(t["campaign"], {}).get("conversions", 0.0) for t in usable)
    incremental = sum(t["lift"].incremental_conversions for t in usable)
    low = sum(t["lift"].incremental_conversions_ci[0] for t in usable)
    high = sum(t["lift"].incremental_conversions_ci[1] for t in usable)
    if attributed <= 0:
        return {"calibrated": False, "reason": "the model credits the tested campaigns nothing"}
    factor = max(incremental, 0.0) / attributed
    credit = channel_credit.as_dict()
    calibrated = {
        name: d["conversions"] * (factor if name == channel else 1.0) for name, d in credit.items()
    }
    return {
        "calibrated": True,
        "channel": channel,
        "campaigns": [t["campaign"] for t in usable],
        "attributed_conversions": attributed,
        "incremental_conversions": incremental,
        "incremental_conversions_ci": [low, high],
        "factor": factor,
        "factor_ci": [max(low, 0.0) / attributed, max(high, 0.0) / attributed],
        "calibrated_conversions": calibrated,
    }
