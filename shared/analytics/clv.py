"""Repeat purchases and future value: BG/NBD (Fader, Hardie & Lee 2005) with Gamma-Gamma spend
(Fader & Hardie 2013), fitted by maximum likelihood.

BG/NBD: while alive, a customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase
they drop out with probability p ~ Beta(a, b). A customer's data is (x, t_x, T): repeat
purchases after the first, the time of the last one and the time observed, all counted from
the first purchase. Gamma-Gamma: a customer's spends are Gamma(p, ν) with ν ~ Gamma(q, γ),
independent of the purchase process; fitted on customers with x ≥ 1 from the mean value of
their repeat purchases.

Fitting: Nelder-Mead on the log-parameters (``scipy.optimize.minimize``), the likelihood summed
over identical (x, t_x, T) rows once with their count. On the CDNOW sample this reproduces the
published estimates (tests/shared/analytics/test_clv.py; docs/analytics.md).

``segment_value(frame, role=…, cutoff_ms=…)`` builds the (x, t_x, T) data of one segment from
conversions (times in weeks, as in the CDNOW literature; purchases on the same day counted
once), fits both models and
reports the expected purchases and value per customer in the next ``horizon_days``; its
``backtest`` fits the same models on data up to ``cutoff − holdout_days`` and compares the
predicted repeat purchases of the holdout period with what happened, beside a naive baseline
(each customer keeps their past rate x ÷ T).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

from .events import EventFrame
from .paths import DAY_MS

#: log-parameter bounds: an optimum at a bound (a nearly regular buyer, a nearly certain
#: dropout) is reported as it is, ``at_bound`` says so
LOG_BOUNDS = (-9.0, 9.0)


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float

    def expected_purchases(
        self, t: float, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
    ) -> np.ndarray:
        """Expected purchases in (T, T + t] given each customer's history. The closed form
        has removable singularities (a = 1; a + b + x − 1 a non-positive integer, where
        ₂F₁'s c is): there the value is the limit, taken a millionth away."""
        x = np.asarray(x, float)
        t_x = np.asarray(t_x, float)
        big_t = np.asarray(big_t, float)
        out = self._expected(self.a, t, x, t_x, big_t)
        bad = ~np.isfinite(out)
        if bad.any():
            out[bad] = self._expected(self.a * (1 + 1e-6) + 1e-9, t, x, t_x, big_t)[bad]
        return out

    def _expected(self, a, t, x, t_x, big_t):
        r, alpha, b = self.r, self.alpha, self.b
        if abs(a - 1.0) < 1e-9:
            a = 1.0 + 1e-6
        z = t / (alpha + big_t + t)
        c = a + b + x - 1
        with np.errstate(all="ignore"):
            head = c / (a - 1)
            body = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(
                r + x, b + x, c, z
            )
            return np.asarray(head * body / self._alive_denominator(x, t_x, big_t), float)

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        return 1.0 / self._alive_denominator(
            np.asarray(x, float), np.asarray(t_x, float), np.asarray(big_t, float)
        )

    def _alive_denominator(self, x, t_x, big_t):
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            extra = (a / np.maximum(b + x - 1, 1e-12)) * ((alpha + big_t) / (alpha + t_x)) ** (
                r + x
            )
        return 1.0 + np.where(x > 0, extra, 0.0)


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    log_likelihood: float

    def expected_spend(self, x: np.ndarray, mean_spend: np.ndarray) -> np.ndarray:
        """Expected value of a customer's next purchase (population mean where x = 0)."""
        p, q, g = self.p, self.q, self.gamma
        x = np.asarray(x, float)
        m = np.asarray(mean_spend, float)
        population = p * g / (q - 1) if q > 1 else np.nan
        return np.where(x > 0, (p * (g + x * m)) / (p * x + q - 1), population)


def _minimize(nll, start, bounds):
    """Nelder-Mead, restarted from its optimum until a restart gains nothing (a simplex can
    stall on a ridge; a fresh one around the same point moves on)."""
    options = {"xatol": 1e-6, "fatol": 1e-7, "maxiter": 1500}
    res = minimize(nll, start, method="Nelder-Mead", bounds=bounds, options=options)
    for _ in range(3):
        again = minimize(nll, res.x, method="Nelder-Mead", bounds=bounds, options=options)
        if again.fun >= res.fun - 1e-6:
            break
        res = again
    return res


def _group(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    stacked = np.column_stack(columns)
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return [rows[:, i] for i in range(rows.shape[1])], counts.astype(float)


def bgnbd_log_likelihood(params, x, t_x, big_t, weight) -> float:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x)
    a4 = np.where(x > 0, a4, -np.inf)
    return float(np.sum(weight * (a1 + a2 + np.logaddexp(a3, a4))))


def fit_bgnbd(x, t_x, big_t) -> BGNBD:
    """Maximum-likelihood BG/NBD on (x, t_x, T) arrays (any time unit)."""
    (x, t_x, big_t), w = _group(
        np.asarray(x, float), np.asarray(t_x, float), np.asarray(big_t, float)
    )
    scale = float(np.mean(big_t)) or 1.0  # start α near the observation span

    def nll(log_params):
        value = bgnbd_log_likelihood(np.exp(log_params), x, t_x, big_t, w)
        return -value if np.isfinite(value) else 1e300

    start = np.log([1.0, scale, 1.0, 1.0])
    bounds = [LOG_BOUNDS, (LOG_BOUNDS[0], LOG_BOUNDS[1] + np.log(scale)), LOG_BOUNDS, LOG_BOUNDS]
    res = _minimize(nll, start, bounds)
    r, alpha, a, b = np.exp(res.x)
    return BGNBD(float(r), float(alpha), float(a), float(b), float(-res.fun))


def gamma_gamma_log_likelihood(params, x, m, weight) -> float:
    p, q, g = params
    px = p * x
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(g + x * m)
    )
    return float(np.sum(weight * ll))


