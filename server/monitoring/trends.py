"""Each check's recent readings, and the trend they make.

The monitor keeps, per check and org, the readings of the last trend window (at most
``capacity``, the oldest dropped first). A trend compares the newest reading with the oldest one
inside the window: ``up``/``down`` by more than ``FLAT_SHARE`` of the check's healthy threshold
(or of the value, when that threshold is 0), else ``flat``; ``improving`` says whether the move
is for the better. The readings live in memory: after a restart a trend starts again.
"""

from __future__ import annotations

from collections import deque

from .status import Band, Trend

FLAT_SHARE = 0.01


class Readings:
    def __init__(self, capacity: int = 2000) -> None:
        self._capacity = capacity
        self._by_key: dict[tuple[str, str | None], deque[tuple[int, float]]] = {}

    def add(self, key: tuple[str, str | None], at_ms: int, value: float | None) -> None:
        if value is None:
            return
        series = self._by_key.get(key)
        if series is None:
            series = self._by_key[key] = deque(maxlen=self._capacity)
        series.append((at_ms, float(value)))

    def trend(
        self, key: tuple[str, str | None], now_ms: int, window_s: float, band: Band
    ) -> Trend | None:
        series = self._by_key.get(key)
        if not series:
            return None
        since = now_ms - window_s * 1000
        while len(series) > 1 and series[0][0] < since:
            series.popleft()
        if len(series) < 2:
            return None  # one reading: nothing to compare with yet
        (then_ms, then), (_, now) = series[0], series[-1]
        return make_trend(now - then, (now_ms - then_ms) / 1000, band, scale=now)

    def forget(self, keep: set[tuple[str, str | None]]) -> None:
        """Drop the readings of checks no longer run (an org gone, a class renamed)."""
        for key in [k for k in self._by_key if k not in keep]:
            del self._by_key[key]


def make_trend(change: float, over_s: float, band: Band, *, scale: float = 0.0) -> Trend:
    unit = abs(band.healthy) or abs(scale) or 1.0
    if abs(change) <= FLAT_SHARE * unit:
        return Trend("flat", change, over_s, None)
    up = change > 0
    return Trend("up" if up else "down", change, over_s, up == band.higher_is_better)
