"""Live allocation between the variants of one send step: Thompson sampling on clicks or
conversions.

Each variant (arm) has a Beta posterior of its success rate per send, from a Beta(1, 1) prior
and its counts (``ArmCounts``: sends, and clicks or conversions — never opens, which
mail-privacy proxies inflate). The allocation gives each arm its probability of being the best,
estimated from ``draws`` joint posterior samples (randomised probability matching: what
Thompson sampling sends in expectation), then raises every arm to at least ``min_share`` so
no variant starves on early bad luck.

Stop rule: once every arm has at least ``min_sends`` sends and one arm's probability of being
best exceeds ``stop_p`` (0.95), that arm is declared the winner and gets every later send;
the decision is kept (``BanditState.winner``) and not reopened by later counts.

Deterministic: the samples come from a generator seeded by ``seed``; the engine derives it
from the campaign, the step and the allocation round, so replaying a round gives the same
shares. Pure: the engine tallies sends and successes from committed events and calls
``reallocate`` (at least once a minute); it hands the shares to the journey interpreter as
``Facts.allocation``. The control group (the journey's holdout) is decided before any variant
is drawn, so it never reaches the allocation and is never counted in it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .errors import ContentCode, ContentError

METRICS = ("click", "conversion")
STOP_P = 0.95  # P(best) above which a winner is declared
MIN_SHARE = 0.05  # the least share any arm gets while the test runs
MIN_SENDS = 200  # sends every arm needs before a winner may be declared
DRAWS = 20_000


@dataclass(frozen=True, slots=True)
class ArmCounts:
    sends: int = 0
    successes: int = 0  # clicks or conversions, per the bandit's metric

    def __post_init__(self) -> None:
        if self.sends < 0 or not 0 <= self.successes <= self.sends:
            raise ContentError(
                ContentCode.BANDIT_INVALID,
                f"counts must satisfy 0 <= successes <= sends, not {self.successes}/{self.sends}",
            )


@dataclass(frozen=True, slots=True)
class Settings:
    metric: str = "click"
    min_share: float = MIN_SHARE
    stop_p: float = STOP_P
    min_sends: int = MIN_SENDS
    draws: int = DRAWS
    prior: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ContentError(ContentCode.BANDIT_INVALID, f"metric must be one of {METRICS}")
        if not 0 <= self.min_share < 0.5 or not 0.5 < self.stop_p < 1 or self.draws < 100:
            raise ContentError(
                ContentCode.BANDIT_INVALID,
                "min_share in [0, 0.5), stop_p in (0.5, 1), draws >= 100",
            )


@dataclass(frozen=True)
class BanditState:
    """One send step's allocation: what ``reallocate`` returns and takes back next round."""

    arms: tuple[str, ...]
    settings: Settings = field(default_factory=Settings)
    counts: Mapping[str, ArmCounts] = field(default_factory=dict)
    shares: Mapping[str, float] = field(default_factory=dict)
    p_best: Mapping[str, float] = field(default_factory=dict)
    winner: str | None = None
    rounds: int = 0
    updated_ms: int | None = None

    def posterior(self, arm: str) -> tuple[float, float]:
        """The arm's Beta(a, b) posterior."""
        c = self.counts.get(arm, ArmCounts())
        a0, b0 = self.settings.prior
        return a0 + c.successes, b0 + c.sends - c.successes

    def to_dict(self) -> dict[str, Any]:
        return {
            "arms": list(self.arms),
            "metric": self.settings.metric,
            "winner": self.winner,
            "rounds": self.rounds,
            "updated_ms": self.updated_ms,
            "variants": {
                arm: {
                    "sends": self.counts.get(arm, ArmCounts()).sends,
                    "successes": self.counts.get(arm, ArmCounts()).successes,
                    "posterior": list(self.posterior(arm)),
                    "share": self.shares.get(arm, 0.0),
                    "p_best": self.p_best.get(arm, 0.0),
                }
                for arm in self.arms
            },
        }


