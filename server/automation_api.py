"""The automation's HTTP API (JSON, ``Authorization: Bearer <device token>``, checked against the
org and the role): a campaign's run view, an email preview, a test send, the org's SMTP
settings. The shapes are the contract in ``docs/automation.md`` (*HTTP*).

* ``GET /api/v1/campaigns/{id}/run`` (any role of the org): the run view (``run_view``).
* ``POST /api/v1/campaigns/{id}/preview`` (any role) ``{"variant"?, "contact"?}``:
  ``{"subject", "text", "html"}`` rendered with personalisation fallbacks.
* ``POST /api/v1/campaigns/{id}/test-send`` (admin, marketer) ``{"to", "variant"?,
  "contact"?}``: ``{"message_id", "accepted", "error"?: {"code", "message"}}``; untracked.
* ``GET /api/v1/smtp`` (admin): the settings without the password (``password_set``), or
  ``{"configured": false}``; ``PUT /api/v1/smtp`` (admin) ``{"host", "port", "security",
  "user", "password"?, "from"}`` (no password: the stored one is kept); ``POST
  /api/v1/smtp/test`` (admin) ``{"to"}``: ``{"accepted", "error"?}``.

Errors: ``bad_request`` (400) for a malformed body, ``forbidden`` (403, audited) for a role or
another org, ``not_found`` (404), ``smtp_not_configured`` (409) for a send with no SMTP
settings, ``template_invalid`` / ``template_render_failed`` / ``address_invalid`` /
``smtp_settings_invalid`` (422). Changes to the SMTP settings and test sends are audited (never
with the password).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shared.protocol.ids import new_id

from .automation.allocation import saved_state
from .automation.mailer import DEFAULT_FALLBACKS, personal_fields, send_test
from .automation.run_view import build_run_view
from .automation.settings import OrgSmtp, load_smtp, save_smtp
from .automation.wiring import engine_of
from .delivery.errors import DeliveryCode, DeliveryError
from .delivery.message import check_address, html_from_text
from .delivery.render import render_variant
from .delivery.smtp import SendResult, SendStatus
from .errors import BadRequest, Forbidden, ServerError
from .http_api import campaign_of_org, json_body, principal_of, require
from .sync_ws import CTX

routes = web.RouteTableDef()


class SmtpNotConfigured(ServerError):
    code = "smtp_not_configured"  # type: ignore[assignment]
    http_status = 409


async def _admin(request: web.Request, action: str) -> Any:
    ctx, p = request.app[CTX], principal_of(request)
    if p.role != "admin":
        exc = Forbidden(f"role {p.role!r} may not manage the mail server settings")
        await ctx.refuse(p, exc, action=action, target=None)
        raise exc
    return p


def _optional_text(body: dict[str, Any], key: str, limit: int = 320) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise BadRequest(f"{key!r} must be text of at most {limit} characters")
    return value


def _contact_fields(body: dict[str, Any]) -> dict[str, Any]:
    fields = body.get("contact") or {}
    if not isinstance(fields, dict) or not all(isinstance(k, str) for k in fields):
        raise BadRequest("'contact' must be an object of personalisation fields")
    return fields


def _pick_variant(snapshot: dict[str, Any], variant_id: str | None) -> dict[str, Any]:
    variants = [v for v in snapshot.get("variants") or [] if isinstance(v, dict)]
    if variant_id is not None:
        for variant in variants:
            if variant.get("id") == variant_id:
                return variant
        raise BadRequest(f"the campaign has no variant {variant_id!r}")
    for variant in variants:
        if str(variant.get("subject") or "").strip() and str(variant.get("body") or "").strip():
            return variant
    raise DeliveryError(
        DeliveryCode.TEMPLATE_INVALID, "the campaign has no variant with a subject and a body"
    )


def _error(result: SendResult) -> dict[str, Any] | None:
    if result.status == SendStatus.SENT:
        return None
    code = {
        SendStatus.BOUNCED: "smtp_refused_recipient",
        SendStatus.DEFERRED: "smtp_unavailable",
        SendStatus.FAILED: "smtp_refused_settings",
    }[result.status]
    reply = f"{result.code} " if result.code else ""
    return {"code": code, "message": f"{reply}{result.detail}".strip()[:500]}


async def _smtp(request: web.Request, org_id: str) -> OrgSmtp:
    ctx, engine = request.app[CTX], engine_of(request.app)
    smtp = await ctx.read(lambda st: load_smtp(st, engine.box, org_id))
    if smtp is None:
        raise SmtpNotConfigured(
            "this organisation has no mail server settings: an admin sets them "
            "(PUT /api/v1/smtp or wedsync admin smtp set)"
        )
    return smtp


@routes.get("/api/v1/campaigns/{campaign_id}/run")
async def campaign_run(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "read", None)
    row = await campaign_of_org(ctx, p, request.match_info["campaign_id"], "read_campaign")
    as_of = ctx.now_ms()
    steps = [
        str(s.get("id"))
        for s in row.snapshot.get("steps") or []
        if isinstance(s, dict) and s.get("kind") == "send_email"
    ]

    def read(st: Any) -> tuple[Any, Any, dict[str, Any]]:
        enrolments, sends = st.campaign_run_rows(row.id)
        tests = {step: saved_state(st, row.id, step) for step in steps}
        return enrolments, sends, {k: v for k, v in tests.items() if v}

    enrolments, sends, tests = await ctx.read(read)
    return web.json_response(
        build_run_view(row.id, row.snapshot, enrolments, sends, as_of_ms=as_of, tests=tests)
    )


@routes.post("/api/v1/campaigns/{campaign_id}/preview")
async def campaign_preview(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "read", None)
    body = await json_body(request)
    row = await campaign_of_org(ctx, p, request.match_info["campaign_id"], "read_campaign")
    variant = _pick_variant(row.snapshot, _optional_text(body, "variant", 100))
    fields = _contact_fields(body)
    email = fields.get("email") if isinstance(fields.get("email"), str) else "someone@example.com"
    content = render_variant(variant, personal_fields(email, fields), fallbacks=DEFAULT_FALLBACKS)
    return web.json_response(
        {
            "subject": content.subject,
            "text": content.text,
            "html": content.html if content.html else html_from_text(content.text),
        }
    )


@routes.post("/api/v1/campaigns/{campaign_id}/test-send")
async def campaign_test_send(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "edit_campaigns", request.match_info["campaign_id"])
    body = await json_body(request)
    to = _optional_text(body, "to")
    if to is None:
        raise BadRequest("'to' must name the address to send the test to")
    check_address(to)
    row = await campaign_of_org(ctx, p, request.match_info["campaign_id"], "test_send")
    variant = _pick_variant(row.snapshot, _optional_text(body, "variant", 100))
    smtp = await _smtp(request, p.org_id)
    engine = engine_of(request.app)
    message_id, result = await send_test(
        smtp,
        to=to,
        variant=variant,
        fields=personal_fields(to, _contact_fields(body)),
        key=f"test:{new_id()}",
        now_ms=ctx.now_ms(),
        sender_factory=engine.mailer.sender_factory,
    )
    error = _error(result)
    await ctx.audit(
        p,
        action="test_send",
        target=row.id,
        outcome="ok" if error is None else f"refused:{error['code']}",
        detail={"to": to, "variant": variant.get("id"), "message_id": message_id},
    )
    answer: dict[str, Any] = {"message_id": message_id, "accepted": error is None}
    if error is not None:
        answer["error"] = error
    return web.json_response(answer)


@routes.get("/api/v1/smtp")
async def smtp_get(request: web.Request) -> web.Response:
    p = await _admin(request, "read_smtp")
    ctx, engine = request.app[CTX], engine_of(request.app)
    smtp = await ctx.read(lambda st: load_smtp(st, engine.box, p.org_id))
    return web.json_response(smtp.public() if smtp is not None else {"configured": False})


@routes.put("/api/v1/smtp")
async def smtp_put(request: web.Request) -> web.Response:
    p = await _admin(request, "set_smtp")
    ctx, engine = request.app[CTX], engine_of(request.app)
    body = await json_body(request)
    unknown = set(body) - {"host", "port", "security", "user", "password", "from"}
    if unknown:
        raise BadRequest(f"unknown settings: {', '.join(sorted(unknown))}")
    host = _optional_text(body, "host", 253)
    from_address = _optional_text(body, "from")
    if host is None or from_address is None:
        raise BadRequest("'host' and 'from' are required")
    port = body.get("port", 587)
    security = body.get("security", "starttls")
    user = _optional_text(body, "user")
    password = _optional_text(body, "password", 1000) if "password" in body else None
    at_ms = ctx.now_ms()

    def save(storage: Any) -> OrgSmtp:
        with storage.transaction():
            return save_smtp(
                storage,
                engine.box,
                p.org_id,
                host=host,
                port=port,
                security=security,
                user=user,
                password=password,
                from_address=from_address,
                at_ms=at_ms,
                keep_password="password" not in body,
            )

    saved = await ctx.writer.run_exclusive(save)
    public = saved.public()
    await ctx.audit(p, action="set_smtp", target=None, outcome="ok", detail=public)
    engine.nudge()  # sends waiting for settings may go now
    return web.json_response(public)


@routes.post("/api/v1/smtp/test")
async def smtp_test(request: web.Request) -> web.Response:
    p = await _admin(request, "test_smtp")
    ctx, engine = request.app[CTX], engine_of(request.app)
    body = await json_body(request)
    to = _optional_text(body, "to")
    if to is None:
        raise BadRequest("'to' must name the address to send the test to")
    check_address(to)
    smtp = await _smtp(request, p.org_id)
    _, result = await send_test(
        smtp,
        to=to,
        variant={
            "subject": "WedSync: test of your mail server settings",
            "body": "This message confirms that WedSync can send mail through this server.",
        },
        fields={},
        key=f"smtp-test:{new_id()}",
        now_ms=ctx.now_ms(),
        sender_factory=engine.mailer.sender_factory,
    )
    error = _error(result)
    await ctx.audit(
        p,
        action="test_smtp",
        target=None,
        outcome="ok" if error is None else f"refused:{error['code']}",
        detail={"to": to},
    )
    answer: dict[str, Any] = {"accepted": error is None}
    if error is not None:
        answer["error"] = error
    return web.json_response(answer)
