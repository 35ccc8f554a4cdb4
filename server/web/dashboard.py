"""The CMO's browser view: a read-only business-intelligence dashboard at ``/dashboard``.

* **Same numbers as the app.** The page draws the report that ``GET /api/v1/reports/roi`` answers
  (``ReportService.roi``) for the chosen period (this quarter, the last 30 or 90 days), fetched as
  JSON from ``/dashboard/report``; no figure is computed twice.
* **Sign-in.** The same accounts and roles: a form posting email and password, checked like the
  app's login (``LoginThrottle``, ``PasswordChecker``). A sign-in is a session of the user's like
  a device's (an entry of the user's devices, so admins see and revoke it): a random token, stored
  hashed, in a cookie that is ``HttpOnly``, ``SameSite=Strict``, ``Path=/dashboard`` and ``Secure``
  when the server serves TLS. It ends after ``web_session_idle_s`` unused (the cookie itself after
  as long from the sign-in), on sign-out (revoked server-side) and with the user.
* **CSRF.** The sign-in form carries a random value also set in a ``SameSite=Strict`` cookie
  (double submit); the sign-out form carries an HMAC of the session's token. Both forms are also
  refused when the browser's ``Origin`` is not this server.
* **Live.** ``/dashboard/events`` is a stream of server-sent events fed by the throttled
  ``report_changed`` signal (``server.report_notices``); the page re-fetches the report on each.
* **Offline.** A web manifest and a service worker (``static/sw.js``) make it an installable
  app; the worker keeps the page's shell and the last report, so a phone that loses its
  connection shows the last snapshot with its "as of" time.

Everything is served from the package (``server/web/static``, ``server/web/templates``): no build
step, no CDN. The session's org is the only org whose figures the page can ask for.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from ..auth import Principal, hash_token, new_token
from ..errors import AuthError, BadRequest, Overloaded, RateLimited
from ..logs import get_logger
from ..report_notices import NOTICES
from ..sync_ws import CTX, REPORTS

log = get_logger(__name__)

HERE = Path(__file__).parent
STATIC = HERE / "static"
SESSION_COOKIE = "wedsync_session"
CSRF_COOKIE = "wedsync_csrf"
COOKIE_PATH = "/dashboard"
DEVICE_NAME = "Browser (dashboard)"
PERIODS = {"quarter": "This quarter", "30d": "Last 30 days", "90d": "Last 90 days"}
DAY_MS = 86_400_000
#: server-sent event streams open at once per org; beyond, 503
MAX_STREAMS_PER_ORG = 64
HEARTBEAT_S = 15.0
MAX_FIELD = {"email": 320, "password": 1024, "org": 200, "csrf": 100}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    # not no-referrer: with it a browser sends "Origin: null" on the pages' own form posts
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
routes = web.RouteTableDef()
STREAMS = web.AppKey("dashboard_streams", dict)


# ---------------------------------------------------------------------- periods


def period_window(period: str, now_ms: int) -> tuple[int, int]:
    """``[from_ms, to_ms)`` of a period ending now: the calendar quarter so far (UTC), or the
    last 30 or 90 days."""
    if period == "quarter":
        now = datetime.fromtimestamp(now_ms / 1000, UTC)
        start = datetime(now.year, 3 * ((now.month - 1) // 3) + 1, 1, tzinfo=UTC)
        return int(start.timestamp() * 1000), now_ms
    if period in ("30d", "90d"):
        return now_ms - int(period[:-1]) * DAY_MS, now_ms
    raise BadRequest(f"'period' must be one of {', '.join(PERIODS)}")


# ---------------------------------------------------------------------- sessions


def _secure(request: web.Request) -> bool:
    return request.app[CTX].config.tls_cert is not None or request.secure


def _set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, *,
                max_age: int | None) -> None:  # fmt: skip
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
    )


def logout_token(session_token: str) -> str:
    """The sign-out form's CSRF value: bound to the session, never stored."""
    return hmac.new(session_token.encode(), b"dashboard-logout", hashlib.sha256).hexdigest()


async def session_principal(request: web.Request) -> tuple[Principal, str]:
    """The signed-in user of the session cookie, and its token; ``AuthError`` otherwise."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise AuthError("not signed in")
    ctx = request.app[CTX]
    if len(token) > 200 or not token.isascii():
        raise AuthError("malformed session; sign in again")
    device = await ctx.auth_read(lambda st: st.device_by_token_hash(hash_token(token)))
    idle_ms = int(ctx.config.web_session_idle_s * 1000)
    if device is not None and device.last_used_ms is not None:
        if ctx.now_ms() - device.last_used_ms > idle_ms:
            await ctx.writer.run_exclusive(
                lambda st: st.revoke_device(device.device_id, org_id=device.org_id)
            )
            raise AuthError("session expired; sign in again")
    principal = await ctx.authenticate(token)  # revoked, disabled, deleted: refused here
    principal.require("read")
    return principal, token


def _same_origin(request: web.Request) -> bool:
    """A form post from this server's own pages: the browser's ``Sec-Fetch-Site`` says so, or
    else its ``Origin`` is this server (neither: an older browser, allowed, as the CSRF token is
    checked anyway)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.host


