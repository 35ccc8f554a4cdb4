"""Sessions end (issue 12, point 3): logout revokes the token on the server, tokens expire
after a documented idle lifetime (each use renews them), admins list and revoke a user's
devices and disable or delete a user (their tokens and open websockets end at once), and a
token can be rotated without the device changing."""

from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import USERS
from tests.security.conftest import login, open_ws, start_guarded, stop, until

DAY_MS = 86_400_000


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def me(session, url: str, token: str) -> int:
    async with session.get(url + "/api/v1/me", headers=bearer(token)) as resp:
        return resp.status


async def closed(ws) -> bool:
    msg = await ws.receive(timeout=10)
    return msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_logout_revokes_the_token_and_closes_its_websocket(guarded):
    async with aiohttp.ClientSession() as session:
        token = await login(guarded.url, "marketer", session)
        ws = await open_ws(guarded.url, token, session)
        assert await me(session, guarded.url, token) == 200
        async with session.post(guarded.url + "/api/v1/logout", headers=bearer(token)) as resp:
            assert resp.status == 200
        assert await me(session, guarded.url, token) == 401
        assert await closed(ws)


async def test_tokens_expire_when_unused_and_each_use_renews_them(tmp_path):
    server = await start_guarded(tmp_path, token_idle_lifetime_s=10 * 24 * 3600)
    ctx = server.ctx
    start = ctx.now_ms()
    try:
        async with aiohttp.ClientSession() as session:
            kept = await login(server.url, "marketer", session)
            idle = await login(server.url, "viewer", session)
            ctx.now_ms = lambda: start + 6 * DAY_MS  # a use of one of them, 6 days on
            assert await me(session, server.url, kept) == 200
            await until(lambda: not ctx._renewing)
            ctx.now_ms = lambda: start + 12 * DAY_MS
            assert await me(session, server.url, kept) == 200  # renewed 6 days ago
            assert await me(session, server.url, idle) == 401  # unused for 12 days
            async with session.get(server.url + "/api/v1/me", headers=bearer(idle)) as resp:
                assert "expired" in (await resp.json())["error"]["message"]
    finally:
        await stop(server)


async def test_an_admin_lists_and_revokes_a_users_devices(guarded):
    async with aiohttp.ClientSession() as session:
        admin = bearer(await login(guarded.url, "admin", session))
        laptop = await login(guarded.url, "marketer", session)
        phone = await login(guarded.url, "marketer", session)
        ws = await open_ws(guarded.url, laptop, session)
        async with session.get(guarded.url + "/api/v1/me", headers=bearer(laptop)) as resp:
            me_body = await resp.json()
        url = f"{guarded.url}/api/v1/users/{me_body['user_id']}/devices"
        async with session.get(url, headers=admin) as resp:
            devices = (await resp.json())["devices"]
        assert len(devices) == 2 and not any(d["revoked"] for d in devices)
        async with session.post(
            f"{guarded.url}/api/v1/devices/{me_body['device_id']}/revoke", headers=admin
        ) as resp:
            assert resp.status == 200 and (await resp.json())["connections_closed"] == 1
        assert await closed(ws)
        assert await me(session, guarded.url, laptop) == 401
        assert await me(session, guarded.url, phone) == 200
        # another org's admin cannot see or touch them
        other = bearer(await login(guarded.url, "other_admin", session))
        async with session.get(url, headers=other) as resp:
            assert (await resp.json())["devices"] == []
        async with session.post(
            f"{guarded.url}/api/v1/devices/{devices[1]['id']}/revoke", headers=other
        ) as resp:
            assert resp.status == 404
        assert await me(session, guarded.url, phone) == 200


@pytest.mark.parametrize("how", ["disable", "delete"])
async def test_a_disabled_or_deleted_users_tokens_and_websockets_end_at_once(guarded, how):
    async with aiohttp.ClientSession() as session:
        admin = bearer(await login(guarded.url, "admin", session))
        token = await login(guarded.url, "marketer2", session)
        ws = await open_ws(guarded.url, token, session)
        async with session.get(guarded.url + "/api/v1/me", headers=bearer(token)) as resp:
            user_id = (await resp.json())["user_id"]
        method, path = (
            ("POST", f"/api/v1/users/{user_id}/disable")
            if how == "disable"
            else ("DELETE", f"/api/v1/users/{user_id}")
        )
        async with session.request(method, guarded.url + path, headers=admin) as resp:
            assert resp.status == 200, await resp.text()
        assert await closed(ws)
        assert await me(session, guarded.url, token) == 401
        async with session.post(
            guarded.url + "/api/v1/login",
            json={"email": USERS["marketer2"][0], "password": "correct horse battery"},
        ) as resp:
            assert resp.status == 401
        if how == "disable":
            async with session.post(
                f"{guarded.url}/api/v1/users/{user_id}/enable", headers=admin
            ) as resp:
                assert resp.status == 200
            assert await me(session, guarded.url, token) == 200


async def test_rotating_a_token_keeps_the_device_and_ends_the_old_token(guarded):
    async with aiohttp.ClientSession() as session:
        old = await login(guarded.url, "marketer", session)
        async with session.get(guarded.url + "/api/v1/me", headers=bearer(old)) as resp:
            device = (await resp.json())["device_id"]
        async with session.post(guarded.url + "/api/v1/token/rotate", headers=bearer(old)) as r:
            body = await r.json()
        assert body["device_id"] == device and body["token"] != old
        assert await me(session, guarded.url, old) == 401
        async with session.get(guarded.url + "/api/v1/me", headers=bearer(body["token"])) as r:
            assert (await r.json())["device_id"] == device
