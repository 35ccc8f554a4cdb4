"""The Viral tracker and Attribution pages against a real server holding seed-demo data: they
show the report's figures and names, load a contact's invite tree and journey, export their
tables to CSV, fit at the window's minimum size, and say when the server cannot be reached or
the profile works offline. The flow chart's bands are as thick as their conversions."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from client.credentials import KeyringTokens
from client.store import Replica
from client.sync import SyncEngine
from client.ui import theme
from client.ui.attribution_view import MODELS, TIMELINE_KINDS, AttributionPage, model_shares
from client.ui.insights_parts import k_tone, period_window
from client.ui.ops import Ops
from client.ui.path_flow import CONVERSION, flow_layout
from client.ui.viral_view import ViralPage
from devtools.seed import seed_demo

from .conftest import PASSWORD, _free_port, until
from .test_layout_fits import problems

pytestmark = pytest.mark.ui

#: the room a page has in the main window at its minimum size (960×600): the compact sidebar
#: and the status bar take the rest
PAGE_ROOM = (960 - 56, 600 - 26)
DEFAULT_ROOM = (1280 - 210, 800 - 26)  # at the default size, beside the full sidebar


@pytest.fixture
async def profile(server, tmp_path: Path, qapp):
    seed_demo(
        server.data_dir, org="Venue", seed=3, suppliers=20, couples=200, campaigns=4, days=120
    )
    replica = Replica(tmp_path / "laptop")
    engine = SyncEngine(replica, tokens=KeyringTokens(), timeout_s=10)
    await engine.login(server.url, "mia@venue.test", PASSWORD, "laptop")
    ops = Ops(engine)
    pages = []
    yield ops, pages
    await ops.drain()
    await engine.close()
    replica.close()
    for page in pages:
        page.hide()
        page.deleteLater()


async def _open(page, pages):  # noqa: ANN001, ANN202
    pages.append(page)
    page.resize(*PAGE_ROOM)
    page.show()
    await until(page.loaded, lambda: page.report is not None, timeout_s=30, what="the report")
    return page


async def _report(ops: Ops, page) -> dict:  # noqa: ANN001
    start, end = page.window_ms()
    return await ops.engine.api("GET", f"/api/v1/reports/roi?from={start}&to={end}")


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


async def test_viral_page_shows_the_reports_figures_and_a_tree(profile, tmp_path):
    ops, pages = profile
    page = await _open(ViralPage(ops), pages)
    report = await _report(ops, page)
    v = report["viral"]
    k = v["cycle"]["k"]
    assert k is not None  # 120 days of history: cohorts observed for their 60 days
    assert page.k_tile.value.text() == f"{k:.2f}"
    assert page.k_tile.value.styleSheet() == f"color: {theme.current().color(k_tone(k)).name()};"
    assert page.sent_tile.value.text() == f"{v['invites_sent']:,}"
    assert page.accepted_tile.value.text() == f"{v['invites_accepted']:,}"
    assert page.assisted_tile.value.text() == f"{v['marketing_assisted_invites']:,}"
    assert "Figures as of" in page.status.text()
    people = [r["contact"] for r in page.connectors.model.rows]
    assert people == [s["contact"] for s in v["super_connectors"]] and people
    names = [
        page.campaigns.model.index(r, 0).data() for r in range(page.campaigns.model.rowCount())
    ]
    assert names == [c["name"] for c in v["campaigns_by_viral_effect"]]
    assert all(n and not n.startswith("01") for n in names)  # names, not ids
    assert len(page.chart.points()) == sum(1 for b in v["trend"]["buckets"] if b["k"] is not None)

    # the first super-connector's tree is shown; picking another shows theirs
    await until(page.tree.loaded, lambda: page.tree.body is not None, what="the tree")
    assert page.tree.body["root"]["contact"] == people[0]
    assert page.tree.tree.topLevelItem(0).childCount() == len(page.tree.body["root"]["children"])
    page.tree.body = None
    page.connectors.view.selectRow(1)
    await until(page.tree.loaded, lambda: page.tree.body is not None, what="the second tree")
    assert page.tree.body["root"]["contact"] == people[1]
    page.tree.contact.setText("nobody@example.com")
    page.tree.load()
    await until(page.tree.loaded, lambda: page.tree.body is None, what="the refusal")
    assert page.tree.summary.text().startswith("No one called nobody@example.com")

    # the server says the org's figures changed: the shown page reads them again
    read_at = page.as_of_ms
    page.on_notice("report_changed", {"as_of_ms": 0})
    await until(page.loaded, lambda: page.as_of_ms != read_at, what="the re-read")
    page.on_notice("health_alert", {})  # not about the report: nothing read
    assert not ops.busy

    # CSV: the table as shown, values unformatted
    out = tmp_path / "connectors.csv"
    await page.connectors.export_to(out)
    rows = _read_csv(out)
    assert rows[0][0] == "Person" and len(rows) == len(people) + 1
    assert float(rows[1][4]) == v["super_connectors"][0]["downstream_revenue"]

    for room in (PAGE_ROOM, DEFAULT_ROOM):
        page.resize(*room)
        QApplication.sendPostedEvents()
        assert problems(page) == [], room


async def test_attribution_page_shows_paths_models_journey_and_revenue(profile, tmp_path):
    ops, pages = profile
    page = await _open(AttributionPage(ops), pages)
    report = await _report(ops, page)
    a = report["attribution"]
    layout = page.flow.current_layout()
    assert layout.total == sum(p["conversions"] for p in a["paths"]["top"]) > 0
    conversion = [n for n in layout.nodes if n.label == CONVERSION]
    assert len(conversion) == 1 and conversion[0].value == layout.total

    # the models side by side: one row per channel, the highest and lowest marked
    models = page.models.model
    assert {r["channel"] for r in models.rows} == {c["channel"] for c in report["channels"]}
    top = models.rows[0]  # the channel the models disagree on most
    spread = a["disagreement"]["channels"][top["channel"]]
    assert top["spread"] == max(d["spread"] for d in a["disagreement"]["channels"].values())
    columns = [c.title for c in models.columns]
    high = columns.index(dict(MODELS)[spread["max_model"]])
    low = columns.index(dict(MODELS)[spread["min_model"]])
    assert models.index(0, high).data(0x0009) == theme.current().color("ok")  # ForegroundRole
    assert models.index(0, low).data(0x0009) == theme.current().color("danger")
    assert models.index(0, high).data() == f"{spread['max_share'] * 100:.1f}\u00a0%"
    assert model_shares(report["channels"])[spread["min_model"]][top["channel"]] == pytest.approx(
        spread["min_share"]
    )

    # revenue per campaign, by name; switching the model re-credits it
    names = {r["name"] for r in page.campaign_revenue.model.rows}
    assert {c["name"] for c in report["campaigns"]} <= names | {"Not from a campaign"}
    assert not any(n.startswith("01") for n in names)
    linear = {r["campaign"]: r["value"] for r in page.campaign_revenue.model.rows}
    page.model_pick.setCurrentIndex(page.model_pick.findData("first_touch"))
    first = {r["campaign"]: r["value"] for r in page.campaign_revenue.model.rows}
    assert first == {
        k: pytest.approx(v["value"]) for k, v in a["campaigns"]["first_touch"]["credit"].items()
    }
    assert first != linear

    # the journey of a contact, placed by when things happened
    await until(page.journey.loaded, lambda: page.journey.body is not None, what="a journey")
    events = page.journey.body["events"]
    placed = page.journey.timeline.placed()
    touches = [e for e in events if e["kind"] in TIMELINE_KINDS]
    assert len(placed) == len(touches) > 0  # touches and conversions; the table has them all
    assert page.journey.events.model.rowCount() == len(events)
    xs = [p.x() for p, _ in placed]
    assert xs == sorted(xs)
    out = tmp_path / "journey.csv"
    await page.journey.events.export_to(out)
    assert len(_read_csv(out)) == len(events) + 1

    for room in (PAGE_ROOM, DEFAULT_ROOM):
        page.resize(*room)
        QApplication.sendPostedEvents()
        assert problems(page) == [], room


async def test_offline_keeps_the_figures_and_an_unreachable_server_is_told(profile):
    ops, pages = profile
    page = await _open(ViralPage(ops), pages)
    shown = page.sent_tile.value.text()
    await ops.engine.run_db(lambda: ops.replica.set_offline(True))
    page.reload()
    await ops.drain()
    assert page.status.text().startswith("Working offline: showing figures as of")
    assert page.stack.currentWidget() is page.scroll and page.sent_tile.value.text() == shown
    assert not page.refresh_button.isEnabled()

    # a page with no figures yet and a server that is gone: a clear message
    await ops.engine.run_db(lambda: ops.replica.set_offline(False))
    dead = f"http://127.0.0.1:{_free_port()}"
    await ops.engine.run_db(lambda: ops.replica.set_setting("server_url", dead))
    fresh = AttributionPage(ops.engine)  # a page given the engine runs its own operations
    pages.append(fresh)
    fresh.resize(*PAGE_ROOM)
    fresh.show()
    await fresh.ops.drain()  # the settings read, then the report call
    assert fresh.stack.currentWidget() is fresh.empty
    assert fresh.empty.title.text() == "Could not reach the server"
    assert dead in fresh.empty.hint.text()


def test_flow_bands_are_as_thick_as_their_conversions():
    paths = [
        {"path": ["wedding_fair", "email", "venue_visit"], "conversions": 30, "value": 1.0},
        {"path": ["wedding_fair", "email"], "conversions": 10, "value": 1.0},
        {"path": ["instagram"], "conversions": 20, "value": 1.0},
        {"path": ["a", "b", "c", "d", "e", "f", "g"], "conversions": 5, "value": 1.0},
    ]
    layout = flow_layout(paths, 600, 300, max_steps=5)
    assert layout.columns[0] == "1st touch" and layout.columns[-1] == CONVERSION
    assert layout.columns[-2] == "Last touch"  # the long path's last touch, g
    bands = {(b.source.label, b.target.label): b for b in layout.bands}
    fair_email = bands[("wedding_fair", "email")]
    assert fair_email.value == 40
    assert bands[("email", "venue_visit")].value == 30
    assert bands[("instagram", CONVERSION)].value == 20
    assert bands[("d", "g")].value == 5  # a → b → c → d → … → g
    for band in layout.bands:
        assert band.thickness == pytest.approx(band.value * layout.scale)
    assert fair_email.thickness == pytest.approx(2 * bands[("instagram", CONVERSION)].thickness)
    # everything fits: the fullest column fills at most the height
    for c in range(len(layout.columns)):
        nodes = [n for n in layout.nodes if n.column == c]
        assert all(0 <= n.y and n.y + n.height <= 300 + 1e-6 for n in nodes)
    # a node's bands leave it side by side, filling it
    fair = next(n for n in layout.nodes if n.label == "wedding_fair")
    out = [b for b in layout.bands if b.source is fair]
    assert sum(b.thickness for b in out) == pytest.approx(fair.height)
    assert flow_layout([], 600, 300).nodes == []


def test_periods_run_up_to_now_in_utc():
    from datetime import UTC, datetime

    now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    start, end = period_window("quarter", now)
    assert start == int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
    start30, end30 = period_window("30", now)
    assert end30 == end and end - start30 == 30 * 86_400_000 + 1


async def test_a_journey_shows_captures_waiting_to_sync_where_they_happened(profile):
    ops, pages = profile
    page = await _open(AttributionPage(ops), pages)
    await until(page.journey.loaded, lambda: page.journey.body is not None, what="a journey")
    contact = page.journey.body["contact"]
    server_events = page.journey.body["events"]
    # captured at a fair on this laptop, with the sync queue held: between two server events
    middle = (server_events[0]["occurred_at_ms"] + server_events[-1]["occurred_at_ms"]) // 2
    await ops.engine.run_db(lambda: ops.replica.set_offline(True))
    await ops.engine.run_db(
        lambda: ops.replica.capture(
            kind="touchpoint", contact=contact, channel="wedding_fair", occurred_at_ms=middle
        )
    )
    page.journey.body = None
    page.journey.load()
    await until(page.journey.loaded, lambda: page.journey.body is not None, what="offline")
    local = page.journey.body
    assert local["local_only"] and [e["pending"] for e in local["events"]] == [True]
    assert "cannot be reached" in page.journey.summary.text()

    await ops.engine.run_db(lambda: ops.replica.set_offline(False))
    page.journey.body = None
    page.journey.load()
    await until(page.journey.loaded, lambda: page.journey.body is not None, what="merged")
    merged = page.journey.body
    assert merged["pending"] == 1 and len(merged["events"]) == len(server_events) + 1
    times = [e["occurred_at_ms"] for e in merged["events"]]
    assert times == sorted(times)  # placed by when it happened, not when it was captured
    fair = next(e for e in merged["events"] if e.get("pending"))
    assert fair["occurred_at_ms"] == middle and fair["channel"] == "wedding_fair"
    assert "1 captured here and waiting to sync" in page.journey.summary.text()
    rows = page.journey.events.model.rows
    assert [r.get("pending", False) for r in rows].count(True) == 1
