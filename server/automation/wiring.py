"""How the engine joins the server (``server.app``): its app key, start and stop.

The engine is created in the app's context after the writer, added as a commit listener, and
stopped before the writer; the HTTP routes (``server.automation_api``, ``server.tracking_api``)
find it under ``AUTOMATION``.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from ..errors import ServerError
from .engine import AutomationEngine, EngineConfig
from .secrets import SecretBox, load_secret

log = logging.getLogger(__name__)

AUTOMATION: web.AppKey[AutomationEngine] = web.AppKey("automation", AutomationEngine)


def public_url_of(config: Any) -> str:
    """The base of tracking links: ``--public-url``, else the address the server listens on."""
    url = getattr(config, "public_url", None)
    if url:
        return str(url).rstrip("/")
    scheme = "https" if getattr(config, "tls_cert", None) else "http"
    return f"{scheme}://{config.host}:{config.port}"


def create_engine(ctx: Any, **overrides: Any) -> AutomationEngine:
    """The engine of a server context (its writer, clock and data directory's secret)."""
    config = ctx.config
    box = SecretBox(load_secret(getattr(config, "data_dir", None)))
    engine_config = EngineConfig(public_url=public_url_of(config), **overrides)
    return AutomationEngine(writer=ctx.writer, box=box, config=engine_config, now_ms=ctx.now_ms)


async def start_automation(app: web.Application, ctx: Any) -> AutomationEngine | None:
    """Create the engine, follow the writer's commits, start it (inside the app's context,
    after the writer started). A store without the automation's rows yet (the PostgreSQL
    backend, for now) runs without it: its routes answer ``automation_unavailable``."""
    if not hasattr(ctx.storage, "claim_sends"):
        log.warning("this store has no automation yet: campaigns will not run here")
        return None
    app[AUTOMATION] = engine = create_engine(ctx)
    ctx.writer.add_listener(engine)
    await engine.start()
    log.info("automation running; tracking links on %s", engine.config.public_url)
    return engine


async def stop_automation(app: web.Application) -> None:
    if AUTOMATION in app:
        await app[AUTOMATION].stop()


class AutomationUnavailable(ServerError):
    code = "automation_unavailable"  # type: ignore[assignment]
    http_status = 503


def engine_of(app: web.Application) -> AutomationEngine:
    """The app's engine, or AutomationUnavailable (503) when this store runs none."""
    if AUTOMATION not in app:
        raise AutomationUnavailable("this server's store does not run the automation yet")
    return app[AUTOMATION]
