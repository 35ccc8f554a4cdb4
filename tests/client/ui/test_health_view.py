"""The Health page against a real server with its monitor: an admin sees every check with its
status and the overall status; an alert the server raises arrives live in the alert list (and
the status bar); marketers are told the page is for admins. The models pass the model tester."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from client.ui.health_view import AlertModel, HealthModel
from server.automation.wiring import stop_automation
from server.monitoring.routes import MONITOR
from server.storage import EnrolmentRow
from server.sync_ws import CTX
from tests.client.ui.conftest import PASSWORD, _free_port, settle, until
from tests.client.ui.server_thread import ServerThread
from tests.client.ui.test_layout_fits import problems

pytestmark = pytest.mark.ui

CHECK = {
    "name": "viral.k",
    "title": "Viral coefficient K",
    "group": "viral",
    "org_id": "o1",
    "value": 0.81,
    "unit": "",
    "target": "≥ 1.2",
    "status": "critical",
    "message": "Viral coefficient K 0.81 (target ≥ 1.2): critical",
    "trend": {"direction": "down", "change": -0.1, "over_s": 604800, "improving": False},
}


def test_the_models_pass_the_model_tester_and_say_what_they_show(qapp, qtmodeltester):
    checks = HealthModel()
    qtmodeltester.check(checks)
    backlog = {**CHECK, "name": "delivery.scheduler_backlog_s", "group": "delivery"}
    backlog.update(title="Scheduler backlog", org_id=None, value=420, unit="s", trend=None)
    checks.set_checks([CHECK, backlog])
    qtmodeltester.check(checks)
    row = [checks.index(0, c).data() for c in range(checks.columnCount())]
    assert row == ["Critical", "Viral growth · Viral coefficient K", "This organisation",
                   "0.81", "≥ 1.2", "↓ worse"]  # fmt: skip
    assert checks.index(1, 3).data() == "7 min" and checks.index(1, 2).data() == "Server"
    assert checks.index(0, 1).data(0x0003) == CHECK["message"]  # the tooltip

    alerts = AlertModel()
    qtmodeltester.check(alerts)
    alerts.set_alerts([{"id": "a1", "kind": "critical", "at_ms": 0, "message": "m1"}])
    assert alerts.add({"id": "a2", "kind": "recovered", "at_ms": 1, "message": "m2"})
    assert not alerts.add({"id": "a2", "kind": "recovered", "at_ms": 1, "message": "m2"})
    qtmodeltester.check(alerts)
    assert [a["id"] for a in alerts.alerts] == ["a2", "a1"]


@pytest.fixture
async def monitored(tmp_path: Path):
    from server import admin
    from server.app import create_app
    from server.config import ServerConfig

    data_dir = tmp_path / "server"
    admin.create_user(
        data_dir, email="admin@venue.test", password=PASSWORD, role="admin", org="Venue"
    )
    admin.create_user(
        data_dir, email="mia@venue.test", password=PASSWORD, role="marketer", org="Venue"
    )
    (data_dir / "monitoring.toml").write_text(
        "[monitor]\ninterval_s = 3600\nbusiness_interval_s = 3600\n"
    )
    port = _free_port()
    thread = await ServerThread(
        create_app(ServerConfig(data_dir=data_dir, port=port)), port
    ).start()
    try:
        yield thread  # its url is what open_window logs in to
    finally:
        await thread.stop()


async def test_an_admin_sees_the_checks_and_an_alert_arrives_live(monitored, open_window):
    server = monitored
    app = server.app
    window = await open_window("admin-laptop", server=server)
    page = window.health
    window.go("health")
    await until(page.loaded, lambda: page.model.rowCount() > 0, what="the checks")
    names = {c["name"] for c in page.model.checks}
    assert {"storage.reachable", "sync.lag_s.attribution", "sync.device_silence_s"} <= names
    assert page.overall.text() in ("● Healthy", "● Warning")

    # the scheduler stalls with a step 15 minutes overdue: the server alerts its admins
    ctx = app[CTX]
    org = await server.call(ctx.read, lambda st: st.org_id("Venue"))
    async with asyncio.timeout(20):  # the window's live connection is up
        while not ctx.hub.count_org(org):
            await asyncio.sleep(0.02)
    await server.call(stop_automation, app)
    now = ctx.now_ms()
    row = EnrolmentRow(
        id="late",
        org_id=org,
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
    await server.call(ctx.writer.run_exclusive, lambda st: st.insert_enrolment(row, at_ms=now))
    arrived: list[dict] = []
    page.alert_arrived.connect(arrived.append)
    await server.call(lambda: app[MONITOR].evaluate(business=False))
    await until(page.alert_arrived, lambda: arrived, what="the live alert")
    assert arrived[0]["check"] == "delivery.scheduler_backlog_s"
    assert page.alerts.alerts[0]["kind"] == "critical"
    assert window.message.text() == "Critical: Scheduler backlog, oldest overdue step"
    await until(
        page.loaded, lambda: page.overall.text() == "● Critical", what="the page to re-read"
    )
    assert "Scheduler backlog, oldest overdue step 15" in page.reasons.text()

    for size in ((960, 600), (1280, 800)):  # the page fits the window, the minimum size too
        window.resize(*size)
        await settle(window)
        QApplication.sendPostedEvents()
        assert problems(window) == []


async def test_a_marketer_is_told_the_page_is_for_admins(monitored, open_window):
    window = await open_window("mia-laptop", server=monitored, email="mia@venue.test")
    window.go("health")
    page = window.health
    await asyncio.wait_for(window.idle(), 10)  # the page read the profile's role
    assert page.stack.currentWidget() is page.empty
    assert page.empty.title.text() == "Health is for admins"
    assert not page.refresh_button.isEnabled()
