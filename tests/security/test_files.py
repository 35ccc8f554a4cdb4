"""The stores' files are the service user's alone (issue 12, point 11): the server's and the
replica's databases and their -wal/-shm files are created 0600 in 0700 folders, and older
files that others could read are tightened when opened."""

from __future__ import annotations

import os
import stat

import pytest

from client.store import Replica
from server.storage import open_storage


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def usual_umask():
    """The usual 022, under which files were created 0644 and folders 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_server_store_is_private(tmp_path):
    data = tmp_path / "server-data"
    storage = open_storage(data, serving=True)
    try:
        with storage.transaction():
            storage.ensure_org("Org")
        assert mode(data) == 0o700
        files = sorted(p.name for p in data.iterdir())
        assert {"server.sqlite", "server.sqlite-wal", "server.sqlite-shm"} <= set(files)
        assert {mode(data / name) for name in files if name.startswith("server.sqlite")} == {0o600}
    finally:
        storage.close()


def test_a_new_replica_is_private(tmp_path):
    profile = tmp_path / "profile"
    replica = Replica(profile)
    try:
        replica.capture(kind="lead", contact="a@b.test")
        assert mode(profile) == 0o700
        dbs = [p for p in profile.iterdir() if ".sqlite" in p.name or p.suffix == ".db"]
        assert dbs and {mode(p) for p in dbs} == {0o600}
    finally:
        replica.close()


def test_an_existing_store_readable_by_others_is_tightened(tmp_path):
    storage = open_storage(tmp_path)
    storage.close()
    os.chmod(tmp_path / "server.sqlite", 0o644)
    storage = open_storage(tmp_path)
    storage.close()
    assert mode(tmp_path / "server.sqlite") == 0o600


def test_durability_is_a_setting_with_full_available(tmp_path):
    for durability, expected in (("NORMAL", 1), ("FULL", 2)):
        storage = open_storage(tmp_path / durability, serving=True, durability=durability)
        try:
            assert storage.db.execute("PRAGMA synchronous").fetchone()[0] == expected
        finally:
            storage.close()
