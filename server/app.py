"""The aiohttp application factory and the server's entry point."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from .campaigns import CampaignDocs
from .config import ServerConfig
from .conflicts import ConflictDetector
from .context import ServerContext
from .fanout import LiveFanout
from .http_api import auth_middleware, error_middleware, routes
from .hub import Hub
from .reports import ReportService
from .storage import open_storage
from .sync_ws import CTX, REPORTS, sync_handler
from .writer import PriorityWriter

log = logging.getLogger(__name__)


def create_app(config: ServerConfig) -> web.Application:
    app = web.Application(middlewares=[error_middleware, auth_middleware], client_max_size=1 << 20)

    async def context(app: web.Application) -> AsyncIterator[None]:
        storage = open_storage(config.database_url or config.data_dir, serving=True)
        reader = storage.reader()
        docs = CampaignDocs()
        docs.hooks.append(ConflictDetector())
        writer = PriorityWriter(storage, max_items=config.writer_max_items, on_rollback=docs.clear)
        hub = Hub()
        ctx = ServerContext(
            config=config,
            storage=storage,
            reader=reader,
            reader_executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="wedsync-reader"),
            writer=writer,
            docs=docs,
            hub=hub,
        )
        app[CTX] = ctx
        app[REPORTS] = reports = ReportService(storage.reader())
        writer.add_listener(reports)
        writer.add_listener(LiveFanout(hub))
        writer.start()
        yield
        app[REPORTS].close()
        await ctx.hub.close_all()
        await writer.stop()
        ctx.reader_executor.shutdown(wait=True)
        reader.close()
        storage.close()

    app.cleanup_ctx.append(context)
    app.router.add_get("/api/v1/sync", sync_handler)
    app.add_routes(routes)
    return app


async def serve(config: ServerConfig, *, ready: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM."""
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    log.info("wedsync server on http://%s:%s data in %s", config.host, config.port, config.data_dir)
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
