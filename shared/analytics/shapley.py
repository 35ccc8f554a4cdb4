"""Shapley-value attribution.

Players are the labels (channels or campaigns) that occur on converting paths. The worth of a
coalition ``S`` is the conversions (or revenue) of the converting paths whose set of distinct
labels lies inside ``S``: ``v(S) = Σ_{T ⊆ S} conv(T)``, with ``conv(T)`` the conversions of paths
whose label set is exactly ``T`` (Zhao et al., 2018). Order and repetition within a path do not
matter; labels that only occur on non-converting paths are null players and get 0.

* Up to ``max_exact`` players (15 by default) the value is computed exactly by definition: ``v`` is
  tabulated over all ``2^n`` coalitions with a subset-sum (zeta) transform and each player's
  marginal contributions are weighted by ``|S|!(n−|S|−1)!/n!``.
* Above that it is still exact, in closed form: ``v`` is a sum of unanimity games
  ``conv(T)·u_T``, whose Shapley value gives ``conv(T)/|T|`` to each member of ``T``, so
  ``φ_i = Σ_{T ∋ i} conv(T)/|T|`` — linear in the number of distinct label sets. (Tested equal to
  the definition wherever the definition is computable.)
* ``method="sampled"`` estimates by random permutations instead (a path's worth goes to its label
  that arrives last; each permutation's credits sum to ``v(N)``, the standard error of each
  label's mean is reported): kept as an independent check of the closed form.

Properties (tested): efficiency (credits sum to ``v(N)``), symmetry, null player.
"""

from __future__ import annotations

from math import factorial

import numpy as np

from .attribution import Credit
from .paths import PathSet

DEFAULT_MAX_EXACT = 15
DEFAULT_PERMUTATIONS = 2000


