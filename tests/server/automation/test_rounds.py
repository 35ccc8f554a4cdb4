"""The engine's rounds on a real SQLite store with a clock of the test's: late scores superseded
in one sync, contact fields that arrive after their events, the date scan, re-entry, and one
bad event passed over without holding the cursor back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.automation.index import CampaignIndex
from server.automation.rounds import Rounds
from server.storage import open_storage
from shared.protocol.hlc import COUNTER_BITS

NOW = int(datetime(2026, 6, 10, 9, 30, tzinfo=UTC).timestamp() * 1000)
HOUR_MS = 3_600_000
SAM = "sam@florist.test"


class Store:
    def __init__(self, path) -> None:  # noqa: ANN001
        self.storage = open_storage(path)
        self.org = self.storage.ensure_org("Org")
        self.seq = 0
        self.rounds = Rounds(CampaignIndex())
        with self.storage.transaction():
            self.storage.set_automation_meta("event_cursor", "0:")

    def campaign(self, campaign_id: str, **fields) -> None:  # noqa: ANN003
        snapshot = {
            "name": campaign_id,
            "type": "nurture",
            "status": "active",
            "steps": [{"id": "s1", "kind": "send_email", "config": {"variant": "auto"}}],
            "variants": [{"id": "v1", "label": "A", "subject": "Hi", "body": "Hello"}],
            **fields,
        }
        with self.storage.transaction():
            self.storage.save_campaign(
                campaign_id=campaign_id, org_id=self.org, state=b"\x00\x00", snapshot=snapshot,
                at_ms=NOW,
            )  # fmt: skip
            self.storage.log_update(
                campaign_id=campaign_id, org_id=self.org, device_id=None, user_id="u",
                update=b"\x00\x00", meta={}, at_ms=NOW,
            )  # fmt: skip

    def events(self, *events: tuple) -> None:
        """Commit ``(kind, contact, at_ms, payload)`` events together, as one sync would."""
        self.seq += 1
        wires = [
            [f"01J0EVENT{self.seq:08d}{n:09d}", kind, at, at << COUNTER_BITS, contact, None, None,
             None, payload]
            for n, (kind, contact, at, payload) in enumerate(events)
        ]  # fmt: skip
        with self.storage.transaction():
            self.storage.insert_events(
                org_id=self.org, device_id="d", events=wires, priority=1, commit_seq=self.seq
            )

    def contact(self, email: str, **fields) -> None:  # noqa: ANN003
        with self.storage.transaction():
            self.storage.merge_contact(
                org_id=self.org, email=email, fields=fields, hlc=1, device_id="d"
            )
        self.events(("contact", email, NOW, {"fields": fields}))

    def run(self, now: int = NOW):  # noqa: ANN201
        with self.storage.transaction():
            while self.rounds.events(self.storage, self.seq, now).read:
                pass

    def enrolments(self, contact: str = SAM) -> list:
        return self.storage.enrolments_of(self.org, contact)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path)
    yield s
    s.storage.close()


BAND = {"event": "health_score", "band": {"enter": ["at_risk", "critical"]}}


def test_a_score_superseded_in_the_same_sync_starts_nothing(store):
    store.campaign("c1", trigger=BAND)
    store.events(
        ("health_score", SAM, NOW - 2 * HOUR_MS, {"score": 31}),
        ("health_score", SAM, NOW - HOUR_MS, {"score": 70}),
    )
    store.run()
    assert store.enrolments() == []
    store.events(("health_score", SAM, NOW, {"score": 40}))  # into at-risk from healthy
    store.run()
    assert [e.campaign_id for e in store.enrolments()] == ["c1"]


def test_fields_that_arrive_after_their_event_let_it_trigger(store):
    store.campaign(
        "c1",
        trigger={"event": "lead"},
        audience_segment={"match": "all", "rules": [{"field": "role", "op": "eq",
                                                     "value": "supplier"}]},
    )  # fmt: skip
    store.events(("lead", SAM, NOW, None))
    store.run()
    assert store.enrolments() == []  # nothing known of the contact yet
    store.contact(SAM, role="supplier")
    store.run()
    store.contact(SAM, role="supplier", first_name="Sam")  # a second look enrols it once
    store.run()
    assert len(store.enrolments()) == 1


def test_the_date_scan_enrols_the_day_before_the_wedding_at_nine_local(store):
    store.campaign("c1", trigger={"date": {"field": "wedding_date", "days_before": 1}})
    with store.storage.transaction():
        store.storage.merge_contact(
            org_id=store.org, email=SAM,
            fields={"wedding_date": "2026-06-11", "time_zone": "Europe/London"}, hlc=1,
            device_id="d",
        )  # fmt: skip
    early = int(datetime(2026, 6, 10, 7, 0, tzinfo=UTC).timestamp() * 1000)  # 08:00 London
    with store.storage.transaction():
        store.rounds.scan(store.storage, early)
    assert store.enrolments() == []
    with store.storage.transaction():  # the pass is recent: the next waits its interval
        store.storage.set_automation_meta(f"date_scan_started:{store.org}", "0")
        done = store.rounds.scan(store.storage, NOW)  # 10:30 London: 09:00 has passed
        again = store.rounds.scan(store.storage, NOW)
    assert done.enrolled == 1 and again.enrolled == 0
    (enrolment,) = store.enrolments()
    assert store.storage.send_by_key(f"{enrolment.id}/s1").status == "queued"


def test_every_time_re_entry_enrols_again_but_never_twice_on_one_event(store):
    store.campaign("c1", trigger={"event": "lead"}, reentry="every_time")
    store.events(("lead", SAM, NOW, None))
    store.run()
    store.contact(SAM, role="x")  # a second look at the same lead: the same enrolment id
    store.run()
    # one email and done: the lead's enrolment completed; its second look did not enrol again
    assert [e.exit_reason for e in store.enrolments()] == ["completed"]
    with store.storage.transaction():
        store.rounds.stop_contact(store.storage, store.org, SAM, "unsubscribed", NOW, "test")
    store.events(("lead", SAM, NOW + 1, None))
    store.run(NOW + 2)
    # a new lead enrols again (every time), and the suppression ends it at its first step
    reasons = sorted(e.exit_reason for e in store.enrolments())
    assert reasons == ["completed", "unsubscribed"]


def test_an_event_that_cannot_be_handled_is_passed_over(store, monkeypatch, caplog):
    store.campaign("c1", trigger={"event": "lead"})
    calls = []
    real = Rounds._fires

    def flaky(self, campaign, contacts, fact, now_ms):  # noqa: ANN001
        calls.append(fact.contact)
        if fact.contact == "bad@x.test":
            raise RuntimeError("a bug")
        return real(self, campaign, contacts, fact, now_ms)

    monkeypatch.setattr(Rounds, "_fires", flaky)
    store.events(("lead", "bad@x.test", NOW, None), ("lead", SAM, NOW, None))
    store.run()
    # the bad event is tried (with its batch, then alone) and the good one after it still runs
    assert calls[0] == "bad@x.test" and calls[-1] == SAM
    assert store.enrolments("bad@x.test") == [] and len(store.enrolments()) == 1
    assert "could not be handled" in caplog.text
    assert store.storage.automation_meta("event_cursor").startswith(f"{store.seq}:")
