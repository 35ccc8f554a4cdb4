"""A replica written by an earlier version opens with its queue, refusals and sync states intact."""

import sqlite3

import msgpack
import sqlite_utils

from client.store import Replica
from client.store.migrations import migrations
from shared.protocol.events import Event
from shared.protocol.ids import new_id


def _old_replica(path):
    """A replica at schema m002: rowid outbox with AUTOINCREMENT, sync state found by item id."""
    path.parent.mkdir(parents=True)
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    migrations.apply(db, stop_before="m003_outbox_keyed_by_class")
    events = [
        Event(new_id(), kind, 1_700_000_000_000 + i, i, f"c{i}@x.test")
        for i, kind in enumerate(["conversion", "open", "activity_log", "touchpoint"])
    ]
    for e in events:
        db.execute(
            "INSERT INTO events (id, kind, priority, occurred_at_ms, hlc, contact, captured_at_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, 0)",
            (e.id, e.kind, e.priority, e.occurred_at_ms, e.hlc, e.contact),
        )
        db.execute(
            "INSERT INTO outbox (priority, item_type, item_id, body) VALUES (?, 'event', ?, ?)",
            (e.priority, e.id, msgpack.packb(e.to_wire())),
        )
    # the first was acked (synced), the last refused for good
    db.execute("DELETE FROM outbox WHERE item_id = ?", (events[0].id,))
    db.execute(
        "INSERT INTO rejected (seq, priority, item_type, item_id, body, code, reason, at_ms) "
        "SELECT seq, priority, item_type, item_id, body, 'FORBIDDEN', 'viewer', 0 FROM outbox "
        "WHERE item_id = ?",
        (events[3].id,),
    )
    db.execute("DELETE FROM outbox WHERE item_id = ?", (events[3].id,))
    db.conn.close()
    return events


def test_the_outbox_migration_keeps_queue_refusals_and_sync_state(tmp_path):
    events = _old_replica(tmp_path / "p" / "replica.sqlite")
    replica = Replica(tmp_path / "p")
    assert replica.queue_depths() == {0: 0, 1: 1, 2: 0, 3: 1}
    assert replica.rejected_count() == 1
    synced = {e["id"]: e["synced"] for e in replica.recent_events()}
    assert synced == {
        events[0].id: True,  # acked before the upgrade
        events[1].id: False,
        events[2].id: False,
        events[3].id: False,  # refused: kept, never counted as synced
    }
    batch = replica.next_event_batch(3, 0, 10)
    assert [msgpack.unpackb(b)[0] for b in batch.packed] == [events[2].id]
    # new captures are numbered after everything the old outbox handed out (4 rows)
    new = replica.capture(kind="lead", contact="new@x.test").events[0]
    [(seq,)] = replica.db.execute("SELECT seq FROM outbox WHERE item_id = ?", (new.id,))
    assert seq == 5
    replica.ack(1, "event", 0, 10)
    synced = {e["id"]: e["synced"] for e in replica.recent_events()}
    assert synced[events[1].id] and synced[new.id] and not synced[events[3].id]


def test_the_schema_version_counts_every_migration():
    from client.store import db
    from client.store import migrations as replica_migrations

    assert db.SCHEMA_VERSION == replica_migrations.registered()


def test_a_current_replica_opens_without_the_migration_code(tmp_path):
    """The second open of a profile reads user_version and skips sqlite-utils altogether."""
    import subprocess
    import sys

    Replica(tmp_path / "p").close()
    code = (
        "import sys; from client.store import Replica; Replica(sys.argv[1]).close(); "
        "print(sorted(m for m in sys.modules if m.startswith(('sqlite_utils', "
        "'client.store.migrations'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "p")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"


def test_a_replica_from_a_newer_version_is_refused_with_a_clear_error(tmp_path):
    import pytest

    from client.store import StoreError

    Replica(tmp_path / "p").close()
    conn = sqlite3.connect(tmp_path / "p" / "replica.sqlite")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer WedSync"):
        Replica(tmp_path / "p")


def test_campaigns_stored_with_notes_as_one_text_read_back_as_entries(tmp_path):
    """A profile from before notes were entries: its stored snapshots are rebuilt, the old text
    shown as the first entry, and a note added now comes after it."""
    import json

    import pycrdt

    path = tmp_path / "p" / "replica.sqlite"
    path.parent.mkdir(parents=True)
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    migrations.apply(db, stop_before="m004_campaign_snapshots_with_note_entries")
    old = pycrdt.Doc()
    with old.transaction():
        old.get("name", type=pycrdt.Text).insert(0, "Autumn fair")
        old.get("notes", type=pycrdt.Text).insert(0, "Anna: book stand 14")
    cid = new_id()
    db.execute(
        "INSERT INTO campaigns (id, state, snapshot, updated_at_ms) VALUES (?, ?, ?, 0)",
        (
            cid,
            old.get_update(),
            json.dumps({"name": "Autumn fair", "notes": "Anna: book stand 14"}),
        ),
    )
    db.execute("PRAGMA user_version = 3")
    db.conn.close()

    replica = Replica(tmp_path / "p")
    camp = replica.campaign(cid)
    assert camp["name"] == "Autumn fair"
    assert camp["notes"] == [
        {"id": "legacy", "author": None, "at_ms": None, "text": "Anna: book stand 14"}
    ]
    replica.add_campaign_note(cid, "Mia: bring brochures")
    assert [n["text"] for n in replica.campaign(cid)["notes"]] == [
        "Anna: book stand 14",
        "Mia: bring brochures",
    ]
