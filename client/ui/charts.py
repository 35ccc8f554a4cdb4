"""Charts of the dashboard: revenue and conversions over time, one bar per bucket of the
report's ``series``, with the captures pending sync stacked on top.

Drawn with QPainter in the widget's own paint: a few dozen rectangles and labels, no scene
graph, nothing to import at start-up and nothing that outlives the widget. (pyqtgraph was
tried first: with PySide6 6.12 several of its calls, painting among them, release one
reference to ``True`` too many, so a long-running app ends in CPython's ``bool_dealloc``
abort.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from . import theme

DAY_MS = 86_400_000
CHART_HEIGHT = 290  # both plots and the legend
AXIS_WIDTH = 64  # the left axis' labels
TICKS = 4  # value gridlines per plot


def _nice_top(value: float) -> float:
    """A round number at or above ``value`` for the top of an axis (1, 2, 2.5 or 5 × 10^n)."""
    if value <= 0:
        return 1.0
    scale = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * scale:
            return step * scale
    return 10 * scale


def _short(value: float, money: bool) -> str:
    sign = "£" if money else ""
    if value >= 1_000_000:
        return f"{sign}{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{sign}{value / 1000:.0f}k"
    if value >= 1000:
        return f"{sign}{value / 1000:.1f}k"
    return f"{sign}{value:,.0f}"


class BarPlot(QWidget):
    """One series as bars over time, its pending part stacked on top in the warning colour."""

    def __init__(self, title: str, color: str, *, money: bool, dates: bool) -> None:
        super().__init__()
        self.title, self.color, self.money, self.dates = title, color, money, dates
        self.xs: list[float] = []  # bucket starts, epoch seconds
        self.values: list[float] = []
        self.pending: list[float] = []
        self.width_s = DAY_MS / 1000
        self.setAccessibleName(title)
        self.setMinimumHeight(60)

    def set_data(
        self, xs: list[float], values: list[float], pending: list[float], width_s: float
    ) -> None:
        self.xs, self.values, self.pending, self.width_s = xs, values, pending, width_s
        self.update()

    def top(self) -> float:
        stacked = (v + p for v, p in zip(self.values, self.pending, strict=True))
        return _nice_top(max(stacked, default=0.0))

    def bars(self) -> list[tuple[QRectF, QRectF]]:
        """Each bucket's (figure, pending) rectangles in the widget's coordinates."""
        area = self._area()
        if not self.xs or area.width() <= 0:
            return []
        top = self.top()
        slot = area.width() / len(self.xs)
        out = []
        for i, (value, more) in enumerate(zip(self.values, self.pending, strict=True)):
            x = area.left() + i * slot + slot * 0.1
            h = area.height() * value / top
            h_more = area.height() * more / top
            base = area.bottom()
            out.append(
                (
                    QRectF(x, base - h, slot * 0.8, h),
                    QRectF(x, base - h - h_more, slot * 0.8, h_more),
                )
            )
        return out

    def _area(self) -> QRectF:
        bottom = 18 if self.dates else 6
        return QRectF(AXIS_WIDTH, 8, max(0, self.width() - AXIS_WIDTH - 8),
                      max(0, self.height() - 8 - bottom))  # fmt: skip

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        t = theme.current()
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(t.surface))
        area = self._area()
        metrics = QFontMetrics(p.font())
        top = self.top()
        p.setPen(QPen(QColor(t.border), 1))
        for k in range(TICKS + 1):
            y = area.bottom() - area.height() * k / TICKS
            p.drawLine(int(area.left()), int(y), int(area.right()), int(y))
            label = _short(top * k / TICKS, self.money)
            p.setPen(QColor(t.muted))
            p.drawText(
                QRectF(0, y - metrics.height() / 2, AXIS_WIDTH - 6, metrics.height()),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                label,
            )
            p.setPen(QPen(QColor(t.border), 1))
        for figure, more in self.bars():
            p.fillRect(figure, QColor(self.color))
            if more.height() > 0:
                p.fillRect(more, QColor(t.warn))
        if self.dates and self.xs:
            p.setPen(QColor(t.muted))
            for i in sorted({0, len(self.xs) // 2, len(self.xs) - 1}):
                day = datetime.fromtimestamp(self.xs[i], tz=UTC).strftime("%d %b")
                slot = area.width() / len(self.xs)
                x = area.left() + i * slot + slot / 2
                w = metrics.horizontalAdvance(day)
                left = min(max(area.left(), x - w / 2), area.right() - w)
                p.drawText(int(left), int(area.bottom() + 4 + metrics.ascent()), day)
        if not self.xs:
            p.setPen(QColor(t.muted))
            p.drawText(area, int(Qt.AlignmentFlag.AlignCenter), "No figures in this period")
        p.end()


class TimeChart(QWidget):
    """Revenue (bars) over conversions (bars), one bar per bucket of the report's ``series``."""

    drawn = Signal()  # the plot shows the latest data

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(CHART_HEIGHT)
        self.setAccessibleName("Revenue and conversions over time")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        t = theme.current()
        self.plots = [
            BarPlot("Revenue (£)", t.accent, money=True, dates=False),
            BarPlot("Conversions", t.ok, money=False, dates=True),
        ]
        layout.addWidget(self.plots[0], 3)
        layout.addWidget(self.plots[1], 2)
        legend = QHBoxLayout()
        legend.setSpacing(14)
        for text, color in (
            ("Revenue (£)", t.accent),
            ("Conversions", t.ok),
            ("Captured here, pending sync", t.warn),
        ):
            swatch = QLabel("■")
            swatch.setStyleSheet(f"color: {color};")
            legend.addWidget(swatch)
            legend.addWidget(QLabel(text, objectName="Muted"))
        legend.addStretch(1)
        layout.addLayout(legend)
        self._drawn_once = False

    def set_series(
        self, series: dict[str, Any] | None, pending_by_day: dict[int, dict[str, float]]
    ) -> None:
        buckets = (series or {}).get("buckets") or []
        size = (series or {}).get("bucket_ms") or DAY_MS
        xs = [b["from_ms"] / 1000 for b in buckets]
        revenue = [float(b.get("revenue") or 0) for b in buckets]
        conversions = [float(b.get("conversions") or 0) for b in buckets]
        pending_rev = [0.0] * len(buckets)
        pending_conv = [0.0] * len(buckets)
        if buckets:
            first, last = buckets[0]["from_ms"], buckets[-1]["to_ms"]
            for day, figures in pending_by_day.items():
                if first <= day < last:
                    i = min(len(buckets) - 1, (day - first) // size)
                    pending_rev[i] += figures.get("revenue", 0.0)
                    pending_conv[i] += figures.get("conversions", 0)
        self.plots[0].set_data(xs, revenue, pending_rev, size / 1000)
        self.plots[1].set_data(xs, conversions, pending_conv, size / 1000)
        self._drawn_once = True
        self.drawn.emit()

    @property
    def ready(self) -> bool:
        return self._drawn_once

    def image(self) -> QImage:
        """The chart as it is drawn (for the PDF report)."""
        return self.grab().toImage()
