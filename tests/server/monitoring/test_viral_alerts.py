"""The viral coefficient check on real synced data: a cohort whose K is moved from 1.3 (healthy)
to 1.08 (warning) to 0.81 (critical) and back by the events devices push; the critical alert
and the recovery reach the webhook, the admin's mailbox and the admin's running app once each."""

from __future__ import annotations

import asyncio

from server.monitoring.channels import NOTICE_KIND
from server.monitoring.status import Status
from server.storage import SmtpRow

from .conftest import Collected, monitored_server

DAY_MS = 86_400_000


def _k(checks, org_id):
    (found,) = [c for c in checks if c.name == "viral.k" and c.org_id == org_id]
    return found


async def test_viral_coefficient_below_one_alerts_every_channel_once_and_recovers(
    tmp_path, webhook, mailbox, stop_servers
):
    server, monitor = await monitored_server(tmp_path, webhook)
    stop_servers.append(server)
    org = server.ctx.storage.org_id("Org A")
    row = SmtpRow(org, "127.0.0.1", mailbox.port, "none", None, None, "alerts@a.test", 0)
    await server.ctx.writer.run_exclusive(lambda st: st.save_smtp_settings(row))

    # the admin's app, connected and listening
    admin = await server.device("admin-laptop", "admin")
    notices = Collected()
    admin.notice_callbacks.append(  # the alerts (the report's own notices come too)
        lambda kind, body: kind == "health_alert" and notices.add((kind, body))
    )
    stop = asyncio.Event()
    live = asyncio.create_task(admin.run_forever(stop))

    fair = await server.device("fair-laptop", "marketer")
    t0 = server.ctx.now_ms() - 100 * DAY_MS  # a weekly cohort whose 60-day observation ended
    old = t0 - 200 * DAY_MS  # invitees who were customers long before
    invitees = iter(range(1000))

    def join(n: int) -> None:
        fair.replica.capture(
            kind="conversion",
            contact=f"j{n}@x.test",
            value_cents=10_000,
            occurred_at_ms=t0 + n * 60_000,
            payload={"type": "booking"},
        )

    def accepted_invite(inviter: int) -> None:
        invitee = f"i{next(invitees)}@x.test"
        fair.replica.capture(
            kind="conversion",
            contact=invitee,
            value_cents=10_000,
            occurred_at_ms=old,
            payload={"type": "booking"},
        )
        fair.replica.capture(
            kind="invite_sent",
            contact=f"j{inviter}@x.test",
            occurred_at_ms=t0 + DAY_MS,
            payload={"invitee": invitee},
        )
        fair.replica.capture(
            kind="invite_accepted",
            contact=invitee,
            occurred_at_ms=t0 + 2 * DAY_MS,
            payload={"inviter": f"j{inviter}@x.test"},
        )

    async def k_now():
        await fair.sync_once()
        return _k(await monitor.evaluate(business=True), org)

    try:
        for n in range(10):
            join(n)
        for n in range(13):
            accepted_invite(n % 10)
        k = await k_now()
        assert k.status is Status.HEALTHY and k.value == 1.3
        assert "13 accepted invites from 10 joiners" in k.message

        for n in range(10, 12):  # two joiners who invite nobody: 13 / 12
            join(n)
        k = await k_now()
        assert k.status is Status.WARNING and round(k.value, 3) == 1.083
        assert k.message.startswith("Viral coefficient K 1.08 (target ≥ 1.2): warning")

        for n in range(12, 16):  # 13 / 16
            join(n)
        k = await k_now()
        assert k.status is Status.CRITICAL and k.value == 13 / 16
        assert "critical" in k.message and "16 joiners" in k.message
        await monitor.evaluate(business=True)  # still critical: no second alert
        await monitor.alerts.drain()
        await webhook.posts.wait_for(1)
        ((to, mail),) = await mailbox.mails.wait_for(1)
        ((kind, body),) = await notices.wait_for(1)
        assert webhook.bodies()[0]["check"] == "viral.k"
        assert to == ["admin@a.test"] and "Critical: Viral coefficient K 0.812" in mail["Subject"]
        assert kind == NOTICE_KIND and body["check"] == "viral.k" and body["kind"] == "critical"

        for n in range(8):  # eight more accepted invites: 21 / 16
            accepted_invite(n)
        k = await k_now()
        assert k.status is Status.HEALTHY and k.value == 21 / 16
        await monitor.alerts.drain()
        await webhook.posts.wait_for(2)
        await mailbox.mails.wait_for(2)
        await notices.wait_for(2)
        assert [b["kind"] for b in webhook.bodies()] == ["critical", "recovered"]
        assert [body["kind"] for _, body in notices.items] == ["critical", "recovered"]
        assert len(mailbox.mails.items) == 2
    finally:
        stop.set()
        await asyncio.wait_for(live, 30)
