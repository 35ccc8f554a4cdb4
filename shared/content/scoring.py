"""The predicted engagement of a subject line, learned from an org's own sends.

A logistic model of the click rate (or the conversion rate) per send, on the features of
``features.py``, fitted by maximum a posteriori on the org's per-subject outcomes
(``history.SubjectOutcome``): binomial likelihood, Gaussian prior around ``PRIOR`` (weights
written by hand from common email practice, deliberately small) with precision ``l2``. With
no history the model *is* the prior (cold start); as sends arrive the data outweigh it. Opens
are never the target: privacy proxies open mail nobody read.

``recommend`` picks the variant with the best predicted rate and says why in one line: the
features that lift it above the other variants, and what the model learned from.
``validate`` fits on part of the subjects and reports the rank correlation (Spearman) of the
predictions with the realised rates of the subjects held out, beside the prior's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shared.protocol.campaign import CAMPAIGN_TYPES

from .errors import ContentCode, ContentError
from .features import FEATURES, FOR, subject_features
from .history import SubjectOutcome

METRICS = ("click", "conversion")

#: starting rates per campaign type when an org has no sends (clicks per send, conversions per
#: send); the prior's intercept and type weights are their log-odds
BASE_RATES = {
    "click": {
        "nurture": 0.025,
        "viral_referral": 0.030,
        "super_connector": 0.040,
        "churn_prevention": 0.020,
        "milestone": 0.050,
        "win_back": 0.015,
        "premium": 0.018,
    },
    "conversion": {
        "nurture": 0.004,
        "viral_referral": 0.006,
        "super_connector": 0.008,
        "churn_prevention": 0.005,
        "milestone": 0.006,
        "win_back": 0.003,
        "premium": 0.004,
    },
}
#: the cold-start prior's text weights (log-odds per unit of the feature)
TEXT_PRIOR = {
    "over_mobile": -0.15,
    "length": -0.05,
    "question": 0.08,
    "number": 0.06,
    "personalised": 0.10,
    "urgency": 0.06,
    "curiosity": 0.05,
    "social": 0.05,
    "exclamation": -0.10,
    "spam": -0.35,
    "caps": -0.30,
    "personalised_x_suppliers": -0.05,
}
DEFAULT_L2 = 4.0  # the prior counts like a few hundred sends per weight at a 2-3 % rate


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def prior_weights(metric: str = "click") -> np.ndarray:
    """Intercept first, then one weight per feature."""
    rates = BASE_RATES[metric]
    base = _logit(rates["nurture"])
    w = np.zeros(len(FEATURES) + 1)
    w[0] = base
    for i, name in enumerate(FEATURES, start=1):
        if name.startswith("type_"):
            w[i] = _logit(rates[name.removeprefix("type_")]) - base
        else:
            w[i] = TEXT_PRIOR.get(name, 0.0)
    return w


@dataclass(frozen=True)
class EngagementModel:
    metric: str
    weights: np.ndarray  # intercept, then FEATURES
    sends: int  # sends it learned from (0: the prior alone)
    subjects: int

    def rate(self, subject: str, campaign_type: str, audience: str) -> float:
        x = np.array([1.0, *subject_features(subject, campaign_type, audience)])
        return float(1 / (1 + np.exp(-np.clip(x @ self.weights, -30, 30))))

    def contributions(self, subject: str, campaign_type: str, audience: str) -> np.ndarray:
        """Each feature's part of the log-odds (no intercept)."""
        return np.array(subject_features(subject, campaign_type, audience)) * self.weights[1:]

    @property
    def basis(self) -> str:
        if not self.sends:
            return "no sends yet, so the starting estimate"
        return f"learned from {self.sends:,} sends of {self.subjects:,} subjects"


def cold_start(metric: str = "click") -> EngagementModel:
    return EngagementModel(metric, prior_weights(metric), 0, 0)