def fit_gamma_gamma(x, mean_spend) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma on customers with x ≥ 1 and a positive mean spend."""
    x = np.asarray(x, float)
    m = np.asarray(mean_spend, float)
    keep = (x > 0) & (m > 0)
    (x, m), w = _group(x[keep], m[keep])

    def nll(log_params):
        value = gamma_gamma_log_likelihood(np.exp(log_params), x, m, w)
        return -value if np.isfinite(value) else 1e300

    mean = float(np.mean(m)) or 1.0
    start = np.log([1.0, 1.0, mean])
    bounds = [LOG_BOUNDS, LOG_BOUNDS, (LOG_BOUNDS[0] + np.log(mean), LOG_BOUNDS[1] + np.log(mean))]
    res = _minimize(nll, start, bounds)
    p, q, g = np.exp(res.x)
    return GammaGamma(float(p), float(q), float(g), float(-res.fun))


def rfm(frame: EventFrame, *, role: int, cutoff_ms: int, since_ms: int | None = None) -> dict:
    """(x, t_x, T) in weeks (whole days ÷ 7) and the mean repeat value (dollars) of the
    contacts of ``role`` whose first conversion is before ``cutoff_ms``; purchases on the same
    day count once (their values add up). ``since_ms``: only conversions from then on."""
    rows = frame.rows_of("conversion", lo=since_ms, hi=cutoff_ms)
    rows = rows[frame.contact[rows] >= 0]
    rows = rows[frame.role[frame.contact[rows]] == role]
    who = frame.contact[rows].astype(np.int64)
    day = (frame.time_ms[rows] // DAY_MS).astype(np.int64)
    key = who * 1_000_000 + (day - day.min(initial=0))
    uniq, inverse = np.unique(key, return_inverse=True)
    value = np.bincount(inverse, weights=frame.value_cents[rows] / 100.0, minlength=len(uniq))
    c, d = np.divmod(uniq, 1_000_000)
    d = d + day.min(initial=0)
    customers, first_idx, n = np.unique(c, return_index=True, return_counts=True)
    last_idx = first_idx + n - 1
    first_day, last_day = d[first_idx], d[last_idx]
    cutoff_day = cutoff_ms // DAY_MS
    first_value = value[first_idx]
    total = np.bincount(np.repeat(np.arange(len(customers)), n), weights=value)
    x = (n - 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_repeat = np.where(x > 0, (total - first_value) / np.maximum(x, 1), 0.0)
    return {
        "contacts": customers,
        "x": x,
        "t_x": (last_day - first_day) / 7.0,
        "T": (cutoff_day - first_day) / 7.0,
        "mean_value": mean_repeat,
        "first_day": first_day,
    }


def _expected(bg: BGNBD, t: float, data: dict) -> np.ndarray:
    """Expected purchases in the next ``t`` weeks per customer, computed once per distinct
    (x, t_x, T)."""
    table = np.column_stack([data["x"], data["t_x"], data["T"]])
    rows, inverse = np.unique(table, axis=0, return_inverse=True)
    return bg.expected_purchases(t, rows[:, 0], rows[:, 1], rows[:, 2])[inverse.ravel()]


def _fit_segment(frame: EventFrame, role: int, cutoff_ms: int) -> dict | None:
    """The segment's data and fits as of the start of ``cutoff_ms``'s day (whole days: a
    report later the same day reuses them). The fits are kept by the data they were fitted
    on (``EventFrame.carried``), so a frame with new events that leave it unchanged reuses
    them too."""
    cutoff_ms = cutoff_ms // DAY_MS * DAY_MS

    def build():
        data = rfm(frame, role=role, cutoff_ms=cutoff_ms)
        if len(data["x"]) < 20 or not (data["x"] > 0).any():
            return None
        key = (
            "clv_fit",
            np.column_stack([data["x"], data["t_x"], data["T"], data["mean_value"]]).tobytes(),
        )

        def fit():
            bg = fit_bgnbd(data["x"], data["t_x"], data["T"])
            gg = None
            if int(((data["x"] > 0) & (data["mean_value"] > 0)).sum()) >= 20:
                gg = fit_gamma_gamma(data["x"], data["mean_value"])
            return bg, gg

        bg, gg = frame.carried(key, fit)
        return data, bg, gg

    return frame.cached(("clv_fit", role, cutoff_ms), build)


def segment_value(
    frame: EventFrame,
    *,
    role: int,
    cutoff_ms: int,
    horizon_days: int = 365,
    holdout_days: int = 60,
    margin: float = 1.0,
) -> dict:
    """The fitted models of one segment, the expected value per customer and a backtest."""
    fitted = _fit_segment(frame, role, cutoff_ms)
    if fitted is None:
        return {
            "fitted": False,
            "reason": "fewer than 20 customers, or none with a repeat purchase",
        }
    data, bg, gg = fitted
    expected = _expected(bg, horizon_days / 7.0, data)
    spend = gg.expected_spend(data["x"], data["mean_value"]) if gg else None
    value = expected * spend * margin if spend is not None else None
    out = {
        "fitted": True,
        "model": "BG/NBD + Gamma-Gamma (maximum likelihood), time in weeks",
        "customers": int(len(data["x"])),
        "repeat_customers": int((data["x"] > 0).sum()),
        "at_bound": bool(
            np.any(np.abs(np.log([bg.r, bg.a, bg.b])) > LOG_BOUNDS[1] - 1e-3)
            or abs(np.log(bg.alpha))
            > LOG_BOUNDS[1] - 1e-3 + abs(np.log(max(np.mean(data["T"]), 1e-9)))
        ),
        "bgnbd": {
            "r": bg.r,
            "alpha": bg.alpha,
            "a": bg.a,
            "b": bg.b,
            "log_likelihood": bg.log_likelihood,
        },
        "gamma_gamma": None
        if gg is None
        else {"p": gg.p, "q": gg.q, "gamma": gg.gamma, "log_likelihood": gg.log_likelihood},
        "horizon_days": horizon_days,
        "expected_purchases_per_customer": float(expected.mean()),
        "p_alive_mean": float(bg.p_alive(data["x"], data["t_x"], data["T"]).mean()),
        "expected_value_per_customer": None
        if value is None or not np.isfinite(value).any()
        else float(np.nanmean(value)),
        "margin": margin,
        "backtest": backtest(frame, role=role, cutoff_ms=cutoff_ms, holdout_days=holdout_days),
    }
    return out


def backtest(frame: EventFrame, *, role: int, cutoff_ms: int, holdout_days: int) -> dict:
    """Fit up to ``cutoff − holdout_days``; predict each customer's repeat purchases in the
    holdout; compare with the purchases that happened (and with the naive rate x ÷ T)."""
    split = cutoff_ms // DAY_MS * DAY_MS - holdout_days * DAY_MS
    fitted = _fit_segment(frame, role, split)
    if fitted is None:
        return {"available": False, "reason": "too little history before the holdout period"}
    data, bg, _ = fitted
    predicted = _expected(bg, holdout_days / 7.0, data)
    naive = np.where(data["T"] > 0, data["x"] / np.maximum(data["T"], 1e-9), 0.0) * (
        holdout_days / 7.0
    )
    later = rfm(frame, role=role, cutoff_ms=cutoff_ms, since_ms=split)
    actual_by = dict(zip(later["contacts"].tolist(), (later["x"] + 1).tolist(), strict=True))
    actual = np.array([actual_by.get(c, 0.0) for c in data["contacts"].tolist()])
    return {
        "available": True,
        "split_ms": split,
        "holdout_days": holdout_days,
        "customers": int(len(actual)),
        "predicted_purchases": float(predicted.sum()),
        "actual_purchases": float(actual.sum()),
        "mean_abs_error": float(np.abs(predicted - actual).mean()),
        "naive_predicted_purchases": float(naive.sum()),
        "naive_mean_abs_error": float(np.abs(naive - actual).mean()),
    }
