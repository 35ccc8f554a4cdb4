"""The Dashboard page against a real server with seed-demo data: the tiles show the report's
numbers in their status colours; a period change fetches that period; the server's
`report_changed` notice re-fetches (at most one fetch in flight and one queued), end to end when
another device syncs a booking; offline, the last snapshot with its as-of time and the captures
pending sync; the campaign list and results carry each campaign's figures; every table exports
to CSV and the page to a PDF, whose pages are rendered to PNG (pypdfium2) and read back."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest

from client import dashboard
from client.credentials import KeyringTokens
from client.reports import period
from client.store import Replica
from client.sync import SyncEngine
from client.ui import theme
from client.ui.campaign_list import COLUMNS
from client.ui.dashboard_view import MIN_LIVE_INTERVAL_MS
from devtools.seed import seed_demo

from .conftest import PASSWORD, settle, until

pytestmark = pytest.mark.ui


def _seed(server) -> None:  # noqa: ANN001
    seed_demo(server.data_dir, org="Venue", seed=7, suppliers=25, couples=120, campaigns=4, days=75)


async def _live(window) -> None:  # noqa: ANN001
    page = window.dashboard
    await until(
        page.loaded,
        lambda: page.snapshot is not None and page.snapshot.live and page.idle,
        what="a live report",
        timeout_s=30,
    )


async def test_the_tiles_show_the_reports_numbers_in_their_status_colours(server, open_window):
    _seed(server)
    window = await open_window(server=server)
    assert window.pages.currentWidget() is window.dashboard  # the first page after login
    await _live(window)
    page = window.dashboard
    chosen = page.snapshot.period
    assert chosen.kind == "last_30_days"
    report = await window.engine.api("GET", f"/api/v1/reports/roi?{chosen.query()}")
    summary = report["summary"]
    shown = {key: tile.value.text() for key, tile in page.tiles.items()}
    assert shown["roi"] == dashboard.figure(summary["total_roi_pct"], "pct")
    assert shown["attributed_revenue"] == dashboard.figure(summary["attributed_revenue"], "money")
    assert shown["conversion_rate"] == dashboard.figure(summary["conversion_rate"], "ratio")
    assert shown["viral_k"] == dashboard.figure(summary["viral_coefficient"], "k")
    assert shown["cac"] == dashboard.figure(summary["cac"], "money")
    assert shown["nps"] == dashboard.figure(summary["nps"], "nps")
    segments = report["ltv"]["segments"]
    ltv_shown = {dashboard.figure(s["ltv"], "money") for s in segments.values()}
    assert shown["ltv"] in ltv_shown
    # each tile's colour follows its band; K of the seeded venue is far under 1.2
    t = theme.current()
    colours = {"healthy": t.ok, "warning": t.warn, "critical": t.danger}
    for kpi in dashboard.kpis(report):
        tile = page.tiles[kpi.key]
        if kpi.status in colours:
            assert colours[kpi.status] in tile.value.styleSheet(), kpi.key
            assert tile.status.text().startswith(
                {"healthy": "● On target", "warning": "● Warning", "critical": "● Critical"}[
                    kpi.status
                ]
            )
    assert page.tiles["viral_k"].kpi.status == ("critical" if summary["viral_coefficient"] < 1.0
                                                else page.tiles["viral_k"].kpi.status)  # fmt: skip
    assert "vs the 30 days before" in page.tiles["roi"].trend.text()
    assert page.freshness.text().startswith("Live · as of")
    # tables: every campaign of the report by name, ranked by tier; every channel
    names = [page.campaign_model.rows[r]["name"] for r in range(page.campaign_model.rowCount())]
    assert sorted(names) == sorted(c["name"] for c in report["campaigns"])
    assert page.channel_model.rowCount() == len(report["channels"])
    texts = [label.text() for label in page.advice_labels if label.isVisibleTo(page)]
    assert texts and not any(c["campaign"] in t for c in report["campaigns"] for t in texts)
    await until(page.chart.drawn, lambda: page.chart.ready, what="the chart", timeout_s=20)

    # the campaign list and a campaign's results carry its figures from the same report
    window.go("campaigns")
    await settle(window)
    model = window.campaigns.model
    best = dashboard.campaign_rows(report)[0]
    row = model.row_of(best["campaign"])
    assert row >= 0
    cells = {COLUMNS[c]: model.index(row, c).data() for c in range(6, len(COLUMNS))}
    assert cells["Sends"] == f"{best['sends']:,}"
    assert cells["Revenue"] == dashboard.cell(best["revenue"], "money")
    assert cells["Tier"] == best["tier_name"]
    assert cells["Open"] == dashboard.cell(best["open_rate"], "ratio")
    assert "Last 30 days (live as of" in window.campaigns.figures_note.text()
    window.campaigns.show_results(best["campaign"])
    results = window.campaigns.results
    assert results.performance_card.isVisibleTo(window)
    assert results.performance["tier"].value.text() == best["tier_name"]


async def test_a_period_change_fetches_that_period(server, open_window):
    _seed(server)
    window = await open_window(server=server)
    await _live(window)
    page = window.dashboard
    before = page.fetches
    page.set_period("last_90_days")
    await until(page.loaded, lambda: page.snapshot.period.kind == "last_90_days" and page.idle)
    assert page.fetches == before + 1
    report = await window.engine.api("GET", f"/api/v1/reports/roi?{page.snapshot.period.query()}")
    assert page.tiles["roi"].value.text() == dashboard.figure(
        report["summary"]["total_roi_pct"], "pct"
    )
    assert "the 90 days before" in page.tiles["roi"].trend.text()  # before the seeded history
    last = period("last_30_days")
    page.set_period("custom", from_ms=last.from_ms, to_ms=last.to_ms - 1)
    await until(page.loaded, lambda: page.snapshot.period.kind == "custom" and page.idle)
    assert page.from_date.isVisible() and page.to_date.isVisible()
    assert (
        page.snapshot.report["window"]["to_ms"] - page.snapshot.report["window"]["from_ms"]
        == 31 * 86_400_000
    )  # a custom range covers its days whole


async def test_report_changed_refetches_throttled_and_live_from_another_device(server, open_window):
    _seed(server)
    window = await open_window(server=server)
    await _live(window)
    page = window.dashboard
    # a burst of notices: one fetch in flight and one queued, not five
    await asyncio.sleep(MIN_LIVE_INTERVAL_MS / 1000)  # the first notice fetches at once
    before = page.fetches
    previous = page.snapshot.previous
    for _ in range(5):
        window._notice("report_changed", {"as_of_ms": 1})
    assert page.fetches == before + 1 and page._queued
    await _live(window)
    assert page.fetches == before + 2
    assert page.snapshot.previous is previous  # the period before is not asked again
    window._notice("campaign_invalid", {})  # other notices do not fetch
    assert page.fetches == before + 2

    # end to end: Mia books a couple on her laptop; the server tells this app, which fetches
    conversions = page.snapshot.report["summary"]["conversions"]
    mia = SyncEngine(Replica(server.data_dir.parent / "mia"), tokens=KeyringTokens())
    try:
        await mia.login(server.url, "mia@venue.test", PASSWORD, "Mia's laptop")
        mia.replica.capture(kind="conversion", contact="ella@example.com", value_cents=420_000)
        fetched = page.fetches
        await mia.sync_once()
        await until(
            page.loaded,
            lambda: page.snapshot.report["summary"]["conversions"] == conversions + 1,
            what="the notice's re-fetch",
            timeout_s=20,
        )
        assert page.fetches > fetched
    finally:
        await mia.close()
        mia.replica.close()


async def test_offline_the_last_snapshot_shows_with_its_as_of_and_what_is_pending(
    server, open_window
):
    _seed(server)
    window = await open_window(server=server)
    await _live(window)
    page = window.dashboard
    live = page.snapshot
    window.set_offline(True)
    await until(page.loaded, lambda: not page.snapshot.live, what="the offline snapshot")
    assert page.freshness.text().startswith("Offline · as of")
    assert "the last report this computer received" in page.notice.text()
    assert page.snapshot.report == live.report
    roi_text = page.tiles["roi"].value.text()
    # bookings captured at the venue, offline
    for value in (300_000, 150_000):
        window.replica.capture(
            kind="conversion", contact="sam@example.com", value_cents=value, channel="venue_visit"
        )
    window.replica.capture(kind="lead", contact="kim@example.com", channel="wedding_fair")
    await until(page.loaded, lambda: page.snapshot.pending.events == 3, what="the overlay")
    assert page.pending.isVisibleTo(window)
    assert "+2 conversions, £4,500.00 pending sync · 1 lead" in page.pending.text()
    assert "+£4,500.00 pending sync" in page.tiles["attributed_revenue"].pending.text()
    assert page.tiles["roi"].value.text() == roi_text  # the server's figures, not recomputed
    rows = {r["channel"]: r["pending"] for r in page.channel_model.rows}
    assert rows["venue_visit"] == 2 and rows["wedding_fair"] == 1

    # back online: the captures sync and the report counts them; nothing is pending
    window.set_offline(False)
    await until(
        page.loaded,
        lambda: page.snapshot.live and page.snapshot.pending.events == 0,
        what="the live report with the captures",
        timeout_s=30,
    )


async def test_tables_export_to_csv_and_the_page_to_a_pdf(server, open_window, tmp_path):
    _seed(server)
    window = await open_window(server=server)
    await _live(window)
    page = window.dashboard
    await until(page.chart.drawn, lambda: page.chart.ready, what="the chart", timeout_s=20)
    report = page.snapshot.report
    for which in ("kpis", "campaigns", "channels", "advice"):
        page.export_csv(which, tmp_path / f"{which}.csv")
    campaigns = list(csv.DictReader(io.StringIO((tmp_path / "campaigns.csv").read_text())))
    assert {r["Campaign"]: float(r["Revenue (£)"]) for r in campaigns} == {
        c["name"]: c["revenue"] for c in report["campaigns"]
    }
    kpis = list(csv.DictReader(io.StringIO((tmp_path / "kpis.csv").read_text())))
    assert [r["Value"] for r in kpis] == [t.value.text() for t in page.tiles.values()]
    channels = (tmp_path / "channels.csv").read_text().splitlines()
    assert channels[0].startswith("Channel,Touches,Conversions,Attributed revenue (£)")
    assert len(channels) == 1 + len(report["channels"])

    pages = page.export_pdf(tmp_path / "dashboard.pdf")
    pdf = (tmp_path / "dashboard.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pages >= 1
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(tmp_path / "dashboard.pdf")
    assert len(document) == pages
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "Marketing ROI" in text and page.tiles["roi"].value.text() in text
    assert report["campaigns"][0]["name"] in text
    from PySide6.QtGui import QImage

    first = document[0].render(scale=1).to_numpy()  # the first page, as pixels
    image = QImage(
        first.tobytes(), first.shape[1], first.shape[0], first.shape[1] * first.shape[2],
        QImage.Format.Format_BGR888 if first.shape[2] == 3 else QImage.Format.Format_RGB32,
    )  # fmt: skip
    assert image.save(str(tmp_path / "dashboard-1.png"))
    # a real page: mostly white, with ink (text, the chart's bars) on it
    inked = (first[..., :3].min(axis=2) < 128).mean()
    assert 0.005 < inked < 0.5
