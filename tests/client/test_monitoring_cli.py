"""`wedsync client ... health` and `... alerts` against a real server whose scheduler has fallen
behind: admins read the checks and the alert history, in words and as JSON; others are
refused."""

from __future__ import annotations

import asyncio
import json

from server.automation.wiring import stop_automation
from server.storage import EnrolmentRow
from tests.conftest import PASSWORD, USERS
from tests.server.monitoring.conftest import (  # noqa: F401  (fixtures)
    monitored_server,
    stop_servers,
    webhook,
)
from wedsync.cli import main


async def run_cli(capsys, profile, *args: str) -> tuple[int, str, str]:
    def run() -> tuple[int, str, str]:
        code = main(["client", "--profile", str(profile), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return await asyncio.to_thread(run)


async def logged_in(capsys, server, user: str):
    profile = server.tmp / "profiles" / f"cli-{user}"
    code, _, err = await run_cli(
        capsys, profile, "login", "--server", server.url,
        "--email", USERS[user][0], "--password", PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    return profile


async def test_admins_read_the_health_checks_and_the_alerts_others_are_refused(
    tmp_path,
    capsys,
    webhook,  # noqa: F811
    stop_servers,  # noqa: F811
):
    server, monitor = await monitored_server(tmp_path, webhook)
    stop_servers.append(server)
    await stop_automation(server.app)
    now = server.ctx.now_ms()
    row = EnrolmentRow(
        id="enr-late",
        org_id=server.ctx.storage.org_id("Org A"),
        campaign_id="c1",
        contact="late@x.test",
        status="waiting",
        held_out=False,
        node="s1",
        due_ms=now - 900_000,
        wake_on=(),
        state={},
        entered_at_ms=now - 2_000_000,
    )
    await server.ctx.writer.run_exclusive(lambda st: st.insert_enrolment(row, at_ms=now))
    await monitor.evaluate(business=False)
    await monitor.alerts.drain()

    admin = await logged_in(capsys, server, "admin")
    code, out, err = await run_cli(capsys, admin, "alerts")
    assert code == 0, err
    first = out.splitlines()[0]
    assert "CRITICAL" in first and "server: Scheduler backlog, oldest overdue step 15" in first
    assert "webhook: delivered to 127.0.0.1:" in out

    code, out, _ = await run_cli(capsys, admin, "alerts", "--json")
    (alert,) = json.loads(out)["alerts"]
    assert (alert["kind"], alert["check"]) == ("critical", "delivery.scheduler_backlog_s")

    code, out, _ = await run_cli(capsys, admin, "health")
    assert code == 0 and out.startswith("Overall: CRITICAL")
    assert "  - Scheduler backlog, oldest overdue step 15" in out
    assert "\nStorage\n" in out and "healthy   Database reachable" in out

    marketer = await logged_in(capsys, server, "marketer")
    code, _, err = await run_cli(capsys, marketer, "alerts")
    assert code == 1 and "[forbidden]" in err and "read health" in err
