"""Per-contact views behind the app's viral tracker and attribution visualiser (JSON,
``Authorization: Bearer <device token>``, any role of the org):

* ``GET /api/v1/viral/tree?contact=<email>&depth=N`` (N 1..4, default 2): who the contact
  invited, who those invited, and so on ``depth`` generations down, from the org's
  ``invite_sent`` and ``invite_accepted`` events (as ``shared.analytics.viral`` recognises
  them: the inviter is the event's contact for a sent invite and its other party for an
  acceptance). Each person: ``contact``, ``name`` (from the contact's fields, else null),
  ``invited_at_ms`` (the latest invite to them, or null), ``accepted_at_ms`` (their first
  acceptance, or null), ``revenue`` (their conversions, all time), ``invites_sent``,
  ``invites_accepted`` and ``children``. Also who invited the contact (``invited_by``), the
  ``nodes`` shown and ``truncated`` when ``MAX_NODES`` cut the tree short.
* ``GET /api/v1/contacts/journey?contact=<email>&limit=N`` (N 1..1000, default 300): the
  contact's events in the order they happened (``occurred_at_ms``, so a touch captured offline
  and synced days later sits where it happened), each with its campaign's name; the latest
  ``limit`` when there are more (``truncated``, ``total``).

The figures come from the org's event frame, the one its reports use (built on the report
thread, in the org's turn). A contact the org has no event of gets ``not_found`` (404), the
same for a contact of another org; a missing or over-long ``contact`` or a number out of range
gets ``bad_request`` (400).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from aiohttp import web

from shared.analytics import EventFrame
from shared.analytics.events import KIND_CODE, KINDS

from .errors import BadRequest, NotFoundError
from .http_api import int_param, principal_of, require
from .sync_ws import CTX, REPORTS

routes = web.RouteTableDef()

MAX_DEPTH = 4
MAX_NODES = 300
MAX_JOURNEY = 1_000
MAX_CONTACT_LEN = 320


def _contact_param(request: web.Request) -> str:
    raw = request.query.get("contact", "").strip()
    if not raw or len(raw) > MAX_CONTACT_LEN or not raw.isprintable():
        raise BadRequest(
            f"'contact' must be a contact's email of at most {MAX_CONTACT_LEN} characters"
        )
    return raw


def _index(frame: EventFrame) -> dict[str, int]:
    return frame.cached(
        "insights_contact_index", lambda: {c: i for i, c in enumerate(frame.contacts)}
    )


def _code_of(frame: EventFrame, contact: str) -> int:
    code = _index(frame).get(contact)
    if code is None:
        raise NotFoundError(f"no contact {contact!r} in your organisation's events")
    return code


def _rows_by_contact(frame: EventFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row indices grouped by contact (time order within each) and each contact's offsets."""

    def build() -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(frame.contact, kind="stable")  # rows are time-sorted
        keys = frame.contact[order]
        bounds = np.searchsorted(keys, np.arange(frame.n_contacts + 1), side="left")
        return order, bounds

    return frame.cached("insights_rows_by_contact", build)


def _rows_of_contact(frame: EventFrame, code: int) -> np.ndarray:
    order, bounds = _rows_by_contact(frame)
    return order[bounds[code] : bounds[code + 1]]


def _invite_graph(frame: EventFrame) -> dict[str, Any]:
    """Per inviter, its invitees with the latest invite time and the first acceptance time;
    per invitee, its inviters. Cached on the frame."""

    def build() -> dict[str, Any]:
        invited: dict[tuple[int, int], int] = {}
        accepted: dict[tuple[int, int], int] = {}
        t, other, contact = frame.time_ms, frame.other, frame.contact
        for r in frame.rows_of("invite_sent").tolist():
            if contact[r] >= 0 and other[r] >= 0:
                invited[(int(contact[r]), int(other[r]))] = int(t[r])  # time order: latest
        for r in frame.rows_of("invite_accepted").tolist():
            if contact[r] >= 0 and other[r] >= 0:
                accepted.setdefault((int(other[r]), int(contact[r])), int(t[r]))  # first
        children: dict[int, list[int]] = {}
        parents: dict[int, list[int]] = {}
        for inviter, invitee in sorted(set(invited) | set(accepted)):
            children.setdefault(inviter, []).append(invitee)
            parents.setdefault(invitee, []).append(inviter)
        conv = frame.rows_of("conversion")
        conv = conv[frame.contact[conv] >= 0]
        revenue = np.bincount(
            frame.contact[conv], weights=frame.value_cents[conv] / 100.0, minlength=frame.n_contacts
        )
        return {
            "invited": invited,
            "accepted": accepted,
            "children": children,
            "parents": parents,
            "revenue": revenue,
        }

    return frame.cached("insights_invite_graph", build)


