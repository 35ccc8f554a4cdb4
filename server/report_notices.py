"""Live report notices: "the org's report changed", to its connected apps and browsers.

A commit listener (``server.commits``): a commit that stored events of an org, or changed one of
its campaigns (names, budgets and costs are report inputs too), marks the org's report as changed.
The notice is a ``NOTICE`` frame of kind ``report_changed`` with body ``{"as_of_ms": <the
commit's time>}``, sent through the live hub to the org's devices whose role may read reports; the
app re-fetches ``GET /api/v1/reports/roi`` on it; the device whose push made the change is told
too (it comes before the push's acknowledgement), so its own report follows its own captures.
Browsers of the CMO's dashboard subscribe to the same signal (``subscribe``: the server-sent
events of ``/dashboard/events``).

Throttled per org: at most one notice every ``interval_s``. The first change after a quiet spell
is announced at once; changes within the interval are folded into one notice at its end, carrying
the latest commit's time (trailing edge), so the last change is always announced. Nothing here
reads or writes the store: ``committed`` only notes the org and arms a timer on the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import web

from shared.protocol import messages as m

from .auth import ALLOWED
from .commits import Commit
from .hub import Hub
from .logs import get_logger

log = get_logger(__name__)

NOTICE_KIND = "report_changed"
#: the roles that may read reports: those who receive the notice
READER_ROLES = ALLOWED["read"]
DEFAULT_INTERVAL_S = 0.25

Subscriber = Callable[[int], None]  # called with the notice's as_of_ms


def report_inputs_changed(commit: Commit) -> list[str]:
    """The orgs whose report inputs the commit changed: new events (known or not) or a campaign
    change; notices alone change nothing a report reads."""
    return [
        org_id
        for org_id, changes in commit.orgs.items()
        if changes.events is None or changes.events or changes.campaigns
    ]


class ReportNotices:
    def __init__(
        self,
        hub: Hub,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._hub = hub
        self.interval_s = interval_s
        self._now_ms = now_ms
        self._pending: dict[str, int] = {}  # org -> as_of_ms of its latest unannounced change
        self._last_sent: dict[str, float] = {}  # org -> loop time of its last notice
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._subscribers: dict[str, dict[Subscriber, None]] = {}
        self.sent = 0  # notices announced (all orgs)

    # ------------------------------------------------------------------ listener

    def committed(self, commit: Commit) -> None:
        orgs = report_inputs_changed(commit)
        if not orgs:
            return
        as_of = self._now_ms()
        loop = asyncio.get_running_loop()
        for org_id in orgs:
            self._pending[org_id] = as_of
            if org_id in self._timers:
                continue  # announced at the end of the running interval
            wait = self._last_sent.get(org_id, float("-inf")) + self.interval_s - loop.time()
            if wait <= 0:
                self._announce(org_id)
            else:
                self._timers[org_id] = loop.call_later(wait, self._fire, org_id)

    def _fire(self, org_id: str) -> None:
        self._timers.pop(org_id, None)
        if org_id in self._pending:
            self._announce(org_id)

    def _announce(self, org_id: str) -> None:
        as_of = self._pending.pop(org_id)
        self._last_sent[org_id] = asyncio.get_running_loop().time()
        self.sent += 1
        frame = m.notice(NOTICE_KIND, {"as_of_ms": as_of})
        self._hub.broadcast(org_id, frame, roles=READER_ROLES)
        for subscriber in list(self._subscribers.get(org_id, ())):
            try:
                subscriber(as_of)
            except Exception:  # one browser's stream never stops the others
                log.exception("a report subscriber of org %s failed", org_id)

    # ------------------------------------------------------------------ browsers

    def subscribe(self, org_id: str, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(as_of_ms)`` on each of the org's notices; returns the unsubscribe."""
        self._subscribers.setdefault(org_id, {})[subscriber] = None

        def unsubscribe() -> None:
            subs = self._subscribers.get(org_id)
            if subs is not None:
                subs.pop(subscriber, None)
                if not subs:
                    del self._subscribers[org_id]

        return unsubscribe

    def subscribers(self, org_id: str) -> int:
        return len(self._subscribers.get(org_id, ()))

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()


NOTICES = web.AppKey("report_notices", ReportNotices)
