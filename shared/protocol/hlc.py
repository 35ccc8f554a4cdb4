"""Hybrid logical clock (Kulkarni et al.): wall time in ms plus a counter, packed in one int.

``stamp = wall_ms << 16 | counter``. Stamps from one clock strictly increase even when the wall
clock goes backwards, and ``observe`` moves a clock past any stamp it has seen, so causally later
edits carry larger stamps across devices. Ties between devices are broken by the device id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

COUNTER_BITS = 16
_COUNTER_MASK = (1 << COUNTER_BITS) - 1
MAX_STAMP = (1 << 63) - 1


def pack(wall_ms: int, counter: int) -> int:
    return (wall_ms << COUNTER_BITS) | counter


def unpack(stamp: int) -> tuple[int, int]:
    return stamp >> COUNTER_BITS, stamp & _COUNTER_MASK


def wall_ms_of(stamp: int) -> int:
    return stamp >> COUNTER_BITS


class HybridClock:
    """A thread-safe hybrid logical clock."""

    def __init__(self, last: int = 0, now_ms: Callable[[], int] | None = None) -> None:
        self._last = last
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        return self._last

    def now(self) -> int:
        """A stamp greater than every stamp this clock issued or observed."""
        with self._lock:
            wall = self._now_ms()
            last_wall, last_counter = unpack(self._last)
            if wall > last_wall:
                self._last = pack(wall, 0)
            else:
                self._last = self._bump(last_wall, last_counter)
            return self._last

    def observe(self, remote: int) -> int:
        """Merge a stamp from elsewhere; returns the new local stamp."""
        with self._lock:
            wall = self._now_ms()
            l_wall, l_counter = unpack(self._last)
            r_wall, r_counter = unpack(remote)
            top = max(wall, l_wall, r_wall)
            if top == l_wall == r_wall:
                self._last = self._bump(top, max(l_counter, r_counter))
            elif top == l_wall:
                self._last = self._bump(top, l_counter)
            elif top == r_wall:
                self._last = self._bump(top, r_counter)
            else:
                self._last = pack(top, 0)
            return self._last

    def observe_time(self, wall_ms: int, *, max_lead_ms: int) -> bool:
        """Take in a physical time from elsewhere (a server's clock at connect) as a stamp with
        counter 0, unless it is more than ``max_lead_ms`` ahead of this clock's wall time: a
        wrong remote clock must not carry every local stamp far into the future. Returns whether
        it was taken."""
        if wall_ms - self._now_ms() > max_lead_ms:
            return False
        self.observe(pack(wall_ms, 0))
        return True

    @staticmethod
    def _bump(wall: int, counter: int) -> int:
        if counter >= _COUNTER_MASK:  # counter overflow: borrow a millisecond from the future
            return pack(wall + 1, 0)
        return pack(wall, counter + 1)
