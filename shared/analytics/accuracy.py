"""How far attribution models are from the truth, and from each other.

Path-based credit is correlational: it says which channels sat on the paths of converting
contacts, not what those channels caused. Where a truth is known (the seed-demo generator's
causal story, or lift measured against a control group) the report says how far each model is
from it; everywhere it says how much the models disagree, which bounds what any one of them
can claim.

* ``accuracy``: per model, the total-variation distance (half the L1 distance of the channel
  shares; 0 exact, 1 disjoint) and the largest single-channel error against the truth, beside
  the same distance for a *uniform* split (every channel the same share), the bar a model must
  beat to be worth reading; ``beats_uniform`` says which do.
* ``disagreement``: per channel, the lowest and highest share any model gives (and which
  models); the largest pairwise total variation between two models.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

from .attribution import Credit
from .errors import AnalyticsError


class BadTruth(AnalyticsError):
    """A truth that is not channel shares (``truth_shares``)."""

    code = "bad_truth"


CAVEAT = (
    "Path-based attribution is correlational: it credits the channels on converting paths, "
    "not the conversions they caused. Read it beside the models' disagreement and, where a "
    "campaign holds out a control group, beside its measured incremental lift."
)


def total_variation(a: dict[str, float], b: dict[str, float]) -> float:
    names = set(a) | set(b)
    return 0.5 * sum(abs(a.get(n, 0.0) - b.get(n, 0.0)) for n in names)


def shares(credit: Credit) -> dict[str, float]:
    """Share of conversions per label (empty when nothing was credited)."""
    total = float(sum(credit.conversions))
    if total <= 0:
        return {}
    return credit.shares()


def truth_shares(given: Any) -> dict[str, float]:
    """Channel → true share from what a truth file holds: seed-demo's ``--json`` output (its
    ``truth.shares``), ``{"shares": {...}}``, or the map itself; shares are finite, ≥ 0, and
    scaled to add up to 1. ``BadTruth`` says what is wrong."""
    if isinstance(given, dict) and isinstance(given.get("truth"), dict):
        given = given["truth"]
    if isinstance(given, dict) and isinstance(given.get("shares"), dict):
        given = given["shares"]
    if not isinstance(given, dict) or not given:
        raise BadTruth("a truth is a map of channel → share, or seed-demo's --json output")
    out: dict[str, float] = {}
    for name, value in given.items():
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value < 0
        ):
            raise BadTruth(f"the share of {name!r} must be a finite number ≥ 0, not {value!r}")
        out[str(name)] = float(value)
    total = sum(out.values())
    if total <= 0:
        raise BadTruth("the shares add up to 0")
    return {name: value / total for name, value in out.items()}


def accuracy(credits: dict[str, Credit], truth: dict[str, float]) -> dict:
    """Each model's distance from ``truth`` (channel → true share), and the uniform bar."""
    names = sorted(truth)
    uniform = {n: 1.0 / len(names) for n in names} if names else {}
    bar = total_variation(uniform, truth)
    models = {}
    for model, credit in credits.items():
        s = shares(credit)
        diffs = {n: s.get(n, 0.0) - truth.get(n, 0.0) for n in set(s) | set(truth)}
        worst = max(diffs, key=lambda n: abs(diffs[n]), default=None)
        tv = total_variation(s, truth)
        models[model] = {
            "total_variation": tv,
            "max_abs_diff": abs(diffs[worst]) if worst else 0.0,
            "worst_channel": worst,
            "beats_uniform": tv < bar,
        }
    best = min(models, key=lambda m: models[m]["total_variation"], default=None)
    return {
        "available": True,
        "truth": dict(truth),
        "uniform_total_variation": bar,
        "models": models,
        "best_model": best,
    }


def disagreement(credits: dict[str, Credit]) -> dict:
    """Per channel, the spread of shares across models; the largest pairwise distance."""
    per_model = {m: shares(c) for m, c in credits.items()}
    per_model = {m: s for m, s in per_model.items() if s}
    labels = sorted({n for s in per_model.values() for n in s})
    channels = {}
    for n in labels:
        values = {m: s.get(n, 0.0) for m, s in per_model.items()}
        lo = min(values, key=values.get)
        hi = max(values, key=values.get)
        channels[n] = {
            "min_share": values[lo],
            "min_model": lo,
            "max_share": values[hi],
            "max_model": hi,
            "spread": values[hi] - values[lo],
        }
    pair, widest = None, 0.0
    for a, b in combinations(sorted(per_model), 2):
        d = total_variation(per_model[a], per_model[b])
        if d > widest or pair is None:
            pair, widest = (a, b), d
    return {
        "channels": channels,
        "max_pairwise_total_variation": widest if pair else None,
        "most_different_models": list(pair) if pair else None,
    }
