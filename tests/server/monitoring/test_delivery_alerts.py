"""Delivery checks driven by real conditions on a real server: the org's SMTP server stopped and
started again (aiosmtpd), a scheduler backlog of overdue rows; each alert reaches a real webhook
receiver and the admins' mailbox exactly once."""

from __future__ import annotations

from dataclasses import replace

import aiohttp

from server.automation.wiring import stop_automation
from server.monitoring.channels import SIGNATURE_HEADER, verify
from server.monitoring.status import Status
from server.storage import EnrolmentRow, SmtpRow
from tests.conftest import PASSWORD, USERS

from .conftest import WEBHOOK_SECRET, monitored_server


def _check(checks, name, org_id=None):
    found = [c for c in checks if c.name == name and c.org_id == org_id]
    assert len(found) == 1, [c.name for c in checks]
    return found[0]


async def _login(server, user: str) -> dict[str, str]:
    async with aiohttp.ClientSession() as http:
        r = await http.post(
            server.url + "/api/v1/login", json={"email": USERS[user][0], "password": PASSWORD}
        )
        return {"Authorization": f"Bearer {(await r.json())['token']}"}


async def test_a_stopped_smtp_server_alerts_once_and_its_recovery_reaches_the_admins(
    tmp_path, webhook, mailbox, stop_servers
):
    server, monitor = await monitored_server(tmp_path, webhook)
    stop_servers.append(server)
    org = server.ctx.storage.org_id("Org A")
    row = SmtpRow(org, "127.0.0.1", mailbox.port, "none", None, None, "alerts@a.test", 0)
    await server.ctx.writer.run_exclusive(lambda st: st.save_smtp_settings(row))

    smtp = _check(await monitor.evaluate(business=False), "delivery.smtp_failures", org)
    assert smtp.status is Status.HEALTHY
    assert smtp.message.startswith("SMTP server reachable (127.0.0.1:")

    mailbox.stop()
    smtp = _check(await monitor.evaluate(business=False), "delivery.smtp_failures", org)
    assert smtp.status is Status.WARNING
    assert "unreachable, 1 probe in a row" in smtp.message
    smtp = _check(await monitor.evaluate(business=False), "delivery.smtp_failures", org)
    assert smtp.status is Status.CRITICAL
    assert "unreachable, 2 probes in a row" in smtp.message
    overall = monitor.view(org)["overall"]
    assert overall["status"] == "critical" and smtp.message in overall["reasons"]
    await monitor.evaluate(business=False)  # still critical: nothing new is sent
    await monitor.alerts.drain()

    ((headers, body),) = await webhook.posts.wait_for(1)
    assert verify(WEBHOOK_SECRET.encode(), body, headers[SIGNATURE_HEADER])
    sent = webhook.bodies()[0]
    assert (sent["kind"], sent["check"], sent["org_id"]) == (
        "critical",
        "delivery.smtp_failures",
        org,
    )
    assert sent["org_name"] == "Org A" and "2 probes in a row" in sent["message"]
    critical = monitor.alerts.history.recent(org_id=org, limit=10)[0]
    assert critical.channels["webhook"].startswith("delivered")
    assert critical.channels["email"].startswith("failed")  # the mail server is the one down

    mailbox.start()
    smtp = _check(await monitor.evaluate(business=False), "delivery.smtp_failures", org)
    assert smtp.status is Status.HEALTHY
    await monitor.alerts.drain()
    await webhook.posts.wait_for(2)
    assert [b["kind"] for b in webhook.bodies()] == ["critical", "recovered"]
    ((to, mail),) = await mailbox.mails.wait_for(1)
    assert to == [USERS["admin"][0]]  # the org's one admin; marketers and viewers get nothing
    assert mail["Subject"].startswith("[WedSync] Recovered: SMTP server unreachable")
    assert "(Org A)" in mail["Subject"]

    admin, marketer = await _login(server, "admin"), await _login(server, "marketer")
    async with aiohttp.ClientSession() as http:
        r = await http.get(server.url + "/api/v1/monitor/alerts", headers=admin)
        listed = (await r.json())["alerts"]
        assert [a["kind"] for a in listed] == ["recovered", "critical"]
        r = await http.get(server.url + "/api/v1/monitor/alerts", headers=marketer)
        assert r.status == 403
    assert len(webhook.posts.items) == 2 and len(mailbox.mails.items) == 1


