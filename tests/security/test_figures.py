"""Server-wide figures are the operator's (issue 12, point 7): an org's admin reads its own org's
counts, any role's health check shows nothing of other orgs, and `wedsync admin stats` (the
local operator) still has every org's."""

from __future__ import annotations

import aiohttp
import msgpack

from server import admin
from shared.protocol import messages as m
from shared.protocol.events import Event
from shared.protocol.ids import new_id
from tests.conftest import reply
from tests.security.conftest import login, open_ws


async def _push_events(ws, n: int) -> None:
    events = [Event(new_id(), "conversion", 1_700_000_000_000, 1, value_cents=1) for _ in range(n)]
    await ws.send_bytes(m.push_events_raw(1, 0, [msgpack.packb(e.to_wire()) for e in events]))
    assert (await reply(ws))["n"] == n


async def test_an_org_admin_reads_its_own_orgs_figures_only(guarded):
    async with aiohttp.ClientSession() as session:
        a_admin = {"Authorization": f"Bearer {await login(guarded.url, 'admin', session)}"}
        viewer = {"Authorization": f"Bearer {await login(guarded.url, 'viewer', session)}"}
        ws_a = await open_ws(guarded.url, await login(guarded.url, "marketer", session), session)
        ws_b = await open_ws(guarded.url, await login(guarded.url, "other", session), session)
        b_idle = await open_ws(
            guarded.url, await login(guarded.url, "other_admin", session), session
        )
        await _push_events(ws_a, 2)
        await _push_events(ws_b, 5)
        async with session.get(guarded.url + "/api/v1/stats", headers=a_admin) as resp:
            body = await resp.json()
        assert body["events"]["total"] == 2
        assert body["users"] == 5  # org A's five users, not the seven of both orgs
        assert body["connected_devices"] == 1
        assert "orgs" not in body and "writer" not in body
        async with session.get(guarded.url + "/api/v1/health", headers=viewer) as resp:
            health = await resp.json()
        assert health == {"status": "ok", "connected_devices": 1}
        for ws in (ws_a, ws_b, b_idle):
            await ws.close()
    everything = admin.stats(guarded.data_dir)  # the operator, on the server's machine
    assert everything["events"]["total"] == 7 and everything["orgs"] == 2
