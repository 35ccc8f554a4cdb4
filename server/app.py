"""The aiohttp application factory and the server's entry point."""

from __future__ import annotations

import asyncio
import signal
import ssl
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from . import log_epoch, serving_lock
from .automation.wiring import start_automation, stop_automation
from .automation_api import routes as automation_routes
from .campaigns import CampaignDocs
from .config import ServerConfig
from .conflicts import ConflictDetector
from .connections import GUARD, ConnectionGuard, ConnectionLimits, GuardedSite, guard_middleware
from .context import ServerContext
from .fair import FairExecutor
from .fanout import LiveFanout
from .http_api import auth_middleware, error_middleware, routes
from .hub import Hub
from .insights_api import routes as insights_routes
from .logs import get_logger
from .monitoring import install_monitoring
from .openapi import routes as openapi_routes
from .readiness import routes as readiness_routes
from .remote import REMOTE, RemoteCommits
from .report_notices import NOTICES, ReportNotices
from .reports import ReportService
from .sessions_api import routes as session_routes
from .storage import open_storage
from .sync_ws import CTX, REPORTS, sync_handler
from .tracking_api import routes as tracking_routes
from .web.dashboard import install_dashboard
from .writer import PriorityWriter

log = get_logger(__name__)


def create_app(config: ServerConfig) -> web.Application:
    app = web.Application(
        middlewares=[guard_middleware, error_middleware, auth_middleware], client_max_size=1 << 20
    )
    app[GUARD] = ConnectionGuard(
        ConnectionLimits(
            max_connections=config.max_connections,
            max_per_address=config.max_connections_per_address,
            header_timeout_s=config.header_timeout_s,
            idle_timeout_s=config.idle_timeout_s,
            preauth_bytes=config.preauth_frame_bytes,
        )
    )

    async def context(app: web.Application) -> AsyncIterator[None]:
        storage = open_storage(
            config.database_url or config.data_dir, serving=True, durability=config.synchronous
        )
        reader = storage.reader()
        docs = CampaignDocs()
        docs.hooks.append(ConflictDetector())
        writer = PriorityWriter(storage, max_items=config.writer_max_items, on_rollback=docs.clear)
        hub = Hub()
        auth_reader = storage.reader()
        ctx = ServerContext(
            config=config,
            storage=storage,
            reader=reader,
            reader_executor=FairExecutor(
                max_queued_per_key=config.reads_queued_per_org, name="wedsync-reader"
            ),
            writer=writer,
            docs=docs,
            hub=hub,
            auth_reader=auth_reader,
            auth_executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="wedsync-auth"),
            log_epoch=None if config.database_url else log_epoch.load_or_create(config.data_dir),
        )
        app[CTX] = ctx
        app[REPORTS] = reports = ReportService(
            storage.reader(),
            FairExecutor(
                max_queued_per_key=config.reports_queued_per_org,
                name="wedsync-reports",
                what="reports",
            ),
        )
        writer.add_listener(reports)
        writer.add_listener(LiveFanout(hub))
        app[NOTICES] = notices = ReportNotices(hub, now_ms=ctx.now_ms)
        writer.add_listener(notices)
        writer.start()
        await start_automation(app, ctx)  # a commit listener with tasks of its own
        app[REMOTE] = remote = RemoteCommits.attach(storage, writer)  # several processes
        yield
        if remote is not None:
            remote.close()
        app[REPORTS].close()
        notices.close()
        await ctx.hub.close_all()
        await stop_automation(app)
        await writer.stop()
        ctx.reader_executor.shutdown(wait=True)
        ctx.auth_executor.shutdown(wait=True)
        auth_reader.close()
        reader.close()
        storage.close()

    app.cleanup_ctx.append(context)
    app.router.add_get("/api/v1/sync", sync_handler)
    app.add_routes(routes)
    app.add_routes(session_routes)
    app.add_routes(openapi_routes)
    app.add_routes(automation_routes)
    app.add_routes(insights_routes)
    app.add_routes(tracking_routes)  # public: authenticated by their signed tokens
    app.add_routes(readiness_routes)
    install_dashboard(app)  # the CMO's browser view: its own sign-in, by session cookie
    install_monitoring(app, config)  # after the context: starts once the writer runs
    return app


async def serve(config: ServerConfig, *, ready: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM; a data directory is held by one server at a time."""
    if config.database_url is None:
        with serving_lock.hold(config.data_dir, purpose="start a second server"):
            await _serve(config, ready=ready)
    else:
        await _serve(config, ready=ready)


async def _serve(config: ServerConfig, *, ready: asyncio.Event | None) -> None:
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False, keepalive_timeout=config.idle_timeout_s)
    await runner.setup()
    site = await start_site(runner, app, config)
    scheme = "https" if config.tls_cert else "http"
    log.info(
        "wedsync server on %s://%s:%s data in %s", scheme, config.host, site.port, config.data_dir
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def start_site(
    runner: web.AppRunner, app: web.Application, config: ServerConfig
) -> GuardedSite:
    """Listen on ``config.host:config.port`` with the app's connection guard (and TLS when
    configured)."""
    site = GuardedSite(
        runner,
        config.host,
        config.port,
        guard=app[GUARD],
        ssl_context=tls_context(config),
        reuse_port=config.reuse_port or None,
    )
    await site.start()
    return site


def tls_context(config: ServerConfig) -> ssl.SSLContext | None:
    """The server's TLS context from ``--tls-cert``/``--tls-key`` (TLS 1.2 or later), or None."""
    if config.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context
