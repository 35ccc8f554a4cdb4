"""Delivery by the engine through a real SMTP server: a 4xx is retried and then accepted; a 5xx
bounces, suppresses the contact and ends its enrolments in every campaign; a paused campaign's
sends wait and go on resume; a contact without a usable address fails alone."""

from __future__ import annotations

import pycrdt
import pytest

from server.automation.wiring import AUTOMATION
from server.delivery.smtp import RetryPolicy

from .mail import Inbox, build_campaign

SAM = "sam@florist.test"


@pytest.fixture
async def inbox():
    box = Inbox().start()
    yield box
    await box.stop()


async def setup(server, inbox, *, campaigns: int = 1, **fields):
    admin = await server.device("admin-laptop", "admin")
    await admin.api("PUT", "/api/v1/smtp", inbox.smtp_settings())
    engine = server.app[AUTOMATION]
    engine.mailer.retry = RetryPolicy(attempts=3, base_delay_s=0.01, max_delay_s=0.01)
    laptop = await server.device("venue-laptop")
    ids = []
    for n in range(campaigns):
        campaign_id, _ = laptop.replica.create_campaign(name=f"Churn {n}")
        laptop.replica.edit_campaign(
            campaign_id, lambda d: build_campaign(d, holdout_pct=0, first="a", **fields) and []
        )
        ids.append(campaign_id)
    laptop.replica.upsert_contact(SAM, {"first_name": "Sam", "role": "supplier"})
    org_id = (await laptop.api("GET", "/api/v1/me"))["org_id"]
    return engine, laptop, ids, org_id


def sends(server, org_id):
    reader = server.ctx.storage.reader()
    try:
        rows = [e for e in reader.enrolments_of(org_id, SAM)]
        return rows, reader.suppressions(org_id, SAM)
    finally:
        reader.close()


async def test_a_temporary_refusal_is_retried_and_the_mail_then_arrives(server):
    inbox = Inbox(replies=["451 4.3.0 try again later"]).start()
    try:
        engine, laptop, _, _ = await setup(server, inbox)
        laptop.replica.capture(kind="health_score", contact=SAM, payload={"score": 31})
        await laptop.sync_once()
        (mail,) = await inbox.wait_for(1)
        assert inbox.refused == 1 and mail["To"] == SAM
        await engine.until(lambda: engine.mailer.stats["sent"] == 1)
        assert engine.mailer.stats["bounced"] == 0
    finally:
        await inbox.stop()


async def test_a_permanent_refusal_bounces_suppresses_and_cancels_everywhere(server):
    inbox = Inbox(replies=["550 5.1.1 no such mailbox"]).start()
    try:
        engine, laptop, campaigns, org_id = await setup(server, inbox, campaigns=2)
        laptop.replica.capture(kind="health_score", contact=SAM, payload={"score": 31})
        await laptop.sync_once()
        await engine.until(lambda: engine.mailer.stats["bounced"] == 1)
        enrolments, suppressed = sends(server, org_id)
        assert suppressed == ["bounced"]
        assert len(enrolments) == 2 and {e.status for e in enrolments} == {"exited"}
        assert {e.exit_reason for e in enrolments} == {"bounced"}
        assert inbox.messages == []  # the other campaign's email was cancelled, never sent
        views = [await laptop.api("GET", f"/api/v1/campaigns/{c}/run") for c in campaigns]
        assert sorted(v["totals"]["bounced"] for v in views) == [0, 1]
        assert all(v["totals"]["sent"] == 0 for v in views)
        kinds = [k for _i, _d, k, _s in server.ctx.reader.stored_events()]
        assert kinds.count("bounce") == 1
        # a later score enrols nobody: the contact is suppressed
        laptop.replica.capture(kind="health_score", contact=SAM, payload={"score": 70})
        laptop.replica.capture(kind="health_score", contact=SAM, payload={"score": 20})
        await laptop.sync_once()
        await engine.until(lambda: engine.stats["events"] >= 6)
        assert engine.mailer.stats["sent"] == 0 and inbox.messages == []
    finally:
        await inbox.stop()


