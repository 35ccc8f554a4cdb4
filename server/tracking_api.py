"""Tracking routes: the open pixel, click redirects and unsubscribing, on signed tokens.

Public by nature (a mail client fetches them, nobody logs in): each request is authenticated by
its token, signed with its org's key (``server.delivery.tracking``), not by a device token. The
routes live outside ``/api/`` for that reason.

* ``GET /t/o/<token>``: the open pixel (a 1x1 GIF). An open fetched by a mail-privacy proxy is
  recorded with ``non_engagement: true`` and ``reason: privacy_proxy``.
* ``GET|HEAD /t/c/<token>``: 302 to the link the send recorded at the token's index, and to
  nothing else (no open redirect). A click by a security scanner (its user agent, a HEAD, within
  seconds of delivery, or every link of the message in a burst) is recorded with
  ``non_engagement: true`` and ``reason: scanner``.
* ``GET /t/u/<token>``: a page that asks to confirm (prefetchers and scanners fetch links; a
  GET never unsubscribes); ``POST /t/u/<token>``: unsubscribes — the one-click POST of RFC 8058
  (``List-Unsubscribe=One-Click``) and the page's button alike.

Each records an event (``open``, ``click``, ``unsubscribe``) of the send's contact and campaign
through the writer, marketing class, with the server's device id, so reports and journeys see it
like any capture. Idempotent: replaying a request records nothing new (the event's id is drawn
from the send, the link and the kind of fetcher; the send's first open and click are kept once),
and a replayed unsubscribe finds the contact unsubscribed already.

Errors: a malformed, forged or foreign token is ``token_invalid``, an expired one
``token_expired`` (HTTP 400; the pixel and redirect give no detail beyond the code).
"""

from __future__ import annotations

import base64
import binascii
import html
import json
from functools import partial
from typing import Any

from aiohttp import web

from .automation import records
from .automation.settings import org_tracking_keys
from .automation.wiring import engine_of
from .commits import Changes, Outcome
from .delivery.errors import DeliveryCode, DeliveryError
from .delivery.tracking import (
    Click,
    TokenKind,
    TrackingToken,
    classify_clicks,
    classify_open,
    resolve_click,
    verify,
)
from .storage import SendRow, Storage
from .sync_ws import CTX

routes = web.RouteTableDef()

#: a transparent 1x1 GIF
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


def _org_of(text: str) -> str:
    """The org a token claims (unverified: only to find which keys to verify it with)."""
    try:
        payload = text.split(".", 1)[0]
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error, IndexError):
        raise DeliveryError(DeliveryCode.TOKEN_INVALID, "malformed tracking token") from None
    if not isinstance(body, dict) or not isinstance(body.get("o"), str):
        raise DeliveryError(DeliveryCode.TOKEN_INVALID, "malformed tracking token")
    return body["o"]


