"""Revenue and conversions over time: the report's ``series`` section, for charts.

The window is cut into buckets from its start: days for a window of up to ``DAILY_UP_TO_MS``,
weeks up to ``WEEKLY_UP_TO_MS``, 30-day spans beyond; the last bucket ends at the window's end
(it may be shorter). Every conversion of the window falls in exactly one bucket, so the buckets'
sums equal ``summary.conversions`` and ``summary.revenue``.
"""

from __future__ import annotations

import numpy as np

from .events import ACQUISITION, EventFrame

DAY_MS = 86_400_000
DAILY_UP_TO_MS = 120 * DAY_MS
WEEKLY_UP_TO_MS = 3 * 365 * DAY_MS


def bucket_ms_for(span_ms: int) -> int:
    if span_ms <= DAILY_UP_TO_MS:
        return DAY_MS
    return 7 * DAY_MS if span_ms <= WEEKLY_UP_TO_MS else 30 * DAY_MS


def revenue_series(frame: EventFrame, *, from_ms: int, to_ms: int) -> dict:
    """``bucket_ms`` and ``buckets``: each ``from_ms``, ``to_ms``, ``conversions``, ``revenue``
    and ``acquisition_revenue`` (money in the report's unit)."""
    span = max(1, to_ms - from_ms)
    size = bucket_ms_for(span)
    n = -(-span // size)
    rows = frame.rows_of("conversion", lo=from_ms, hi=to_ms)
    at = ((frame.time_ms[rows] - from_ms) // size).astype(np.int64)
    value = frame.value_cents[rows] / 100.0
    acquisition = frame.conversion_class()[rows] == ACQUISITION
    conversions = np.bincount(at, minlength=n)
    revenue = np.bincount(at, weights=value, minlength=n)
    acquired = np.bincount(at[acquisition], weights=value[acquisition], minlength=n)
    return {
        "bucket_ms": size,
        "buckets": [
            {
                "from_ms": from_ms + i * size,
                "to_ms": min(to_ms, from_ms + (i + 1) * size),
                "conversions": int(conversions[i]),
                "revenue": round(float(revenue[i]), 2),
                "acquisition_revenue": round(float(acquired[i]), 2),
            }
            for i in range(n)
        ],
    }