def invite_tree(
    frame: EventFrame,
    contact: str,
    *,
    depth: int = 2,
    max_nodes: int = MAX_NODES,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The contact's invite tree ``depth`` generations down (breadth first, at most
    ``max_nodes`` people; each person once, at their shallowest place)."""
    root = _code_of(frame, contact)
    g = _invite_graph(frame)
    names = names or {}
    children, invited, accepted = g["children"], g["invited"], g["accepted"]

    def node(code: int, parent: int | None) -> dict[str, Any]:
        email = frame.contacts[code]
        kids = children.get(code, [])
        return {
            "contact": email,
            "name": names.get(email),
            "invited_at_ms": invited.get((parent, code)) if parent is not None else None,
            "accepted_at_ms": accepted.get((parent, code)) if parent is not None else None,
            "revenue": round(float(g["revenue"][code]), 2),
            "invites_sent": len(kids),
            "invites_accepted": sum(1 for k in kids if (code, k) in accepted),
            "children": [],
        }

    top = node(root, None)
    seen = {root}
    level = [(root, top)]
    count, truncated = 1, False
    for _ in range(depth):
        following = []
        for code, holder in level:
            for kid in children.get(code, []):
                if kid in seen:
                    continue
                if count >= max_nodes:
                    truncated = True
                    break
                seen.add(kid)
                child = node(kid, code)
                holder["children"].append(child)
                following.append((kid, child))
                count += 1
        level = following
    invited_by = [
        {"contact": frame.contacts[p], "name": names.get(frame.contacts[p])}
        for p in g["parents"].get(root, [])
    ]
    return {
        "contact": contact,
        "depth": depth,
        "root": top,
        "invited_by": invited_by,
        "nodes": count,
        "truncated": truncated,
    }


def journey(
    frame: EventFrame,
    contact: str,
    *,
    limit: int = 300,
    campaign_names: dict[str, str] | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The contact's events in the order they happened (the latest ``limit``)."""
    code = _code_of(frame, contact)
    rows = _rows_of_contact(frame, code)
    total = len(rows)
    rows = rows[-limit:]
    campaign_names = campaign_names or {}
    events = []
    for r in rows.tolist():
        campaign = frame.campaigns[frame.campaign[r]] if frame.campaign[r] >= 0 else None
        other = frame.contacts[frame.other[r]] if frame.other[r] >= 0 else None
        events.append(
            {
                "id": frame.ids[r],
                "kind": KINDS[frame.kind[r]],
                "occurred_at_ms": int(frame.time_ms[r]),
                "channel": frame.channels[frame.channel[r]] if frame.channel[r] >= 0 else None,
                "campaign": campaign,
                "campaign_name": campaign_names.get(campaign) if campaign else None,
                "value": frame.value_cents[r] / 100 if frame.has_value[r] else None,
                "other": other,
            }
        )
    conv = rows[frame.kind[rows] == KIND_CODE["conversion"]]
    return {
        "contact": contact,
        "name": (names or {}).get(contact),
        "events": events,
        "total": total,
        "truncated": total > len(rows),
        "conversions": int(len(conv)),
    }


def _person_name(fields: dict[str, Any] | None) -> str | None:
    if not fields:
        return None
    name = fields.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = [fields.get(k) for k in ("first_name", "last_name")]
    text = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return text or None


async def _names(request: web.Request, org_id: str, emails: list[str]) -> dict[str, str]:
    ctx = request.app[CTX]

    def read(storage: Any) -> dict[str, str]:
        out = {}
        for email in emails:
            name = _person_name(storage.contact(org_id, email))
            if name:
                out[email] = name
        return out

    return await ctx.read(read)


def _emails(tree: dict[str, Any]) -> list[str]:
    out, stack = [], [tree["root"]]
    while stack:
        n = stack.pop()
        out.append(n["contact"])
        stack.extend(n["children"])
    return out + [p["contact"] for p in tree["invited_by"]]


def _fill_names(tree_node: dict[str, Any], names: dict[str, str]) -> None:
    stack = [tree_node]
    while stack:
        n = stack.pop()
        n["name"] = names.get(n["contact"])
        stack.extend(n.get("children", ()))


@routes.get("/api/v1/viral/tree")
async def viral_tree(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "read", None)
    contact = _contact_param(request)
    depth = int_param(request, "depth", default=2, low=1, high=MAX_DEPTH)
    tree = await request.app[REPORTS].with_frame(
        p.org_id, lambda frame: invite_tree(frame, contact, depth=depth)
    )
    names = await _names(request, p.org_id, _emails(tree))
    _fill_names(tree["root"], names)
    for inviter in tree["invited_by"]:
        inviter["name"] = names.get(inviter["contact"])
    return web.json_response(tree)


@routes.get("/api/v1/contacts/journey")
async def contact_journey(request: web.Request) -> web.Response:
    ctx, p = request.app[CTX], principal_of(request)
    await require(ctx, p, "read", None)
    contact = _contact_param(request)
    limit = int_param(request, "limit", default=300, low=1, high=MAX_JOURNEY)
    rows = await ctx.read(lambda storage: storage.campaigns(p.org_id))
    campaign_names = {r.id: r.snapshot.get("name") for r in rows if r.snapshot.get("name")}
    body = await request.app[REPORTS].with_frame(
        p.org_id,
        lambda frame: journey(frame, contact, limit=limit, campaign_names=campaign_names),
    )
    body["name"] = (await _names(request, p.org_id, [contact])).get(contact)
    return web.json_response(body)
