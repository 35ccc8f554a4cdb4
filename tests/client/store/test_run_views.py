"""The last run view per campaign is kept in the replica with its as-of time: it survives a
restart, a late answer never hides newer figures, and a profile from before the cache gains it
on upgrade with its campaigns intact."""

from __future__ import annotations

import sqlite3

import sqlite_utils

from client.store import Replica, run_view, save_run_view
from client.store.migrations import migrations

VIEW = {
    "campaign_id": "c1",
    "status": "active",
    "as_of_ms": 2_000,
    "totals": {"enrolled": 12, "sent": 10},
    "steps": [{"index": 0, "kind": "send_email", "sent": 10, "variants": []}],
}


def test_a_run_view_is_kept_with_its_as_of_time_across_a_restart(tmp_path):
    replica = Replica(tmp_path / "p")
    cid, _ = replica.create_campaign(name="Spring open day")
    assert run_view(replica, cid) is None
    assert save_run_view(replica, cid, VIEW, as_of_ms=2_000, fetched_at_ms=2_500)
    replica.close()

    reopened = Replica(tmp_path / "p")
    cached = run_view(reopened, cid)
    assert cached is not None
    assert (cached.view, cached.as_of_ms, cached.fetched_at_ms) == (VIEW, 2_000, 2_500)


def test_an_older_answer_never_replaces_newer_figures(tmp_path):
    replica = Replica(tmp_path / "p")
    newer = {**VIEW, "totals": {"enrolled": 20, "sent": 18}}
    assert save_run_view(replica, "c1", newer, as_of_ms=5_000, fetched_at_ms=5_100)
    assert not save_run_view(replica, "c1", VIEW, as_of_ms=2_000, fetched_at_ms=6_000)
    cached = run_view(replica, "c1")
    assert cached.view["totals"]["enrolled"] == 20 and cached.as_of_ms == 5_000
    assert save_run_view(replica, "c1", VIEW, as_of_ms=5_000, fetched_at_ms=7_000)
    assert run_view(replica, "c1").fetched_at_ms == 7_000


def test_a_profile_from_before_the_cache_gains_it_and_keeps_its_campaigns(tmp_path):
    path = tmp_path / "p" / "replica.sqlite"
    path.parent.mkdir(parents=True)
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    migrations.apply(db, stop_before="m005_run_view_snapshots")
    db.execute(
        "INSERT INTO campaigns (id, state, snapshot, updated_at_ms) VALUES ('c1', x'0000', "
        '\'{"name": "Autumn fair"}\', 0)'
    )
    db.execute("PRAGMA user_version = 4")
    db.conn.close()

    replica = Replica(tmp_path / "p")
    assert [c["name"] for c in replica.campaigns()] == ["Autumn fair"]
    assert save_run_view(replica, "c1", VIEW, as_of_ms=1, fetched_at_ms=1)
    assert run_view(replica, "c1").view == VIEW
