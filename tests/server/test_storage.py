"""The SQLite backend's event ingest: what a PUSH frame carries is what a report reads back."""

import datetime as dt
import sqlite3

import msgpack

from server.storage.sqlite import SQLiteStorage
from shared.protocol import messages as m
from shared.protocol.events import Event
from shared.protocol.ids import new_id


def _push(events, priority=0):
    return m.decode_frame(
        m.push_events_raw(1, priority, [msgpack.packb(e.to_wire()) for e in events])
    )


def test_a_pushed_batch_is_stored_once_with_its_fields(tmp_path):
    storage = SQLiteStorage(tmp_path)
    org, device = new_id(), new_id()
    events = [
        Event(new_id(), "touchpoint", 1_700_000_000_000 + i, i, f"c{i}@x.test", None, "email")
        for i in range(1234)  # more than one statement's worth of rows, and a remainder
    ]
    frame = _push(events)
    with storage.transaction():
        assert storage.insert_events(
            org_id=org, device_id=device, events=frame["events"], priority=0, commit_seq=7
        ) == (1234, 0)
    with storage.transaction():  # the same batch again: every event is a duplicate
        assert storage.insert_events(
            org_id=org, device_id=device, events=frame["events"], priority=0, commit_seq=8
        ) == (0, 1234)
    rows = list(storage.event_rows(org, None, None))
    assert rows == [
        (e.id, e.kind, e.occurred_at_ms, e.contact, None, "email", None, {}) for e in events
    ]
    assert storage.db.execute(
        "SELECT DISTINCT org_id, device_id, priority, commit_seq FROM events"
    ).fetchall() == [(org, device, 0, 7)]


def test_payloads_keep_extension_types_and_timestamps(tmp_path):
    storage = SQLiteStorage(tmp_path)
    when = msgpack.Timestamp.from_datetime(dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    payload = {"ext": msgpack.ExtType(5, b"ab"), "when": when, "nested": {"a": [1, "b"]}}
    event = Event(new_id(), "conversion", 1_700_000_000_000, 1, value_cents=100, payload=payload)
    with storage.transaction():
        storage.insert_events(
            org_id="o", device_id="d", events=_push([event])["events"], priority=0, commit_seq=1
        )
    [row] = storage.event_rows("o", None, None)
    assert row[7] == payload


def test_checkpoints_run_off_the_committing_thread(tmp_path):
    storage = SQLiteStorage(tmp_path, checkpoint_in_background=True)
    try:
        assert storage.db.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        events = [Event(new_id(), "open", 1_700_000_000_000, i) for i in range(3000)]
        frame = _push(events, priority=1)
        with storage.transaction():
            storage.insert_events(
                org_id="o", device_id="d", events=frame["events"], priority=1, commit_seq=1
            )
        assert storage.checkpointer.wait(timeout_s=10)
        assert storage.checkpointer.checkpoints >= 1
        other = sqlite3.connect(tmp_path / "server.sqlite")
        assert other.execute("SELECT count(*) FROM events").fetchone() == (3000,)
        other.close()
    finally:
        storage.close()
    assert not storage.checkpointer.running


def test_changes_after_a_cursor_are_read_by_index(tmp_path):
    storage = SQLiteStorage(tmp_path)
    try:
        org = storage.ensure_org("Org A")
        for i in range(3):
            storage.log_update(
                campaign_id=f"c{i % 2}",
                org_id=org,
                device_id=None,
                user_id="u",
                update=bytes([i + 1]),
                meta={},
                at_ms=0,
            )
        storage.log_update(
            campaign_id="x",
            org_id="other",
            device_id=None,
            user_id="u",
            update=b"\x09",
            meta={},
            at_ms=0,
        )
        assert storage.last_update_seq(org) == 3 and storage.last_update_seq("none") == 0
        assert storage.updates_after(org, 1) == [(2, "c1", b"\x02"), (3, "c0", b"\x03")]
        plan = " ".join(
            str(r)
            for r in storage.db.execute(
                "EXPLAIN QUERY PLAN SELECT seq, campaign_id, update_blob FROM campaign_updates "
                "WHERE org_id = ? AND seq > ? ORDER BY seq",
                (org, 1),
            )
        )
        assert "campaign_updates_by_org" in plan and "TEMP B-TREE" not in plan
    finally:
        storage.close()


def test_seeded_campaigns_are_logged_for_pulls_by_cursor(tmp_path):
    from devtools.seed import seed_demo

    seed_demo(tmp_path, org="Org A", seed=1, suppliers=2, couples=5, campaigns=3, days=2)
    conn = sqlite3.connect(tmp_path / "server.sqlite")
    try:
        logged = dict(conn.execute("SELECT campaign_id, update_blob FROM campaign_updates"))
        states = dict(conn.execute("SELECT id, state FROM campaigns"))
    finally:
        conn.close()
    assert len(states) == 3 and logged == states


def test_campaigns_stored_before_logging_get_one_log_entry(tmp_path):
    import pycrdt
    import sqlite_utils

    from server.storage.sqlite import migrations
    from shared.protocol import campaign as schema

    db = sqlite_utils.Database(sqlite3.connect(tmp_path / "server.sqlite", isolation_level=None))
    migrations.apply(db, stop_before="m005_log_unlogged_campaigns")
    doc = schema.new_doc()
    with doc.transaction():
        schema.set_field(doc, "name", "Spring open day")
    state = doc.get_update()
    unlogged, logged = new_id(), new_id()
    for campaign_id in (unlogged, logged):
        db.execute(
            "INSERT INTO campaigns (id, org_id, state, snapshot, updated_at_ms) "
            "VALUES (?, 'o', ?, '{}', 1)",
            (campaign_id, state),
        )
    db.execute(
        "INSERT INTO campaign_updates (campaign_id, org_id, user_id, update_blob, received_at_ms) "
        "VALUES (?, 'o', 'u', ?, 1)",
        (logged, state),
    )
    db.conn.close()
    storage = SQLiteStorage(tmp_path)  # applies m005
    try:
        rows = storage.updates_after("o", 0)
    finally:
        storage.close()
    assert sorted(c for _, c, _ in rows) == sorted([unlogged, logged])
    assert [u for _, c, u in rows if c == unlogged] == [state]
    replayed = pycrdt.Doc()
    replayed.apply_update(rows[-1][2])
    assert schema.snapshot(replayed)["name"] == "Spring open day"
