"""Sessions over HTTP: log out, rotate a token, and an org admin's hold on its users' devices.

A device token works until it is revoked (logout, an admin), its user is disabled or deleted,
or it goes unused for ``token_idle_lifetime_s`` (30 days by default; each use renews it, see
``ServerContext.authenticate``). Revoking closes the device's open websocket at once, and
disabling or deleting a user closes all of theirs. Rotation gives the calling device a new token
and ends the old one; the device keeps its id, so its queue and its place in the org's data stay
as they are. Everything here acts within the caller's org: another org's user or device is not
found, like one that does not exist.
"""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web

from shared.protocol.ids import is_id

from .auth import hash_token, new_token
from .errors import BadRequest, NotFoundError
from .http_api import principal_of, require
from .sync_ws import CTX

routes = web.RouteTableDef()


def _id(request: web.Request, key: str) -> str:
    value = request.match_info[key]
    if not is_id(value):
        raise BadRequest(f"{value[:40]!r} is not an id")
    return value


@routes.post("/api/v1/logout")
async def logout(request: web.Request) -> web.Response:
    """Revoke the calling device's token (server side: it stops working everywhere)."""
    ctx, p = request.app[CTX], principal_of(request)
    await ctx.writer.run_exclusive(lambda st: st.revoke_device(p.device_id, org_id=p.org_id))
    ctx.hub.close_where(lambda q: q.device_id == p.device_id, reason=b"logged out")
    await ctx.audit(p, action="logout", target=p.device_id, outcome="ok")
    return web.json_response({"logged_out": True, "device_id": p.device_id})


@routes.post("/api/v1/token/rotate")
async def rotate_token(request: web.Request) -> web.Response:
    """A new token for the calling device; the one it called with stops working."""
    ctx, p = request.app[CTX], principal_of(request)
    token = new_token()
    await ctx.writer.run_exclusive(lambda st: st.replace_token(p.device_id, hash_token(token)))
    await ctx.audit(p, action="rotate_token", target=p.device_id, outcome="ok")
    return web.json_response({"token": token, "device_id": p.device_id})


@routes.get("/api/v1/users/{user_id}/devices")
async def user_devices(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    user_id = _id(request, "user_id")
    await require(ctx, p, "manage_users", user_id)
    devices = await ctx.read(lambda st: st.user_devices(user_id, org_id=p.org_id))
    return web.json_response({"devices": [asdict(d) for d in devices]})


@routes.post("/api/v1/devices/{device_id}/revoke")
async def revoke_device(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    device_id = _id(request, "device_id")
    await require(ctx, p, "manage_users", device_id)
    if not await ctx.writer.run_exclusive(lambda st: st.revoke_device(device_id, org_id=p.org_id)):
        raise NotFoundError(f"no device {device_id} to revoke")
    closed = ctx.hub.close_where(lambda q: q.device_id == device_id, reason=b"revoked")
    await ctx.audit(p, action="revoke_device", target=device_id, outcome="ok")
    return web.json_response({"revoked": device_id, "connections_closed": closed})


async def _set_disabled(request: web.Request, disabled: bool) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    user_id = _id(request, "user_id")
    await require(ctx, p, "manage_users", user_id)
    if disabled and user_id == p.user_id:
        raise BadRequest("an admin cannot disable their own account")
    done = await ctx.writer.run_exclusive(
        lambda st: st.set_user_disabled(user_id, org_id=p.org_id, disabled=disabled)
    )
    if not done:
        raise NotFoundError(f"no user {user_id}")
    closed = 0
    if disabled:
        closed = ctx.hub.close_where(lambda q: q.user_id == user_id, reason=b"user disabled")
    action = "disable_user" if disabled else "enable_user"
    await ctx.audit(p, action=action, target=user_id, outcome="ok")
    return web.json_response({"user": user_id, "disabled": disabled, "connections_closed": closed})


@routes.post("/api/v1/users/{user_id}/disable")
async def disable_user(request: web.Request) -> web.Response:
    return await _set_disabled(request, True)


@routes.post("/api/v1/users/{user_id}/enable")
async def enable_user(request: web.Request) -> web.Response:
    return await _set_disabled(request, False)


@routes.delete("/api/v1/users/{user_id}")
async def delete_user(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    user_id = _id(request, "user_id")
    await require(ctx, p, "manage_users", user_id)
    if user_id == p.user_id:
        raise BadRequest("an admin cannot delete their own account")
    if not await ctx.writer.run_exclusive(lambda st: st.delete_user(user_id, org_id=p.org_id)):
        raise NotFoundError(f"no user {user_id}")
    closed = ctx.hub.close_where(lambda q: q.user_id == user_id, reason=b"user deleted")
    await ctx.audit(p, action="delete_user", target=user_id, outcome="ok")
    return web.json_response({"deleted": user_id, "connections_closed": closed})
