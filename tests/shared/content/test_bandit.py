"""Thompson sampling between variants: shares from counts, an exploration floor, the stop
rule, determinism, and the simulation the issue asks for."""

from __future__ import annotations

import pytest

from shared.content import ArmCounts, ContentError, Settings, reallocate, start, tally
from shared.content.bandit import floor_shares, probability_best
from shared.content.simulation import simulate


def test_a_new_test_splits_evenly_and_counts_move_the_shares():
    state = start(["a", "b"])
    assert state.shares == {"a": 0.5, "b": 0.5}
    state = reallocate(state, {"a": ArmCounts(100, 2), "b": ArmCounts(100, 9)}, seed=1)
    assert state.shares["b"] > 0.9 and state.winner is None  # too few sends to stop
    assert state.shares["a"] == pytest.approx(0.05)  # the exploration floor
    assert sum(state.shares.values()) == pytest.approx(1)
    assert state.posterior("b") == (10, 92)


def test_same_counts_and_seed_give_the_same_shares():
    counts = {"a": ArmCounts(300, 12), "b": ArmCounts(310, 15), "c": ArmCounts(290, 11)}
    one = reallocate(start("abc"), counts, seed=7)
    two = reallocate(start("abc"), counts, seed=7)
    assert one.shares == two.shares and one.p_best == two.p_best


def test_the_stop_rule_declares_a_winner_and_keeps_it():
    state = reallocate(
        start(["a", "b"]), {"a": ArmCounts(1000, 20), "b": ArmCounts(1000, 60)}, seed=0
    )
    assert state.winner == "b" and state.shares == {"a": 0.0, "b": 1.0}
    assert state.p_best["b"] > 0.95
    # later counts that look different do not reopen the decision
    later = reallocate(state, {"a": ArmCounts(1100, 80), "b": ArmCounts(1500, 61)}, seed=1)
    assert later.winner == "b" and later.shares["b"] == 1.0


def test_no_winner_while_an_arm_has_too_few_sends():
    state = reallocate(
        start(["a", "b"]), {"a": ArmCounts(150, 0), "b": ArmCounts(1000, 90)}, seed=0
    )
    assert state.winner is None and state.shares["a"] == pytest.approx(0.05)


def test_floor_shares_keeps_every_arm_above_the_floor():
    shares = floor_shares(probability_best([(1, 500), (1, 500), (90, 10)], draws=5000, seed=0), 0.1)
    assert shares.min() == pytest.approx(0.1) and shares.sum() == pytest.approx(1)


def test_tally_counts_clicks_not_opens_once_per_send_and_never_flagged():
    sends = [("s1", "a"), ("s2", "a"), ("s3", "b")]
    outcomes = [
        ("s1", "open", False),
        ("s1", "click", False),
        ("s1", "click", False),
        ("s2", "click", True),  # a scanner
        ("s3", "click", False),
        ("s9", "click", False),  # a send of another step
    ]
    assert tally(sends, outcomes) == {"a": ArmCounts(2, 1), "b": ArmCounts(1, 1)}
    assert tally(sends, outcomes, metric="conversion") == {
        "a": ArmCounts(2, 0),
        "b": ArmCounts(1, 0),
    }


def test_bad_settings_and_counts_are_refused():
    with pytest.raises(ContentError):
        Settings(metric="open")
    with pytest.raises(ContentError):
        ArmCounts(3, 5)
    with pytest.raises(ContentError):
        reallocate(start(["a"]), {"z": ArmCounts(1, 0)}, seed=0)
    with pytest.raises(ContentError):
        start(["a", "a"])


@pytest.mark.parametrize("seed", range(8))
def test_simulation_the_best_arm_gets_over_90_percent_within_6000_sends(seed):
    """True click rates 4 % and 6 %, 100 sends a minute: the shift happens within an hour."""
    run = simulate([0.04, 0.06], seed=seed, batch=100, rounds=60)
    assert run.sends_until_share(0.9) is not None
    assert run.sends_until_share(0.9) <= 6000
    assert run.regret < 0.5 * run.fixed_regret


@pytest.mark.parametrize("seed", range(4))
def test_simulation_with_three_arms(seed):
    run = simulate([0.02, 0.03, 0.05], seed=seed, batch=100, rounds=60)
    assert run.sends_until_share(0.9) is not None and run.sends_until_share(0.9) <= 6000
    assert run.winner == "v2"
