"""How monitoring joins the server: ``install_monitoring(app, config)`` in ``create_app``.

It reads the monitoring file (``config.locate``/``load_config``: a bad file stops the start),
switches the logs to JSON when asked, puts the metrics and request-id middlewares in front of
every other, adds the routes, and appends a cleanup context that, once the server's own
context has started the writer, creates the monitor (its own read handle and thread), follows
the writer's commits, starts the alert channels and the reading loop, and serves ``/metrics``
on the admin port when one is configured. Everything stops before the writer does.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from ..config import ServerConfig
from ..delivery import SmtpSettings
from ..storage import Storage
from ..sync_ws import CTX, REPORTS
from .alerts import AlertHistory, AlertRouter
from .channels import AppChannel, EmailChannel, MailRoute, WebhookChannel
from .config import MonitorConfig, load_config, locate
from .jsonlog import LOG_FORMAT_ENV, request_id_middleware, use_json_logs
from .metrics import Metrics
from .monitor import Monitor
from .recorders import ContentRecorder, DeliveryRecorder
from .routes import METRICS, METRICS_TOKEN, MONITOR, metrics_app, routes

log = logging.getLogger(__name__)

#: the admin port's address once it listens ((host, port)), for tests and the log
METRICS_ADDRESS: web.AppKey[tuple] = web.AppKey("metrics_address", tuple)
HISTORY_NAME = Path("monitoring") / "alerts.jsonl"


def install_monitoring(
    app: web.Application, config: ServerConfig, monitor_config: MonitorConfig | None = None
) -> MonitorConfig:
    """Add monitoring to ``app`` (before it starts). ``monitor_config``: these settings instead
    of the monitoring file's."""
    settings = monitor_config or load_config(locate(config.data_dir))
    if settings.log_format == "json" or os.environ.get(LOG_FORMAT_ENV) == "json":
        use_json_logs()
    metrics = Metrics() if settings.metrics.enabled else None
    app.middlewares.insert(0, request_id_middleware)
    if metrics is not None:
        app.middlewares.insert(0, metrics.middleware())
        app[METRICS] = metrics
        if settings.metrics.token:
            app[METRICS_TOKEN] = settings.metrics.token
    app.add_routes(routes)

    async def monitoring(app: web.Application) -> AsyncIterator[None]:
        ctx = app[CTX]
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wedsync-monitor")
        reader = ctx.storage.reader()
        history_path = Path(config.data_dir) / HISTORY_NAME if config.database_url is None else None
        history = AlertHistory(history_path, keep=settings.alerts.history_max, executor=executor)
        loaded = await asyncio.get_running_loop().run_in_executor(executor, history.load)
        monitor: Monitor | None = None

        def org_name(org_id: str | None) -> str | None:
            return monitor.org_names.get(org_id) if monitor and org_id else None

        def org_hook(org_id: str | None):
            name = org_name(org_id)
            return settings.org_webhooks.get(name) if name else None

        async def mail_routes(org_id: str | None) -> list[MailRoute]:
            orgs = [org_id] if org_id else sorted(monitor.org_names if monitor else ())
            box = _secret_box(app)
            return await asyncio.get_running_loop().run_in_executor(
                executor, _mail_routes, reader, orgs, box
            )

        webhook = WebhookChannel(settings.alerts, org_hooks=org_hook)
        channels: list[Any] = [webhook]
        if settings.alerts.email_admins:
            channels.append(EmailChannel(mail_routes))
        if settings.alerts.app_notices:
            channels.append(AppChannel(ctx.hub))
        router = AlertRouter(
            settings.alerts,
            history,
            channels,
            org_name=org_name,
            on_alert=(
                (lambda a: metrics.alerts.labels("suppressed" if a.suppressed else a.kind).inc())
                if metrics
                else None
            ),
            on_delivery=(
                (lambda ch, outcome: metrics.alert_deliveries.labels(ch, outcome).inc())
                if metrics
                else None
            ),
        )
        router.restore(loaded)
        monitor = Monitor(
            config=settings,
            storage=reader,
            data_dir=Path(config.data_dir),
            writer=ctx.writer,
            hub=ctx.hub,
            executor=executor,
            reports=app.get(REPORTS),
            delivery=DeliveryRecorder(
                on_send=metrics.observe_send if metrics else None,
                on_trigger=metrics.trigger_evaluation.observe if metrics else None,
            ),
            content=ContentRecorder(on_record=metrics.observe_generation if metrics else None),
            alerts=router if settings.alerts.enabled else None,
            metrics=metrics,
            now_ms=ctx.now_ms,
            trigger_timings=_engine_timings(app),
        )
        app[MONITOR] = monitor
        ctx.writer.add_listener(monitor)
        if metrics is not None:
            metrics.bind(writer=ctx.writer, hub=ctx.hub, monitor=monitor)
        runner = None
        if metrics is not None and settings.metrics.port is not None:
            runner = web.AppRunner(metrics_app(metrics))
            await runner.setup()
            site = web.TCPSite(runner, settings.metrics.host, settings.metrics.port)
            await site.start()
            address = runner.addresses[0]
            app[METRICS_ADDRESS] = (address[0], address[1])
            log.info("metrics on http://%s:%s/metrics", address[0], address[1])
        task = asyncio.get_running_loop().create_task(monitor.run(), name="health-monitor")
        try:
            yield
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:  # it ended on its own error: the server stops all the same
                log.exception("the health monitor's loop had stopped")
            if monitor in ctx.writer.listeners:
                ctx.writer.listeners.remove(monitor)
            await router.drain()
            await webhook.close()
            if runner is not None:
                await runner.cleanup()
            executor.shutdown(wait=True)
            reader.close()

    app.cleanup_ctx.append(monitoring)
    return settings


