"""`wedsync admin migrate` on either backend, and a server refusing a schema newer than it knows."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import free_port, query_store

pytestmark = pytest.mark.backends


def wedsync(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wedsync", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def store_args(location) -> list[str]:
    if isinstance(location, str):
        return ["--database-url", location]
    return ["--data-dir", str(location)]


def test_migrate_applies_what_is_missing_once(store_location, backend):
    first = wedsync("admin", *store_args(store_location), "migrate", "--json")
    assert first.returncode == 0, first.stderr
    done = json.loads(first.stdout)
    assert done["backend"] == ("postgresql" if backend == "postgres" else "sqlite")
    assert done["applied"] and done["applied"][0].endswith("initial")
    again = json.loads(wedsync("admin", *store_args(store_location), "migrate", "--json").stdout)
    assert again["applied"] == [] and again["schema"] == done["schema"]
    assert query_store(store_location, "SELECT count(*) FROM orgs") == [(0,)]


def test_the_url_may_come_from_the_environment(pg_url):
    done = wedsync("admin", "migrate", "--json", env={"WEDSYNC_DATABASE_URL": pg_url})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["backend"] == "postgresql"


def test_a_server_refuses_a_store_migrated_by_a_newer_version(store_location, backend):
    assert wedsync("admin", *store_args(store_location), "migrate").returncode == 0
    if backend == "postgres":
        import psycopg

        with psycopg.connect(store_location, autocommit=True) as conn:
            conn.execute("INSERT INTO wedsync_schema (version, name) VALUES (999, 'future')")
    else:
        conn = sqlite3.connect(store_location / "server.sqlite")
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('wedsync.server', 'm999_future', '2030-01-01')"
        )
        conn.commit()
        conn.close()
    started = wedsync("server", *store_args(store_location), "--port", str(free_port()))
    assert started.returncode != 0
    assert "error [schema_too_new]" in started.stderr and "newer wedsync" in started.stderr
    refused = wedsync("admin", *store_args(store_location), "migrate")
    assert refused.returncode != 0 and "schema_too_new" in refused.stderr