def fit(
    history: Sequence[SubjectOutcome],
    *,
    metric: str = "click",
    l2: float = DEFAULT_L2,
    iterations: int = 30,
) -> EngagementModel:
    """The MAP fit on ``history`` (the prior alone when it holds no sends)."""
    if metric not in METRICS:
        raise ContentError(ContentCode.HISTORY_INVALID, f"metric must be one of {METRICS}")
    rows = [h for h in history if h.sends > 0 and h.campaign_type in CAMPAIGN_TYPES]
    w0 = prior_weights(metric)
    if not rows:
        return EngagementModel(metric, w0, 0, 0)
    x = np.array([[1.0, *subject_features(h.subject, h.campaign_type, h.audience)] for h in rows])
    n = np.array([h.sends for h in rows], dtype=float)
    c = np.array([min(h.count(metric), h.sends) for h in rows], dtype=float)
    reg = l2 * np.eye(len(w0))
    reg[0, 0] = l2 * 1e-3  # the intercept follows the org's own rate freely
    w = w0.copy()
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (n * p - c) + reg @ (w - w0)
        hess = (x * (n * p * (1 - p))[:, None]).T @ x + reg
        step = np.linalg.solve(hess, grad)
        w = w - step
        if np.abs(step).max() < 1e-9:
            break
    return EngagementModel(metric, w, int(n.sum()), len(rows))


@dataclass(frozen=True, slots=True)
class Recommendation:
    index: int  # of the recommended variant
    rates: tuple[float, ...]  # predicted rate per variant
    reason: str


def recommend(
    subjects: Sequence[str], campaign_type: str, audience: str, model: EngagementModel
) -> Recommendation:
    """The variant with the best predicted rate, and one line saying why."""
    if not subjects:
        raise ContentError(ContentCode.REQUEST_INVALID, "nothing to recommend from")
    rates = [model.rate(s, campaign_type, audience) for s in subjects]
    best = int(np.argmax(rates))
    contrib = np.array([model.contributions(s, campaign_type, audience) for s in subjects])
    lift = (
        contrib[best] - np.delete(contrib, best, axis=0).mean(axis=0)
        if len(subjects) > 1
        else contrib[best]
    )
    order = [int(i) for i in np.argsort(-lift) if lift[i] > 1e-6 and FEATURES[i] in FOR]
    why = " and ".join(FOR[FEATURES[i]] for i in order[:2]) or "the best overall"
    noun = "click" if model.metric == "click" else "conversion"
    runner = sorted(rates, reverse=True)[1] if len(rates) > 1 else None
    versus = f" vs {runner * 100:.1f} % next best" if runner is not None else ""
    reason = (
        f"Highest predicted {noun} rate ({rates[best] * 100:.1f} %{versus}): {why}; {model.basis}."
    )
    return Recommendation(best, tuple(rates), reason)


@dataclass(frozen=True, slots=True)
class Validation:
    metric: str
    rho: float  # Spearman rank correlation, model vs realised rate, held-out subjects
    p_value: float
    rho_prior: float  # the same for the cold-start prior alone
    train_subjects: int
    test_subjects: int
    test_sends: int

    def to_dict(self) -> dict[str, float | int | str]:
        return {
            "metric": self.metric,
            "spearman_rho": round(self.rho, 4),
            "p_value": self.p_value,
            "spearman_rho_prior": round(self.rho_prior, 4),
            "train_subjects": self.train_subjects,
            "test_subjects": self.test_subjects,
            "test_sends": self.test_sends,
        }


def validate(
    history: Sequence[SubjectOutcome],
    *,
    metric: str = "click",
    test_share: float = 0.3,
    seed: int = 0,
    min_sends: int = 100,
) -> Validation:
    """Fit on a random ``1 - test_share`` of the subjects; rank-correlate on the rest (those
    with at least ``min_sends``, so a realised rate means something)."""
    from scipy.stats import spearmanr

    rows = [h for h in history if h.sends > 0]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    cut = int(round(len(rows) * (1 - test_share)))
    train = [rows[i] for i in order[:cut]]
    test = [rows[i] for i in order[cut:] if rows[i].sends >= min_sends]
    if len(test) < 3:
        raise ContentError(ContentCode.HISTORY_INVALID, "too few held-out subjects to validate")
    model = fit(train, metric=metric)
    prior = cold_start(metric)
    realised = [h.count(metric) / h.sends for h in test]
    predicted = [model.rate(h.subject, h.campaign_type, h.audience) for h in test]
    from_prior = [prior.rate(h.subject, h.campaign_type, h.audience) for h in test]
    result = spearmanr(predicted, realised)
    return Validation(
        metric,
        float(result.statistic),
        float(result.pvalue),
        float(spearmanr(from_prior, realised).statistic),
        len(train),
        len(test),
        sum(h.sends for h in test),
    )
