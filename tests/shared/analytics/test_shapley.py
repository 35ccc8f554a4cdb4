import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.analytics.shapley import shapley

from .conftest import make_paths

path_rows = st.lists(
    st.tuples(
        st.lists(st.sampled_from("abcdef"), min_size=1, max_size=5),
        st.integers(0, 5),
        st.integers(0, 1000).map(float),
        st.integers(0, 5),
    ),
    min_size=1,
    max_size=25,
)


def test_by_hand(small_paths):
    got = shapley(small_paths).as_dict()
    # {a, b} converts once (split), {b} converts once: a = 1/2, b = 3/2; c only on a null path
    assert got["a"]["conversions"] == pytest.approx(0.5)
    assert got["b"]["conversions"] == pytest.approx(1.5)
    assert got["c"]["conversions"] == 0.0
    assert got["a"]["value"] == pytest.approx(5.0)
    assert got["b"]["value"] == pytest.approx(10.0)


@settings(max_examples=60, deadline=None)
@given(path_rows)
def test_efficiency(rows):
    paths = make_paths(rows)
    c = shapley(paths)
    assert sum(c.conversions) == pytest.approx(paths.conversions.sum())
    assert sum(c.value) == pytest.approx(paths.value.sum())


@settings(max_examples=60, deadline=None)
@given(path_rows)
def test_exact_matches_unanimity_closed_form(rows):
    # v(S) = sum over label sets T within S: each path's worth splits evenly over its labels
    paths = make_paths(rows)
    expected = dict.fromkeys(paths.labels, 0.0)
    for names, conv, _, _ in rows:
        for name in set(names):
            expected[name] += conv / len(set(names))
    got = shapley(paths).as_dict()
    for name in paths.labels:
        assert got[name]["conversions"] == pytest.approx(expected[name], abs=1e-9)


def test_symmetry():
    # a and b play identical roles
    paths = make_paths([(["a", "c"], 3, 0.0, 0), (["b", "c"], 3, 0.0, 0), (["a", "b"], 2, 0.0, 1)])
    got = shapley(paths).as_dict()
    assert got["a"]["conversions"] == pytest.approx(got["b"]["conversions"])


def test_null_player():
    # d only ever appears where nothing converts
    paths = make_paths([(["a", "b"], 4, 40.0, 0), (["d"], 0, 0.0, 9), (["d", "a"], 0, 0.0, 3)])
    got = shapley(paths).as_dict()
    assert got["d"]["conversions"] == 0.0
    assert got["a"]["conversions"] + got["b"]["conversions"] == pytest.approx(4.0)


def test_sampled_estimate_is_efficient_and_within_its_error():
    rng = np.random.default_rng(3)
    names = [f"c{i}" for i in range(18)]
    rows = []
    for _ in range(400):
        k = int(rng.integers(1, 5))
        rows.append(([names[i] for i in rng.integers(0, 18, k)], int(rng.integers(0, 3)), 0.0, 1))
    paths = make_paths(rows)
    exact = shapley(paths, max_exact=20)
    sampled = shapley(paths, permutations=400, seed=5, method="sampled")
    assert exact.extra["method"] == "exact"
    assert sampled.extra["method"] == "sampled"
    assert sum(sampled.conversions) == pytest.approx(sum(exact.conversions))
    se = sampled.extra["standard_error"]
    for i, name in enumerate(paths.labels):
        assert abs(sampled.conversions[i] - exact.conversions[i]) <= 5 * se[name] + 1e-9


def test_closed_form_equals_the_definition_and_needs_no_sampling():
    rng = np.random.default_rng(11)
    names = [f"c{i}" for i in range(14)]
    rows = []
    for _ in range(300):
        k = int(rng.integers(1, 6))
        rows.append(
            (
                [names[i] for i in rng.integers(0, 14, k)],
                int(rng.integers(0, 4)),
                float(rng.integers(0, 500)),
                int(rng.integers(0, 3)),
            )
        )
    paths = make_paths(rows)
    by_definition = shapley(paths, max_exact=15)
    closed = shapley(paths, max_exact=0)
    assert by_definition.extra["method"] == "exact"
    assert closed.extra["method"] == "exact_closed_form"
    assert closed.conversions == pytest.approx(by_definition.conversions, abs=1e-9)
    assert closed.value == pytest.approx(by_definition.value, abs=1e-6)
