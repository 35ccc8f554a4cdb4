"""Delivery figures from a real campaign: the automation engine enrols suppliers whose health
score drops, sends through a real SMTP server (aiosmtpd), and some recipients are refused with
550. The monitor reads the engine's own send and bounce events and its trigger timings: the
bounce rate goes healthy → warning → critical → back, with one alert and one recovery."""

from __future__ import annotations

import asyncio
import itertools

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from server.monitoring.routes import METRICS
from server.monitoring.status import Status
from tests.server.automation.mail import build_campaign

from .conftest import monitored_server

# A campaign's org sends little in a test: bands that a few sends can cross.
BANDS = """
[thresholds."delivery.bounce_rate"]
healthy = 0.10
critical = 0.25
[thresholds."delivery.send_success_rate"]
healthy = 0.5
critical = 0.3
"""


def _one(checks, name, org_id=None):
    (found,) = [c for c in checks if c.name == name and c.org_id == org_id]
    return found


async def test_bounces_from_the_mail_server_move_the_bounce_rate_and_alert_once(
    tmp_path, webhook, mailbox, stop_servers
):
    inbox = mailbox
    server, monitor = await monitored_server(tmp_path, webhook, BANDS, monitor="min_sends = 5\n")
    stop_servers.append(server)
    org = server.ctx.storage.org_id("Org A")
    admin = await server.device("admin-laptop", "admin")
    await admin.api("PUT", "/api/v1/smtp", inbox.smtp_settings())
    laptop = await server.device("venue-laptop")
    replica = laptop.replica
    campaign_id, _ = replica.create_campaign(name="Churn")
    replica.edit_campaign(
        campaign_id, lambda d: build_campaign(d, holdout_pct=0, first="a") and None
    )
    await laptop.sync_once()  # the campaign is on the server before any score
    suppliers = (f"s{n}@florist.test" for n in itertools.count())

    async def scores_drop(n: int, *, refused: int = 0) -> None:
        """``n`` suppliers enter the at-risk band; the mail server refuses ``refused``."""
        inbox.replies.extend(["550 5.1.1 no such mailbox"] * refused)
        contacts = list(itertools.islice(suppliers, n))
        for contact in contacts:
            replica.upsert_contact(contact, {"first_name": "Sam", "role": "supplier"})
        await laptop.sync_once()  # contacts sync after engagement: send them first
        for contact in contacts:
            replica.capture(kind="health_score", contact=contact, payload={"score": 31})
        await laptop.sync_once()
        async with asyncio.timeout(30):  # the engine sent them all; the monitor saw them
            while monitor.delivery.figures(org, 3600).finished < finished + n:
                await asyncio.sleep(0.05)

    async def bounce_rate():
        return _one(await monitor.evaluate(business=False), "delivery.bounce_rate", org)

    finished = 0
    await scores_drop(6)
    finished = 6
    checks = await monitor.evaluate(business=False)
    assert _one(checks, "delivery.bounce_rate", org).status is Status.HEALTHY
    success = _one(checks, "delivery.send_success_rate", org)
    assert success.value == 1.0 and "6 sent" in success.message
    latency = _one(checks, "delivery.trigger_to_send_p50_s", org)
    assert latency.status is Status.HEALTHY and 0 <= latency.value < 60
    trigger = _one(checks, "delivery.trigger_evaluation_p99_ms")
    assert trigger.detail["evaluations"] >= 6 and trigger.value is not None

    await scores_drop(1, refused=1)  # 1 of 7
    finished = 7
    rate = await bounce_rate()
    assert rate.status is Status.WARNING and rate.message.startswith("Bounce rate 14.3 %")
    await scores_drop(2, refused=2)  # 3 of 9
    finished = 9
    rate = await bounce_rate()
    assert rate.status is Status.CRITICAL and "3 of 9 bounced" in rate.message
    await scores_drop(6)  # 3 of 15: better, not yet healthy
    finished = 15
    assert (await bounce_rate()).status is Status.WARNING
    await scores_drop(15)  # 3 of 30
    finished = 30
    rate = await bounce_rate()
    assert rate.status is Status.HEALTHY and rate.value == 0.1
    await monitor.alerts.drain()
    await webhook.posts.wait_for(2)
    bodies = [b for b in webhook.bodies() if b["check"] == "delivery.bounce_rate"]
    assert [(b["kind"], b["org_id"]) for b in bodies] == [("critical", org), ("recovered", org)]
    assert len(webhook.posts.items) == 2  # nothing else alerted
    messages = [m for _, m in inbox.mails.items]
    alerts = [m for m in messages if m["Subject"].startswith("[WedSync]")]
    assert [(m["To"], m["Subject"].split(":")[0]) for m in alerts] == [
        ("admin@a.test", "[WedSync] Critical"),
        ("admin@a.test", "[WedSync] Recovered"),
    ]  # the org's admin, through the org's own mail server
    assert len(messages) - len(alerts) == 27 and inbox.refused == 3

    text = generate_latest(server.app[METRICS].registry).decode()  # the same outcomes
    sends = {
        s.labels["outcome"]: s.value
        for f in text_string_to_metric_families(text)
        if f.name == "wedsync_smtp_sends"
        for s in f.samples
        if s.name.endswith("_total")
    }
    assert sends == {"sent": 27.0, "bounced": 3.0}
