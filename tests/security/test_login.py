"""Login cannot be brute-forced and does not tell which emails exist (issue 12, point 4), and
one set of rules for accounts holds on every path (point 5)."""

from __future__ import annotations

import statistics
import time

import aiohttp
import pytest

from server import admin
from server.errors import BadRequest
from tests.conftest import PASSWORD
from tests.security.conftest import login, start_guarded, stop


async def attempt(session, url: str, email: str, password: str) -> aiohttp.ClientResponse:
    async with session.post(
        url + "/api/v1/login", json={"email": email, "password": password}
    ) as resp:
        await resp.read()
        return resp


async def test_repeated_wrong_passwords_are_throttled_per_account(guarded):
    async with aiohttp.ClientSession() as session:
        statuses = [
            (await attempt(session, guarded.url, "admin@a.test", f"guess {i}")).status
            for i in range(8)
        ]
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        locked = await attempt(session, guarded.url, "admin@a.test", PASSWORD)
        assert locked.status == 429 and int(locked.headers["Retry-After"]) >= 1
        # another account is not locked by it
        assert (await attempt(session, guarded.url, "viewer@a.test", PASSWORD)).status == 200


async def test_many_accounts_tried_from_one_address_are_throttled(tmp_path):
    server = await start_guarded(tmp_path, login_failures_per_address=10)
    try:
        async with aiohttp.ClientSession() as session:
            statuses = [
                (await attempt(session, server.url, f"nobody{i}@a.test", "guess")).status
                for i in range(12)
            ]
        assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    finally:
        await stop(server)


async def test_a_known_and_an_unknown_email_cost_the_same(tmp_path):
    server = await start_guarded(
        tmp_path, login_failures_per_account=1000, login_failures_per_address=1000
    )
    try:
        async with aiohttp.ClientSession() as session:
            await attempt(session, server.url, "warm@a.test", "x")  # the decoy hash is made
            times: dict[str, list[float]] = {"known": [], "unknown": []}
            for i in range(9):
                for kind, email in (("known", "admin@a.test"), ("unknown", f"no{i}@a.test")):
                    started = time.perf_counter()
                    assert (await attempt(session, server.url, email, "wrong")).status == 401
                    times[kind].append(time.perf_counter() - started)
        known, unknown = (statistics.median(times[k]) for k in ("known", "unknown"))
        assert 0.5 < known / unknown < 2.0, (known, unknown)
    finally:
        await stop(server)


@pytest.mark.parametrize(
    ("email", "password", "reason"),
    [
        ("new@a.test", "a", "at least"),
        ("not-an-email", "a long enough phrase", "not an email"),
        ("new@a.test", "Password2024!", "commonly used"),
        ("new@a.test", "aaaaaaaaaaaa", "too few"),
        ("ana.banana@a.test", "ana.banana99", "the email address"),
    ],
)
async def test_account_rules_hold_over_http_and_in_the_cli(
    tmp_path, guarded, email, password, reason
):
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {await login(guarded.url, 'admin', session)}"}
        body = {"email": email, "password": password, "role": "viewer"}
        async with session.post(guarded.url + "/api/v1/users", headers=headers, json=body) as r:
            assert r.status == 400
            assert reason in (await r.json())["error"]["message"]
    with pytest.raises(BadRequest, match=reason):
        admin.create_user(tmp_path / "cli", email=email, password=password, role="viewer")
