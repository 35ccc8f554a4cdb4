"""`client status` says whether the server was reachable at the last attempt, when it was last
reached and what failed: a failed connect is recorded like a failed sync."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from client.sync import ServerUnreachable
from wedsync.cli import main


async def test_status_after_the_server_went_away_says_unreachable_and_when_last_reached(
    server, capsys
):
    device = await server.device("laptop")
    await device.sync_once()
    reached = device.replica.status()
    assert reached["server_reachable"] is True and reached["last_error"] is None
    await server.runner.cleanup()  # the server goes down

    with pytest.raises(ServerUnreachable):
        await device.sync_once()
    status = device.replica.status()
    assert status["server_reachable"] is False
    assert status["last_error"].startswith(f"cannot reach {server.url}")
    assert status["last_reached_ms"] == reached["last_reached_ms"]
    assert status["last_attempt_ms"] >= reached["last_reached_ms"]
    assert status["last_sync_ms"] == reached["last_sync_ms"]
    assert not device.replica.sync_history(1)[0]["ok"]

    profile = str(device.replica.profile_dir)
    assert await asyncio.to_thread(main, ["client", "--profile", profile, "status"]) == 0
    human = capsys.readouterr().out
    assert "Reachable     no, at the last attempt (" in human
    assert f"Failed        cannot reach {server.url}" in human
    assert "Last reached  20" in human and "True" not in human
    assert await asyncio.to_thread(main, ["client", "--profile", profile, "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["server_reachable"] is False


async def test_a_refusal_at_connect_means_the_server_was_reached(server):
    device = await server.device("laptop")
    device.tokens.set(f"device:{device.replica.device_id}", "not-a-token")
    with pytest.raises(Exception) as refused:
        await device.sync_once()
    status = device.replica.status()
    assert status["server_reachable"] is True and status["last_error"] == str(refused.value)
    assert status["last_sync_ms"] is None


class _NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a  # retry at once: the test counts attempts, not seconds


async def test_the_live_loop_records_unreachable_once_not_at_every_retry(server):
    device = await server.device("laptop")
    await server.runner.cleanup()
    device._rng = _NoJitter()
    stop = asyncio.Event()
    retries = []

    def waited(reason: str) -> None:
        retries.append(reason)
        if len(retries) == 4:
            stop.set()

    device.live_waits.append(waited)
    await asyncio.wait_for(device.run_forever(stop), 30)
    assert retries == ["retry"] * 4
    status = device.replica.status()
    assert status["server_reachable"] is False and "cannot reach" in status["last_error"]
    assert len(device.replica.sync_history(50)) == 1  # one row for four failed attempts


async def test_sync_in_words_names_the_classes(server, capsys):
    from tests.conftest import PASSWORD, USERS

    profile = str(server.tmp / "cli")
    cli = ["client", "--profile", profile]
    login = [*cli, "login", "--server", server.url, "--email", USERS["marketer"][0]]
    assert await asyncio.to_thread(main, [*login, "--password", PASSWORD]) == 0
    capture = [*cli, "event", "add", "--kind", "conversion", "--value-cents", "5000"]
    assert await asyncio.to_thread(main, [*capture, "--contact", "ann@x.test"]) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(main, [*cli, "sync"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Sent 1: attribution 1 (done at ") and "marketing 0" in out
    assert "pushed" not in out and "class_done_ms" not in out
