"""Shared fixtures: a real server on 127.0.0.1 with real SQLite files or a real PostgreSQL
database, logged-in replicas, and a keyring of the tests' own (never the user's).

PostgreSQL: the server named by ``WEDSYNC_TEST_POSTGRES_URL`` (default: the local one, trust
authentication), where a run creates a database of its own on first use and drops it at the
end; each test gets a fresh schema in it (``pg_url``). With no server reachable the PostgreSQL
tests skip, saying why, except in CI (``CI=true``), where they fail. Tests marked ``backends``
that use the ``server`` fixture run once per backend (``backend``: "sqlite" or "postgres")."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports PySide6

import asyncio
import secrets
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import hypothesis  # noqa: F401  (imported here, not lazily at session end: CPython 3.11.7's

#                   ast.parse can fail with "recursion depth mismatch" when pytest rewrites it late)
import keyring
import keyring.backend
import pytest
from aiohttp import web

from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine
from server import admin
from server.app import create_app
from server.config import ServerConfig
from server.sync_ws import CTX

PASSWORD = "correct horse battery"


class InMemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


PG_URL_ENV = "WEDSYNC_TEST_POSTGRES_URL"
#: the server secret of test servers that share a database (never a real deployment's)
SECRET_ENV = {"WEDSYNC_SERVER_SECRET": "11" * 32}
PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgres")


def _with_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_database():
    """The URL of a database made for this run (dropped, with its connections, at the end)."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - a dev install has it
        pytest.fail(f"psycopg is not installed ({exc}): pip install -e '.[app,dev]'")
    url = os.environ.get(PG_URL_ENV) or PG_DEFAULT_URL
    try:
        admin_conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        why = f"PostgreSQL is not reachable at {url} ({str(exc).strip()}); set {PG_URL_ENV}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs PostgreSQL: {why}")
        pytest.skip(why)
    name = f"wedsync_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin_conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(url, name)
    finally:
        admin_conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin_conn.close()


@pytest.fixture
def pg_url(pg_database):
    """A fresh, empty PostgreSQL store: a schema of its own in the run's database."""
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{pg_database}?options=-csearch_path%3D{schema}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND query NOT LIKE '%%pg_stat_activity%%' AND state = 'idle in transaction'"
        )
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def backend(request) -> str:
    """The storage backend a ``backends`` test runs on (default: SQLite)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def store_location(request, backend, tmp_path):
    """Where a fresh store is: a data directory, or a PostgreSQL URL (``pg_url``)."""
    if backend == "postgres":
        return request.getfixturevalue("pg_url")
    return tmp_path / "store"


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("backends") and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def test_keyring():
    previous = keyring.get_keyring()
    backend = InMemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


async def start_server_process(
    data_dir: Path | str,
    port: int,
    env: dict[str, str] | None = None,
    *extra: str,
) -> asyncio.subprocess.Process:
    """`wedsync server` in its own process, as in production; returns once it listens.
    ``data_dir``: a data directory, or a PostgreSQL URL (``--database-url``)."""
    store = (
        ["--database-url", data_dir] if isinstance(data_dir, str) else ["--data-dir", str(data_dir)]
    )
    if isinstance(data_dir, str):  # processes sharing a database share the server secret
        env = {**(env if env is not None else os.environ), **SECRET_ENV}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wedsync",
        "server",
        *store,
        "--port",
        str(port),
        *extra,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if b"listening" not in line:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"the server did not start: {line!r}")
    return proc


async def reply(ws, timeout_s: float = 30.0) -> dict:
    """The next answer on a raw sync websocket to what the test sent: live notices (the
    report's ``report_changed``, alerts) may come in between, as they do for any device."""
    import msgpack

    from shared.protocol import messages as m

    while True:
        frame = msgpack.unpackb((await ws.receive(timeout=timeout_s)).data)
        if frame["t"] != m.MsgType.NOTICE:
            return frame


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


USERS = {
    "admin": ("admin@a.test", "admin", "Org A"),
    "marketer": ("marketer@a.test", "marketer", "Org A"),
    "marketer2": ("marketer2@a.test", "marketer", "Org A"),
    "marketer3": ("marketer3@a.test", "marketer", "Org A"),
    "viewer": ("viewer@a.test", "viewer", "Org A"),
    "other": ("marketer@b.test", "marketer", "Org B"),
    "other_admin": ("admin@b.test", "admin", "Org B"),
}


@dataclass
class RunningServer:
    url: str
    data_dir: Path
    app: web.Application
    runner: web.AppRunner
    tmp: Path
    tokens: MemoryTokens = field(default_factory=MemoryTokens)
    engines: list[SyncEngine] = field(default_factory=list)
    #: the PostgreSQL store's URL; None: the SQLite file in ``data_dir``
    database_url: str | None = None

    @property
    def store(self) -> Path | str:
        return self.database_url or self.data_dir

    def rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Run a query on the server's store, whichever the backend (``?`` placeholders)."""
        return query_store(self.store, sql, args)

    @property
    def ctx(self):
        return self.app[CTX]

    async def device(self, name: str, user: str = "marketer") -> SyncEngine:
        """A new replica in its own profile directory, logged in as ``user``."""
        replica = Replica(self.tmp / "profiles" / name)
        engine = SyncEngine(replica, tokens=self.tokens)
        await engine.login(self.url, USERS[user][0], PASSWORD, name)
        self.engines.append(engine)
        return engine

    def stats(self) -> dict:
        return admin.stats(self.store)


def query_store(store: Path | str, sql: str, args: tuple = ()) -> list[tuple]:
    """Rows of ``sql`` run on a store (a data directory or a PostgreSQL URL)."""
    if isinstance(store, str):
        import psycopg

        from server.storage.postgres import PgSettings

        settings = PgSettings.from_url(store)  # without the store's own settings (pool_*, ...)
        extra = {"options": settings.options} if settings.options else {}
        with psycopg.connect(settings.conninfo, autocommit=True, **extra) as conn:
            return [tuple(r) for r in conn.execute(sql.replace("?", "%s"), args).fetchall()]
    import sqlite3

    conn = sqlite3.connect(Path(store) / "server.sqlite")
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def add_users(store: Path | str) -> None:
    """The tests' users (``USERS``), unless the store has them already."""
    if admin.stats(store)["users"]:
        return
    for email, role, org in USERS.values():
        admin.create_user(store, email=email, password=PASSWORD, role=role, org=org)


async def start_server(
    tmp_path: Path, *, database_url: str | None = None, **config
) -> RunningServer:
    data_dir = tmp_path / "server"
    data_dir.mkdir(parents=True, exist_ok=True)  # the server secret's file, whatever the store
    add_users(database_url or data_dir)
    port = config.pop("port", None) or free_port()
    app = create_app(
        ServerConfig(data_dir=data_dir, database_url=database_url, port=port, **config)
    )
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return RunningServer(
        f"http://127.0.0.1:{port}", data_dir, app, runner, tmp_path, database_url=database_url
    )


@pytest.fixture
async def server(request, tmp_path: Path, backend: str):
    url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    running = await start_server(tmp_path, database_url=url)
    yield running
    for engine in running.engines:
        await engine.close()
        engine.replica.close()
    await running.runner.cleanup()
