"""Holdout lift: published interval values, coverage on synthetic tests with a known lift."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.analytics.incrementality import (
    MIN_CONTACTS_PER_ARM,
    MIN_CONVERSIONS,
    Arm,
    IncrementalityError,
    estimate_lift,
    newcombe_interval,
    wilson_interval,
)

Z95 = 1.959963984540054

# Newcombe (1998), "Interval estimation for the difference between independent proportions",
# Statistics in Medicine 17, Table II, method 10
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0)),
    ((10, 10, 0, 10), (0.6075, 1.0)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_newcombe_interval_matches_the_published_table(counts, expected):
    _, (low, high) = newcombe_interval(*counts, Z95)
    assert (round(low, 4), round(high, 4)) == expected


def test_wilson_interval_matches_newcombe_single_proportion_examples():
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", method 3
    assert [round(v, 4) for v in wilson_interval(81, 263, Z95)] == [0.2553, 0.3662]
    assert [round(v, 4) for v in wilson_interval(1, 29, Z95)] == [0.0061, 0.1718]
    assert wilson_interval(0, 20, Z95)[0] == 0.0


def _experiment(rng, *, n_t, n_h, p_h, lift, value_cents=50_000):
    """Contacts' revenue in one holdout test with a known absolute lift."""
    treated = rng.random(n_t) < p_h + lift
    held = rng.random(n_h) < p_h
    rev_t = np.where(treated, rng.gamma(4.0, value_cents / 4.0, n_t), 0.0)
    rev_h = np.where(held, rng.gamma(4.0, value_cents / 4.0, n_h), 0.0)
    return Arm.from_contacts(rev_t), Arm.from_contacts(rev_h)


def test_intervals_cover_a_known_lift_at_their_nominal_rate():
    rng = np.random.default_rng(14)
    true_lift, p_h, n_t, n_h, runs = 0.03, 0.05, 3000, 1000, 600
    value = 50_000
    covered_rate = covered_rev = covered_rel = found = 0
    detectable = []
    for _ in range(runs):
        t, h = _experiment(rng, n_t=n_t, n_h=n_h, p_h=p_h, lift=true_lift, value_cents=value)
        lift = estimate_lift(treated=t, holdout=h)
        lo, hi = lift.rate_difference_ci
        covered_rate += lo <= true_lift <= hi
        lo, hi = lift.incremental_revenue_ci_cents
        covered_rev += lo <= true_lift * value * n_t <= hi
        lo, hi = lift.relative_lift_ci
        covered_rel += lo <= true_lift / p_h <= hi
        found += lift.verdict == "lift"
        detectable.append(lift.minimum_detectable_difference)
    # 95 % intervals: over 600 runs the coverage lies in [0.93, 0.97] unless the method is off
    for covered in (covered_rate, covered_rev, covered_rel):
        assert 0.93 <= covered / runs <= 0.97
    # a lift above the reported detectable difference is found at least at the stated power
    assert true_lift > max(detectable)
    assert found / runs >= 0.8


def test_no_lift_is_rarely_called_a_lift():
    rng = np.random.default_rng(7)
    verdicts = [
        estimate_lift(treated=t, holdout=h).verdict
        for t, h in (_experiment(rng, n_t=2000, n_h=2000, p_h=0.04, lift=0.0) for _ in range(400))
    ]
    # two-sided 95 %: about 2.5 % false "lift"
    assert verdicts.count("lift") / len(verdicts) < 0.05
    assert verdicts.count("harm") / len(verdicts) < 0.05


def test_small_groups_get_no_verdict_but_still_get_intervals():
    small = estimate_lift(
        treated=Arm(contacts=MIN_CONTACTS_PER_ARM - 1, converters=40),
        holdout=Arm(contacts=500, converters=5),
    )
    assert small.verdict == "insufficient_data"
    assert small.rate_difference_ci[0] > 0  # the interval alone would have said "lift"
    few = estimate_lift(
        treated=Arm(contacts=5000, converters=MIN_CONVERSIONS - 1),
        holdout=Arm(contacts=5000, converters=0),
    )
    assert few.verdict == "insufficient_data"
    assert few.relative_lift is None and few.relative_lift_ci is None


def test_empty_arms_give_the_widest_answer_not_an_error():
    lift = estimate_lift(
        treated=Arm(contacts=0, converters=0), holdout=Arm(contacts=0, converters=0)
    )
    assert lift.rate_difference_ci == (-1.0, 1.0)
    assert lift.verdict == "insufficient_data"
    assert lift.to_dict()["treated"]["conversion_rate"] == 0.0


def test_bad_arms_are_refused():
    with pytest.raises(IncrementalityError):
        Arm(contacts=3, converters=4)
    with pytest.raises(IncrementalityError):
        Arm(contacts=3, converters=1, revenue_cents=float("inf"))
    with pytest.raises(IncrementalityError):
        estimate_lift(treated=Arm(3, 1), holdout=Arm(3, 1), confidence=1.0)


counts = st.integers(min_value=1, max_value=5000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)


@given(counts, counts)
def test_interval_holds_the_estimate_and_swapping_arms_mirrors_it(a, b):
    (xt, nt), (xh, nh) = a, b
    lift = estimate_lift(treated=Arm(nt, xt), holdout=Arm(nh, xh))
    lo, hi = lift.rate_difference_ci
    assert -1.0 <= lo <= lift.rate_difference <= hi <= 1.0
    mirror = estimate_lift(treated=Arm(nh, xh), holdout=Arm(nt, xt))
    assert mirror.rate_difference == pytest.approx(-lift.rate_difference, abs=1e-12)
    assert mirror.rate_difference_ci[0] == pytest.approx(-hi, abs=1e-12)
    assert mirror.rate_difference_ci[1] == pytest.approx(-lo, abs=1e-12)
    if lift.relative_lift is not None:
        rlo, rhi = lift.relative_lift_ci
        assert rlo <= lift.relative_lift <= rhi
