"""The HTTP API (JSON): login, accounts, campaigns, audit, stats.

Every route but ``POST /api/v1/login`` needs ``Authorization: Bearer <device token>``; every
refusal is a JSON problem ``{"error": {"code", "message"}}`` with its HTTP status.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from shared.protocol.errors import ErrorCode, ProtocolError
from shared.protocol.events import MAX_OCCURRED_MS, MIN_OCCURRED_MS, ms_from_iso
from shared.protocol.ids import is_id

from . import conflicts
from .accounts import check_email, check_password
from .auth import ROLES, Principal, hash_password, hash_token, new_token
from .context import ServerContext
from .errors import (
    AlreadyExists,
    AuthError,
    BadRequest,
    Forbidden,
    NotFoundError,
    RateLimited,
    ServerError,
)
from .fair import TURN
from .logs import get_logger
from .sync_ws import CTX, REPORTS

log = get_logger(__name__)
PRINCIPAL = web.RequestKey("principal", Principal)
MAX_BODY_BYTES = 1 << 20
PUBLIC_ROUTES = {("POST", "/api/v1/login"), ("GET", "/api/v1/openapi.json")}
routes = web.RouteTableDef()


def problem(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable]
) -> Any:
    try:
        return await handler(request)
    except RateLimited as exc:
        response = problem(exc.http_status, str(exc.code), exc.message)
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        return response
    except ServerError as exc:
        return problem(exc.http_status, str(exc.code), exc.message)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            code = ErrorCode.NOT_FOUND if exc.status == 404 else ErrorCode.BAD_REQUEST
            return problem(exc.status, str(code), exc.reason)
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return problem(500, str(ErrorCode.INTERNAL), "internal error")


@web.middleware
async def auth_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable]) -> Any:
    if (request.method, request.path) in PUBLIC_ROUTES or not request.path.startswith("/api/"):
        return await handler(request)
    if request.path == "/api/v1/sync":  # the websocket authenticates in its HELLO frame
        return await handler(request)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise AuthError("missing 'Authorization: Bearer <token>' header")
    request[PRINCIPAL] = principal = await request.app[CTX].authenticate(header[7:].strip())
    TURN.set(principal.org_id)  # the request's reads take its org's turn
    return await handler(request)


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


MAX_JSON_DEPTH = 32


async def json_body(request: web.Request) -> dict[str, Any]:
    """The whole body (however many TCP writes it came in), within ``MAX_BODY_BYTES`` and the
    body timeout, as a JSON object of at most ``MAX_JSON_DEPTH`` levels of valid Unicode."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BadRequest(f"body larger than {MAX_BODY_BYTES} bytes")
    timeout_s = request.app[CTX].config.body_timeout_s
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            while chunk := await request.content.read(64 * 1024):
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise BadRequest(f"body larger than {MAX_BODY_BYTES} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise web.HTTPRequestTimeout(reason=f"body not received within {timeout_s:g} s") from None
    return parse_json_object(b"".join(chunks))


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object from untrusted bytes, or BadRequest (never a RecursionError or a value
    that cannot be stored: a lone surrogate, a nesting deeper than ``MAX_JSON_DEPTH``)."""
    try:
        body = json.loads(raw or b"{}", parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, huge integers
        raise BadRequest(f"body is not JSON ({str(exc)[:200]})") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    _check_values(body)
    return body


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_values(value: Any) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, int) and not -(2**63) <= item < 2**63:
            raise BadRequest("integers must fit in 64 bits")
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(f"body nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                for key in item:
                    _check_text(key)
                item = item.values()
            stack.extend((v, depth + 1) for v in item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("text must be valid Unicode (no lone surrogates)") from None


def _str_field(body: dict[str, Any], key: str, *, required: bool = True, limit: int = 320) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadRequest(f"{key!r} must be a non-empty string of at most {limit} characters")
    return value


async def require(
    ctx: ServerContext, principal: Principal, action: str, target: str | None
) -> None:
    try:
        principal.require(action)
    except Forbidden as exc:
        await ctx.refuse(principal, exc, action=action, target=target)
        raise


@routes.post("/api/v1/login")
async def login(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    body = await json_body(request)
    email = _str_field(body, "email")
    password = _str_field(body, "password", limit=1024)
    device_name = _str_field(body, "device_name", required=False, limit=200) or "device"
    device_hint = body.get("device_id") if is_id(body.get("device_id")) else None
    org = body.get("org") if isinstance(body.get("org"), str) else None
    address = request.remote or "unknown"
    ctx.login_throttle.check(account=email, address=address)  # 429 while either must wait
    # Emails are unique within an org only: the user is the one whose password matches (of
    # the org named, when one is). An unknown email costs the same check (``server.login``).
    candidates = await ctx.auth_read(lambda st: st.users_by_email(email))
    if org is not None:
        candidates = [u for u in candidates if org in (u.org_name, u.org_id)]
    matches = await ctx.passwords.matching(password, candidates)
    if not matches:
        ctx.login_throttle.failed(account=email, address=address)
        raise AuthError("wrong email or password")
    if len(matches) > 1:
        raise AlreadyExists("this email and password open several organisations: name one ('org')")
    ctx.login_throttle.succeeded(account=email)
    user = matches[0]
    token = new_token()
    device_id = await ctx.writer.run_exclusive(
        lambda st: st.create_device(
            user_id=user.id,
            org_id=user.org_id,
            name=device_name,
            token_hash=hash_token(token),
            device_id=device_hint,
        )
    )
    return web.json_response(
        {
            "token": token,
            "device_id": device_id,
            "user": user.email,
            "org": user.org_name,
            "org_id": user.org_id,
            "role": user.role,
        }
    )


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    p = principal_of(request)
    return web.json_response(
        {
            "user": p.email,
            "user_id": p.user_id,
            "org_id": p.org_id,
            "role": p.role,
            "device_id": p.device_id,
        }
    )


@routes.get("/api/v1/users")
async def list_users(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "manage_users", None)
    users = await ctx.read(lambda st: st.users(p.org_id))
    return web.json_response({"users": [asdict(u) for u in users]})


@routes.post("/api/v1/users")
async def create_user(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    body = await json_body(request)
    await require(
        ctx, p, "manage_users", body.get("email") if isinstance(body.get("email"), str) else None
    )
    email = check_email(body.get("email"))
    password = check_password(body.get("password"), email=email)
    role = body.get("role")
    if role not in ROLES:
        raise BadRequest(f"'role' must be one of {', '.join(ROLES)}")
    hashed = await asyncio.get_running_loop().run_in_executor(None, hash_password, password)
    user_id = await ctx.writer.run_exclusive(
        lambda st: st.create_user(org_id=p.org_id, email=email, password_hash=hashed, role=role)
    )
    await ctx.audit(p, action="create_user", target=email, outcome="ok", detail={"role": role})
    return web.json_response({"id": user_id, "email": email, "role": role}, status=201)


@routes.get("/api/v1/campaigns")
async def list_campaigns(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    rows = await ctx.read(lambda st: st.campaigns(p.org_id))
    return web.json_response({"campaigns": [{"id": r.id, **r.snapshot} for r in rows]})


async def campaign_of_org(ctx: ServerContext, p: Principal, campaign_id: str, action: str):
    """The caller's org's campaign, or NOT_FOUND (ids are keys within an org: another org's
    campaign of the same id is not looked at, and the answer is the same as for none)."""
    if not is_id(campaign_id):
        raise BadRequest(f"{campaign_id!r} is not a campaign id")
    row = await ctx.read(lambda st: st.campaign(campaign_id, org_id=p.org_id))
    if row is None:
        raise NotFoundError(f"no campaign {campaign_id}")
    return row


@routes.get("/api/v1/campaigns/{campaign_id}")
async def get_campaign(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    row = await campaign_of_org(ctx, p, request.match_info["campaign_id"], "read_campaign")
    return web.json_response({"id": row.id, **row.snapshot})


@routes.get("/api/v1/audit")
async def audit_log(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "read_audit", None)
    limit = int_param(request, "limit", default=200, low=1, high=5000)
    entries = await ctx.read(lambda st: st.audit_entries(p.org_id, limit))
    return web.json_response({"entries": [asdict(e) for e in entries]})


@routes.get("/api/v1/stats")
async def stats(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "manage_users", None)
    # the caller's org only: server-wide figures are the operator's (`wedsync admin stats`)
    body = await ctx.read(lambda st: st.org_stats(p.org_id))
    body["connected_devices"] = ctx.hub.count_org(p.org_id)
    return web.json_response(body)


def _conflict_view(conflict: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    view = {k: v for k, v in conflict.items() if k != "org_id"}
    view["campaign_name"] = names.get(conflict["campaign_id"])
    return view


@routes.get("/api/v1/conflicts")
async def list_conflicts(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    status = request.query.get("status", "open")
    if status not in ("open", "resolved", "all"):
        raise BadRequest("'status' must be open, resolved or all")

    def read(st):
        names = {r.id: r.snapshot.get("name") for r in st.campaigns(p.org_id)}
        items = st.conflicts(p.org_id, None if status == "all" else status)
        return [_conflict_view(c, names) for c in items]

    return web.json_response({"conflicts": await ctx.read(read)})


async def _conflict_or_refuse(ctx: ServerContext, p: Principal, conflict_id: str, action: str):
    if not is_id(conflict_id):
        raise BadRequest(f"{conflict_id!r} is not a conflict id")
    try:
        return await ctx.read(lambda st: conflicts.conflict_for(st, p, conflict_id))
    except Forbidden as exc:
        await ctx.refuse(p, exc, action=action, target=conflict_id)
        raise


@routes.get("/api/v1/conflicts/{conflict_id}")
async def get_conflict(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    conflict = await _conflict_or_refuse(ctx, p, request.match_info["conflict_id"], "read_conflict")
    row = await ctx.read(lambda st: st.campaign(conflict["campaign_id"], org_id=p.org_id))
    return web.json_response(
        _conflict_view(conflict, {row.id: row.snapshot.get("name")} if row else {})
    )


@routes.post("/api/v1/conflicts/{conflict_id}/resolve")
async def resolve_conflict(request: web.Request) -> web.Response:
    """The role, the org and the decision are checked once, in the writer's transaction that
    applies the decision and writes its audit entry (``conflicts.ResolveConflict``)."""
    ctx, p = request.app[CTX], principal_of(request)
    body = await json_body(request)
    job = conflicts.ResolveConflict(
        ctx.docs,
        p,
        request.match_info["conflict_id"],
        candidate=body.get("candidate"),
        value=body.get("value"),
        comment=body.get("comment"),
        now_ms=ctx.now_ms(),
    )
    result = await ctx.writer.submit(1, 1, job)
    if result.refused is not None:
        raise result.refused
    return web.json_response(_conflict_view(result.record, {}))


def int_param(request: web.Request, key: str, *, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``low..high`` (400 otherwise)."""
    raw = request.query.get(key)
    if raw is None or raw == "":
        return default
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
    if value is None or not low <= value <= high:
        raise BadRequest(f"{key!r} must be an integer from {low} to {high}")
    return value


def _time_param(request: web.Request, key: str) -> int | None:
    """A time (ISO-8601 or epoch milliseconds) between 2000 and 2100, like events' times: the
    reports' windows stay within the range the analytics are sized for."""
    raw = request.query.get(key)
    if raw is None or raw == "":
        return None
    problem = f"{key!r} must be an ISO-8601 time or epoch milliseconds between 2000 and 2100"
    if raw.isascii() and raw.isdigit():
        value = int(raw) if len(raw) <= 18 else -1
    else:
        try:
            value = ms_from_iso(raw)
        except (ProtocolError, OverflowError, ValueError):
            raise BadRequest(problem) from None
    if not MIN_OCCURRED_MS <= value <= MAX_OCCURRED_MS + 1:
        raise BadRequest(problem)
    return value


@routes.get("/api/v1/reports/roi")
async def roi_report(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "read", None)
    from_ms, to_ms = _time_param(request, "from"), _time_param(request, "to")
    if from_ms is not None and to_ms is not None and from_ms >= to_ms:
        raise BadRequest("'from' must be before 'to'")
    report = await request.app[REPORTS].roi(p.org_id, from_ms=from_ms, to_ms=to_ms)
    return web.json_response(report)


@routes.get("/api/v1/health")
async def health(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    # what any role may see: the server is up, and its own org's connected devices (the
    # server's queues and totals are the operator's: /readyz, `wedsync admin stats`)
    return web.json_response({"status": "ok", "connected_devices": ctx.hub.count_org(p.org_id)})
