"""The dashboard as a PDF report (``QPdfWriter``): the period and how fresh the figures are, the
KPI tiles with targets, status and trends, what is pending sync, the chart as drawn, campaigns
by ROI tier, channels, and the recommendations and insights.

The report is an HTML document laid out by ``QTextDocument`` (which paginates it); the chart is
the widget's own picture. Printed colours follow the light palette whatever the screen's.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMarginsF, QSizeF, QUrl
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

from client import dashboard
from client.human import local_time
from client.reports import BEFORE

from . import theme

if TYPE_CHECKING:
    from .dashboard_view import DashboardPage

STATUS_COLORS = {
    dashboard.HEALTHY: theme.LIGHT.ok,
    dashboard.WARNING: theme.LIGHT.warn,
    dashboard.CRITICAL: theme.LIGHT.danger,
    dashboard.NO_TARGET: theme.LIGHT.accent,
    dashboard.UNKNOWN: theme.LIGHT.muted,
}
CHART_URL = QUrl("wedsync://chart.png")


def _table(columns: tuple[dashboard.Column, ...], rows: list[dict], keys: dict[str, str]) -> str:
    head = "".join(
        f"<th align='{'right' if c.unit else 'left'}'>{escape(c.title)}</th>" for c in columns
    )
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(keys.get(c.key, c.key)) if c.key in keys else row.get(c.key)
            text = value if c.key in keys else dashboard.cell(value, c.unit)
            cells.append(f"<td align='{'right' if c.unit else 'left'}'>{escape(str(text))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        "<table width='100%' cellspacing='0' cellpadding='3' border='0'>"
        f"<tr style='background:{theme.LIGHT.sunken}'>{head}</tr>{''.join(body)}</table>"
    )


def report_html(page: DashboardPage) -> str:
    snap = page.snapshot
    assert snap is not None
    report = snap.report
    against = BEFORE.get(snap.period.kind, "before")
    freshness = (
        f"Live figures as of {local_time(snap.as_of_ms)}"
        if snap.live
        else f"OFFLINE: the last report this computer received, as of {local_time(snap.as_of_ms)}"
        f" ({escape(snap.offline_reason or '')})"
    )
    parts = [
        "<h1>WedSync Marketing · Dashboard</h1>",
        f"<p><b>{escape(page._window_text(snap))}</b><br>{freshness}</p>",
    ]
    pending = dashboard.pending_text(snap.pending)
    if pending:
        parts.append(
            f"<p style='color:{theme.LIGHT.warn}'><b>Captured on this computer, not in these "
            f"figures yet:</b> {escape(pending)}</p>"
        )
    rows = []
    for kpi in dashboard.kpis(report, snap.previous, against):
        color = STATUS_COLORS.get(kpi.status, theme.LIGHT.muted)
        rows.append(
            f"<tr><td>{escape(kpi.title)}</td>"
            f"<td align='right' style='color:{color}'><b>{escape(kpi.text)}</b></td>"
            f"<td>{escape(kpi.target)}</td>"
            f"<td style='color:{color}'>{escape(kpi.status.replace('_', ' '))}</td>"
            f"<td>{escape(kpi.trend.text if kpi.trend else '')}</td>"
            f"<td>{escape(kpi.note)}</td></tr>"
        )
    parts.append(
        "<h2>Key figures</h2><table width='100%' cellspacing='0' cellpadding='3'>"
        f"<tr style='background:{theme.LIGHT.sunken}'><th align='left'>KPI</th>"
        "<th align='right'>Value</th><th align='left'>Target</th><th align='left'>Status</th>"
        "<th align='left'>Trend</th><th align='left'>Segments</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    parts.append(f"<h2>Revenue and conversions over time</h2><img src='{CHART_URL.toString()}'>")
    names = dashboard.campaign_names(report)
    parts.append("<h2>Campaigns by ROI tier</h2>")
    parts.append(
        _table(
            dashboard.CAMPAIGN_COLUMNS,
            dashboard.campaign_rows(report, names),
            {"tier": "tier_name"},
        )
    )
    parts.append("<h2>Channel performance</h2>")
    parts.append(
        _table(
            dashboard.CHANNEL_COLUMNS,
            dashboard.channel_rows(report, snap.pending.by_channel),
            {"channel": "channel_name"},
        )
    )
    advice = dashboard.recommendations(report, names) + dashboard.insights(report, names)
    if advice:
        parts.append("<h2>Recommendations and insights</h2><ul>")
        parts += [
            f"<li><b>{escape(a.about or 'Everything')}</b>: {escape(a.text)}</li>" for a in advice
        ]
        parts.append("</ul>")
    return (
        f"<html><body style='color:{theme.LIGHT.text}; font-family: sans-serif'>"
        + "".join(parts)
        + "</body></html>"
    )


def write_pdf(page: DashboardPage, path: Path) -> int:
    """Write ``page``'s report to ``path`` (A4); returns the number of pages."""
    writer = QPdfWriter(str(path))
    writer.setTitle("WedSync Marketing dashboard")
    writer.setCreator("WedSync Marketing")
    writer.setResolution(144)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(14, 14, 14, 14),
            QPageLayout.Unit.Millimeter,
        )
    )
    doc = QTextDocument()
    doc.setDefaultStyleSheet("h1 { font-size: 16pt; } h2 { font-size: 12pt; margin-top: 14px; }")
    area = writer.pageLayout().paintRectPixels(writer.resolution())
    chart = page.chart.image()
    if not chart.isNull() and chart.width() > 0:
        width = min(area.width() * 0.95, chart.width() * 1.6)
        chart = chart.scaledToWidth(int(width))
    doc.addResource(QTextDocument.ResourceType.ImageResource, CHART_URL, chart)
    doc.setHtml(report_html(page))
    doc.setPageSize(QSizeF(area.width(), area.height()))
    doc.print_(writer)
    return doc.pageCount()
