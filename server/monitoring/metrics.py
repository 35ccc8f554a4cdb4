"""Prometheus metrics through ``prometheus_client``: one registry per app, names
``wedsync_<thing>_<unit>``, labels from small fixed sets only.

Labels and what bounds them: ``route`` is the route's pattern (``/api/v1/campaigns/{id}``, never
the id itself; ``unmatched`` for a path no route has), ``method`` one of the HTTP methods (else
``other``), ``status`` the response code, ``class`` the four priority classes, ``outcome`` and
``source`` short fixed lists, ``check`` the monitor's check names. No contact, campaign, device
or org id is ever a label: per-org checks are exported as how many orgs are in each status.

Counted as things happen (a middleware around every request, the monitor's commit listener,
the delivery and content recorders); read when scraped (the writer's queue, connected devices,
the checks), by a collector that only copies numbers already in memory, so a scrape never
waits on the store.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .config import CLASS_NAMES
from .status import SEVERITY, Status

if TYPE_CHECKING:
    from ..hub import Hub
    from ..writer import PriorityWriter
    from .monitor import Monitor

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
SYNC_ROUTE = "/api/v1/sync"
#: request latencies: a loopback request takes about a millisecond, a report up to seconds
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
SESSION_BUCKETS = (1, 10, 60, 300, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300)
SEND_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)
GENERATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10)


def class_name(priority: int) -> str:
    return CLASS_NAMES[priority] if 0 <= priority < len(CLASS_NAMES) else "other"


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.http_requests = Counter(
            "wedsync_http_requests",
            "HTTP requests answered, by route pattern, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "wedsync_http_request_duration_seconds",
            "Time to answer an HTTP request, by route pattern and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ws_duration = Histogram(
            "wedsync_websocket_session_duration_seconds",
            "How long a device's sync websocket stayed open",
            buckets=SESSION_BUCKETS,
            registry=r,
        )
        self.sync_events = Counter(
            "wedsync_sync_events",
            "Events committed (pushed by devices or made by the server), by priority class",
            ["class"],
            registry=r,
        )
        self.commit_duration = Histogram(
            "wedsync_writer_commit_duration_seconds",
            "Time of one writer transaction, by priority class",
            ["class"],
            buckets=COMMIT_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "wedsync_writer_queue_wait_seconds",
            "How long the oldest job of a commit waited in the writer's queue, by class",
            ["class"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.trigger_evaluation = Histogram(
            "wedsync_trigger_evaluation_duration_seconds",
            "Time to match a committed event against the campaigns' triggers",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.trigger_to_send = Histogram(
            "wedsync_trigger_to_send_seconds",
            "From a send falling due to its acceptance by the SMTP server",
            buckets=SEND_BUCKETS,
            registry=r,
        )
        self.smtp_sends = Counter(
            "wedsync_smtp_sends",
            "Campaign sends finished, by outcome (sent, bounced, deferred, failed)",
            ["outcome"],
            registry=r,
        )
        self.smtp_probes = Counter(
            "wedsync_smtp_probes",
            "The monitor's probes of the orgs' SMTP servers, by outcome (ok, failed)",
            ["outcome"],
            registry=r,
        )
        self.content_generations = Counter(
            "wedsync_content_generations",
            "Content generations reported, by the source that answered and outcome",
            ["source", "outcome"],
            registry=r,
        )
        self.content_duration = Histogram(
            "wedsync_content_generation_duration_seconds",
            "Time of one content generation",
            buckets=GENERATION_BUCKETS,
            registry=r,
        )
        self.alerts = Counter(
            "wedsync_alerts",
            "Alerts recorded, by kind (critical, recovered, suppressed)",
            ["kind"],
            registry=r,
        )
        self.alert_deliveries = Counter(
            "wedsync_alert_deliveries",
            "Alert deliveries, by channel (webhook, email, app) and outcome",
            ["channel", "outcome"],
            registry=r,
        )
        self._live = _Live()
        r.register(self._live)
        #: off: requests and commits are not observed (the benchmark's "without metrics")
        self.enabled = True

    def bind(self, *, writer: PriorityWriter, hub: Hub, monitor: Monitor | None = None) -> None:
        """What the scrape-time collector reads (set once the app's context exists)."""
        self._live.writer, self._live.hub, self._live.monitor = writer, hub, monitor

    # -- what the recorders and the monitor call
    def observe_send(self, status: str, trigger_to_send_s: float | None) -> None:
        self.smtp_sends.labels(status).inc()
        if trigger_to_send_s is not None:
            self.trigger_to_send.observe(trigger_to_send_s)

    def observe_generation(self, record: Any) -> None:
        source = record.source if record.source in ("offline", "llm", "none") else "other"
        self.content_generations.labels(source, "ok" if record.ok else "failed").inc()
        self.content_duration.observe(record.latency_ms / 1000)

    def middleware(
        self,
    ) -> Callable[[web.Request, Callable[[web.Request], Awaitable[Any]]], Awaitable[Any]]:
        requests, duration, ws = self.http_requests, self.http_duration, self.ws_duration
        # the labelled children, made once per (route, method, status): labels() costs more
        # than the observation itself; the set is bounded as the labels are
        children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        # a route's pattern, by route: reading it costs more than everything else here
        patterns: dict[Any, str] = {}

        @web.middleware
        async def metrics_middleware(request: web.Request, handler):
            if not self.enabled:
                return await handler(request)
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                elapsed = time.perf_counter() - started
                matched = request.match_info.route
                route = patterns.get(matched)
                if route is None:
                    resource = matched.resource
                    if resource is None:  # a 404's route is made per request: never kept
                        route = "unmatched"
                    else:
                        route = patterns[matched] = resource.canonical
                method = request.method if request.method in METHODS else "other"
                key = (route, method, status)
                child = children.get(key)
                if child is None:
                    timing = ws if route == SYNC_ROUTE and status == 101 else None
                    child = children[key] = (
                        requests.labels(route, method, str(status)),
                        timing or duration.labels(route, method),
                    )
                child[0].inc()
                child[1].observe(elapsed)

        return metrics_middleware


class _Live(Collector):
    """Figures read at scrape time from memory: the writer, the hub, the checks."""

    def __init__(self) -> None:
        self.writer: PriorityWriter | None = None
        self.hub: Hub | None = None
        self.monitor: Monitor | None = None

    def describe(self):  # the families are known in advance; nothing to read at registration
        return []

    def collect(self):
        writer, hub, monitor = self.writer, self.hub, self.monitor
        if writer is not None:
            stats = writer.stats
            queued = GaugeMetricFamily(
                "wedsync_writer_queue_items",
                "Items waiting for the writer, by class",
                labels=["class"],
            )
            oldest = GaugeMetricFamily(
                "wedsync_writer_queue_oldest_seconds",
                "How long the oldest queued job has waited, by class",
                labels=["class"],
            )
            now = time.monotonic()
            for cls in range(len(CLASS_NAMES)):
                queued.add_metric([class_name(cls)], stats.queued_items.get(cls, 0))
                oldest.add_metric([class_name(cls)], stats.oldest_wait_s(cls, now))
            yield queued
            yield oldest
            jobs = CounterMetricFamily(
                "wedsync_writer_jobs",
                "Writer jobs committed (push batches and others), by class",
                labels=["class"],
            )
            for cls, n in sorted(stats.jobs_by_class.items()):
                jobs.add_metric([class_name(cls)], n)
            yield jobs
            yield CounterMetricFamily(
                "wedsync_writer_commits", "Writer transactions committed", value=stats.commits
            )
            yield CounterMetricFamily(
                "wedsync_writer_busy_seconds",
                "Time the writer spent in transactions",
                value=stats.busy_s,
            )
        if hub is not None:
            yield GaugeMetricFamily(
                "wedsync_websocket_connections", "Devices connected now", value=hub.count()
            )
        if monitor is not None:
            yield from _check_families(monitor)


def _check_families(monitor: Monitor):
    checks = list(monitor.checks.values())
    by_status = GaugeMetricFamily(
        "wedsync_health_checks",
        "Health checks by check and status: 0 or 1 for a server-wide check, how many orgs "
        "for a per-org one",
        labels=["check", "status"],
    )
    counts: dict[tuple[str, str], int] = {}
    for c in checks:
        for s in Status:
            counts.setdefault((c.name, str(s)), 0)
        counts[(c.name, str(c.status))] += 1
    for (name, status), n in sorted(counts.items()):
        by_status.add_metric([name, status], n)
    yield by_status
    value = GaugeMetricFamily(
        "wedsync_health_check_value",
        "The latest figure of each server-wide health check (in the check's unit)",
        labels=["check"],
    )
    for c in sorted(checks, key=lambda c: c.name):
        if c.org_id is None and c.value is not None:
            value.add_metric([c.name], c.value)
    yield value
    worst = max((SEVERITY[c.status] for c in checks), default=0)
    yield GaugeMetricFamily(
        "wedsync_health_overall_severity",
        "The overall health: 0 healthy, 1 warning, 2 critical",
        value=worst,
    )
