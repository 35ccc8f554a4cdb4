"""``GET /readyz``: whether this server process can do its work now, for a load balancer.

Ready means the writer runs (it commits what devices push) and the store answers
(``Storage.reachable``: a connection of its own, never one the writer or a pool holds, within
``TIMEOUT_S``). While the database is unreachable the answer is
503 with the reason, so a load balancer sends devices to a process that can commit; devices
already connected keep their queue (nothing is acked that was not committed). ``/readyz`` is
outside ``/api/``: no token needed, and it says nothing about any org.
"""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

from .sync_ws import CTX

TIMEOUT_S = 2.0
routes = web.RouteTableDef()


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    ctx = request.app.get(CTX)
    if ctx is None or not ctx.writer.running:  # starting, stopping, or its loop died
        return web.json_response(
            {"ready": False, "reason": "the writer is not running"}, status=503
        )
    storage = ctx.storage
    try:
        ok = await asyncio.wait_for(asyncio.to_thread(storage.reachable, TIMEOUT_S), TIMEOUT_S + 1)
    except TimeoutError:
        ok = False
    if ok:
        return web.json_response({"ready": True, "pid": os.getpid()})
    return web.json_response(
        {"ready": False, "reason": f"the store does not answer ({storage.location})"}, status=503
    )
