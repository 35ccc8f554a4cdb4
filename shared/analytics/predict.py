"""Churn risk, conversion propensity and next-30-day forecasts.

Both classifiers are L2-regularised logistic regressions fitted by Newton's method on
standardised features. Evaluation is a held-out *time* split: the model is trained on features
as of ``cutoff − horizon`` with labels from ``(cutoff − horizon, cutoff]``, then scored on
features as of ``cutoff`` with labels from ``(cutoff, cutoff + horizon]`` — nothing from the
test period leaks into training. Accuracy is reported as AUC (rank statistic, ties count half)
and Brier score (mean squared error of the probability).

* churn (suppliers: contacts with a subscription payment): churned = paid in the horizon before
  the cutoff but not in the horizon after. Features: last health score, its change over four
  weeks, lowest score in eight weeks, days since last engagement, engagements in 30 days.
* conversion (contacts who have not converted yet): converts within the horizon. Features:
  touches, opens, clicks and distinct channels in 30 days, days since last touch.

Each model is reported beside a one-feature *baseline* scored on the same test set (churn: the
last health score, lower = riskier; conversion: touches in 30 days), so a high AUC that the
data hands over for free is visible as such. The conversion model's ``test`` also compares the
sum of its probabilities (expected converters) with the converters that happened.

Forecasts (``forecast``): per conversion class (acquisition, retention, expansion, all),
conversions and revenue in the next ``horizon_days`` = daily mean of the last
``history_days`` × horizon, with a 95 % prediction interval for a sum of horizon days,
sd = sqrt(daily variance × (h + h² ÷ n)) (the day-to-day spread, and the error of the mean
itself). ``backtest`` reruns the same forecast at cutoffs 30, 60, … days before the end (as
many as the history allows, at most ``backtests``) and reports each prediction beside what
happened, and the share of intervals that held the actual value (coverage; 95 % is nominal).
"""

from __future__ import annotations

import numpy as np

from .events import CLASS_NAMES, SUBSCRIPTION_CODES, EventFrame
from .paths import DAY_MS

HORIZON_MS = 30 * DAY_MS
ENGAGE = ("open", "click", "touchpoint", "lead")


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, l2: float = 1e-2, iterations: int = 25
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights incl. intercept, feature means, feature scales)."""
    mu, sd = x.mean(0), x.std(0)
    sd[sd == 0] = 1.0
    z = np.column_stack([np.ones(len(x)), (x - mu) / sd])
    w = np.zeros(z.shape[1])
    reg = l2 * np.eye(z.shape[1])
    reg[0, 0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + reg @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + reg
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(w)), grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w, mu, sd


def predict_logistic(model: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    w, mu, sd = model
    z = np.column_stack([np.ones(len(x)), (x - mu) / sd])
    return 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann–Whitney, average ranks for ties)."""
    pos = int(y.sum())
    neg = len(y) - pos
    if not pos or not neg:
        return None
    order = np.argsort(p, kind="stable")
    sorted_p = p[order]
    ranks = np.empty(len(p))
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])
    ends = np.r_[starts[1:], len(p)]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def brier(y: np.ndarray, p: np.ndarray) -> float | None:
    return float(np.mean((p - y) ** 2)) if len(y) else None


def _rows(frame: EventFrame, kinds: tuple[str, ...], lo: int | None, hi: int) -> np.ndarray:
    """Rows of ``kinds`` with a contact and ``lo < occurred_at_ms <= hi`` (times are integer
    milliseconds, so that is ``[lo + 1, hi + 1)``)."""
    rows = frame.rows_of(*kinds, lo=None if lo is None else lo + 1, hi=hi + 1)
    return rows[frame.contact[rows] >= 0]


def _last_before(
    frame: EventFrame, kinds: tuple[str, ...], t: int, values: np.ndarray | None = None
) -> np.ndarray:
    """Per contact, the last time (or value) of rows of ``kinds`` at or before ``t`` (NaN if
    none)."""
    idx = _rows(frame, kinds, None, t)
    out = np.full(frame.n_contacts, np.nan)
    # rows are time-sorted, so the last assignment for a contact is its latest row
    out[frame.contact[idx]] = (frame.time_ms if values is None else values)[idx]
    return out


def _count(
    frame: EventFrame, kinds: tuple[str, ...], lo: int, hi: int, where: np.ndarray | None = None
) -> np.ndarray:
    """Per contact, rows of ``kinds`` in ``(lo, hi]`` (only rows where ``where`` holds)."""
    idx = _rows(frame, kinds, lo, hi)
    if where is not None:
        idx = idx[where[idx]]
    return np.bincount(frame.contact[idx], minlength=frame.n_contacts).astype(float)


