"""`wedsync admin copy`: a SQLite server store into PostgreSQL and back, verified, with devices'
tokens and change cursors still good against the copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devtools.seed import seed_demo
from server.storage import open_storage
from server.storage.copy import CopyError, copy_store
from tests.conftest import start_server


def stats(location) -> dict:
    store = open_storage(location)
    try:
        return store.stats()
    finally:
        store.close()


async def test_a_sqlite_store_moves_to_postgresql_and_its_devices_carry_on(tmp_path, pg_url):
    # history on SQLite: seeded events and campaigns, devices that synced, a flagged conflict
    server = await start_server(tmp_path)
    try:
        seed_demo(
            server.data_dir, org="Org A", seed=2, suppliers=5, couples=40, campaigns=3, days=20
        )
        a = await server.device("a")
        b = await server.device("b", "marketer2")
        cid, _ = a.replica.create_campaign(name="Spring open day")
        a.replica.set_campaign_field(cid, "budget_cents", 40_000)
        await a.sync_once()
        await b.sync_once()
        a.replica.set_campaign_field(cid, "budget_cents", 50_000)
        b.replica.set_campaign_field(cid, "budget_cents", 60_000)
        await a.sync_once()
        await b.sync_once()
        a.replica.capture_many([a.replica.make_event(kind="conversion", value_cents=700)])
        await a.sync_once()
    finally:
        await server.runner.cleanup()
    before = stats(server.data_dir)
    assert before["conflicts_open"] == 1 and before["events"]["total"] > 100

    done = copy_store(server.data_dir, pg_url)
    assert (
        done["verified"]["campaigns"] == 4 and done["rows"]["events"] == before["events"]["total"]
    )
    assert stats(pg_url) == before

    # the same devices, tokens and cursors, against a server on the copy
    moved = await start_server(tmp_path / "moved", database_url=pg_url)
    try:
        for engine in (a, b):
            engine.replica.set_setting("server_url", moved.url)
            engine.tokens = server.tokens
        b.replica.set_campaign_field(cid, "description", "After the move")
        await b.sync_once()
        report = await a.sync_once()
        assert a.replica.campaign(cid)["description"] == "After the move"
        assert sum(report.pushed.values()) == 0
        assert moved.stats()["events"]["total"] == before["events"]["total"]
    finally:
        for engine in (a, b):
            await engine.close()
            engine.replica.close()
        await moved.runner.cleanup()

    # and back, for a local analysis copy
    back = tmp_path / "analysis"
    copy_store(pg_url, back)
    assert stats(back) == stats(pg_url)


def test_copying_into_a_store_that_has_data_is_refused(tmp_path, pg_url):
    seed_demo(tmp_path / "a", org="Org A", seed=1, suppliers=2, couples=5, campaigns=1, days=2)
    copy_store(tmp_path / "a", pg_url)
    with pytest.raises(CopyError, match="not empty"):
        copy_store(tmp_path / "a", pg_url)


def test_the_command_prints_what_it_copied_and_checked(tmp_path, pg_url):
    seed_demo(tmp_path / "a", org="Org A", seed=1, suppliers=2, couples=5, campaigns=1, days=2)
    done = subprocess.run(
        [sys.executable, "-m", "wedsync", "admin", "copy", "--from", str(tmp_path / "a"),
         "--to", pg_url, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["verified"]["campaigns"] == 1 and "***" not in answer["to"]
    assert answer["rows"]["events"] == answer["verified"]["events"] > 0
