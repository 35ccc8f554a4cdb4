"""The automation's rows on a real SQLite file and a real PostgreSQL database: idempotent
inserts, optimistic saves, send claims with leases and their reclaim, wake-ups by event kind,
suppressions, settings."""

from __future__ import annotations

import pytest

from server.storage import EnrolmentRow, SendRow, SmtpRow, open_storage

ORG = "org-1"
ANA = "ana@example.com"


pytestmark = pytest.mark.backends


@pytest.fixture
def store(store_location):
    storage = open_storage(store_location)
    yield storage
    storage.close()


def enrolment(eid: str = "en1", **changes) -> EnrolmentRow:
    base = dict(
        id=eid,
        org_id=ORG,
        campaign_id="c1",
        contact=ANA,
        status="waiting",
        held_out=False,
        node="s1",
        due_ms=1_000,
        wake_on=("click",),
        state={"id": eid},
        entered_at_ms=500,
    )
    base.update(changes)
    return EnrolmentRow(**base)


def send(key: str = "en1/s1", **changes) -> SendRow:
    base = dict(
        id=f"send-{key}",
        key=key,
        org_id=ORG,
        campaign_id="c1",
        enrolment_id="en1",
        contact=ANA,
        step="s1",
        step_index=0,
        variant="A",
        held_out=False,
        status="queued",
        reason=None,
        due_ms=1_000,
        attempts=0,
        message_id=None,
        links=(),
        raw=None,
        created_at_ms=1_000,
    )
    base.update(changes)
    return SendRow(**base)


def test_an_enrolment_is_stored_once_and_saved_only_from_the_version_read(store):
    with store.transaction():
        assert store.insert_enrolment(enrolment(), at_ms=1) is True
        assert store.insert_enrolment(enrolment(status="active"), at_ms=2) is False
    row = store.enrolment("en1")
    assert (row.status, row.wake_on, row.version) == ("waiting", ("click",), 0)
    with store.transaction():
        assert store.save_enrolment(
            enrolment(status="exited", due_ms=None), expected_version=0, at_ms=3
        )
        # a save based on the old read loses: nothing is written
        assert not store.save_enrolment(enrolment(status="active"), expected_version=0, at_ms=4)
    assert store.enrolment("en1").status == "exited" and store.enrolment("en1").version == 1


def test_due_enrolments_and_wake_ups_by_event_kind(store):
    with store.transaction():
        store.insert_enrolment(enrolment("a", due_ms=5_000), at_ms=1)
        store.insert_enrolment(enrolment("b", due_ms=None, wake_on=("open", "click")), at_ms=1)
        store.insert_enrolment(enrolment("c", due_ms=100, status="exited"), at_ms=1)
    assert [r.id for r in store.due_enrolments(6_000, 10)] == ["a"]
    assert store.next_due_ms() == 5_000
    with store.transaction():
        assert store.wake_enrolments(ORG, ANA, "open", 2_000) == 1  # only b waits on opens
        assert store.wake_enrolments(ORG, ANA, "conversion", 2_000) == 0
    assert [r.id for r in store.due_enrolments(2_000, 10)] == ["b"]
    with store.transaction():
        assert store.wake_campaign("c1", 3_000) == 2  # the exited one stays as it is
    assert [r.id for r in store.due_enrolments(3_000, 10)] == ["a", "b"]


