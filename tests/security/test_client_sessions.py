"""The client's side of sessions: `wedsync client logout` revokes the token on the server, and a
rotated token keeps the device's queue."""

from __future__ import annotations

import aiohttp

from client.credentials import account_for


async def me(url: str, token: str) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.get(
            url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            return resp.status


async def test_client_logout_revokes_the_token_on_the_server(server):
    engine = await server.device("laptop")
    token = server.tokens.get(account_for(engine.replica.device_id))
    assert await me(server.url, token) == 200
    assert await engine.logout() is True
    assert await me(server.url, token) == 401
    assert server.tokens.get(account_for(engine.replica.device_id)) is None


async def test_client_logout_offline_still_forgets_the_token(server):
    engine = await server.device("laptop")
    engine.replica.set_offline(True)
    assert await engine.logout() is False
    assert server.tokens.get(account_for(engine.replica.device_id)) is None


async def test_a_rotated_token_keeps_the_devices_queue(server):
    engine = await server.device("laptop")
    engine.replica.set_offline(True)
    engine.replica.capture(kind="touchpoint", channel="email")
    old = server.tokens.get(account_for(engine.replica.device_id))
    engine.replica.set_offline(False)
    await engine.rotate_token()
    new = server.tokens.get(account_for(engine.replica.device_id))
    assert new != old and await me(server.url, old) == 401
    report = await engine.sync_once()
    assert report.pushed[0] == 1  # queued before the rotation, pushed with the new token
