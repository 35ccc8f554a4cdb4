import json
import sqlite3

import pytest

from client.store import InvalidInput, NotFound, Replica


def rows(replica: Replica, sql: str) -> list[tuple]:
    return list(replica.db.execute(sql).fetchall())


def test_capture_writes_the_event_and_queues_it_in_one_transaction(tmp_path):
    replica = Replica(tmp_path / "p")
    result = replica.capture(
        kind="conversion", contact="a@b.test", value_cents=120_000, channel="email"
    )
    event = result.events[0]
    assert result.changes.events == 1 and result.changes.outbox
    assert rows(replica, "SELECT id, kind, value_cents FROM events") == [
        (event.id, "conversion", 120_000)
    ]
    assert replica.recent_events()[0]["synced"] is False
    assert rows(replica, "SELECT priority, item_type, item_id FROM outbox") == [
        (0, "event", event.id)
    ]
    replica.close()
    # a second process sees it on disk
    conn = sqlite3.connect(tmp_path / "p" / "replica.sqlite")
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1


def test_invalid_capture_writes_nothing(tmp_path):
    replica = Replica(tmp_path / "p")
    with pytest.raises(InvalidInput, match="unknown kind"):
        replica.capture(kind="teleport")
    with pytest.raises(InvalidInput, match="lowercase"):
        replica.capture(kind="touchpoint", channel="Wedding Fair")
    assert rows(replica, "SELECT count(*) FROM events") == [(0,)]
    assert replica.queue_depths() == {0: 0, 1: 0, 2: 0, 3: 0}


def test_reimporting_the_same_ids_stores_and_queues_once(tmp_path):
    replica = Replica(tmp_path / "p")
    events = [replica.make_event(kind="lead", contact=f"c{i}@x.test") for i in range(10)]
    assert replica.capture_many(events).changes.events == 10
    assert replica.capture_many(events[5:]).changes.events == 0
    assert replica.queue_depths()[1] == 10


def test_queue_depths_follow_priority_classes(tmp_path):
    replica = Replica(tmp_path / "p")
    for kind in ("conversion", "touchpoint", "open", "attachment", "activity_log", "activity_log"):
        replica.capture(kind=kind)
    replica.upsert_contact("a@b.test", {"name": "Ana"})
    assert replica.queue_depths() == {0: 2, 1: 1, 2: 1, 3: 3}


def test_contact_fields_merge_last_writer_wins_per_field(tmp_path):
    replica = Replica(tmp_path / "p")
    replica.upsert_contact("a@b.test", {"name": "Ana", "phone": "1"})
    replica.upsert_contact("a@b.test", {"phone": "2"})
    assert replica.contact("a@b.test") == {"name": "Ana", "phone": "2"}


def test_campaign_edit_stores_state_and_queues_update_with_guard_metadata(tmp_path):
    replica = Replica(tmp_path / "p")
    cid, changes = replica.create_campaign(name="Spring", campaign_type="nurture")
    assert cid in changes.campaigns
    replica.set_campaign_field(cid, "budget_cents", "50000")
    camp = replica.campaign(cid)
    assert camp["budget_cents"] == 50_000 and camp["status"] == "draft" and camp["name"] == "Spring"
    batch = replica.next_update_batch(0, 100)
    assert [u[0] for u in batch.updates] == [cid, cid]
    guards = batch.updates[1][2]["guards"]
    assert guards[0]["field"] == "budget_cents" and guards[0]["value"] == 50_000
    assert guards[0]["base"] == []  # first time the budget is set
    replica.set_campaign_field(cid, "budget_cents", 60_000)
    second = replica.next_update_batch(0, 100).updates[2][2]["guards"][0]
    assert second["base"] == [guards[0]["edit"]]  # the replica had seen its own edit
    with pytest.raises(InvalidInput, match="whole number"):
        replica.set_campaign_field(cid, "budget_cents", "lots")
    with pytest.raises(NotFound):
        replica.campaign("01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_ack_removes_only_the_acked_range_and_marks_events_synced(tmp_path):
    replica = Replica(tmp_path / "p")
    replica.capture_many([replica.make_event(kind="conversion") for _ in range(5)])
    batch = replica.next_event_batch(0, 0, 3)
    replica.ack(0, "event", batch.first_seq, batch.last_seq)
    assert replica.queue_depths()[0] == 2
    assert sum(e["synced"] for e in replica.recent_events()) == 3


def test_rejected_items_are_kept_not_dropped(tmp_path):
    replica = Replica(tmp_path / "p")
    replica.capture(kind="lead")
    batch = replica.next_event_batch(1, 0, 10)
    replica.reject(1, "event", batch.first_seq, batch.last_seq, code="forbidden", reason="viewer")
    assert replica.queue_depths()[1] == 0
    assert replica.status()["rejected"] == 1


def test_sync_log_keeps_history(tmp_path):
    replica = Replica(tmp_path / "p")
    replica.record_sync(ok=True, summary={"pushed": {"0": 1}})
    replica.record_sync(ok=False, summary={"error": "cannot reach"})
    history = replica.sync_history()
    assert [h["ok"] for h in history] == [False, True]
    assert replica.status()["last_sync_ms"] is not None
    assert json.dumps(history)


def test_a_working_copy_update_is_stored_and_queued_with_its_guarded_edits(tmp_path):
    from shared.protocol import campaign as schema

    replica = Replica(tmp_path / "p")
    cid, _ = replica.create_campaign(name="Spring")
    working = schema.doc_from_state(replica.campaign_state(cid))
    before = working.get_state()
    with working.transaction():
        guard = schema.set_field(working, "budget_cents", 70_000)
        schema.add_note(working, text="from the builder", author="ann", at_ms=1)
    changes = replica.apply_local_update(cid, working.get_update(before), [guard])
    assert cid in changes.campaigns and changes.outbox
    camp = replica.campaign(cid)
    assert camp["budget_cents"] == 70_000
    assert camp["notes"] == [
        {"id": camp["notes"][0]["id"], "author": "ann", "at_ms": 1, "text": "from the builder"}
    ]
    assert replica.campaign_state(cid) == working.get_update()  # nothing else was added
    (queued,) = replica.next_update_batch(0, 100).updates[1:]
    assert queued[2]["guards"] == [guard.to_meta()]


def test_a_working_copy_update_for_a_missing_campaign_writes_nothing(tmp_path):
    replica = Replica(tmp_path / "p")
    with pytest.raises(NotFound):
        replica.apply_local_update("01ARZ3NDEKTSV4RRFFQ69G5FAV", b"\x00\x00", [])
    assert replica.queue_depths().get(1, 0) == 0


def test_status_names_the_signed_in_role(tmp_path):
    replica = Replica(tmp_path / "p")
    assert replica.status()["role"] is None
    replica.set_setting("role", "admin")
    assert replica.status()["role"] == "admin"
