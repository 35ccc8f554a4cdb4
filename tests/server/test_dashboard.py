"""The dashboard's sign-in, sessions and live events over HTTP, against a real server: cookie
flags, CSRF on both forms, throttling, expiry, sign-out revoking, bad input, and one org's
figures never reaching another's session."""

import asyncio
import hashlib
import json
import re
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from server.web.dashboard import CSRF_COOKIE, SESSION_COOKIE, period_window
from tests.conftest import PASSWORD, USERS, start_server

CMO = USERS["viewer"][0]  # a viewer of org A
OTHER = USERS["other"][0]  # a marketer of org B


def client() -> aiohttp.ClientSession:
    # the cookie jar accepts cookies from an IP address (the server is on 127.0.0.1)
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def csrf_of(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(f"{url}/dashboard/login") as r:
        assert r.status == 200
        return re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)


async def sign_in(http, url: str, email: str, *, password: str = PASSWORD, **extra):
    form = {"email": email, "password": password, "csrf": await csrf_of(http, url), **extra}
    return await http.post(f"{url}/dashboard/login", data=form, allow_redirects=False)


def session_token(http: aiohttp.ClientSession, url: str) -> str:
    return http.cookie_jar.filter_cookies(URL(f"{url}/dashboard"))[SESSION_COOKIE].value


def session_cookie(response) -> str:
    (header,) = [h for h in response.headers.getall("Set-Cookie") if SESSION_COOKIE in h]
    return header


async def test_a_sign_in_sets_a_strict_httponly_cookie_whose_token_is_stored_hashed(server):
    async with client() as http:
        r = await sign_in(http, server.url, CMO)
        assert r.status == 303 and r.headers["Location"] == "/dashboard"
        cookie = session_cookie(r)
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
        assert "Secure" not in cookie  # plain HTTP here (TLS: the next test)
        token = session_token(http, server.url)
        stored = server.rows("SELECT token_hash, name FROM devices WHERE revoked = 0")
        assert (hashlib.sha256(token.encode()).hexdigest(), "Browser (dashboard)") in stored
        assert all(token not in row for row in stored)
        async with http.get(f"{server.url}/dashboard") as page:
            assert page.status == 200
            assert "default-src 'self'" in page.headers["Content-Security-Policy"]
            assert CMO in await page.text()


async def test_under_tls_the_cookie_is_secure(tmp_path):
    running = await start_server(tmp_path, tls_cert=Path("server.pem"), tls_key=Path("key.pem"))
    try:
        async with client() as http:
            # a browser sends Secure cookies over TLS only: here they are sent by hand
            async with http.get(f"{running.url}/dashboard/login") as r:
                assert "Secure" in r.headers["Set-Cookie"]
                csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
            form = {"email": CMO, "password": PASSWORD, "csrf": csrf}
            async with http.post(
                f"{running.url}/dashboard/login",
                data=form,
                headers={"Cookie": f"{CSRF_COOKIE}={csrf}"},
                allow_redirects=False,
            ) as r:
                assert r.status == 303
                assert "Secure" in session_cookie(r) and "HttpOnly" in session_cookie(r)
    finally:
        await running.runner.cleanup()


async def test_sign_in_is_refused_without_the_forms_csrf_value_or_from_another_site(server):
    async with client() as http:
        url = f"{server.url}/dashboard/login"
        csrf = await csrf_of(http, server.url)
        good = {"email": CMO, "password": PASSWORD}
        for form, headers in (
            (good, {}),  # no CSRF value
            ({**good, "csrf": "x" * 43}, {}),  # not the cookie's
            ({**good, "csrf": csrf}, {"Sec-Fetch-Site": "cross-site"}),
            ({**good, "csrf": csrf}, {"Origin": "https://evil.example"}),
        ):
            async with http.post(url, data=form, headers=headers, allow_redirects=False) as r:
                assert r.status == 403, (form, headers)
                assert "came from elsewhere" in await r.text()
        http.cookie_jar.clear()  # no cookie: the form's value alone is not enough
        async with http.post(url, data={**good, "csrf": csrf}, allow_redirects=False) as r:
            assert r.status == 403
    assert server.rows("SELECT count(*) FROM devices WHERE name = 'Browser (dashboard)'") == [(0,)]


async def test_wrong_passwords_are_refused_then_throttled(server):
    async with client() as http:
        for _ in range(5):
            r = await sign_in(http, server.url, CMO, password="not the password!")
            assert r.status == 401 and "Wrong email or password" in await r.text()
        r = await sign_in(http, server.url, CMO)  # the right one, but the account must wait
        assert r.status == 429 and int(r.headers["Retry-After"]) >= 1


async def test_bad_input_gets_a_clear_4xx(server):
    async with client() as http:
        r = await sign_in(http, server.url, "x" * 400)
        assert r.status == 400 and "at most 320 characters" in await r.text()
        async with http.post(
            f"{server.url}/dashboard/login", json={"email": CMO}, allow_redirects=False
        ) as r:
            assert r.status == 400
        assert (await sign_in(http, server.url, CMO)).status == 303
        for path in ("/dashboard/report?period=year", "/dashboard?period=%00"):
            async with http.get(f"{server.url}{path}") as r:
                assert r.status == 400
                assert (await r.json())["error"]["code"] == "bad_request"