def _redirect(location: str) -> web.Response:
    response = web.Response(status=303, headers={"Location": location})
    response.headers["Cache-Control"] = "no-store"
    return response


def _html(body: str, *, status: int = 200) -> web.Response:
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _login_page(
    request: web.Request,
    *,
    error: str | None = None,
    status: int = 200,
    email: str = "",
    ask_org: bool = False,
) -> web.Response:
    csrf = request.cookies.get(CSRF_COOKIE, "")
    if not (32 <= len(csrf) <= MAX_FIELD["csrf"]) or not csrf.isascii():
        csrf = secrets.token_urlsafe(32)
    page = _templates.get_template("login.html").render(
        csrf=csrf, error=error, email=email, ask_org=ask_org
    )
    response = _html(page, status=status)
    _set_cookie(request, response, CSRF_COOKIE, csrf, max_age=3600)
    return response


# ---------------------------------------------------------------------- pages


@routes.get("/dashboard/login")
async def login_page(request: web.Request) -> web.Response:
    try:
        await session_principal(request)
    except AuthError:
        return _login_page(request)
    return _redirect("/dashboard")


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_type != "application/x-www-form-urlencoded":
        raise BadRequest("expected a form (application/x-www-form-urlencoded)")
    if request.content_length is not None and request.content_length > 8192:
        raise BadRequest("form larger than 8192 bytes")
    form = await request.post()
    fields: dict[str, str] = {}
    for key, limit in MAX_FIELD.items():
        value = form.get(key, "")
        if not isinstance(value, str) or len(value) > limit:
            raise BadRequest(f"{key!r} must be text of at most {limit} characters")
        fields[key] = value
    return fields


