"""The Conflicts page: an admin resolves a conflict; a marketer sees no resolve controls and the
server refuses them.

The server's conflict endpoints are being built in parallel; until they land, these tests mount
the agreed contract (``GET /api/v1/conflicts``, ``POST /api/v1/conflicts/{id}/resolve``) on the
real server app, with the real authentication and role check (``resolve_conflicts``).
"""

from __future__ import annotations

import socket
import time

import pytest
from aiohttp import web

from .conftest import PASSWORD, Server, settle
from .server_thread import ServerThread

pytestmark = pytest.mark.ui


def _contract_routes(campaign_id: str) -> tuple[web.RouteTableDef, dict]:
    from server.http_api import principal_of

    now = time.time_ns() // 1_000_000
    record = {
        "id": "01J00000000000000000000001",
        "campaign_id": campaign_id,
        "campaign_name": "Spring open day",
        "field": "budget_cents",
        "kind": "concurrent_edit",
        "status": "open",
        "provisional": 60_000,
        "created_at_ms": now,
        "candidates": [
            {
                "value": 50_000,
                "author": "anna@venue.test",
                "device": "Anna's laptop",
                "hlc": 1,
                "at_ms": now - 60_000,
                "edit": "01J0000000000000000000000A",
            },
            {
                "value": 60_000,
                "author": "ben@venue.test",
                "device": "Ben's laptop",
                "hlc": 2,
                "at_ms": now - 30_000,
                "edit": "01J0000000000000000000000B",
            },
        ],
    }
    state = {"conflicts": {record["id"]: record}, "resolutions": []}
    routes = web.RouteTableDef()

    @routes.get("/api/v1/conflicts")
    async def listing(request: web.Request) -> web.Response:
        principal_of(request)
        wanted = request.query.get("status")
        items = [c for c in state["conflicts"].values() if not wanted or c["status"] == wanted]
        return web.json_response({"conflicts": items})

    @routes.post("/api/v1/conflicts/{cid}/resolve")
    async def resolve(request: web.Request) -> web.Response:
        principal_of(request).require("resolve_conflicts")
        body = await request.json()
        c = state["conflicts"][request.match_info["cid"]]
        value = (
            c["candidates"][body["candidate"]]["value"] if "candidate" in body else body["value"]
        )
        c.update(status="resolved", value=value, comment=body.get("comment"))
        state["resolutions"].append(body)
        return web.json_response(c)

    return routes, state


def _serves_conflicts(app: web.Application) -> bool:
    return any(getattr(r, "canonical", "") == "/api/v1/conflicts" for r in app.router.resources())


async def _make_real_conflict(server: Server, tmp_path) -> str:  # noqa: ANN001
    """Two laptops change the budget of one campaign offline; the server flags the conflict."""
    from client.credentials import MemoryTokens
    from client.store import Replica
    from client.sync import SyncEngine

    tokens = MemoryTokens()
    laptops = [Replica(tmp_path / f"peer-{n}") for n in ("anna", "ben")]
    engines = [SyncEngine(r, tokens=tokens) for r in laptops]
    try:
        for n, engine in enumerate(engines):
            await engine.login(server.url, "admin@venue.test", PASSWORD, f"peer {n}")
        cid, _ = laptops[0].create_campaign(name="Spring open day", fields={"budget_cents": 40_000})
        for engine in engines:
            await engine.sync_once()
        laptops[0].set_campaign_field(cid, "budget_cents", 50_000)
        laptops[1].set_campaign_field(cid, "budget_cents", 60_000)
        for engine in engines:
            await engine.sync_once()
        return cid
    finally:
        for engine, replica in zip(engines, laptops, strict=True):
            await engine.close()
            replica.close()


@pytest.fixture
async def conflict_server(tmp_path):
    """A real server with one open budget conflict (50,000 vs 60,000 cents). When the server has
    its own conflict endpoints the conflict is made for real by two laptops; otherwise the agreed
    contract is mounted with the same values."""
    from server import admin
    from server.app import create_app
    from server.config import ServerConfig

    data_dir = tmp_path / "server"
    for email, role in (("admin@venue.test", "admin"), ("mia@venue.test", "marketer")):
        admin.create_user(data_dir, email=email, password=PASSWORD, role=role, org="Venue")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(ServerConfig(data_dir=data_dir, port=port))
    real = _serves_conflicts(app)
    state: dict = {}
    if not real:
        routes, state = _contract_routes("01J000000000000000000000C1")
        app.add_routes(routes)
    thread = await ServerThread(app, port).start()
    try:
        server = Server(thread.url, data_dir)
        server.real = real  # type: ignore[attr-defined]
        server.state = state  # type: ignore[attr-defined]
        server.campaign_id = (  # type: ignore[attr-defined]
            await _make_real_conflict(server, tmp_path) if real else "01J000000000000000000000C1"
        )
        yield server
    finally:
        await thread.stop()