async def test_without_a_session_only_the_sign_in_and_the_apps_files_answer(server):
    async with client() as http:
        async with http.get(f"{server.url}/dashboard", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/dashboard/login"
        for path in ("/dashboard/report", "/dashboard/events"):
            async with http.get(f"{server.url}{path}") as r:
                assert r.status == 401
                assert (await r.json())["error"]["code"] == "unauthenticated"
        for path, kind in (
            ("/dashboard/static/dashboard.js", "javascript"),
            ("/dashboard/static/dashboard.css", "text/css"),
            ("/dashboard/sw.js", "javascript"),
            ("/dashboard/manifest.webmanifest", "application/manifest+json"),
        ):
            async with http.get(f"{server.url}{path}") as r:
                assert r.status == 200 and kind in r.headers["Content-Type"], path
        manifest = json.loads(await (await http.get(f"{server.url}{path}")).text())
        assert manifest["start_url"] == "/dashboard" and manifest["display"] == "standalone"
        async with http.get(f"{server.url}/dashboard/sw.js") as r:
            assert r.headers["Service-Worker-Allowed"] == "/dashboard"


async def test_sign_out_needs_the_sessions_csrf_value_and_revokes_the_session(server):
    async with client() as http:
        await sign_in(http, server.url, CMO)
        page = await (await http.get(f"{server.url}/dashboard")).text()
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)
        url = f"{server.url}/dashboard/logout"
        async with http.post(url, data={"csrf": "0" * 64}, allow_redirects=False) as r:
            assert r.status == 403
        assert (await http.get(f"{server.url}/dashboard/report?period=30d")).status == 200
        token = session_token(http, server.url)
        async with http.post(url, data={"csrf": csrf}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/dashboard/login"
            assert '"cache"' in r.headers["Clear-Site-Data"]
        hashed = hashlib.sha256(token.encode()).hexdigest()
        assert server.rows("SELECT revoked FROM devices WHERE token_hash = ?", (hashed,)) == [(1,)]
        http.cookie_jar.update_cookies({SESSION_COOKIE: token}, URL(server.url))  # a kept copy
        async with http.get(f"{server.url}/dashboard/report") as r:
            assert r.status == 401


async def test_a_session_unused_for_its_idle_lifetime_ends(tmp_path):
    running = await start_server(tmp_path, web_session_idle_s=1.0)
    try:
        async with client() as http:
            await sign_in(http, running.url, CMO)
            token = session_token(http, running.url)
            assert (await http.get(f"{running.url}/dashboard/report?period=30d")).status == 200
            await asyncio.sleep(1.5)
            # the cookie has expired in the browser too; a copy kept of it is refused
            http.cookie_jar.update_cookies({SESSION_COOKIE: token}, URL(running.url))
            async with http.get(f"{running.url}/dashboard/report") as r:
                assert r.status == 401 and "expired" in (await r.json())["error"]["message"]
            assert running.rows("SELECT revoked FROM devices WHERE name LIKE 'Browser%'") == [(1,)]
    finally:
        await running.runner.cleanup()


def test_periods_end_now_and_the_quarter_starts_on_its_first_day():
    now = 1_795_000_000_000  # 2026-11-18
    assert period_window("30d", now) == (now - 30 * 86_400_000, now)
    assert period_window("quarter", now) == (1_790_812_800_000, now)  # 2026-10-01 00:00 UTC


async def read_event(response, *, timeout_s: float) -> tuple[str, dict]:
    """The next event of a server-sent event stream (its name and JSON data)."""
    name = data = None
    async with asyncio.timeout(timeout_s):
        while True:
            line = (await response.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and name is not None:
                return name, data


async def test_live_events_reach_the_orgs_session_and_another_orgs_sees_none_of_it(server):
    pusher = await server.device("venue", "marketer")
    async with client() as ours, client() as theirs:
        await sign_in(ours, server.url, CMO)
        await sign_in(theirs, server.url, OTHER)
        before = await (await ours.get(f"{server.url}/dashboard/report?period=30d")).json()
        stream = await ours.get(f"{server.url}/dashboard/events")
        foreign = await theirs.get(f"{server.url}/dashboard/events")
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        try:
            pusher.replica.capture(kind="conversion", value_cents=250_000, channel="email")
            await pusher.sync_once()
            name, data = await read_event(stream, timeout_s=5)
            assert name == "report_changed" and data["as_of_ms"] <= server.ctx.now_ms()
            after = await (await ours.get(f"{server.url}/dashboard/report?period=30d")).json()
            revenue = after["report"]["summary"]["revenue"]
            assert revenue == before["report"]["summary"]["revenue"] + 2_500
            with pytest.raises(TimeoutError):  # org B's stream heard nothing
                await read_event(foreign, timeout_s=0.5)
            other = await (await theirs.get(f"{server.url}/dashboard/report?period=30d")).json()
            assert other["user"] == OTHER and other["report"]["summary"]["revenue"] == 0
        finally:
            stream.close()
            foreign.close()


async def test_the_dashboards_routes_are_in_the_openapi_description(server):
    async with client() as http:
        spec = await (await http.get(f"{server.url}/api/v1/openapi.json")).json()
    routes = {r.resource.canonical for r in server.app.router.routes() if r.resource}
    ours = {r for r in routes if r.startswith("/dashboard")}
    files = {"/dashboard/static", "/dashboard/sw.js", "/dashboard/manifest.webmanifest"}
    assert ours - files <= set(spec["paths"]) and "/dashboard/events" in spec["paths"]
    assert spec["components"]["securitySchemes"]["session"]["in"] == "cookie"


async def test_signing_out_ends_the_sessions_event_stream(server):
    async with client() as http:
        await sign_in(http, server.url, CMO)
        page = await (await http.get(f"{server.url}/dashboard")).text()
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page).group(1)
        stream = await http.get(f"{server.url}/dashboard/events")
        assert (await stream.content.readline()).startswith(b"retry:")
        await stream.content.readline()
        async with http.post(f"{server.url}/dashboard/logout", data={"csrf": csrf}) as r:
            assert r.status == 200  # the sign-in page, after the redirect
        async with asyncio.timeout(5):
            assert await stream.content.read() == b""  # the server closed the stream
        stream.close()
