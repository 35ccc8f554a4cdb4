"""The bandit against known true rates, round by round, for tests and the benchmark.

Each round (a minute of a running campaign) sends ``batch`` emails split by the current
shares, draws each send's success from the arm's true rate, and reallocates from the
cumulative counts. A fixed split (50/50 for two arms) runs on the same seed for comparison.
Regret is expected regret: for every send, the best true rate minus the rate of the arm sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .bandit import ArmCounts, Settings, reallocate, start


@dataclass(frozen=True, slots=True)
class Run:
    best_share: tuple[float, ...]  # the best arm's allocated share after each round
    sends: tuple[int, ...]  # cumulative sends after each round
    regret: float  # cumulative expected regret over the run
    fixed_regret: float  # the same for the fixed even split
    winner: str | None
    winner_round: int | None

    def sends_until_share(self, share: float) -> int | None:
        """Sends made before the best arm's share first exceeded ``share``."""
        for s, n in zip(self.best_share, self.sends, strict=True):
            if s > share:
                return n
        return None


def simulate(
    rates: Sequence[float],
    *,
    seed: int,
    batch: int = 200,
    rounds: int = 100,
    settings: Settings | None = None,
) -> Run:
    arms = tuple(f"v{i}" for i in range(len(rates)))
    rates_arr = np.asarray(rates, dtype=float)
    best = int(np.argmax(rates_arr))
    rng = np.random.default_rng(seed)
    state = start(arms, settings)
    sends = np.zeros(len(arms), dtype=int)
    wins = np.zeros(len(arms), dtype=int)
    regret = 0.0
    shares_seen, sent_seen = [], []
    winner_round = None
    for r in range(rounds):
        shares = np.array([state.shares[a] for a in arms])
        n = rng.multinomial(batch, shares / shares.sum())
        sends += n
        wins += rng.binomial(n, rates_arr)
        regret += float(n @ (rates_arr[best] - rates_arr))
        counts = {a: ArmCounts(int(sends[i]), int(wins[i])) for i, a in enumerate(arms)}
        state = reallocate(state, counts, seed=seed * 100_003 + r)
        if state.winner is not None and winner_round is None:
            winner_round = r
        shares_seen.append(state.shares[arms[best]])
        sent_seen.append(int(sends.sum()))
    fixed = batch * rounds * float(np.mean(rates_arr[best] - rates_arr))
    return Run(tuple(shares_seen), tuple(sent_seen), regret, fixed, state.winner, winner_round)
