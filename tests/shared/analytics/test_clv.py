"""BG/NBD and Gamma-Gamma: recover known parameters from simulated customers, reproduce the
published CDNOW estimates (when the reference data is beside the project), backtest our data."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.analytics.clv import (
    BGNBD,
    bgnbd_log_likelihood,
    fit_bgnbd,
    fit_gamma_gamma,
    segment_value,
)
from shared.analytics.events import EventFrame
from shared.analytics.synthetic import generate

CDNOW = Path(__file__).resolve().parents[4] / "shared" / "data" / "cdnow"


def simulate_bgnbd(rng, n, *, r, alpha, a, b, weeks=(26.0, 52.0)):
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    big_t = rng.uniform(*weeks, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > big_t[i]:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x, big_t


def test_bgnbd_recovers_the_parameters_it_was_simulated_with():
    rng = np.random.default_rng(7)
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
    x, t_x, big_t = simulate_bgnbd(rng, 6000, **truth)
    fit = fit_bgnbd(x, t_x, big_t)
    # the well-identified quantities: mean purchase rate r/α and mean dropout a/(a+b)
    assert fit.r / fit.alpha == pytest.approx(truth["r"] / truth["alpha"], rel=0.1)
    assert fit.r == pytest.approx(truth["r"], rel=0.2)
    assert fit.a / (fit.a + fit.b) == pytest.approx(0.8 / 3.3, rel=0.25)
    # the optimum is at least as likely as the truth
    assert fit.log_likelihood >= bgnbd_log_likelihood(
        list(truth.values()), x, t_x, big_t, np.ones_like(x)
    )


def test_gamma_gamma_recovers_the_mean_spend_process():
    rng = np.random.default_rng(8)
    p, q, gamma = 6.0, 4.0, 15.0
    n = 4000
    nu = rng.gamma(q, 1.0 / gamma, n)
    x = rng.integers(1, 8, n).astype(float)
    mean_spend = np.array([rng.gamma(p, 1.0 / nu[i], int(x[i])).mean() for i in range(n)])
    fit = fit_gamma_gamma(x, mean_spend)
    # the population mean spend p·γ/(q−1) is what the model is used for
    assert fit.p * fit.gamma / (fit.q - 1) == pytest.approx(p * gamma / (q - 1), rel=0.05)
    assert fit.p == pytest.approx(p, rel=0.15)


@settings(max_examples=25, deadline=None)
@given(
    st.floats(0.1, 3), st.floats(0.5, 20), st.floats(0.2, 3), st.floats(0.5, 5), st.floats(1, 52)
)
def test_expected_purchases_are_positive_and_grow_with_the_horizon(r, alpha, a, b, horizon):
    model = BGNBD(r, alpha, a, b, 0.0)
    x = np.array([0.0, 1.0, 4.0])
    t_x = np.array([0.0, 5.0, 30.0])
    big_t = np.array([40.0, 40.0, 40.0])
    near = model.expected_purchases(horizon, x, t_x, big_t)
    far = model.expected_purchases(horizon * 2, x, t_x, big_t)
    assert np.all(near > 0) and np.all(far > near)
    alive = model.p_alive(x, t_x, big_t)
    assert np.all((alive > 0) & (alive <= 1)) and alive[0] == 1.0


@pytest.mark.skipif(not CDNOW.exists(), reason="the CDNOW reference data is not beside the project")
def test_cdnow_sample_gives_the_published_estimates():
    with open(CDNOW / "cdnow_customers_summary_with_transactions.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    x, t_x, big_t, zbar = (np.array([float(r[k]) for r in rows]) for k in ("x", "t_x", "T", "zbar"))
    bg = fit_bgnbd(x, t_x, big_t)
    # Fader, Hardie & Lee (2005): r 0.243, α 4.414, a 0.793, b 2.426, LL −9582.4
    assert (round(bg.r, 3), round(bg.alpha, 3), round(bg.a, 3), round(bg.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert round(bg.log_likelihood, 1) == -9582.4
    gg = fit_gamma_gamma(x, zbar)
    # Fader & Hardie (2013): p 6.25, q 3.74, γ 15.44 (our optimum: 6.249, 3.745, 15.448)
    assert (round(gg.p, 2), round(gg.q, 2), round(gg.gamma, 1)) == (6.25, 3.74, 15.4)


def test_segment_value_on_our_data_fits_and_backtests():
    data = generate(seed=11, suppliers=200, couples=1500, campaigns=4, days=180, events=False)
    frame = EventFrame.from_rows(data.rows)
    suppliers = segment_value(frame, role=1, cutoff_ms=data.end_ms, margin=0.8)
    assert suppliers["fitted"] and suppliers["customers"] > 100
    bt = suppliers["backtest"]
    assert bt["available"] and bt["actual_purchases"] > 0
    # monthly payers: the model's 60-day forecast is within a fifth of what happened
    assert bt["predicted_purchases"] == pytest.approx(bt["actual_purchases"], rel=0.2)
    assert bt["naive_mean_abs_error"] > 0 and bt["mean_abs_error"] > 0
    assert suppliers["expected_value_per_customer"] > 0
    couples = segment_value(frame, role=2, cutoff_ms=data.end_ms)
    # couples book once on this generator: nothing to fit, and the report says why
    assert not couples["fitted"] and "repeat" in couples["reason"]


def test_fits_are_carried_over_an_append_that_leaves_their_data_unchanged():
    data = generate(seed=12, suppliers=80, couples=300, campaigns=3, days=120, events=False)
    frame = EventFrame.from_rows(data.rows)
    before = segment_value(frame, role=1, cutoff_ms=data.end_ms)
    touch = (
        "zz-new",
        "touchpoint",
        data.end_ms - 1000,
        "supplier1@example.com",
        None,
        "direct",
        None,
        {},
    )
    after_touch = frame.append([touch])
    assert segment_value(after_touch, role=1, cutoff_ms=data.end_ms) == before
    key = next(k for k in after_touch._carry if k[0] == "clv_fit")
    fitted = after_touch._carry[key]
    segment_value(after_touch, role=1, cutoff_ms=data.end_ms)
    assert after_touch._carry[key] is fitted  # reused, not refitted
    # a payment in the fitted period changes the data: a new fit, equal to a fresh frame's
    pay = (
        "zz-pay",
        "conversion",
        data.end_ms - 40 * 86_400_000,
        "supplier1@example.com",
        None,
        None,
        4900,
        {"conversion_type": "renewal"},
    )
    appended = frame.append([pay])
    fresh = EventFrame.from_rows([*data.rows, pay])
    assert segment_value(appended, role=1, cutoff_ms=data.end_ms) == segment_value(
        fresh, role=1, cutoff_ms=data.end_ms
    )