async def _verified(request: web.Request, kind: TokenKind) -> tuple[TrackingToken, SendRow]:
    ctx, engine = request.app[CTX], engine_of(request.app)
    text = request.match_info["token"]
    org_id = _org_of(text)
    keys = engine.tracking_keys_cache.get(org_id)
    if keys is None:
        keys = await ctx.read(
            lambda st: org_tracking_keys(st, engine.box, org_id, at_ms=0, create=False)
        )
        if keys:
            engine.tracking_keys_cache[org_id] = keys
    token = verify(text, {org_id: keys}, now_s=ctx.now_ms() // 1000, kind=kind)
    send = await ctx.read(lambda st: st.send(token.send_id))
    if send is None or send.org_id != token.org or send.contact != token.contact:
        raise DeliveryError(DeliveryCode.TOKEN_INVALID, "the tracking link names no message")
    return token, send


def _track(
    storage: Storage,
    seq: int,
    *,
    engine: Any,
    send: SendRow,
    kind: str,
    column: str,
    flag: str | None,
    link: int | None,
    at_ms: int,
    unflag_click: bool = False,
) -> Outcome[int]:
    """The writer job of one tracked request: the send's first-time marks, the event, and for
    an unsubscribe the contact stopped everywhere."""
    storage.mark_tracked(send.id, column, at_ms)
    if unflag_click:  # a burst showed the earlier "human" click was a scanner's too
        current = storage.send(send.id)
        if current is not None and current.clicked_at_ms is not None:
            storage.update_send(send.id, at_ms=at_ms, clicked_at_ms=None)
    if kind == "unsubscribe":
        engine.rounds.stop_contact(
            storage, send.org_id, send.contact, "unsubscribed", at_ms, "link"
        )
    event = records.tracked_event(
        kind=kind,
        send_id=send.id,
        campaign_id=send.campaign_id,
        contact=send.contact,
        created_ms=send.created_at_ms,
        at_ms=at_ms,
        link=link,
        flag=flag,
    )
    stored, _ = storage.insert_events(
        org_id=send.org_id,
        device_id=engine.rounds.device_id(storage),
        events=[event],
        priority=1,
        commit_seq=seq,
    )
    return Outcome(stored, Changes(send.org_id, events=(event,) if stored else ()))


async def _record(request: web.Request, send: SendRow, **job: Any) -> None:
    ctx, engine = request.app[CTX], engine_of(request.app)
    await ctx.writer.submit(
        1, 1, partial(_track, engine=engine, send=send, at_ms=ctx.now_ms(), **job)
    )


@routes.get("/t/o/{token}")
async def open_pixel(request: web.Request) -> web.Response:
    _, send = await _verified(request, TokenKind.OPEN)
    flag = classify_open(request.headers.get("User-Agent"))
    column = "proxy_opened_at_ms" if flag else "opened_at_ms"
    await _record(request, send, kind="open", column=column, flag=flag, link=None)
    return web.Response(body=PIXEL, content_type="image/gif", headers=NO_STORE)


@routes.route("*", "/t/c/{token}")
async def click_redirect(request: web.Request) -> web.Response:
    if request.method not in ("GET", "HEAD"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
    try:
        token, send = await _verified(request, TokenKind.CLICK)
        url = resolve_click(token, send.links)
    except DeliveryError as exc:
        return _page(exc.http_status, "This link does not work", f"{exc.code}: {exc.message}")
    ctx, engine = request.app[CTX], engine_of(request.app)
    click = Click(
        link=token.link or 0,
        at_ms=ctx.now_ms(),
        user_agent=request.headers.get("User-Agent"),
        method=request.method,
    )
    clicks = engine.recent_clicks.add(send.id, click)
    flags = classify_clicks(clicks, delivered_at_ms=send.sent_at_ms, link_count=len(send.links))
    flag = flags[-1]
    earlier_human = any(f is None for f in flags[:-1])
    await _record(
        request,
        send,
        kind="click",
        column="scanner_clicked_at_ms" if flag else "clicked_at_ms",
        flag=flag,
        link=token.link,
        unflag_click=flag is not None and not earlier_human and len(clicks) > 1,
    )
    raise web.HTTPFound(url, headers=NO_STORE)


@routes.get("/t/u/{token}")
async def unsubscribe_page(request: web.Request) -> web.Response:
    try:
        _, send = await _verified(request, TokenKind.UNSUBSCRIBE)
    except DeliveryError as exc:
        return _page(exc.http_status, "This link does not work", f"{exc.code}: {exc.message}")
    if send.unsubscribed_at_ms is not None:
        return _page(200, "You are unsubscribed", f"{send.contact} will receive no more emails.")
    action = html.escape(request.path, quote=True)
    form = (
        f'<form method="post" action="{action}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page(200, "Unsubscribe", f"Stop all emails to {send.contact}?", form)


@routes.post("/t/u/{token}")
async def unsubscribe(request: web.Request) -> web.Response:
    try:
        _, send = await _verified(request, TokenKind.UNSUBSCRIBE)
    except DeliveryError as exc:
        return _page(exc.http_status, "This link does not work", f"{exc.code}: {exc.message}")
    await request.read()  # "List-Unsubscribe=One-Click" (RFC 8058) or the page's form
    await _record(
        request, send, kind="unsubscribe", column="unsubscribed_at_ms", flag=None, link=None
    )
    return _page(200, "You are unsubscribed", f"{send.contact} will receive no more emails.")


def _page(status: int, title: str, text: str, extra: str = "") -> web.Response:
    body = (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{extra}</body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html", headers=NO_STORE)
