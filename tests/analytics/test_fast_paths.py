"""The cached and vectorised paths give the same numbers as the straightforward ones."""

import dataclasses
import sys

import numpy as np
import pytest

from shared.analytics.attribution import HEURISTICS, credit_from_weights, weighted_credit
from shared.analytics.events import EventFrame
from shared.analytics.markov import _solve, build_chain, markov, removal_effects
from shared.analytics.models import MODELS, run_model
from shared.analytics.paths import build_paths
from shared.analytics.report import build_roi_report
from shared.analytics.synthetic import generate

shapley_module = sys.modules["shared.analytics.shapley"]


@pytest.fixture(scope="module")
def data():
    return generate(seed=11, suppliers=80, couples=2500, campaigns=24, days=150, events=False)


@pytest.fixture(scope="module")
def journeys(data):
    return build_paths(EventFrame.from_rows(data.rows), from_ms=data.start_ms,
                       to_ms=data.end_ms)


def fresh(paths):
    """The same paths without any cached structure."""
    return dataclasses.replace(paths, _cache={}, _structure={})


def test_weighted_credit_equals_summing_every_touch(journeys):
    for paths in (journeys.channels, journeys.campaigns):
        for model, fn in HEURISTICS.items():
            plain = credit_from_weights(paths, fn(fresh(paths)), model)
            assert weighted_credit(paths, model) == plain
            assert weighted_credit(paths, model) == plain  # from the cache


def test_sampled_shapley_equals_one_permutation_at_a_time(journeys):
    paths = journeys.campaigns
    p, lab, weights = shapley_module._path_sets(paths)
    players = np.unique(lab)
    assert len(players) > shapley_module.DEFAULT_MAX_EXACT
    for permutations, seed in ((1, 0), (37, 3), (200, 0)):
        fast = shapley_module._sampled(p, lab, weights, players, len(paths.labels),
                                       permutations, seed)
        loop = shapley_module._sampled_loop(p, lab, weights, players, len(paths.labels),
                                            permutations, seed)
        assert np.array_equal(fast[0], loop[0]) and np.array_equal(fast[1], loop[1])


def test_removal_effects_equal_solving_each_reduced_system(journeys):
    for paths in (journeys.channels, journeys.campaigns):
        for order in (1, 2):
            chain = build_chain(paths, order)
            rhs = np.column_stack([chain.r_conv, chain.r_value])
            p = _solve(chain.q, rhs)[0]
            re_c, re_v = removal_effects(chain)
            for i in range(len(chain.labels)):
                keep = np.flatnonzero(chain.contains[i].toarray().ravel() == 0)
                if len(keep) == chain.n_states:
                    assert re_c[i] == 0.0
                    continue
                x = _solve(chain.q[keep][:, keep], rhs[keep])[0]
                assert re_c[i] == 1.0 - x[0] / p[0]
                assert re_v[i] == 1.0 - x[1] / p[1]


def test_models_on_cached_paths_equal_fresh_paths(journeys):
    for paths in (journeys.channels, journeys.campaigns):
        for model in MODELS:
            first = run_model(paths, model, permutations=50)
            again = run_model(paths, model, permutations=50)
            assert first == again == run_model(fresh(paths), model, permutations=50)
        assert markov(paths, order=3) == markov(fresh(paths), order=3)


def test_rows_of_matches_the_kind_mask(data):
    frame = EventFrame.from_rows(data.rows)
    lo, hi = data.start_ms + 10 * 86_400_000, data.end_ms - 5 * 86_400_000
    for kinds in (("conversion",), ("send", "open"), ("invite_accepted",)):
        t = frame.time_ms
        assert np.array_equal(frame.rows_of(*kinds), np.flatnonzero(frame.mask(*kinds)))
        expected = np.flatnonzero(frame.mask(*kinds) & (t >= lo) & (t < hi))
        assert np.array_equal(frame.rows_of(*kinds, lo=lo, hi=hi), expected)
        assert len(frame.rows_of(*kinds, lo=hi, hi=lo)) == 0


def test_report_from_warm_caches_equals_report_from_a_new_frame(data):
    frame = EventFrame.from_rows(data.rows)
    args = dict(from_ms=data.start_ms, to_ms=data.end_ms, campaigns=data.campaigns)
    first = build_roi_report(frame, **args)
    assert build_roi_report(frame, **args) == first
    other = dict(args, from_ms=data.start_ms + 30 * 86_400_000, markov_order=2,
                 roi_model="markov")
    second = build_roi_report(frame, **other)
    assert second == build_roi_report(EventFrame.from_rows(data.rows), **other)
    assert build_roi_report(frame, **args) == first
