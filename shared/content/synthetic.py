"""A send history with a known truth, for tests, the validation report and the benchmark.

Subjects come from the offline generator over many contexts, tones, lengths and seeds, plus
hand-spoilt copies (shouting, ``!!``, a spam word) so every feature varies. The true click rate
of a subject is a logistic function of its features under ``TRUE_TEXT`` weights, which differ
from the cold-start prior on purpose (here questions put suppliers off and a deadline works
better than the prior thinks), plus a hidden per-subject effect the features cannot see; sends
and clicks are drawn from it. A model that learns should rank held-out subjects better than the
prior, and never perfectly.
"""

from __future__ import annotations

import numpy as np

from shared.protocol.campaign import CAMPAIGN_TYPES

from .context import AUDIENCES, LENGTHS, TONES, parse_request
from .features import FEATURES, subject_features
from .generator import generate
from .history import SubjectOutcome
from .scoring import prior_weights

TRUE_TEXT = {
    "over_mobile": -0.25,
    "length": -0.10,
    "question": 0.05,
    "number": 0.05,
    "personalised": 0.35,
    "urgency": 0.30,
    "curiosity": 0.15,
    "social": -0.10,
    "exclamation": -0.30,
    "spam": -0.60,
    "caps": -0.50,
    "suppliers": -0.20,
    "personalised_x_suppliers": -0.35,
    "urgency_x_suppliers": 0.20,
}
_CONTEXTS = (
    {},
    {"venue": "Hollow Barn", "region": "Cotswolds", "days_to_wedding": 120},
    {"region": "Yorkshire", "season": "winter", "sender": "Bloom & Wild Flowers"},
    {"days_to_wedding": 30, "milestone": "one_month", "offer": "£50 off"},
    {"supplier_kind": "photographer", "region": "Devon", "health_band": "critical"},
)
_SPOIL = (
    lambda s: s.upper(),
    lambda s: s + "!!",
    lambda s: "Free gift: " + s,
    lambda s: s + " - limited time",
)


def true_weights() -> np.ndarray:
    w = prior_weights("click")
    for i, name in enumerate(FEATURES, start=1):
        if name in TRUE_TEXT:
            w[i] = TRUE_TEXT[name]
    return w


def subjects(seed: int = 0, per_request: int = 2) -> list[tuple[str, str, str]]:
    """(subject, campaign type, audience), distinct, in a fixed order."""
    rng = np.random.default_rng(seed)
    seen: dict[tuple[str, str, str], None] = {}
    for kind in CAMPAIGN_TYPES:
        for audience in AUDIENCES:
            for ctx in _CONTEXTS:
                for s in range(per_request):
                    tone = TONES[int(rng.integers(len(TONES)))]
                    length = LENGTHS[int(rng.integers(len(LENGTHS)))]
                    request = parse_request(
                        kind, {**ctx, "audience": audience, "tone": tone, "length": length}
                    )
                    for v in generate(request, seed=s):
                        seen[(v.subject, kind, audience)] = None
                        if rng.random() < 0.12:
                            spoil = _SPOIL[int(rng.integers(len(_SPOIL)))]
                            seen[(spoil(v.subject), kind, audience)] = None
    return list(seen)


def history(
    seed: int = 0, *, sends: tuple[int, int] = (150, 2500), hidden_sd: float = 0.25
) -> list[SubjectOutcome]:
    """Outcomes of every synthetic subject: sends drawn in ``sends``, clicks from the truth."""
    rng = np.random.default_rng(seed)
    w = true_weights()
    out = []
    for subject, kind, audience in subjects(seed):
        x = np.array([1.0, *subject_features(subject, kind, audience)])
        p = 1 / (1 + np.exp(-(x @ w + rng.normal(0, hidden_sd))))
        n = int(rng.integers(*sends))
        clicks = int(rng.binomial(n, p))
        opens = int(rng.binomial(n, min(0.95, 8 * p)))
        conversions = int(rng.binomial(clicks, 0.15))
        out.append(SubjectOutcome(subject, kind, audience, n, opens, clicks, conversions))
    return out