async def test_a_scheduler_backlog_turns_warning_then_critical_and_clears(
    tmp_path, webhook, mailbox, stop_servers
):
    server, monitor = await monitored_server(tmp_path, webhook)
    stop_servers.append(server)
    await stop_automation(server.app)  # the scheduler stalls: due rows stay due
    org = server.ctx.storage.org_id("Org A")
    row = SmtpRow(org, "127.0.0.1", mailbox.port, "none", None, None, "alerts@a.test", 0)
    await server.ctx.writer.run_exclusive(lambda st: st.save_smtp_settings(row))
    now = server.ctx.now_ms()

    def enrolment(n: int, overdue_s: int) -> EnrolmentRow:
        return EnrolmentRow(
            id=f"enr-{n}",
            org_id=org,
            campaign_id="c-backlog",
            contact=f"c{n}@x.test",
            status="waiting",
            held_out=False,
            node="s1",
            due_ms=now - overdue_s * 1000,
            wake_on=(),
            state={},
            entered_at_ms=now - 10 * overdue_s * 1000,
        )

    backlog = _check(await monitor.evaluate(business=False), "delivery.scheduler_backlog_s")
    assert backlog.status is Status.HEALTHY and "nothing overdue" in backlog.message

    await server.ctx.writer.run_exclusive(
        lambda st: st.insert_enrolment(enrolment(1, 120), at_ms=now)
    )
    backlog = _check(await monitor.evaluate(business=False), "delivery.scheduler_backlog_s")
    assert backlog.status is Status.WARNING
    assert "1 enrolment due" in backlog.message and backlog.value >= 120

    await server.ctx.writer.run_exclusive(
        lambda st: st.insert_enrolment(enrolment(2, 400), at_ms=now)
    )
    backlog = _check(await monitor.evaluate(business=False), "delivery.scheduler_backlog_s")
    assert backlog.status is Status.CRITICAL
    assert "2 enrolments due" in backlog.message and backlog.value >= 400
    await monitor.alerts.drain()
    await webhook.posts.wait_for(1)
    assert webhook.bodies()[0]["check"] == "delivery.scheduler_backlog_s"
    assert webhook.bodies()[0]["org_id"] is None  # a server-wide check
    await mailbox.mails.wait_for(1)  # the admins of every org with mail settings: Org A's one

    def drain(st):  # the scheduler caught up: the rows moved on
        for n in (1, 2):
            row = st.enrolment(f"enr-{n}")
            st.save_enrolment(
                replace(row, status="exited", due_ms=None),
                expected_version=row.version,
                at_ms=now,
            )

    await server.ctx.writer.run_exclusive(drain)
    backlog = _check(await monitor.evaluate(business=False), "delivery.scheduler_backlog_s")
    assert backlog.status is Status.HEALTHY
    await monitor.alerts.drain()
    await webhook.posts.wait_for(2)
    assert [b["kind"] for b in webhook.bodies()] == ["critical", "recovered"]
    mails = await mailbox.mails.wait_for(2)
    assert len(webhook.posts.items) == 2 and len(mails) == 2
    assert [m["Subject"].split(":")[0] for _, m in mails] == [
        "[WedSync] Critical",
        "[WedSync] Recovered",
    ]


async def test_a_process_with_alerts_off_reads_the_checks_and_sends_nothing(
    tmp_path, webhook, stop_servers
):
    server, monitor = await monitored_server(tmp_path, webhook, "enabled = false\n")
    stop_servers.append(server)
    await stop_automation(server.app)
    now = server.ctx.now_ms()
    late = EnrolmentRow(
        id="late",
        org_id=server.ctx.storage.org_id("Org A"),
        campaign_id="c1",
        contact="late@x.test",
        status="waiting",
        held_out=False,
        node="s1",
        due_ms=now - 900_000,
        wake_on=(),
        state={},
        entered_at_ms=now - 1_000_000,
    )
    await server.ctx.writer.run_exclusive(lambda st: st.insert_enrolment(late, at_ms=now))
    backlog = _check(await monitor.evaluate(business=False), "delivery.scheduler_backlog_s")
    assert backlog.status is Status.CRITICAL and monitor.alerts is None
    async with aiohttp.ClientSession() as http:
        r = await http.get(
            server.url + "/api/v1/monitor/alerts", headers=await _login(server, "admin")
        )
        assert (await r.json()) == {"alerts": []}
    assert webhook.attempts == 0
