"""Every storage protocol, the same answers from each backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import msgpack
import pytest

from server.errors import AlreadyExists
from server.storage import DataVersion, LoggedUpdate, open_storage
from server.storage.errors import SchemaTooNew
from shared.protocol import messages as m
from shared.protocol.events import Event
from shared.protocol.ids import new_id
from tests.conftest import query_store

pytestmark = pytest.mark.backends


@pytest.fixture
def storage(store_location):
    store = open_storage(store_location)
    yield store
    store.close()


def wire(events, priority=0):
    frame = m.decode_frame(
        m.push_events_raw(1, priority, [msgpack.packb(e.to_wire()) for e in events])
    )
    return frame["events"]


def test_accounts_orgs_users_and_devices(storage, backend):
    org = storage.ensure_org("Org A")
    assert storage.ensure_org("Org A") == org and storage.org_id("Org A") == org
    storage.ensure_org("Org 0")
    assert storage.org_names() == ["Org 0", "Org A"]
    user = storage.create_user(org_id=org, email="Ana@a.test", password_hash="h", role="admin")
    storage.create_user(org_id=org, email="bo@a.test", password_hash="h", role="viewer")
    with pytest.raises(AlreadyExists):
        storage.create_user(org_id=org, email="ana@A.TEST", password_hash="h", role="viewer")
    row = storage.user_by_email("ANA@a.test")
    assert (row.id, row.org_name, row.role) == (user, "Org A", "admin")
    # emails are unique within an org only
    other = storage.create_user(
        org_id=storage.ensure_org("Org 0"), email="ana@a.test", password_hash="h2", role="viewer"
    )
    assert [u.id for u in storage.users_by_email("ANA@A.test")] == [user, other]
    assert [u.email for u in storage.users(org)] == ["Ana@a.test", "bo@a.test"]
    mine = new_id()
    assert (
        storage.create_device(
            user_id=user, org_id=org, name="laptop", token_hash="t1", device_id=mine
        )
        == mine
    )
    other = storage.create_device(
        user_id=user, org_id=org, name="phone", token_hash="t2", device_id=mine
    )
    assert other != mine  # the id was taken: a new one
    auth = storage.device_by_token_hash("t2")
    assert (auth.device_id, auth.user_id, auth.org_id, auth.role) == (other, user, org, "admin")
    assert storage.device_by_token_hash("nope") is None
    storage.touch_device(mine, 1234)
    assert storage.device_names() == {mine: "laptop", other: "phone"}


def test_events_are_stored_once_with_their_fields_and_payloads(storage):
    org, device = new_id(), new_id()
    payload = {"nested": {"a": [1, "b"]}, "ok": True, "rate": 1.5, "big": 2**62}
    events = [
        Event(new_id(), "touchpoint", 1_700_000_000_000 + i, i, f"c{i}@x.test", None, "email")
        for i in range(1200)
    ] + [Event(new_id(), "conversion", 1_700_000_009_000, 5, value_cents=100, payload=payload)]
    with storage.transaction():
        seq = storage.begin_commit()
        assert storage.insert_events(
            org_id=org, device_id=device, events=wire(events), priority=0, commit_seq=seq
        ) == (1201, 0)
        storage.record_commit(seq=seq, priority=0, items=1201, at_ms=1)
    with storage.transaction():
        again = storage.begin_commit()
        assert again == seq + 1
        # the same batch again, and one event twice in one batch: duplicates, stored once
        fresh = Event(new_id(), "touchpoint", 1_700_000_000_500, 9)
        assert storage.insert_events(
            org_id=org,
            device_id=device,
            events=wire([*events[:10], fresh, fresh]),
            priority=1,
            commit_seq=again,
        ) == (1, 11)
        storage.record_commit(seq=again, priority=1, items=12, at_ms=2)
    assert storage.events_inserted == 1202
    rows = list(storage.event_rows(org, None, None))
    assert [r[0] for r in rows] == sorted(e.id for e in [*events, fresh])
    by_id = {r[0]: r for r in rows}
    assert by_id[events[0].id] == (
        events[0].id,
        "touchpoint",
        1_700_000_000_000,
        "c0@x.test",
        None,
        "email",
        None,
        {},
    )
    assert by_id[events[-1].id][6:] == (100, payload)
    assert storage.event_time_range(org) == (1_700_000_000_000, 1_700_000_009_000)
    assert storage.event_time_range("none") == (None, None)
    assert len(list(storage.event_rows(org, 1_700_000_000_100, 1_700_000_000_200))) == 100
    assert storage.last_commit_seq() == again
    stats = storage.stats()
    assert stats["events"]["total"] == 1202 and stats["events"]["by_class"]["1"] == 1
    assert {r[3] for r in storage.stored_events(after_commit_seq=seq)} == {again}
    assert len(storage.stored_events()) == 1202


def test_transactions_nest_and_an_inner_failure_rolls_back_alone(storage):
    with storage.transaction():
        storage.ensure_org("kept")
        with pytest.raises(ValueError), storage.transaction():
            storage.ensure_org("inner")
            raise ValueError("boom")
    with pytest.raises(RuntimeError), storage.transaction():
        storage.ensure_org("outer")
        raise RuntimeError("boom")
    assert storage.org_names() == ["kept"]


def test_the_campaign_log_is_per_org_in_seq_order_and_moves_the_data_version(storage):
    org = storage.ensure_org("Org A")
    reader = storage.reader()
    try:
        assert reader.data_version(org) == DataVersion(0, 0)
        with storage.transaction():
            for i in range(3):
                storage.save_campaign(
                    campaign_id=f"c{i % 2}",
                    org_id=org,
                    state=bytes([i]),
                    snapshot={"name": f"n{i}", "budget_cents": 100.0},
                    at_ms=i,
                )
                storage.log_update(
                    campaign_id=f"c{i % 2}",
                    org_id=org,
                    device_id=None,
                    user_id="u",
                    update=bytes([i + 1]),
                    meta={"i": i},
                    at_ms=i,
                )
        storage.log_update(
            campaign_id="x",
            org_id="other",
            device_id="d",
            user_id="u",
            update=b"\x09",
            meta={},
            at_ms=0,
        )
        assert reader.updates_after(org, 1) == [
            LoggedUpdate(2, "c1", b"\x02"),
            LoggedUpdate(3, "c0", b"\x03"),
        ]
        assert reader.last_update_seq(org) == 3 and reader.last_update_seq("none") == 0
        assert reader.data_version(org) == DataVersion(0, 3)
        assert [(c.id, c.state, c.snapshot["name"]) for c in reader.campaigns(org)] == [
            ("c0", b"\x02", "n2"),
            ("c1", b"\x01", "n1"),
        ]
        assert reader.campaign("c0", org_id=org).snapshot == {"name": "n2", "budget_cents": 100.0}
        assert reader.campaign("nope", org_id=org) is None
        assert reader.campaign("c0", org_id="other") is None  # ids are keys within an org
    finally:
        reader.close()


def test_conflicts_and_guarded_edits(storage):
    edit = {
        "edit": "e1",
        "org_id": "o",
        "campaign_id": "c",
        "field": "budget_cents",
        "bases": ["e0"],
        "value": 500,
        "user_id": "u",
        "author": "ana@a.test",
        "device": "d1",
        "hlc": 7,
        "at_ms": 10,
    }
    storage.record_guarded_edit(edit)
    storage.record_guarded_edit({**edit, "value": 999})  # once per edit id
    assert storage.guarded_edits(["e1"], org_id="p") == {}  # another org's edit of that id
    assert storage.guarded_edits(["e1", "zz"], org_id="o") == {
        "e1": {
            "edit": "e1",
            "field": "budget_cents",
            "value": 500,
            "author": "ana@a.test",
            "device": "d1",
            "hlc": 7,
            "at_ms": 10,
            "device_name": None,
        }
    }
    assert storage.guarded_edits([], org_id="o") == {}
    conflict = {
        "id": "k1",
        "org_id": "o",
        "campaign_id": "c",
        "field": "budget_cents",
        "kind": "concurrent_edit",
        "status": "open",
        "candidates": [{"edit": "e1", "value": 500}],
        "provisional": {"edit": "e1"},
        "created_at_ms": 1,
        "updated_at_ms": 1,
    }
    storage.save_conflict(conflict)
    assert storage.open_conflict("c", "budget_cents", "concurrent_edit", org_id="o")[
        "candidates"
    ] == [{"edit": "e1", "value": 500}]
    assert storage.open_conflict("c", "budget_cents", "concurrent_edit", org_id="p") is None
    storage.save_conflict({**conflict, "status": "resolved", "resolution": {"value": 500}})
    assert storage.open_conflict("c", "budget_cents", "concurrent_edit", org_id="o") is None
    assert storage.conflict("k1")["resolution"] == {"value": 500}
    assert [c["id"] for c in storage.conflicts("o")] == ["k1"]
    assert storage.conflicts("o", "open") == []


def test_audit_entries_newest_first(storage):
    storage.audit(
        org_id="o",
        user_id="u",
        email="ana@a.test",
        device_id=None,
        action="resolve",
        target="k1",
        outcome="ok",
        detail={"n": 1},
        at_ms=1,
    )
    storage.audit(
        org_id="o",
        user_id="u",
        email="ana@a.test",
        device_id=None,
        action="capture",
        target=None,
        outcome="refused:forbidden",
        detail={},
        at_ms=2,
    )
    newest, oldest = storage.audit_entries("o", 10)
    assert (newest.action, oldest.action, oldest.detail) == ("capture", "resolve", {"n": 1})
    assert (newest.outcome, oldest.target) == ("refused:forbidden", "k1")
    assert storage.audit_entries("other", 10) == []


def test_contacts_merge_by_the_shared_rule_whatever_the_order(storage):
    writes = [
        ({"name": "Ana", "phone": "1"}, 10, "dev-a"),
        ({"name": "Anna"}, 12, "dev-b"),
        ({"phone": "2"}, 11, "dev-b"),
        ({"name": "Old"}, 9, "dev-c"),
    ]
    with storage.transaction():
        for org, order in (("o1", writes), ("o2", writes[::-1])):
            for fields, hlc, device in order:
                storage.merge_contact(
                    org_id=org, email="ana@x.test", fields=fields, hlc=hlc, device_id=device
                )
    assert storage.contact("o1", "ana@x.test") == {"name": "Anna", "phone": "2"}
    assert storage.contact("o2", "ana@x.test") == storage.contact("o1", "ana@x.test")
    assert [c.email for c in storage.contacts_of("o1")] == ["ana@x.test"]
    assert storage.contact("o1", "nobody@x.test") is None


def test_a_snapshot_reads_one_state(storage):
    reader = storage.reader()
    try:
        storage.ensure_org("before")
        with reader.snapshot():
            assert reader.org_names() == ["before"]
            storage.ensure_org("during")
            assert reader.org_names() == ["before"]
        assert reader.org_names() == ["before", "during"]
        assert reader.reachable()
    finally:
        reader.close()


def test_a_store_migrated_by_a_newer_version_is_refused(store_location, backend):
    open_storage(store_location).close()
    if backend == "postgres":
        sql = "INSERT INTO wedsync_schema (version, name) VALUES (999, 'from_the_future')"
    else:
        sql = (
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('wedsync.server', 'm999_from_the_future', '2030-01-01')"
        )
    if backend == "postgres":
        query_store_write(store_location, sql)
    else:
        import sqlite3

        conn = sqlite3.connect(store_location / "server.sqlite")
        conn.execute(sql)
        conn.commit()
        conn.close()
    with pytest.raises(SchemaTooNew, match="newer wedsync"):
        open_storage(store_location)


def query_store_write(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def test_query_store_reads_either_backend(storage, store_location):
    storage.ensure_org("Org A")
    assert query_store(store_location, "SELECT name FROM orgs WHERE name = ?", ("Org A",)) == [
        ("Org A",)
    ]