def churn_features(frame: EventFrame, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(supplier codes, features, churn labels in (t, t + horizon])."""
    sub = np.isin(frame.conv_type, SUBSCRIPTION_CODES)
    paid_before = _count(frame, ("conversion",), t - HORIZON_MS - 5 * DAY_MS, t, sub) > 0
    paid_after = _count(frame, ("conversion",), t, t + HORIZON_MS + 5 * DAY_MS, sub) > 0
    who = np.flatnonzero(paid_before)
    health = ("health_score",)
    last = _last_before(frame, health, t, frame.score)
    earlier = _last_before(frame, health, t - 28 * DAY_MS, frame.score)
    lowest = np.fmin(last, earlier)
    seen = _last_before(frame, ENGAGE, t)
    recency = np.where(np.isnan(seen), 365.0, (t - seen) / DAY_MS)
    freq = _count(frame, ENGAGE, t - 30 * DAY_MS, t)
    last_f = np.nan_to_num(last, nan=50.0)
    change = np.nan_to_num(last - earlier, nan=0.0)
    x = np.column_stack([last_f, change, np.nan_to_num(lowest, nan=50.0), recency, freq])[who]
    return who, x, (~paid_after[who]).astype(float)


TOUCH = ("touchpoint", "lead", "send", "invite_accepted")


def conversion_features(frame: EventFrame, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(contact codes, features, labels: converts in (t, t + horizon])."""
    conv = ("conversion",)
    converted = _count(frame, conv, -np.iinfo(np.int64).max, t) > 0
    touches = _count(frame, TOUCH, t - 30 * DAY_MS, t)
    who = np.flatnonzero(~converted & (touches > 0) & (frame.role != 1))
    opens = _count(frame, ("open",), t - 30 * DAY_MS, t)
    clicks = _count(frame, ("click",), t - 30 * DAY_MS, t)
    m = _rows(frame, TOUCH, t - 30 * DAY_MS, t)
    pairs = np.unique(
        frame.contact[m].astype(np.int64) * (len(frame.channels) + 1) + frame.channel[m] + 1
    )
    distinct = np.bincount(pairs // (len(frame.channels) + 1), minlength=frame.n_contacts)
    seen = _last_before(frame, TOUCH, t)
    recency = np.where(np.isnan(seen), 365.0, (t - seen) / DAY_MS)
    x = np.column_stack([touches, opens, clicks, distinct, recency])[who]
    labels = _count(frame, conv, t, t + HORIZON_MS)[who] > 0
    return who, x, labels.astype(float)


def _features(features, frame: EventFrame, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``features(frame, t)``, computed once per frame, feature set and cutoff: the three
    cutoffs of one report are shared with the next report (a new frame starts afresh)."""

    def build():
        out = features(frame, t)
        for a in out:
            a.flags.writeable = False
        return out

    return frame.cached(("features", features.__module__, features.__qualname__, t), build)


def _evaluate(
    features, frame: EventFrame, cutoff: int, names: list[str], baseline: tuple[int, float, str]
) -> dict:
    """``baseline``: (feature column, sign, name): the one-feature score sign × column."""
    train_t = cutoff - HORIZON_MS
    _, x_train, y_train = _features(features, frame, train_t - HORIZON_MS)
    _, x_test, y_test = _features(features, frame, train_t)
    who, x_now, _ = _features(features, frame, cutoff)
    if len(y_train) < 10 or y_train.min() == y_train.max():
        return {
            "model": "logistic",
            "trained": False,
            "reason": "too few labelled examples",
            "train_size": int(len(y_train)),
        }
    model = fit_logistic(x_train, y_train)
    p_test = predict_logistic(model, x_test)
    column, sign, base_name = baseline
    base_score = sign * x_test[:, column] if len(x_test) else np.zeros(0)
    p_now = predict_logistic(model, x_now) if len(x_now) else np.zeros(0)
    w = model[0]
    return {
        "model": "logistic",
        "trained": True,
        "features": names,
        "coefficients": dict(zip(["intercept", *names], w.round(4).tolist(), strict=True)),
        "train": {
            "cutoff_ms": train_t - HORIZON_MS,
            "size": int(len(y_train)),
            "positive_rate": float(y_train.mean()),
        },
        "test": {
            "cutoff_ms": train_t,
            "size": int(len(y_test)),
            "positive_rate": float(y_test.mean()) if len(y_test) else None,
            "auc": auc(y_test, p_test),
            "brier": brier(y_test, p_test),
            "positives": int(y_test.sum()),
            "expected_positives": float(p_test.sum()),
        },
        "baseline": {
            "feature": base_name,
            "auc": auc(y_test, base_score),
            "auc_gain": None
            if auc(y_test, p_test) is None or auc(y_test, base_score) is None
            else auc(y_test, p_test) - auc(y_test, base_score),
        },
        "scored": {"cutoff_ms": cutoff, "size": int(len(who))},
        "_scores": (who, p_now),
    }


def churn_model(frame: EventFrame, *, cutoff_ms: int) -> dict:
    return _evaluate(
        churn_features,
        frame,
        cutoff_ms,
        [
            "health_score",
            "health_change_4w",
            "health_min_8w",
            "days_since_engaged",
            "engagements_30d",
        ],
        (0, -1.0, "health_score (lower = riskier)"),
    )


def conversion_model(frame: EventFrame, *, cutoff_ms: int) -> dict:
    return _evaluate(
        conversion_features,
        frame,
        cutoff_ms,
        ["touches_30d", "opens_30d", "clicks_30d", "channels_30d", "days_since_touch"],
        (0, 1.0, "touches_30d"),
    )


def _band(daily: np.ndarray, horizon_days: int) -> dict:
    n = len(daily)
    mean = daily.mean() * horizon_days if n else 0.0
    var = daily.var(ddof=1) if n > 1 else 0.0
    sd = np.sqrt(var * (horizon_days + horizon_days**2 / n)) if n > 1 else 0.0
    return {
        "expected": float(mean),
        "low": float(max(mean - 1.96 * sd, 0.0)),
        "high": float(mean + 1.96 * sd),
    }


def _daily(
    frame: EventFrame, lo: int, days: int, classes: tuple[int, ...] | None, end_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Conversions and revenue per day of ``[lo, lo + days)``, where ``lo`` is a whole number
    of days before ``end_ms``: a slice of the per-day history before ``end_ms`` (built once per
    frame, end and classes; each day's rows are added in the same order as a direct count)."""

    def history() -> tuple[np.ndarray, np.ndarray]:
        m = frame.rows_of("conversion", hi=end_ms)
        if classes is not None:
            m = m[np.isin(frame.conversion_class()[m], classes)]
        back = (end_ms - 1 - frame.time_ms[m]) // DAY_MS  # 0: the last day before end_ms
        counts = np.bincount(back).astype(float)
        revenue = np.bincount(back, weights=frame.value_cents[m] / 100.0)
        return counts, revenue

    counts, revenue = frame.cached(("daily_history", end_ms, classes), history)
    j = (end_ms - lo) // DAY_MS  # days from lo to end_ms
    a, b = max(j - days, 0), min(j, len(counts))

    def window(values: np.ndarray) -> np.ndarray:
        out = np.zeros(days)
        part = values[a:b][::-1]  # oldest first
        start = max(days - j, 0) + (j - b if b < j else 0)
        out[start : start + len(part)] = part
        return out

    return window(counts), window(revenue)


FORECAST_CLASSES = {
    **{name: (code,) for code, name in CLASS_NAMES.items()},
    "all": None,
}


def forecast(
    frame: EventFrame,
    *,
    to_ms: int,
    history_days: int = 90,
    horizon_days: int = 30,
    data_start_ms: int | None = None,
    backtests: int = 4,
) -> dict:
    """Next ``horizon_days`` conversions and revenue per class, with backtests (see the module
    docstring). ``data_start_ms``: the first event's time (no backtest reaches before it)."""
    lo = to_ms - history_days * DAY_MS
    out: dict = {"horizon_days": horizon_days, "history_days": history_days, "interval": 0.95}
    start = data_start_ms if data_start_ms is not None else lo
    cutoffs = [
        to_ms - k * horizon_days * DAY_MS
        for k in range(1, backtests + 1)
        if to_ms - k * horizon_days * DAY_MS - history_days * DAY_MS >= start
    ]
    classes: dict = {}
    for name, codes in FORECAST_CLASSES.items():
        counts, revenue = _daily(frame, lo, history_days, codes, to_ms)
        entry = {
            "conversions": _band(counts, horizon_days),
            "revenue": _band(revenue, horizon_days),
        }
        runs = []
        for cut in cutoffs:
            c, r = _daily(frame, cut - history_days * DAY_MS, history_days, codes, to_ms)
            ac, _ = _daily(frame, cut, horizon_days, codes, to_ms)
            pc = _band(c, horizon_days)
            runs.append(
                {
                    "cutoff_ms": cut,
                    "predicted": pc["expected"],
                    "low": pc["low"],
                    "high": pc["high"],
                    "actual": float(ac.sum()),
                    "covered": bool(pc["low"] <= ac.sum() <= pc["high"]),
                }
            )
        entry["backtest"] = {
            "runs": runs,
            "coverage": sum(r["covered"] for r in runs) / len(runs) if runs else None,
            "mean_abs_pct_error": float(
                np.mean(
                    [abs(r["predicted"] - r["actual"]) / r["actual"] for r in runs if r["actual"]]
                )
            )
            if any(r["actual"] for r in runs)
            else None,
        }
        classes[name] = entry
    # the fields read before classes existed: every conversion
    out["conversions"] = classes["all"]["conversions"]
    out["revenue"] = classes["all"]["revenue"]
    out["classes"] = classes
    return out
