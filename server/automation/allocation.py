"""Live allocation between the variants of each send step: the bandit of
``shared.content.bandit`` fed from committed sends and clicks, kept in the store.

A send step is a *test* when it may draw two or more variants (its own list, or the campaign's
variants for ``"auto"``). For each test of each active campaign, an allocation round:

* reads the step's counts per variant (``Storage.variant_counts``): sends accepted by the mail
  server, sends clicked by a person (scanner clicks and opens never count) and sends followed
  by their enrolment's conversion, as committed; the control group's skipped steps have no
  variant and never enter the counts;
* when they moved since the last round, reallocates by Thompson sampling (P(best) per variant,
  every variant raised to the exploration floor), or declares the winner (the stop rule:
  every variant has ``min_sends`` sends and one has P(best) > ``stop_p``), seeded by the
  campaign, the step and the round number, so a round replayed from the same counts gives the
  same shares;
* saves the state in the automation's meta rows (``bandit:<campaign>:<step>``), in the round's
  transaction: a restart reads the last shares and a declared winner back, and a winner is
  never reopened.

A round (``AutomationEngine``), at least once every ``interval_s`` of the engine's clock, reads
the counts in a writer job (``collect``), draws the posteriors on a thread (``compute``, a few
ms per test) and saves the new states in a second writer job (``save``); the events and due
rounds read the shares through ``shares`` when they draw a variant
(``Facts.step_allocation``). Nothing here runs on the commit listener's path.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from shared.automation import Journey
from shared.automation.steps import SendEmail
from shared.content.bandit import ArmCounts, BanditState, Settings, reallocate, start

from ..storage import Storage

log = logging.getLogger(__name__)

META_PREFIX = "bandit:"
INTERVAL_S = 60.0  # the longest time between two allocation rounds


def meta_key(campaign_id: str, step_id: str) -> str:
    return f"{META_PREFIX}{campaign_id}:{step_id}"


def ab_steps(journey: Journey) -> dict[str, tuple[str, ...]]:
    """The journey's send steps that draw among two or more variants: step id -> variants."""
    out = {}
    for node in journey.nodes:
        if isinstance(node, SendEmail):
            arms = tuple(dict.fromkeys(node.variants or journey.variants))
            if len(arms) >= 2:
                out[node.id] = arms
    return out


def seed_of(campaign_id: str, step_id: str, round_no: int) -> int:
    digest = hashlib.sha256(f"bandit\x1f{campaign_id}\x1f{step_id}\x1f{round_no}".encode())
    return int.from_bytes(digest.digest()[:8], "big")


def dump(state: BanditState) -> str:
    return json.dumps(state.to_dict(), sort_keys=True)


def load(raw: str, settings: Settings) -> BanditState:
    """A saved state (the current settings apply from here on; counts are read again)."""
    data = json.loads(raw)
    variants = data.get("variants") or {}
    arms = tuple(data["arms"])
    return BanditState(
        arms,
        replace(settings, metric=data.get("metric") or settings.metric),
        {a: ArmCounts(int(v["sends"]), int(v["successes"])) for a, v in variants.items()},
        {a: float(v["share"]) for a, v in variants.items()},
        {a: float(v["p_best"]) for a, v in variants.items()},
        data.get("winner"),
        int(data.get("rounds") or 0),
        data.get("updated_ms"),
    )


def saved_state(storage: Storage, campaign_id: str, step_id: str) -> dict[str, Any] | None:
    """A step's last saved allocation as ``BanditState.to_dict`` gives it (the run view)."""
    raw = storage.automation_meta(meta_key(campaign_id, step_id))
    return json.loads(raw) if raw else None


@dataclass
class Reallocated:
    """What one allocation round did."""

    tests: int = 0  # tests looked at
    moved: int = 0  # tests whose counts moved and were reallocated
    winners: int = 0  # winners declared in this round