def _engine_timings(app: web.Application) -> Callable[[], list[float]] | None:
    """The automation engine's trigger evaluations since the last call (its public
    ``keep_timings``/``trigger_timings``), or None when no engine runs."""
    from ..automation.wiring import AUTOMATION

    engine = app.get(AUTOMATION)
    if engine is None:
        return None
    engine.keep_timings = True

    def take() -> list[float]:
        taken, engine.trigger_timings = engine.trigger_timings, []
        return taken

    return take


def _secret_box(app: web.Application) -> Any:
    """The automation's secret box (opens the orgs' sealed SMTP passwords), if it runs."""
    from ..automation.wiring import AUTOMATION

    engine = app.get(AUTOMATION)
    return getattr(engine, "box", None)


def _mail_routes(storage: Storage, orgs: list[str], box: Any) -> list[MailRoute]:
    """Per org: its admins and its SMTP settings (the monitor's thread)."""
    routes = []
    for org in orgs:
        admins = [u.email for u in storage.users(org) if u.role == "admin"]
        settings, sender, why = _org_smtp(storage, org, box)
        routes.append(MailRoute(org, settings, sender, admins, why))
    return routes


def _org_smtp(
    storage: Storage, org_id: str, box: Any
) -> tuple[SmtpSettings | None, str | None, str | None]:
    try:
        row = storage.smtp_settings(org_id)
    except (AttributeError, NotImplementedError):
        return None, None, "this store keeps no SMTP settings"
    if row is None:
        return None, None, "the org has no SMTP settings"
    if row.password_sealed is None:
        settings = SmtpSettings(host=row.host, port=row.port, security=row.security)
        return settings, row.from_address, None
    if box is None:
        return None, None, "the SMTP password is sealed and the automation is not running"
    from ..automation.settings import load_smtp

    try:
        org = load_smtp(storage, box, org_id)
    except Exception as exc:  # a password that does not open: say so, never crash the alert
        return None, None, f"the SMTP settings cannot be opened ({type(exc).__name__})"
    if org is None:
        return None, None, "the org has no SMTP settings"
    return org.settings, org.from_address, None
