"""The cached and vectorised paths give the same numbers as the straightforward ones."""

import dataclasses
import sys

import numpy as np
import pytest

from shared.analytics.attribution import HEURISTICS, credit_from_weights, weighted_credit
from shared.analytics.events import EventFrame
from shared.analytics.markov import _solve, build_chain, markov, removal_effects
from shared.analytics.models import MODELS, run_model
from shared.analytics.paths import DAY_MS, build_paths
from shared.analytics.report import build_roi_report
from shared.analytics.synthetic import generate

shapley_module = sys.modules["shared.analytics.shapley"]


@pytest.fixture(scope="module")
def data():
    return generate(seed=11, suppliers=80, couples=2500, campaigns=24, days=150, events=False)


@pytest.fixture(scope="module")
def journeys(data):
    return build_paths(EventFrame.from_rows(data.rows), from_ms=data.start_ms, to_ms=data.end_ms)


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
    p, lab, weights = shapley_module.path_sets(paths)
    players = np.unique(lab)
    assert len(players) > shapley_module.DEFAULT_MAX_EXACT
    for permutations, seed in ((1, 0), (37, 3), (200, 0)):
        fast = shapley_module.sampled(
            p, lab, weights, players, len(paths.labels), permutations, seed
        )
        loop = shapley_module.sampled_reference(
            p, lab, weights, players, len(paths.labels), permutations, seed
        )
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
    other = dict(args, from_ms=data.start_ms + 30 * 86_400_000, markov_order=2, roi_model="markov")
    second = build_roi_report(frame, **other)
    assert second == build_roi_report(EventFrame.from_rows(data.rows), **other)
    assert build_roi_report(frame, **args) == first


def reference_columns(rows):
    """EventFrame columns built one row at a time (the straightforward form of from_rows)."""
    from shared.analytics.events import KIND_CODE

    # rows sorted by (time, id), stable; tables sorted by name
    rows = sorted(rows, key=lambda r: (r[2], r[0]))

    def encode(values):
        table = {v: i for i, v in enumerate(sorted({v for v in values if v is not None}))}
        return [table[v] if v is not None else -1 for v in values], list(table)

    contact, contacts = encode([r[3] for r in rows])
    index = {c: i for i, c in enumerate(contacts)}
    other, score, conv_type, holdout, role = [], [], [], [], [0] * len(contacts)
    types = ["new_booking", "first_purchase", "subscription_start", "renewal", "upsell"]
    for r, c in zip(rows, contact, strict=True):
        p = r[7] or {}
        o, s, ct, h = -1, float("nan"), 0, -1
        if r[1] == "conversion":
            if "conversion_type" in p:
                t = p["conversion_type"]
                ct = types.index(t) + 1 if t in types else 6
            else:
                ct = {"booking": 7, "subscription": 8}.get(p.get("type"), 0)
        elif r[1] == "enrolment" and p.get("holdout") is not None:
            h = int(bool(p["holdout"]))
        elif r[1] in ("health_score", "survey", "spend"):
            v = p.get({"health_score": "score", "survey": "nps", "spend": "days"}[r[1]])
            s = float(v) if isinstance(v, int | float) else s
        elif r[1] in ("invite_sent", "invite_accepted"):
            o = index.get(p.get("invitee" if r[1] == "invite_sent" else "inviter"), -1)
        elif r[1] == "contact" and c >= 0:
            fields = p.get("fields") or {}
            got = fields.get("role") if isinstance(fields, dict) else None
            if got in ("supplier", "couple"):
                role[c] = 1 if got == "supplier" else 2
        other.append(o)
        score.append(s)
        conv_type.append(ct)
        holdout.append(h)
    return {
        "kind": [KIND_CODE[r[1]] for r in rows],
        "time_ms": [r[2] for r in rows],
        "contact": contact,
        "contacts": contacts,
        "campaign": encode([r[4] for r in rows])[0],
        "campaigns": encode([r[4] for r in rows])[1],
        "channel": encode([r[5] for r in rows])[0],
        "channels": encode([r[5] for r in rows])[1],
        "value_cents": [r[6] or 0 for r in rows],
        "has_value": [r[6] is not None for r in rows],
        "other": other,
        "score": score,
        "conv_type": conv_type,
        "holdout": holdout,
        "role": role,
    }


def test_from_rows_equals_building_one_row_at_a_time(data):
    rows = list(data.rows[:3000]) + [
        ("x1", "contact", 5, "a@x", None, None, None, {"fields": {"role": "couple"}}),
        ("x2", "contact", 6, "a@x", None, None, None, {"fields": {"role": "supplier"}}),
        ("x3", "contact", 7, "a@x", None, None, None, {"fields": {"role": "other"}}),
        ("x4", "contact", 8, "b@x", None, None, None, {"fields": "not a dict"}),
        ("x5", "health_score", 9, "a@x", None, None, None, {"score": "high"}),
        ("x6", "survey", 9, "b@x", None, None, None, None),
        ("x7", "invite_sent", 3, "a@x", None, None, None, {"invitee": "nobody@x"}),
        ("x8", "conversion", 4, None, None, None, 0, {"type": "gift"}),
        ("x9", "conversion", 4, "a@x", None, None, 0, {"conversion_type": "renewal"}),
        ("xa", "conversion", 4, "a@x", None, None, 0, {"conversion_type": "gift"}),
        ("xb", "conversion", 4, "a@x", None, None, 0, {"conversion_type": 3, "type": "booking"}),
        ("xc", "enrolment", 2, "a@x", "c1", None, None, {"enrolment": "e", "holdout": True}),
        ("xd", "enrolment", 2, "b@x", "c1", None, None, {"enrolment": "f", "holdout": False}),
        ("xe", "enrolment", 2, "b@x", "c2", None, None, {"enrolment": "g"}),
        ("xf", "spend", 1, None, None, "wedding_fair", 40_000, {"days": 3}),
    ]
    frame = EventFrame.from_rows(rows)
    expected = reference_columns(rows)
    for name, values in expected.items():
        got = getattr(frame, name)
        if isinstance(got, list):
            assert got == values, name
        else:
            assert np.array_equal(got, np.array(values), equal_nan=name == "score"), name
    with pytest.raises(ValueError):
        EventFrame.from_rows([("x", "contact", 1, "a@x", None, None, None)])


def test_forecast_days_are_slices_of_one_history_equal_to_direct_counts(data):
    from shared.analytics.predict import _daily

    frame = EventFrame.from_rows(data.rows)
    end = data.end_ms - 12_345
    for back_days in (0, 30, 60, 100, 400):
        for days in (30, 90):
            lo = end - (back_days + days) * DAY_MS
            for classes in (None, (1,), (2,)):
                m = frame.rows_of("conversion", lo=lo, hi=lo + days * DAY_MS)
                if classes is not None:
                    m = m[np.isin(frame.conversion_class()[m], classes)]
                day = (frame.time_ms[m] - lo) // DAY_MS
                counts = np.bincount(day, minlength=days)[:days].astype(float)
                revenue = np.bincount(day, weights=frame.value_cents[m] / 100.0, minlength=days)[
                    :days
                ]
                got = _daily(frame, lo, days, classes, end)
                assert np.array_equal(got[0], counts) and np.array_equal(got[1], revenue)
