"""The monitor's HTTP endpoints.

| method and path | who | answer |
| --- | --- | --- |
| ``GET /healthz`` | anyone, no token | ``{"status": "up"}``: the process answers (liveness) |
| ``GET /metrics`` | ``Bearer <metrics token>`` | Prometheus text; 404 without a token set |
| ``GET /api/v1/monitor/health`` | admins | every check (the server's and the org's) and the overall status |
| ``GET /api/v1/monitor/alerts?limit=N`` | admins | the org's and the server's alerts, newest first |
| ``POST /api/v1/monitor/generations`` | admins, marketers | a device reports its content generations |

``/readyz`` (readiness) is ``server.readiness``'s. ``/healthz`` and ``/metrics`` are outside
``/api/``, so the token middleware leaves them alone; ``/metrics`` checks its own token.
"""

from __future__ import annotations

import hmac
import math

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from shared.content.recorder import GenerationRecord

from ..errors import BadRequest
from ..http_api import json_body, principal_of, require
from ..sync_ws import CTX
from .metrics import Metrics
from .monitor import Monitor

MONITOR: web.AppKey[Monitor] = web.AppKey("monitor", Monitor)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)
METRICS_TOKEN: web.AppKey[str] = web.AppKey("metrics_token", str)
MAX_GENERATIONS = 500
#: a reported generation older than this, or dated in the future beyond it, is refused
MAX_SKEW_MS = 7 * 86_400_000
#: ``?refresh=1`` reads the checks again only when the last reading is older than this
REFRESH_AFTER_MS = 5_000

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "up"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.StreamResponse:
    found = request.app.get(METRICS)
    token = request.app.get(METRICS_TOKEN)
    if found is None or not token:
        raise web.HTTPNotFound(
            reason="metrics are not served on this port (see docs/monitoring.md)"
        )
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return web.json_response(
            {"error": {"code": "unauthenticated", "message": "metrics need their bearer token"}},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return await make_aiohttp_handler(found.registry, disable_compression=True)(request)


def metrics_app(found: Metrics) -> web.Application:
    """The admin port's app: ``/metrics`` and ``/healthz``, no token (bind it privately)."""
    app = web.Application()
    app.router.add_get("/metrics", make_aiohttp_handler(found.registry, disable_compression=True))
    app.router.add_get("/healthz", healthz)
    return app


def _monitor(request: web.Request) -> Monitor:
    found = request.app.get(MONITOR)
    if found is None:
        raise web.HTTPServiceUnavailable(reason="the health monitor is not running")
    return found


@routes.get("/api/v1/monitor/health")
async def health_checks(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "read_health", None)
    monitor = _monitor(request)
    stale = monitor.as_of_ms is None or ctx.now_ms() - monitor.as_of_ms > REFRESH_AFTER_MS
    if stale and (monitor.as_of_ms is None or request.query.get("refresh") == "1"):
        await monitor.evaluate(business=False)  # the report-based checks keep their rhythm
    return web.json_response(monitor.view(p.org_id))


@routes.get("/api/v1/monitor/alerts")
async def alert_history(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "read_health", None)
    try:
        limit = max(1, min(int(request.query.get("limit", "100")), 1000))
    except ValueError:
        raise BadRequest("'limit' must be an integer") from None
    monitor = _monitor(request)
    if monitor.alerts is None:
        return web.json_response({"alerts": []})
    found = monitor.alerts.history.recent(org_id=p.org_id, limit=limit)
    return web.json_response({"alerts": [a.to_dict() for a in found]})


@routes.post("/api/v1/monitor/generations")
async def report_generations(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "edit_campaigns", None)
    body = await json_body(request)
    items = body.get("generations")
    if not isinstance(items, list) or len(items) > MAX_GENERATIONS:
        raise BadRequest(f"'generations' must be a list of at most {MAX_GENERATIONS} records")
    now = ctx.now_ms()
    records = [_generation(item, i, now) for i, item in enumerate(items)]
    monitor = _monitor(request)
    for record in records:
        monitor.content.record(p.org_id, record)
    return web.json_response({"recorded": len(records)})


def _generation(item: object, index: int, now_ms: int) -> GenerationRecord:
    where = f"generations[{index}]"
    if not isinstance(item, dict):
        raise BadRequest(f"{where} must be an object")
    requested, source = item.get("requested"), item.get("source")
    if requested not in ("offline", "llm") or source not in ("offline", "llm", "none"):
        raise BadRequest(f"{where}: 'requested' offline|llm and 'source' offline|llm|none")
    ok, latency = item.get("ok"), item.get("latency_ms")
    if not isinstance(ok, bool):
        raise BadRequest(f"{where}: 'ok' must be true or false")
    if (
        isinstance(latency, bool)
        or not isinstance(latency, int | float)
        or not math.isfinite(latency)
        or not 0 <= latency <= 3_600_000
    ):
        raise BadRequest(f"{where}: 'latency_ms' must be a number of milliseconds")
    fallback = item.get("fallback")
    if fallback is not None and (not isinstance(fallback, str) or len(fallback) > 64):
        raise BadRequest(f"{where}: 'fallback' must be a short error code")
    at_ms = item.get("at_ms", now_ms)
    if isinstance(at_ms, bool) or not isinstance(at_ms, int) or abs(at_ms - now_ms) > MAX_SKEW_MS:
        raise BadRequest(f"{where}: 'at_ms' must be epoch milliseconds within a week of now")
    return GenerationRecord(requested, source, ok, float(latency), fallback, at_ms)