def start(arms: Sequence[str], settings: Settings | None = None) -> BanditState:
    """A new test: equal shares."""
    arms = tuple(arms)
    if len(arms) < 1 or len(set(arms)) != len(arms):
        raise ContentError(ContentCode.BANDIT_INVALID, "a bandit needs distinct arms")
    even = {a: 1 / len(arms) for a in arms}
    return BanditState(arms, settings or Settings(), {}, even, dict(even))


def probability_best(
    posteriors: Sequence[tuple[float, float]], *, draws: int, seed: int
) -> np.ndarray:
    """P(each arm has the highest rate), from ``draws`` joint samples of the posteriors."""
    rng = np.random.default_rng(seed)
    a = np.array([p[0] for p in posteriors])
    b = np.array([p[1] for p in posteriors])
    samples = rng.beta(a, b, size=(draws, len(posteriors)))
    wins = np.bincount(samples.argmax(axis=1), minlength=len(posteriors))
    return wins / draws


def floor_shares(p: np.ndarray, min_share: float) -> np.ndarray:
    """Shares proportional to ``p`` with every one at least ``min_share`` (summing to 1)."""
    k = len(p)
    floor = min(min_share, 1 / k)
    shares = p.astype(float).copy()
    fixed = np.zeros(k, dtype=bool)
    for _ in range(k):  # raise the smallest to the floor; rescale the rest into what is left
        low = (shares < floor) & ~fixed
        if not low.any():
            break
        fixed |= low
        rest = p[~fixed]
        left = 1 - floor * fixed.sum()
        shares = np.where(fixed, floor, 0.0)
        if rest.sum() > 0:
            shares[~fixed] = rest / rest.sum() * left
        else:
            shares[~fixed] = left / max(1, (~fixed).sum())
    return shares / shares.sum()


def reallocate(
    state: BanditState, counts: Mapping[str, ArmCounts], *, seed: int, now_ms: int | None = None
) -> BanditState:
    """The next allocation from the cumulative ``counts`` of every arm."""
    for arm in counts:
        if arm not in state.arms:
            raise ContentError(ContentCode.BANDIT_INVALID, f"{arm!r} is not an arm of this test")
    counts = {arm: counts.get(arm, ArmCounts()) for arm in state.arms}
    s = state.settings
    new = replace(state, counts=counts, rounds=state.rounds + 1, updated_ms=now_ms)
    if state.winner is not None:
        return replace(new, shares={a: float(a == state.winner) for a in state.arms})
    p = probability_best([new.posterior(a) for a in state.arms], draws=s.draws, seed=seed)
    p_best = {a: float(v) for a, v in zip(state.arms, p, strict=True)}
    best = int(np.argmax(p))
    ready = all(c.sends >= s.min_sends for c in counts.values())
    if len(state.arms) > 1 and ready and p[best] > s.stop_p:
        winner = state.arms[best]
        shares = {a: float(a == winner) for a in state.arms}
        return replace(new, shares=shares, p_best=p_best, winner=winner)
    shares = floor_shares(p, s.min_share)
    return replace(
        new, shares={a: float(v) for a, v in zip(state.arms, shares, strict=True)}, p_best=p_best
    )


def tally(
    sends: Sequence[tuple[str, str]],
    outcomes: Sequence[tuple[str, str, bool]],
    *,
    metric: str = "click",
) -> dict[str, ArmCounts]:
    """Counts per arm from ``sends`` (send key, variant) and ``outcomes`` (send key, kind,
    non-engagement flag): a send counts one success at most; flagged outcomes never count."""
    arm_of = dict(sends)
    n: dict[str, int] = {}
    for _, arm in sends:
        n[arm] = n.get(arm, 0) + 1
    hit: set[str] = set()
    for key, kind, flagged in outcomes:
        if kind == metric and not flagged and key in arm_of:
            hit.add(key)
    wins: dict[str, int] = {}
    for key in hit:
        wins[arm_of[key]] = wins.get(arm_of[key], 0) + 1
    return {arm: ArmCounts(n[arm], wins.get(arm, 0)) for arm in n}
