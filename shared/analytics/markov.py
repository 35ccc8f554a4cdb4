"""Markov-chain attribution of order 1..4 with exact removal effects.

The chain's transient states are ``(start)`` and every tuple of the last ``k`` labels seen on a
path (shorter tuples at the start of a path); the absorbing states are ``(conversion)`` and
``(null)``. Transition probabilities are the observed transition counts, each path weighted by
its conversions plus its nulls, as in Anderl et al. (2016) and the ChannelAttribution package.

Absorption probabilities are solved exactly: with ``Q`` the transient-to-transient matrix and
``r`` the one-step probability of converting, ``(I − Q) x = r`` and ``P(conversion) = x[start]``.
For revenue, ``r`` is replaced by the expected value collected on leaving a state (value of the
conversions ending there ÷ its out-weight), so ``x[start]`` is the expected value per path.
Removing a label sends every transition into a state containing it to ``(null)``: the reduced
system drops those states. ``removal_effect = 1 − P_removed / P``; credit is the removal effects
normalised to sum to the total conversions (and value). Self-loops never change absorption
probabilities, so repeated channels do not matter at order 1; at higher orders they are part of
the states. Invariant: ``x[start]`` equals the observed conversion rate of the paths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .attribution import Credit
from .paths import PathSet

MAX_ORDER = 4
_DENSE_LIMIT = 300  # below this many transient states a dense solve is faster


@dataclass(frozen=True, eq=False)
class MarkovChain:
    """An absorbing chain estimated from paths. State 0 is ``(start)``."""

    order: int
    labels: list[str]
    state_codes: np.ndarray  # per transient state (0 = start): packed label tuple
    q: sp.csr_matrix  # transient → transient probabilities
    r_conv: np.ndarray  # transient → (conversion)
    r_value: np.ndarray  # expected value collected on leaving each state
    r_null: np.ndarray  # transient → (null)
    contains: sp.csr_matrix  # label × state incidence (1 if the state's tuple holds the label)
    total_conversions: float
    total_value: float

    @property
    def n_states(self) -> int:
        return self.q.shape[0]

    def state_name(self, i: int) -> str:
        if i == 0:
            return "(start)"
        base = len(self.labels) + 1
        code, parts = int(self.state_codes[i]), []
        while code:
            code, digit = divmod(code, base)
            parts.append(self.labels[digit - 1])
        return ",".join(reversed(parts))


def build_chain(paths: PathSet, order: int = 1) -> MarkovChain:
    """Estimate the order-``order`` chain from weighted paths."""
    if not 1 <= order <= MAX_ORDER:
        raise ValueError(f"order must be between 1 and {MAX_ORDER}, got {order}")
    n_labels = len(paths.labels)
    base = n_labels + 1
    if base**order >= 2**62:
        raise ValueError("too many labels for this order")
    lengths = paths.lengths
    weight = paths.conversions + paths.nulls
    used = (lengths > 0) & (weight > 0)
    labels = paths.touch_label.astype(np.int64) + 1
    n_touch = len(labels)
    pos = np.arange(n_touch) - np.repeat(paths.offsets[:-1], lengths)
    # Packed state of each touch: the last `order` labels, oldest in the highest digit.
    code = np.zeros(n_touch, dtype=np.int64)
    for back in range(order):
        prev = np.zeros(n_touch, dtype=np.int64)
        ok = pos >= back
        prev[ok] = labels[np.flatnonzero(ok) - back]
        code += prev * base**back
    tp = paths.touch_path
    touch_w = weight[tp]
    keep_touch = used[tp]

    uniq, inv = np.unique(code[keep_touch], return_inverse=True)
    state = np.zeros(n_touch, dtype=np.int64)
    state[keep_touch] = inv + 1
    n = len(uniq) + 1
    firsts = paths.offsets[:-1][used]
    lasts = paths.offsets[1:][used] - 1
    # transitions: start -> first state, each touch -> next touch in the same path
    is_last = np.zeros(n_touch, dtype=bool)
    is_last[lasts] = True
    inner = np.flatnonzero(keep_touch & ~is_last)
    src = np.r_[np.zeros(len(firsts), dtype=np.int64), state[inner]]
    dst = np.r_[state[firsts], state[inner + 1]]
    w = np.r_[weight[used], touch_w[inner]]
    conv_out = np.bincount(state[lasts], weights=paths.conversions[used], minlength=n)
    null_out = np.bincount(state[lasts], weights=paths.nulls[used], minlength=n)
    value_out = np.bincount(state[lasts], weights=paths.value[used], minlength=n)
    counts = sp.csr_matrix((w, (src, dst)), shape=(n, n))
    counts.sum_duplicates()
    out = np.asarray(counts.sum(axis=1)).ravel() + conv_out + null_out
    inv_out = np.divide(1.0, out, out=np.zeros(n), where=out > 0)
    q = sp.csr_matrix(sp.diags(inv_out) @ counts)

    # label incidence: digits of each state's code
    rows, cols = [], []
    digits = uniq.copy()
    for _ in range(order):
        digits, d = np.divmod(digits, base)
        nz = d > 0
        rows.append(d[nz] - 1)
        cols.append(np.flatnonzero(nz) + 1)
    r_idx, c_idx = np.concatenate(rows), np.concatenate(cols)
    contains = sp.csr_matrix((np.ones(len(r_idx)), (r_idx, c_idx)), shape=(n_labels, n))
    contains.data[:] = 1.0
    return MarkovChain(
        order=order,
        labels=list(paths.labels),
        state_codes=np.r_[0, uniq],
        q=q,
        r_conv=conv_out * inv_out,
        r_value=value_out * inv_out,
        r_null=null_out * inv_out,
        contains=contains,
        total_conversions=float(paths.conversions[used].sum()),
        total_value=float(paths.value[used].sum()),
    )


def _solve(q: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
    n = q.shape[0]
    if n <= _DENSE_LIMIT:
        return np.linalg.solve(np.eye(n) - q.toarray(), rhs)
    a = (sp.identity(n, format="csc") - q).tocsc()
    return spla.splu(a).solve(rhs)


class _Absorption:
    """Absorption of one chain, with or without a label, sharing the set-up between removals.

    Small chains keep ``I − Q`` dense and take each reduced system as a sub-matrix of it; its
    entries are the same numbers ``_solve`` builds from the reduced ``Q`` (``1 − q`` on the
    diagonal, ``−q`` elsewhere), so the results are identical.
    """

    def __init__(self, chain: MarkovChain) -> None:
        self.chain = chain
        self.rhs = np.column_stack([chain.r_conv, chain.r_value])
        n = chain.n_states
        self.dense = np.eye(n) - chain.q.toarray() if n <= _DENSE_LIMIT else None

    def states_with(self, label: int) -> np.ndarray:
        c = self.chain.contains
        return c.indices[c.indptr[label] : c.indptr[label + 1]]

    def __call__(self, removed: int | None = None) -> tuple[float, float]:
        chain = self.chain
        if removed is None:
            if self.dense is not None:
                x = np.linalg.solve(self.dense, self.rhs)
            else:
                x = _solve(chain.q, self.rhs)
            return float(x[0, 0]), float(x[0, 1])
        mask = np.ones(chain.n_states, dtype=bool)
        mask[self.states_with(removed)] = False
        keep = np.flatnonzero(mask)
        if self.dense is not None:
            x = np.linalg.solve(self.dense[np.ix_(keep, keep)], self.rhs[keep])
        else:
            x = _solve(chain.q[keep][:, keep], self.rhs[keep])
        return float(x[0, 0]), float(x[0, 1])


def absorption(chain: MarkovChain, removed: int | None = None) -> tuple[float, float]:
    """(P(conversion), expected value per path) from start, optionally with one label removed."""
    return _Absorption(chain)(removed)


def removal_effects(chain: MarkovChain) -> tuple[np.ndarray, np.ndarray]:
    """Exact removal effects per label, for conversions and for value."""
    return _removal_effects(_Absorption(chain))


def _removal_effects(solver: _Absorption) -> tuple[np.ndarray, np.ndarray]:
    chain = solver.chain
    p, v = solver()
    re_c = np.zeros(len(chain.labels))
    re_v = np.zeros(len(chain.labels))
    present = np.diff(chain.contains.indptr) > 0
    for i in np.flatnonzero(present).tolist():
        pr, vr = solver(i)
        re_c[i] = 1.0 - pr / p if p > 0 else 0.0
        re_v[i] = 1.0 - vr / v if v > 0 else 0.0
    return re_c, re_v


def chain_for(paths: PathSet, order: int) -> MarkovChain:
    """``build_chain(paths, order)``, estimated once per paths and order (paths are immutable)."""
    key = ("markov_chain", order)
    chain = paths._cache.get(key)
    if chain is None:
        chain = paths._cache[key] = build_chain(paths, order)
    return chain


def markov(paths: PathSet, *, order: int = 1) -> Credit:
    """Markov credit per label: removal effects normalised to the total conversions/value."""
    chain = chain_for(paths, order)
    solver = _Absorption(chain)
    re_c, re_v = _removal_effects(solver)
    sc, sv = re_c.sum(), re_v.sum()
    conv = re_c / sc * chain.total_conversions if sc > 0 else np.zeros_like(re_c)
    val = re_v / sv * chain.total_value if sv > 0 else np.zeros_like(re_v)
    p, _ = solver()
    return Credit(
        f"markov_{order}" if order > 1 else "markov",
        tuple(paths.labels),
        tuple(conv.tolist()),
        tuple(val.tolist()),
        extra={
            "order": order,
            "states": chain.n_states,
            "conversion_probability": p,
            "removal_effects": dict(zip(paths.labels, re_c.tolist(), strict=True)),
            "removal_effects_value": dict(zip(paths.labels, re_v.tolist(), strict=True)),
        },
    )


def simulate_conversion_probability(
    chain: MarkovChain,
    *,
    walks: int,
    seed: int,
    removed: int | None = None,
    max_steps: int = 10_000,
) -> tuple[float, float]:
    """Monte-Carlo estimate of P(conversion) from start, and its standard error.

    An independent referee for ``absorption``: it walks the same transition probabilities step
    by step instead of solving the linear system. A removed label's states absorb into null.
    """
    rng = np.random.default_rng(seed)
    q = chain.q.tocsr()
    n = q.shape[0]
    blocked = np.zeros(n, dtype=bool)
    if removed is not None:
        blocked = chain.contains[removed].toarray().ravel() > 0
    # Per row: cumulative probabilities of [next states..., conversion, null], offset by the row
    # index so that one searchsorted over all rows picks the next state.
    row_len = np.diff(q.indptr) + 2
    indptr = np.r_[0, np.cumsum(row_len)]
    targets = np.empty(indptr[-1], dtype=np.int64)
    probs = np.empty(indptr[-1])
    for_row = np.repeat(np.arange(n), np.diff(q.indptr))
    slot = np.arange(len(q.indices)) - q.indptr[for_row] + indptr[for_row]
    targets[slot] = q.indices
    probs[slot] = q.data
    targets[indptr[1:] - 2], probs[indptr[1:] - 2] = -1, chain.r_conv  # -1 = conversion
    targets[indptr[1:] - 1], probs[indptr[1:] - 1] = -2, chain.r_null  # -2 = null
    cum = np.empty_like(probs)
    for_slot = np.repeat(np.arange(n), row_len)
    cs = np.cumsum(probs)
    cum[:] = cs - np.r_[0.0, cs[indptr[1:-1] - 1]][for_slot] + for_slot
    cum[indptr[1:] - 1] = np.arange(n) + 1.0  # guard against rounding at the row end
    state = np.zeros(walks, dtype=np.int64)
    converted = np.zeros(walks, dtype=bool)
    alive = np.ones(walks, dtype=bool)
    for _ in range(max_steps):
        idx = np.flatnonzero(alive)
        if not len(idx):
            break
        u = rng.random(len(idx))
        pick = np.searchsorted(cum, state[idx] + u, side="right")
        nxt = targets[np.minimum(pick, len(cum) - 1)]
        conv = nxt == -1
        converted[idx[conv]] = True
        stop = (nxt < 0) | blocked[np.maximum(nxt, 0)]
        alive[idx[stop]] = False
        state[idx[~stop]] = nxt[~stop]
    p = converted.mean()
    return float(p), float(np.sqrt(p * (1 - p) / walks))
