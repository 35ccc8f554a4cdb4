import numpy as np
import pytest

from shared.analytics.markov import (
    absorption,
    build_chain,
    markov,
    removal_effects,
    simulate_conversion_probability,
)

from .conftest import make_paths


def test_removal_effects_by_hand(small_paths):
    # a: x_a = x_b/4 + 1/4, x_b = x_a/3 + 1/3 -> x_a = 4/11, x_b = 5/11, P = .6x_a + .4x_b = .4
    chain = build_chain(small_paths)
    p, v = absorption(chain)
    assert p == pytest.approx(0.4)
    assert v == pytest.approx(3.0)  # 15 of value over 5 path traversals
    re_c, re_v = removal_effects(chain)
    assert re_c[0] == pytest.approx(1 - (0.4 / 3) / 0.4)  # without a, only b's 1/3 remains
    assert re_c[1] == pytest.approx(1 - 0.15 / 0.4)  # without b, only a's direct 1/4
    assert re_c[2] == pytest.approx(0.0)
    assert re_v[0] == pytest.approx(1 - (2 / 3) / 3)
    assert re_v[1] == pytest.approx(0.5)
    credit = markov(small_paths)
    total = re_c[0] + re_c[1]
    assert credit.conversions[0] == pytest.approx(2 * re_c[0] / total)
    assert sum(credit.conversions) == pytest.approx(2.0)
    assert sum(credit.value) == pytest.approx(15.0)


def _random_paths(seed, n=300, channels="abcde"):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        k = int(rng.integers(1, 6))
        names = [channels[i] for i in rng.integers(0, len(channels), k)]
        conv = int(rng.random() < 0.3 + 0.1 * names.count("a"))
        rows.append((names, conv, 10.0 * conv, 1 - conv))
    return make_paths(rows)


def test_start_probability_equals_observed_conversion_rate():
    paths = _random_paths(1)
    for order in (1, 2, 3, 4):
        p, _ = absorption(build_chain(paths, order))
        assert p == pytest.approx(
            paths.conversions.sum() / (paths.conversions.sum() + paths.nulls.sum())
        )


@pytest.mark.parametrize("order", [1, 2])
def test_exact_removal_agrees_with_monte_carlo(order):
    paths = _random_paths(7)
    chain = build_chain(paths, order)
    walks = 100_000
    for removed in (None, 0, 2):
        exact, _ = absorption(chain, removed)
        sim, se = simulate_conversion_probability(chain, walks=walks, seed=11, removed=removed)
        assert abs(sim - exact) < 4.5 * se + 1e-9, (removed, sim, exact, se)


def test_order_two_sees_what_order_one_cannot():
    # b converts after a but never after c; order 1 pools both histories of b
    paths = make_paths([(["a", "b"], 10, 0.0, 0), (["c", "b"], 0, 0.0, 10)])
    first = markov(paths, order=1).extra["removal_effects"]
    second = markov(paths, order=2).extra["removal_effects"]
    # order 1: start -> a|c (1/2 each) -> b -> conversion 1/2, so removing either a or c
    # halves P and both look equally useful; order 2 knows (c, b) never converts.
    assert first["a"] == pytest.approx(0.5)
    assert first["c"] == pytest.approx(0.5)
    assert second["a"] == pytest.approx(1.0)
    assert second["c"] == pytest.approx(0.0)
    assert second["b"] == pytest.approx(1.0)


def test_order_one_ignores_self_loops():
    once = markov(make_paths([(["a", "b"], 1, 1.0, 1), (["b"], 0, 0.0, 1)]))
    loops = markov(make_paths([(["a", "a", "b", "b"], 1, 1.0, 1), (["b"], 0, 0.0, 1)]))
    assert once.extra["removal_effects"] == pytest.approx(loops.extra["removal_effects"])


def test_invalid_order_rejected(small_paths):
    with pytest.raises(ValueError):
        build_chain(small_paths, 5)
