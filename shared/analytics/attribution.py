"""Rule-based attribution models over a ``PathSet``: first touch, last touch, linear, time decay
and position based.

Each model gives every touch of a converting path a weight; a path's weights sum to 1, so every
conversion hands out exactly one conversion of credit (and its revenue) across its touches.
Repeated channels in a path earn credit once per touch, as in Google Analytics and the
ChannelAttribution package. Credit per label is the sum of ``weight × conversions`` (and
``weight × value``) over touches with that label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .paths import DAY_MS, PathSet

DEFAULT_HALF_LIFE_MS = 7 * DAY_MS
POSITION_ENDS = 0.4  # position based: 40 % first, 40 % last, 20 % shared by the middle


@dataclass(frozen=True)
class Credit:
    """Credit per label for one model. ``conversions`` sum to the attributed conversions."""

    model: str
    labels: tuple[str, ...]
    conversions: tuple[float, ...]
    value: tuple[float, ...]
    extra: dict | None = None  # model-specific details (removal effects, standard errors, …)

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            label: {"conversions": c, "value": v}
            for label, c, v in zip(self.labels, self.conversions, self.value, strict=True)
        }

    def shares(self) -> dict[str, float]:
        total = sum(self.conversions)
        return {
            label: (c / total if total else 0.0)
            for label, c in zip(self.labels, self.conversions, strict=True)
        }


def credit_from_weights(paths: PathSet, weights: np.ndarray, model: str) -> Credit:
    """Sum per-touch weights (each converting path's weights sum to 1) into label credit."""
    tp = paths.touch_path
    conv = np.bincount(
        paths.touch_label, weights=weights * paths.conversions[tp], minlength=len(paths.labels)
    )
    val = np.bincount(
        paths.touch_label, weights=weights * paths.value[tp], minlength=len(paths.labels)
    )
    return Credit(model, tuple(paths.labels), tuple(conv.tolist()), tuple(val.tolist()))


def weighted_credit(paths: PathSet, model: str, **options: float) -> Credit:
    """``credit_from_weights(paths, HEURISTICS[model](paths, **options), model)``, reusing the
    weighted touches (weight × conversions, weight × value; they depend on the paths alone)
    across calls on the same paths and on the same paths under other labels.

    Only touches of paths with conversions or value can earn credit: the others add exactly
    ``weight × 0 = 0`` to every sum, so they are left out of the sums (when every weight is
    finite), which changes no result. The order of the remaining touches is kept, so the sums
    are the same floating-point sums as in ``credit_from_weights``.
    """
    key = ("weights", model, tuple(sorted(options.items())))
    hit = paths._structure.get(key)
    if hit is None:
        weights = HEURISTICS[model](paths, **options)
        tp = paths.touch_path
        conv_t, value_t = paths.conversions[tp], paths.value[tp]
        if np.isfinite(weights).all():
            sel = np.flatnonzero((conv_t != 0) | (value_t != 0))
        else:
            sel = np.arange(len(weights))
        w = weights[sel]
        hit = paths._structure[key] = (sel, w * conv_t[sel], w * value_t[sel])
    sel, w_conv, w_value = hit
    lab_key = ("labels_at", key)
    lab = paths._cache.get(lab_key)
    if lab is None:
        lab = paths._cache[lab_key] = paths.touch_label[sel]
    n = len(paths.labels)
    conv = np.bincount(lab, weights=w_conv, minlength=n)
    val = np.bincount(lab, weights=w_value, minlength=n)
    return Credit(model, tuple(paths.labels), tuple(conv.tolist()), tuple(val.tolist()))


def _first(paths: PathSet) -> np.ndarray:
    w = np.zeros(len(paths.touch_label))
    lengths = paths.lengths
    w[paths.offsets[:-1][lengths > 0]] = 1.0
    return w


def _last(paths: PathSet) -> np.ndarray:
    w = np.zeros(len(paths.touch_label))
    lengths = paths.lengths
    w[paths.offsets[1:][lengths > 0] - 1] = 1.0
    return w


def _linear(paths: PathSet) -> np.ndarray:
    lengths = paths.lengths
    return np.repeat(1.0 / np.maximum(lengths, 1), lengths)


def _position(paths: PathSet) -> np.ndarray:
    lengths = paths.lengths
    n = np.repeat(lengths, lengths)
    pos = np.arange(len(paths.touch_label)) - np.repeat(paths.offsets[:-1], lengths)
    w = np.where(n == 1, 1.0, 0.0)
    w = np.where(n == 2, 0.5, w)
    ends = (pos == 0) | (pos == n - 1)
    middle = np.divide(1.0 - 2 * POSITION_ENDS, n - 2, out=np.zeros(len(n)), where=n > 2)
    w = np.where(n > 2, np.where(ends, POSITION_ENDS, middle), w)
    return w


def time_decay_weights(
    paths: PathSet, *, half_life_ms: float = DEFAULT_HALF_LIFE_MS, half_life_steps: float = 1.0
) -> np.ndarray:
    """Weights ∝ 2^(−age/half-life), age = conversion time − touch time.

    Paths without times (aggregated files) use the number of steps before the end of the path
    as the age, with ``half_life_steps``.
    """
    lengths = paths.lengths
    tp = paths.touch_path
    if paths.touch_time_ms is not None and paths.conv_time_ms is not None:
        age = (paths.conv_time_ms[tp] - paths.touch_time_ms).astype(float) / half_life_ms
    else:
        pos = np.arange(len(paths.touch_label)) - np.repeat(paths.offsets[:-1], lengths)
        age = (np.repeat(lengths, lengths) - 1 - pos) / half_life_steps
    raw = np.exp2(-np.maximum(age, 0.0))
    sums = np.bincount(tp, weights=raw, minlength=paths.n_paths)
    return raw / sums[tp]


HEURISTICS: dict[str, Callable[[PathSet], np.ndarray]] = {
    "first_touch": _first,
    "last_touch": _last,
    "linear": _linear,
    "time_decay": time_decay_weights,
    "position_based": _position,
}


def heuristic(paths: PathSet, model: str, **options: float) -> Credit:
    """Credit under one rule-based model (``HEURISTICS`` names them)."""
    if model not in HEURISTICS:
        raise ValueError(f"unknown model {model!r}; expected one of {sorted(HEURISTICS)}")
    return weighted_credit(paths, model, **options)