class Allocator:
    """The tests' states, cached on the writer thread (every method runs in a writer job)."""

    def __init__(self, settings: Settings | None = None, interval_s: float = INTERVAL_S) -> None:
        self.settings = settings or Settings()
        self.interval_s = interval_s
        self._states: dict[tuple[str, str], BanditState] = {}
        self.last_round_ms: int | None = None
        self.rounds = 0

    def state(
        self, storage: Storage, campaign_id: str, step_id: str, arms: tuple[str, ...]
    ) -> BanditState:
        """The test's state: cached, else saved, else a new even split. Variants added to or
        taken from the step since it was saved start a new test."""
        key = (campaign_id, step_id)
        state = self._states.get(key)
        if state is None:
            raw = storage.automation_meta(meta_key(campaign_id, step_id))
            state = load(raw, self.settings) if raw else None
        if state is None or state.arms != arms:
            state = start(arms, self.settings)
        self._states[key] = state
        return state

    def shares(
        self, storage: Storage, campaign_id: str, journey: Journey
    ) -> dict[str, Mapping[str, float]]:
        """Each test's current shares (``Facts.step_allocation``)."""
        return {
            step: self.state(storage, campaign_id, step, arms).shares
            for step, arms in ab_steps(journey).items()
        }

    def due(self, now_ms: int) -> bool:
        return self.last_round_ms is None or now_ms - self.last_round_ms >= self.interval_s * 1000

    def next_in_s(self, now_ms: int) -> float:
        if self.last_round_ms is None:
            return 0.0
        return max(0.0, (self.last_round_ms + self.interval_s * 1000 - now_ms) / 1000)

    def collect(
        self, storage: Storage, campaigns: Iterable[tuple[str, Journey]]
    ) -> tuple[int, list[Pending]]:
        """(tests looked at, the tests whose counts moved since their last round): a read."""
        tests, pending = 0, []
        for campaign_id, journey in campaigns:
            steps = ab_steps(journey)
            if not steps:
                continue
            rows = storage.variant_counts(campaign_id)
            for step, arms in steps.items():
                tests += 1
                state = self.state(storage, campaign_id, step, arms)
                counts = counts_of(rows, step, arms, state.settings.metric)
                if state.rounds and dict(state.counts) == counts:
                    continue  # nothing new since the last round: the shares stand
                seed = seed_of(campaign_id, step, state.rounds)
                pending.append(Pending(campaign_id, step, state, counts, seed))
        return tests, pending

    def save(
        self, storage: Storage, tests: int, computed: list[tuple[Pending, BanditState]], now_ms: int
    ) -> Reallocated:
        """Keep the new states (in the store and here); a write."""
        done = Reallocated(tests=tests)
        for job, new in computed:
            storage.set_automation_meta(meta_key(job.campaign_id, job.step), dump(new))
            self._states[(job.campaign_id, job.step)] = new
            done.moved += 1
            if new.winner is not None and job.state.winner is None:
                done.winners += 1
                log.info(
                    "campaign %s step %s: variant %s wins", job.campaign_id, job.step, new.winner
                )
        self.last_round_ms = now_ms
        self.rounds += 1
        return done

    def reallocate(
        self, storage: Storage, campaigns: Iterable[tuple[str, Journey]], now_ms: int
    ) -> Reallocated:
        """One round over ``campaigns`` (id, journey) in one go: every test whose counts moved
        gets its next allocation, saved (the engine splits it: the draws run off the writer)."""
        tests, pending = self.collect(storage, campaigns)
        return self.save(storage, tests, compute(pending, now_ms), now_ms)


@dataclass(frozen=True)
class Pending:
    """A test to reallocate: its last state, its counts now, the round's seed."""

    campaign_id: str
    step: str
    state: BanditState
    counts: dict[str, ArmCounts]
    seed: int


def compute(pending: Iterable[Pending], now_ms: int) -> list[tuple[Pending, BanditState]]:
    """The next states (pure: the posterior draws, on any thread)."""
    return [(p, reallocate(p.state, p.counts, seed=p.seed, now_ms=now_ms)) for p in pending]


def counts_of(
    rows: Iterable[tuple[Any, ...]], step: str, arms: tuple[str, ...], metric: str
) -> dict[str, ArmCounts]:
    """One step's counts per arm from ``variant_counts`` rows (clicks or conversions)."""
    counts = {a: ArmCounts() for a in arms}
    for row_step, variant, sent, clicked, converted in rows:
        if row_step == step and variant in counts:
            wins = clicked if metric == "click" else converted
            counts[variant] = ArmCounts(int(sent), min(int(wins), int(sent)))
    return counts