def path_sets(paths: PathSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct label sets of converting paths: (set id, label) pairs and per-set weights.

    Paths with the same set of labels are merged (their conversions and value summed), so the
    work depends on the number of distinct sets, not of paths. Sets are told apart by a sum of
    random 64-bit keys per label (a collision is as likely as 2^-64 per pair of sets).
    """
    tp = paths.touch_path
    conv_touch = (paths.conversions[tp] > 0) | (paths.value[tp] != 0)
    n_labels = len(paths.labels)
    pair = np.unique(tp[conv_touch].astype(np.int64) * n_labels + paths.touch_label[conv_touch])
    p, lab = np.divmod(pair, n_labels)
    keys = np.random.default_rng(0x5EED).integers(0, 2**63, n_labels, dtype=np.uint64)
    n_paths = paths.n_paths
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if len(p) else np.zeros(0, np.int64)
    with np.errstate(over="ignore"):
        hashes = np.add.reduceat(keys[lab], starts) if len(p) else np.zeros(0, np.uint64)
    uniq, group = np.unique(hashes, return_inverse=True)
    path_of_start = p[starts]
    weights = np.column_stack(
        [
            np.bincount(group, weights=paths.conversions[path_of_start], minlength=len(uniq)),
            np.bincount(group, weights=paths.value[path_of_start], minlength=len(uniq)),
        ]
    )
    # keep the pairs of one representative path per set
    rep = np.zeros(n_paths, dtype=bool)
    first_of_group = np.unique(group, return_index=True)[1]
    rep[path_of_start[first_of_group]] = True
    set_of_path = np.full(n_paths, -1, dtype=np.int64)
    set_of_path[path_of_start] = group
    mine = rep[p]
    order = np.argsort(set_of_path[p[mine]], kind="stable")
    return set_of_path[p[mine]][order], lab[mine][order], weights


def _exact(
    p: np.ndarray, lab: np.ndarray, weights: np.ndarray, players: np.ndarray, n_labels: int
) -> np.ndarray:
    n = len(players)
    bit = np.zeros(n_labels, dtype=np.int64)
    bit[players] = 1 << np.arange(n, dtype=np.int64)
    n_paths = int(p.max()) + 1 if len(p) else 0
    masks = np.bincount(p, weights=bit[lab], minlength=n_paths).astype(np.int64)
    out = np.zeros((n_labels, weights.shape[1]))
    if n == 0:
        return out
    # worth of each coalition: conversions of paths whose exact label set is the mask, summed
    # over subsets (zeta transform)
    v = np.zeros((1 << n, weights.shape[1]))
    for j in range(weights.shape[1]):
        v[:, j] = np.bincount(masks, weights=weights[: len(masks), j], minlength=1 << n)
    for i in range(n):
        view = v.reshape(-1, 2, 1 << i, weights.shape[1])
        view[:, 1] += view[:, 0]
    sizes = np.array([bin(m).count("1") for m in range(1 << n)])
    coef = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    all_masks = np.arange(1 << n)
    for i in range(n):
        without = all_masks[(all_masks >> i) & 1 == 0]
        marg = v[without | (1 << i)] - v[without]
        out[players[i]] = coef[sizes[without]] @ marg
    return out


def _closed_form(p: np.ndarray, lab: np.ndarray, weights: np.ndarray, n_labels: int) -> np.ndarray:
    """Exact Shapley values of ``v(S) = Σ_{T ⊆ S} conv(T)``: each set's worth split evenly."""
    out = np.zeros((n_labels, weights.shape[1]))
    if len(p) == 0:
        return out
    size = np.bincount(p)
    share = weights[p] / size[p][:, None]
    for j in range(weights.shape[1]):
        out[:, j] = np.bincount(lab, weights=share[:, j], minlength=n_labels)
    return out


def sampled(
    p: np.ndarray,
    lab: np.ndarray,
    weights: np.ndarray,
    players: np.ndarray,
    n_labels: int,
    permutations: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the permutation credits.

    All permutations are drawn first (the same draws, in the same order, as one at a time) and
    the last-arriving label of every set is found for a block of permutations at once. Each
    permutation's credits are summed over the sets in set order and the permutations are
    accumulated one after another, so the floating-point sums are those of the plain loop
    (``sampled_reference``, kept as the reference).
    """
    rng = np.random.default_rng(seed)
    n_paths = int(p.max()) + 1 if len(p) else 0
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if len(p) else np.zeros(0, np.int64)
    w = weights[:n_paths][p[starts]]
    n_sets, n_cols = len(starts), w.shape[1]
    ranks = np.zeros((permutations, n_labels), dtype=np.int64)
    for k in range(permutations):
        ranks[k, players] = rng.permutation(len(players))
    # keys rank × n_labels + label, a row per label and a column per permutation: the largest
    # key among a set's labels names its last-arriving label. Sets are taken by size.
    key_type = np.int16 if n_labels * n_labels < 2**15 else np.int64
    keys = np.ascontiguousarray((ranks * n_labels + np.arange(n_labels)).T.astype(key_type))
    size = np.diff(np.r_[starts, len(lab)])
    best_t = np.empty((n_sets, permutations), dtype=key_type)
    for m in np.unique(size).tolist():
        idx = np.flatnonzero(size == m)
        members = lab[starts[idx][:, None] + np.arange(m)]
        top = keys[members[:, 0]]
        for c in range(1, m):
            np.maximum(top, keys[members[:, c]], out=top)
        np.remainder(top, n_labels, out=top)
        best_t[idx] = top
    best = best_t.T.astype(np.intp)
    cols = [np.ascontiguousarray(w[:, j]) for j in range(n_cols)]
    credits = np.empty((permutations, n_labels, n_cols))
    for k in range(permutations):
        for j in range(n_cols):
            credits[k, :, j] = np.bincount(best[k], weights=cols[j], minlength=n_labels)
    # running sums in permutation order, as the loop adds them
    total = np.cumsum(credits, axis=0)[-1] if permutations else np.zeros((n_labels, n_cols))
    total_sq = np.cumsum(credits**2, axis=0)[-1] if permutations else np.zeros_like(total)
    mean = total / permutations
    var = np.maximum(total_sq / permutations - mean**2, 0.0)
    se = np.sqrt(var / max(permutations - 1, 1))
    return mean, se


def sampled_reference(
    p: np.ndarray,
    lab: np.ndarray,
    weights: np.ndarray,
    players: np.ndarray,
    n_labels: int,
    permutations: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One permutation at a time: the straightforward form of ``sampled`` (for tests)."""
    rng = np.random.default_rng(seed)
    n_paths = int(p.max()) + 1 if len(p) else 0
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if len(p) else np.zeros(0, np.int64)
    path_of_group = p[starts]
    total = np.zeros((n_labels, weights.shape[1]))
    total_sq = np.zeros_like(total)
    w = weights[:n_paths][path_of_group]
    for _ in range(permutations):
        rank = np.zeros(n_labels, dtype=np.int64)
        rank[players] = rng.permutation(len(players))
        # last-arriving label of each path: the one with the highest rank
        best = np.maximum.reduceat(rank[lab] * n_labels + lab, starts) % n_labels
        credit = np.column_stack(
            [np.bincount(best, weights=w[:, j], minlength=n_labels) for j in range(w.shape[1])]
        )
        total += credit
        total_sq += credit**2
    mean = total / permutations
    var = np.maximum(total_sq / permutations - mean**2, 0.0)
    se = np.sqrt(var / max(permutations - 1, 1))
    return mean, se


def shapley(
    paths: PathSet,
    *,
    max_exact: int = DEFAULT_MAX_EXACT,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
    method: str = "exact",
) -> Credit:
    """Shapley credit per label: exact (by definition up to ``max_exact`` players, in closed form
    above), or ``method="sampled"`` by random permutations with standard errors."""
    if method not in ("exact", "sampled"):
        raise ValueError(f"method must be 'exact' or 'sampled', not {method!r}")
    sets = paths._cache.get("shapley_sets")
    if sets is None:
        sets = paths._cache["shapley_sets"] = path_sets(paths)
    p, lab, weights = sets
    players = np.unique(lab)
    n_labels = len(paths.labels)
    extra: dict = {"players": len(players)}
    if method == "exact" and len(players) <= max_exact:
        out = _exact(p, lab, weights, players, n_labels)
        extra["method"] = "exact"
    elif method == "exact":
        out = _closed_form(p, lab, weights, n_labels)
        extra["method"] = "exact_closed_form"
    else:
        out, se = sampled(p, lab, weights, players, n_labels, permutations, seed)
        extra.update(
            method="sampled",
            permutations=permutations,
            standard_error={paths.labels[i]: float(se[i, 0]) for i in players.tolist()},
            standard_error_value={paths.labels[i]: float(se[i, 1]) for i in players.tolist()},
        )
    return Credit(
        "shapley",
        tuple(paths.labels),
        tuple(out[:, 0].tolist()),
        tuple(out[:, 1].tolist()),
        extra=extra,
    )