async def resolved(window, server) -> list[dict]:  # noqa: ANN001
    """The resolutions the server recorded: (value, comment) of each resolved conflict."""
    if not server.real:
        return [
            {"value": c.get("value"), "comment": c.get("comment")}
            for c in server.state["conflicts"].values()
            if c["status"] == "resolved"
        ]
    data = await window.engine.api("GET", "/api/v1/conflicts?status=resolved")
    return [
        {
            "value": (c.get("resolution") or {}).get("value", c.get("resolution"))
            if isinstance(c.get("resolution"), dict)
            else c.get("resolution"),
            "comment": c.get("comment"),
        }
        for c in data["conflicts"]
    ]


async def test_admin_resolves_a_conflict_side_by_side(conflict_server, open_window, qtbot):
    window = await open_window(server=conflict_server, email="admin@venue.test")
    page = window.conflicts
    window.go("conflicts")
    page.reload()
    await settle(window)
    assert page.current is not None  # the conflicts loaded
    assert page.list.count() == 1
    assert page.cards.count() == 2  # both candidates, side by side
    first = page.cards.itemAt(0).widget()
    texts = " ".join(
        w.text()
        for card in (page.cards.itemAt(i).widget() for i in range(2))
        for w in card.findChildren(type(page.title))
    )
    assert "£500.00" in texts and "£600.00" in texts and "venue.test" in texts
    assert page.resolve_box.isVisibleTo(page)

    first.choice.click()
    qtbot.keyClicks(page.comment, "Anna's budget was approved")
    page.resolve_button.click()
    await settle(window)
    records = await resolved(window, conflict_server)
    assert len(records) == 1 and records[0]["comment"] == "Anna's budget was approved"
    assert page.current is None  # the list refreshed
    assert page.stack.currentWidget() is page.empty


async def test_admin_can_enter_a_value_of_their_own(conflict_server, open_window, qtbot):
    window = await open_window(server=conflict_server, email="admin@venue.test")
    page = window.conflicts
    page.reload()
    await settle(window)
    assert page.current is not None  # the conflicts loaded
    qtbot.keyClicks(page.custom_value, "550")
    assert page.custom_choice.isChecked()
    page.resolve_button.click()
    await settle(window)
    assert len(await resolved(window, conflict_server)) == 1


async def test_marketer_sees_no_resolve_controls_and_is_denied(conflict_server, open_window):
    window = await open_window(server=conflict_server, email="mia@venue.test")
    page = window.conflicts
    page.reload()
    await settle(window)
    assert page.current is not None  # the conflicts loaded
    assert not page.resolve_box.isVisibleTo(page)
    assert page.viewer_note.isVisibleTo(page)
    assert "Only admins" in page.viewer_note.text()
    # even if the controls were reached, the server refuses and the page says so
    page.group.button(0).setEnabled(True)
    page.group.button(0).click()
    page.resolve()
    await settle(window)
    assert "Only admins" in page.message.text(), page.message.text()
    assert await resolved(window, conflict_server) == []


async def test_campaign_with_an_open_conflict_shows_a_badge_linking_to_it(
    conflict_server, open_window, qtbot
):
    window = await open_window(server=conflict_server, email="admin@venue.test")
    page = window.conflicts
    page.reload()
    await settle(window)
    assert page.current is not None  # the conflicts loaded
    assert window.campaigns.model.conflicts_for(conflict_server.campaign_id) == 1
    builder = window.campaigns.builder
    builder.set_open_conflicts(1)
    assert builder.conflict_badge.text() == "1 open conflict"
    received = []
    builder.conflicts_requested.connect(received.append)
    builder.session = type("S", (), {"campaign_id": conflict_server.campaign_id})()
    builder.conflict_badge.click()
    assert received == [conflict_server.campaign_id]