@routes.post("/dashboard/login")
async def login(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    try:
        fields = await _form(request)
    except BadRequest as exc:
        return _login_page(request, error=exc.message, status=400)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if (
        not _same_origin(request)
        or not cookie
        or not hmac.compare_digest(cookie.encode(), fields["csrf"].encode())
    ):
        return _login_page(
            request, error="The form expired or came from elsewhere: try again.", status=403
        )
    email, password, org = fields["email"].strip(), fields["password"], fields["org"].strip()
    if not email or not password:
        return _login_page(request, error="Enter your email and password.", status=400, email=email)
    address = request.remote or "unknown"
    try:
        ctx.login_throttle.check(account=email, address=address)
    except RateLimited as exc:
        response = _login_page(request, error=exc.message, status=429, email=email)
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        return response
    try:
        candidates = await ctx.auth_read(lambda st: st.users_by_email(email))
        if org:
            candidates = [u for u in candidates if org in (u.org_name, u.org_id)]
        matches = await ctx.passwords.matching(password, candidates)
    except Overloaded as exc:
        return _login_page(request, error=exc.message, status=503, email=email)
    if not matches:
        ctx.login_throttle.failed(account=email, address=address)
        return _login_page(request, error="Wrong email or password.", status=401, email=email)
    if len(matches) > 1:
        message = "This email and password open several organisations: name one."
        return _login_page(request, error=message, status=409, email=email, ask_org=True)
    ctx.login_throttle.succeeded(account=email)
    user = matches[0]
    token = new_token()
    device_id = await ctx.writer.run_exclusive(
        lambda st: st.create_device(
            user_id=user.id, org_id=user.org_id, name=DEVICE_NAME, token_hash=hash_token(token)
        )
    )
    principal = Principal(user.id, user.email, user.org_id, user.role, device_id)
    await ctx.audit(principal, action="dashboard_login", target=device_id, outcome="ok")
    response = _redirect("/dashboard")
    _set_cookie(
        request, response, SESSION_COOKIE, token, max_age=max(1, int(ctx.config.web_session_idle_s))
    )
    response.del_cookie(CSRF_COOKIE, path=COOKIE_PATH)
    return response


@routes.post("/dashboard/logout")
async def logout(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    try:
        principal, token = await session_principal(request)
    except AuthError:
        return _redirect("/dashboard/login")
    fields = await _form(request)
    if not _same_origin(request) or not hmac.compare_digest(
        logout_token(token).encode(), fields["csrf"].encode()
    ):
        return _html("<p>Sign-out refused: the form came from elsewhere.</p>", status=403)
    await ctx.writer.run_exclusive(
        lambda st: st.revoke_device(principal.device_id, org_id=principal.org_id)
    )
    await ctx.audit(principal, action="dashboard_logout", target=principal.device_id, outcome="ok")
    _end_streams(request.app, principal.device_id)
    response = _redirect("/dashboard/login")
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    # the service worker's copies of the page and the report go with the session
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@routes.get("/dashboard")
async def dashboard(request: web.Request) -> web.Response:
    try:
        principal, token = await session_principal(request)
    except AuthError:
        return _redirect("/dashboard/login")
    period = request.query.get("period", "quarter")
    if period not in PERIODS:
        raise BadRequest(f"'period' must be one of {', '.join(PERIODS)}")
    page = _templates.get_template("dashboard.html").render(
        user=principal.email,
        role=principal.role,
        periods=PERIODS,
        period=period,
        logout_csrf=logout_token(token),
    )
    return _html(page)


@routes.get("/dashboard/report")
async def report(request: web.Request) -> web.Response:
    """The org's ROI report for a period, as the app receives it, with the period's name and
    when it was made."""
    principal, _ = await session_principal(request)
    ctx = request.app[CTX]
    period = request.query.get("period", "quarter")
    now = ctx.now_ms()
    from_ms, to_ms = period_window(period, now)
    body = await request.app[REPORTS].roi(principal.org_id, from_ms=from_ms, to_ms=to_ms)
    response = web.json_response(
        {"period": period, "as_of_ms": now, "user": principal.email, "report": body},
        dumps=lambda v: json.dumps(v, allow_nan=False, default=str),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------- live


def _end_streams(app: web.Application, device_id: str | None) -> None:
    """Stop the event streams of a session (None: all, at shutdown)."""
    for stop, owner in list(app[STREAMS].items()):
        if device_id is None or owner == device_id:
            stop.set()


@routes.get("/dashboard/events")
async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``report_changed`` with ``{"as_of_ms"}`` when the org's report
    inputs change (throttled), a comment every ``HEARTBEAT_S``; the stream ends with the
    session."""
    principal, token = await session_principal(request)
    notices = request.app[NOTICES]
    if notices.subscribers(principal.org_id) >= MAX_STREAMS_PER_ORG:
        raise Overloaded("too many live dashboards open for this organisation")
    changed: asyncio.Queue[int] = asyncio.Queue(maxsize=1)

    def on_change(as_of_ms: int) -> None:
        with contextlib.suppress(asyncio.QueueEmpty):
            changed.get_nowait()  # only the latest matters
        changed.put_nowait(as_of_ms)

    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: pass events on as they come
        }
    )
    await response.prepare(request)
    stop = asyncio.Event()
    request.app[STREAMS][stop] = principal.device_id
    unsubscribe = notices.subscribe(principal.org_id, on_change)
    try:
        await response.write(b"retry: 3000\n\n")
        while not stop.is_set():
            getter = asyncio.ensure_future(changed.get())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({getter, stopper}, timeout=HEARTBEAT_S,
                                         return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            for task in (getter, stopper):
                if task not in done:
                    task.cancel()
            if getter in done:
                data = json.dumps({"as_of_ms": getter.result()})
                await response.write(f"event: report_changed\ndata: {data}\n\n".encode())
            elif not done:
                await session_principal(request)  # a revoked or expired session ends here
                await response.write(b": still here\n\n")
    except (AuthError, ConnectionError):
        pass
    finally:
        unsubscribe()
        request.app[STREAMS].pop(stop, None)
    return response


# ---------------------------------------------------------------------- the app shell


@routes.get("/dashboard/sw.js")
async def service_worker(request: web.Request) -> web.Response:
    response = web.FileResponse(STATIC / "sw.js")
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Service-Worker-Allowed"] = COOKIE_PATH
    response.headers["Cache-Control"] = "no-cache"
    return response


@routes.get("/dashboard/manifest.webmanifest")
async def manifest(request: web.Request) -> web.Response:
    response = web.FileResponse(STATIC / "manifest.webmanifest")
    response.headers["Content-Type"] = "application/manifest+json"
    return response


async def _shutdown(app: web.Application) -> None:
    _end_streams(app, None)


def install_dashboard(app: web.Application) -> None:
    """The dashboard's routes, its static files and its streams' shutdown."""
    app[STREAMS] = {}
    app.add_routes(routes)
    app.router.add_static("/dashboard/static", STATIC, append_version=False)
    app.on_shutdown.append(_shutdown)
