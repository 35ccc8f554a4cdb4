"""Log lines a peer can cause, rate-limited: a flood writes a few lines, not one per frame.

Anything a remote peer triggers at will (a device that does not read, a refused frame, a request
that fails) may be logged, but never once per attempt: ``RepeatFilter`` lets the first ``burst``
records of one kind through in each ``window_s`` and counts the rest; the first record let
through after a window with suppressed repeats says how many were dropped. A kind is the logger,
the level and the message's format string (not its arguments), so the same warning about a
thousand different devices is one kind.

Every server module gets its logger from ``get_logger``, which attaches the filter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

DEFAULT_BURST = 10
DEFAULT_WINDOW_S = 60.0


class RepeatFilter(logging.Filter):
    def __init__(
        self,
        *,
        burst: int = DEFAULT_BURST,
        window_s: float = DEFAULT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        # kind -> [window start, records let through in it, records suppressed]
        self._kinds: dict[tuple[str, int, str], list] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            state = self._kinds.get(kind)
            if state is None or now - state[0] >= self.window_s:
                suppressed = state[2] if state is not None else 0
                self._kinds[kind] = [now, 1, 0]
                if len(self._kinds) > 10_000:  # kinds are format strings: a bound never met
                    self._kinds.clear()
                if suppressed:
                    record.msg = f"{record.msg} ({suppressed} similar messages suppressed)"
                return True
            if state[1] < self.burst:
                state[1] += 1
                return True
            state[2] += 1
            return False

    def suppressed(self) -> int:
        with self._lock:
            return sum(state[2] for state in self._kinds.values())


#: one filter for the whole server, so the limits hold across modules
FILTER = RepeatFilter()


def get_logger(name: str) -> logging.Logger:
    """The module's logger, with the server's repeat filter attached."""
    logger = logging.getLogger(name)
    if FILTER not in logger.filters:
        logger.addFilter(FILTER)
    return logger