def test_a_send_key_is_stored_once_and_claims_take_due_rows_with_a_lease(store, backend):
    with store.transaction():
        assert store.insert_send(send("en1/s1", due_ms=1_000))
        assert not store.insert_send(send("en1/s1", id="other-id"))  # a replay
        store.insert_send(send("en2/s1", id="s2", due_ms=9_000))
    with store.transaction():
        claimed = store.claim_sends(ORG, now_ms=2_000, limit=10, worker="w1", lease_ms=60_000)
    assert [s.key for s in claimed] == ["en1/s1"] and claimed[0].status == "claimed"
    with store.transaction():  # claimed rows are not claimed twice
        assert store.claim_sends(ORG, now_ms=2_000, limit=10, worker="w2", lease_ms=1) == []
        store.update_send(
            claimed[0].id, at_ms=2_001, status="sending", message_id="<m@x>", raw=b"bytes"
        )
    with store.transaction():  # the lease has not run out: nothing to take back
        assert store.reclaim_sends(now_ms=30_000) == 0
    with store.transaction():  # it has: back in the queue, with its Message-ID and bytes
        assert store.reclaim_sends(now_ms=70_000) == 1
    back = store.send_by_key("en1/s1")
    assert (back.status, back.message_id, back.raw, back.claimed_by) == (
        "queued",
        "<m@x>",
        b"bytes",
        None,
    )
    with store.transaction():
        store.claim_sends(ORG, now_ms=70_000, limit=1, worker="w1", lease_ms=60_000)
        # at start-up on SQLite, every claim of an earlier process is taken back; on PostgreSQL
        # other processes' leased claims are live, and only run-out leases come back
        expected = 0 if backend == "postgres" else 1
        assert store.reclaim_sends(now_ms=70_001, worker="w-new") == expected


def test_pending_and_sent_times_feed_the_cap_and_a_bounce_cancels_what_is_queued(store):
    with store.transaction():
        store.insert_send(send("a/s", id="a", status="sent", sent_at_ms=1_500))
        store.insert_send(send("b/s", id="b", due_ms=4_000))
        store.insert_send(send("c/s", id="c", status="skipped", reason="held_out"))
    assert sorted(store.send_times(ORG, ANA, since_ms=0)) == [1_500, 4_000]
    assert store.sent_times(ORG, ANA, since_ms=0) == [1_500]
    with store.transaction():
        assert store.suppress(ORG, ANA, reason="bounced", at_ms=5, source="smtp")
        assert not store.suppress(ORG, ANA, reason="bounced", at_ms=6, source="smtp")
        assert store.cancel_contact(ORG, ANA, reason="bounced", at_ms=6) == 1
    assert store.suppressions(ORG, ANA) == ["bounced"]
    assert store.send("b").status == "cancelled"


def test_tracking_marks_count_once_and_settings_and_keys_round_trip(store):
    with store.transaction():
        store.insert_send(send(status="sent", sent_at_ms=1))
        assert store.mark_tracked("send-en1/s1", "opened_at_ms", 10)
        assert not store.mark_tracked("send-en1/s1", "opened_at_ms", 11)
        store.save_smtp_settings(SmtpRow(ORG, "smtp.x", 587, "starttls", "u", b"sealed", "a@x", 1))
        store.add_tracking_key(ORG, b"k1", at_ms=1)
        store.add_tracking_key(ORG, b"k2", at_ms=2)
    assert store.send("send-en1/s1").opened_at_ms == 10
    with pytest.raises(ValueError):
        store.mark_tracked("send-en1/s1", "status", 1)
    assert store.smtp_settings(ORG).password_sealed == b"sealed"
    assert store.tracking_keys(ORG) == [b"k2", b"k1"]


def test_history_keeps_each_event_once_and_reads_a_contacts_newest_first(store):
    lead = ["01J0000000000000000000000A", "lead", 1_000, 5, ANA, None, "email", None, None]
    score = ["01J0000000000000000000000B", "health_score", 2_000, 6, ANA, None, None, None,
             {"score": 31}]  # fmt: skip
    other = ["01J0000000000000000000000C", "lead", 3_000, 7, "bo@x.test", None, None, None, None]
    anonymous = ["01J0000000000000000000000D", "lead", 4_000, 8, None, None, None, None, None]
    with store.transaction():
        assert store.record_history(ORG, [lead, score, other, anonymous]) == 3
        assert store.record_history(ORG, [lead]) == 0
    found = store.contact_events(ORG, ANA)
    assert [e["kind"] for e in found] == ["health_score", "lead"]
    assert found[0]["payload"] == {"score": 31} and found[0]["occurred_at_ms"] == 2_000
    assert [e["id"] for e in store.contact_events(ORG, ANA, kinds=["lead"])] == [lead[0]]
    assert store.contact_events(ORG, ANA, since_ms=1_500)[0]["kind"] == "health_score"
