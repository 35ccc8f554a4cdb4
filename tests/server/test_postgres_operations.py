"""PostgreSQL in operation: pool limits, statement timeouts, a database that goes away and comes
back (connections broken, then refused), with /readyz telling and no acknowledged write lost."""

from __future__ import annotations

import asyncio
import secrets
import threading

import aiohttp
import psycopg
import pytest

from server.storage import open_storage
from server.storage.errors import StoreUnavailable
from tests.conftest import PG_DEFAULT_URL, PG_URL_ENV, _with_database, start_server


@pytest.fixture
def own_database(pg_database):
    """A database of this test's own, which it may close to connections and reopen."""
    import os

    admin_url = os.environ.get(PG_URL_ENV) or PG_DEFAULT_URL
    name = f"wedsync_ops_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    control = Control(admin_url, name)
    yield _with_database(admin_url, name), control
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


class Control:
    def __init__(self, admin_url: str, name: str) -> None:
        self.admin_url, self.name = admin_url, name

    def _run(self, sql: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def break_connections(self) -> None:
        """What a restart does to every open connection."""
        self._run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()"
        )

    def go_away(self) -> None:
        self._run(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        self.break_connections()

    def come_back(self) -> None:
        self._run(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')


def test_a_statement_over_its_timeout_is_cancelled(pg_url):
    store = open_storage(pg_url + "&statement_timeout_ms=200")
    try:
        with pytest.raises(psycopg.errors.QueryCanceled):
            store._one("SELECT pg_sleep(2)")
        assert store._one("SELECT 1") == (1,)  # the connection is fine after
    finally:
        store.close()


def test_a_full_pool_makes_a_thread_wait_then_gives_up_with_a_known_error(pg_url):
    store = open_storage(pg_url + "&pool_min=1&pool_max=1&pool_timeout_s=0.5")
    other = store.reader()
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store.transaction():  # keeps the only connection
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        with pytest.raises(StoreUnavailable, match="no PostgreSQL connection within 0.5 s"):
            other.org_names()
    finally:
        release.set()
        thread.join()
    assert other.org_names() == []  # the connection is back in the pool
    other.close()
    store.close()


async def test_a_database_away_and_back_loses_no_acknowledged_event(own_database, tmp_path):
    url, control = own_database
    # a writer waits this long for a connection before failing its batch (not acked)
    server = await start_server(tmp_path, database_url=url + "?pool_timeout_s=2")
    try:
        device = await server.device("laptop")

        async def ready() -> int:
            async with aiohttp.ClientSession() as http:
                async with http.get(server.url + "/readyz") as resp:
                    return resp.status

        def capture(n: int) -> None:
            device.replica.capture_many(
                [device.replica.make_event(kind="conversion", value_cents=1) for _ in range(n)]
            )

        capture(100)
        await device.sync_once()
        assert await ready() == 200

        control.break_connections()  # a restart, seen from the pool: every connection broken
        capture(100)
        await device.sync_once()  # broken connections are replaced on the next borrow
        assert device.replica.queue_depths()[0] == 0

        control.go_away()  # down: connections refused
        assert await ready() == 503
        capture(100)
        with pytest.raises(Exception):  # noqa: B017 - the push fails, nothing is acked
            await device.sync_once()
        assert device.replica.queue_depths()[0] == 100

        control.come_back()
        for _ in range(600):  # bounded: until the pool has reconnected (its pause grows)
            if await ready() == 200:
                break
            await asyncio.sleep(0.05)
        assert await ready() == 200
        await device.sync_once()
        assert device.replica.queue_depths()[0] == 0
        assert server.rows("SELECT count(*), count(DISTINCT id) FROM events") == [(300, 300)]
    finally:
        for engine in server.engines:
            await engine.close()
            engine.replica.close()
        await server.runner.cleanup()