async def test_a_paused_campaign_holds_its_sends_until_it_is_resumed(server, inbox):
    admin = await server.device("admin-laptop", "admin")
    laptop = await server.device("venue-laptop")
    engine = server.app[AUTOMATION]
    campaign_id, _ = laptop.replica.create_campaign(name="Churn")
    ids: dict[str, str] = {}
    laptop.replica.edit_campaign(
        campaign_id, lambda d: ids.update(build_campaign(d, holdout_pct=0, first="a"))
    )
    laptop.replica.upsert_contact(SAM, {"first_name": "Sam", "role": "supplier"})
    laptop.replica.capture(kind="health_score", contact=SAM, payload={"score": 31})
    await laptop.sync_once()  # enrolled; the email waits (no mail server set yet)
    await engine.until(lambda: engine.stats["queued"] == 1)
    laptop.replica.set_campaign_field(campaign_id, "status", "paused")
    await laptop.sync_once()
    org_id = (await laptop.api("GET", "/api/v1/me"))["org_id"]
    await engine.until(lambda: engine.index.known(org_id).campaigns[campaign_id].status == "paused")
    await admin.api("PUT", "/api/v1/smtp", inbox.smtp_settings())
    reader = server.ctx.storage.reader()
    try:  # the lane finds the campaign paused: the email waits, nothing goes out
        (enrolment,) = reader.enrolments_of(org_id, SAM)

        def held() -> bool:
            send = reader.send_by_key(f"{enrolment.id}/{ids['email']}")
            return send.status == "queued" and send.due_ms is None

        await engine.until(held)
    finally:
        reader.close()
    assert inbox.messages == []
    laptop.replica.set_campaign_field(campaign_id, "status", "active")
    await laptop.sync_once()
    (mail,) = await inbox.wait_for(1)
    assert mail["To"] == SAM
    run = await laptop.api("GET", f"/api/v1/campaigns/{campaign_id}/run")
    assert run["totals"]["sent"] == 1


async def test_a_template_that_does_not_compile_fails_its_send_and_tells_the_admins(server, inbox):
    engine, laptop, (campaign_id,), org_id = await setup(server, inbox)

    def break_subject(doc) -> list:  # noqa: ANN001
        variants = doc.get("variants", type=pycrdt.Array)
        variants[0]["subject"] = "Hi {{ first_name"  # no closing braces
        return []

    laptop.replica.edit_campaign(campaign_id, break_subject)
    laptop.replica.capture(kind="health_score", contact=SAM, payload={"score": 31})
    await laptop.sync_once()
    await engine.until(lambda: engine.mailer.stats["failed"] == 1)
    assert inbox.messages == []
    admin = next(e for e in server.engines if e.replica.get_setting("role") == "admin")
    entries = (await admin.api("GET", "/api/v1/audit"))["entries"]
    failed = [e for e in entries if e["action"] == "automation_send"]
    assert failed and failed[0]["outcome"] == "refused:template_invalid"
    assert failed[0]["target"] == campaign_id and "subject" in failed[0]["detail"]["problem"]


async def test_archiving_ends_the_enrolments_and_cancels_what_was_still_to_send(server, inbox):
    admin = await server.device("admin-laptop", "admin")
    laptop = await server.device("venue-laptop")
    engine = server.app[AUTOMATION]
    campaign_id, _ = laptop.replica.create_campaign(name="Churn")
    laptop.replica.edit_campaign(
        campaign_id, lambda d: build_campaign(d, holdout_pct=0, first="a") and []
    )
    laptop.replica.upsert_contact(SAM, {"first_name": "Sam", "role": "supplier"})
    laptop.replica.capture(kind="health_score", contact=SAM, payload={"score": 31})
    await laptop.sync_once()  # enrolled; the email waits (no mail server set yet)
    await engine.until(lambda: engine.stats["queued"] == 1)
    laptop.replica.set_campaign_field(campaign_id, "status", "archived")
    await laptop.sync_once()
    org_id = (await laptop.api("GET", "/api/v1/me"))["org_id"]
    reader = server.ctx.storage.reader()
    try:
        await engine.until(
            lambda: (
                [e.exit_reason for e in reader.enrolments_of(org_id, SAM)] == ["campaign_archived"]
            )
        )
        await admin.api("PUT", "/api/v1/smtp", inbox.smtp_settings())
        (enrolment,) = reader.enrolments_of(org_id, SAM)
        key = f"{enrolment.id}/{enrolment.state['done'][0]}"
        await engine.until(lambda: reader.send_by_key(key).status == "cancelled")
    finally:
        reader.close()
    assert inbox.messages == []
