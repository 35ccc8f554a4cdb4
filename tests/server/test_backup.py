"""`wedsync admin backup` while a real server process commits, and `wedsync admin restore` with a
new log epoch: a device whose change cursor is ahead of the restored log is re-pulled by state
vector instead of missing what the server logs under the same numbers again."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine
from server import admin, log_epoch
from server.campaigns import pull_changes
from server.serving_lock import DataDirInUse
from server.storage import open_storage
from server.storage.sqlite.backup import BackupError, backup_file, check_backup

from ..conftest import PASSWORD, USERS, add_users, free_port, start_server_process


def wedsync(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "wedsync", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def stop(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 30) == 0


class Devices:
    def __init__(self, tmp: Path, url: str) -> None:
        self.tmp, self.url, self.tokens, self.engines = tmp, url, MemoryTokens(), []

    async def login(self, name: str, user: str = "marketer") -> SyncEngine:
        engine = SyncEngine(Replica(self.tmp / "profiles" / name), tokens=self.tokens)
        await engine.login(self.url, USERS[user][0], PASSWORD, name)
        self.engines.append(engine)
        return engine

    async def close(self) -> None:
        for engine in self.engines:
            await engine.close()
            engine.replica.close()


@pytest.fixture
async def devices(tmp_path):
    made: list[Devices] = []

    def make(url: str) -> Devices:
        made.append(Devices(tmp_path, url))
        return made[-1]

    yield make
    for d in made:
        await d.close()


async def test_a_backup_taken_while_the_server_commits_holds_whole_commits(tmp_path, devices):
    data = tmp_path / "server"
    add_users(data)
    port = free_port()
    proc = await start_server_process(data, port)
    try:
        laptop = await devices(f"http://127.0.0.1:{port}").login("laptop")
        laptop.batch_size, laptop.window = 100, 1  # one batch, one commit, at a time
        for i in range(1_000):
            laptop.replica.capture(kind="touchpoint", contact=f"c{i}@x.test", channel="email")
        loop = asyncio.get_running_loop()
        backups: list[asyncio.Future] = []

        def acked(step: str, _priority: int, _kind: str, _items: int) -> None:
            if step == "acked" and len(backups) < 2:  # while batches are still being committed
                target = tmp_path / f"backup-{len(backups)}.sqlite"
                backups.append(loop.run_in_executor(None, backup_file, data, target))

        laptop.trace.append(acked)
        report = await laptop.sync_once()
        assert report.pushed[0] == 1_000
        taken = [await b for b in backups]
    finally:
        await stop(proc)
    assert sum(laptop.replica.queue_depths().values()) == 0
    for backup in taken:
        held = check_backup(Path(backup["file"]))  # whole, readable, a server store
        assert held["events"] == backup["events"]
        assert 100 <= held["events"] < 1_000 and held["events"] % 100 == 0  # whole commits
    with pytest.raises(BackupError, match="exists"):
        backup_file(data, Path(taken[0]["file"]))
    assert admin.stats(data)["events"]["total"] == 1_000


async def test_after_a_restore_a_device_ahead_of_the_backup_is_repulled(tmp_path, devices):
    data = tmp_path / "server"
    add_users(data)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = await start_server_process(data, port)
    fleet = devices(url)
    ahead = await fleet.login("ahead")
    old_app = await fleet.login("old-app", "marketer2")
    old_app.protocol_version = 1  # the previous app: sends no epoch with its cursor
    try:
        first, _ = ahead.replica.create_campaign(name="Spring fair")
        await ahead.sync_once()
        backup = wedsync("admin", "--data-dir", str(data), "backup", "--to", str(tmp_path / "b"))
        assert backup["campaigns"] == 1 and backup["log_epoch"]
        for i in range(3):  # logged after the backup: the restore will lose these seqs
            ahead.replica.add_campaign_note(first, f"note {i}")
        await ahead.sync_once()
        await old_app.sync_once()
        cursor = ahead.replica.pull_cursor()
        assert cursor > backup["last_change_seq"]
        assert old_app.replica.pull_cursor() == cursor
        with pytest.raises(DataDirInUse, match="stop it first"):
            from server.backup import restore_command

            restore_command(_args(data, tmp_path / "b"))
    finally:
        await stop(proc)

    restored = wedsync("admin", "--data-dir", str(data), "restore", "--from", str(tmp_path / "b"))
    assert restored["log_epoch"] != backup["log_epoch"]
    assert restored["restored"]["last_change_seq"] == backup["last_change_seq"]
    assert Path(restored["previous_kept_as"]).is_file()
    assert log_epoch.load_or_create(data).epoch == restored["log_epoch"]

    proc = await start_server_process(data, port)
    try:
        # Someone who never saw the lost history writes enough to reuse the device's numbers.
        fresh = await fleet.login("fresh", "marketer3")
        await fresh.sync_once()
        created = [fresh.replica.create_campaign(name=f"After restore {i}")[0] for i in range(6)]
        await fresh.sync_once()
        storage = open_storage(data)
        try:
            org = storage.org_id(USERS["marketer"][2])
            assert storage.last_update_seq(org) > cursor  # the log passed the device's cursor
            by_cursor = pull_changes(storage, org, {}, cursor)
            missed = set(created) - {c for c, _ in by_cursor.updates}
        finally:
            storage.close()
        assert missed  # what a pull by the old cursor alone would silently skip

        for device in (ahead, old_app):
            await device.sync_once()
            names = {c["name"] for c in device.replica.campaigns()}
            assert {f"After restore {i}" for i in range(6)} <= names, device.replica.device_id
        assert ahead.replica.pull_epoch() == restored["log_epoch"]
        assert ahead.replica.pull_cursor() == fresh.replica.pull_cursor()
        # counting in the new epoch, the next pull is by cursor again: nothing to send
        assert (await ahead.sync_once()).pulled == 0
    finally:
        await stop(proc)


def _args(data: Path, source: Path):
    import argparse

    return argparse.Namespace(data_dir=data, database_url=None, source=source)


def test_restore_refuses_a_file_that_is_not_a_server_backup(tmp_path):
    (tmp_path / "junk").write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError):
        check_backup(tmp_path / "junk")
    import sqlite3

    other = sqlite3.connect(tmp_path / "other.sqlite")
    other.execute("CREATE TABLE t (x)")
    other.close()
    with pytest.raises(BackupError, match="not a WedSync server store"):
        check_backup(tmp_path / "other.sqlite")
    done = subprocess.run(
        [sys.executable, "-m", "wedsync", "admin", "--data-dir", str(tmp_path / "d")]
        + ["restore", "--from", str(tmp_path / "other.sqlite")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("wedsync: error [backup_failed]: ")
    assert not (tmp_path / "d" / log_epoch.EPOCH_FILENAME).exists()  # nothing changed
