"""Charts of the dashboard: revenue and conversions over time (pyqtgraph), with the captures
still pending sync stacked on top in the warning colour.

pyqtgraph is imported off the GUI thread (``preload``: started a second after the window, or
when the first report arrives if sooner): its import takes 0.4–0.8 s, which on the GUI thread
would freeze the window when the first report arrives, and at start-up would compete with the
window's first paint.
Until it is loaded the chart shows a placeholder; ``set_series`` keeps the data and draws it
once the module is there. Redrawing replaces the bars' data in place (no new items), so a live
update costs a few milliseconds.
"""

from __future__ import annotations

import importlib
import threading
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from . import theme

_loaded = threading.Event()
_started = threading.Lock()
_thread: threading.Thread | None = None
_module: Any = None
_error: BaseException | None = None
DAY_MS = 86_400_000
CHART_HEIGHT = 290  # both plots and the legend


def _load() -> None:
    global _module, _error
    try:
        _module = importlib.import_module("pyqtgraph")
    except Exception as exc:  # noqa: BLE001 - told on the chart instead of a plot
        _error = exc
    finally:
        _loaded.set()


def preload() -> None:
    """Start importing pyqtgraph on a worker thread (once)."""
    global _thread
    with _started:
        if _thread is None:
            _thread = threading.Thread(target=_load, name="wedsync-charts-import", daemon=True)
            _thread.start()


def module(wait_s: float | None = None) -> Any:
    """pyqtgraph once imported (None while loading, or when it cannot be imported)."""
    preload()
    _loaded.wait(wait_s)
    return _module


class TimeChart(QWidget):
    """Revenue (bars) over conversions (bars), one bar per bucket of the report's ``series``."""

    drawn = Signal()  # the plot shows the latest data

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(CHART_HEIGHT)
        self.setAccessibleName("Revenue and conversions over time")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.placeholder = QLabel("Loading the chart…", objectName="Muted")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self.placeholder, 1)
        legend = QHBoxLayout()
        legend.setSpacing(14)
        t = theme.current()
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
        self._layout.addLayout(legend)
        self.plots: list[Any] = []
        self.build_ms = 0.0  # how long building the plots took on the GUI thread
        self._bars: list[tuple[Any, Any]] = []  # (figures, pending) per plot
        self._data: tuple[list[float], list[float], list[float], list[float], float] | None = None
        self._poll = QTimer(self, interval=50)
        self._poll.timeout.connect(self._try_build)
        self._poll.start()  # builds the plots once the module is imported (``preload``)

    # ------------------------------------------------------------------ data

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
        self._data = (xs, [revenue, conversions], [pending_rev, pending_conv], size / 1000)
        preload()  # if the window has not started it yet
        self._draw()

    # ------------------------------------------------------------------ drawing

    def _try_build(self) -> None:
        if not _loaded.is_set():
            return
        self._poll.stop()
        started = time.perf_counter()
        pg = _module
        if pg is None:
            self.placeholder.setText(f"Charts are not available here ({_error})")
            return
        t = theme.current()
        pg.setConfigOptions(antialias=False)  # bars are rectangles: no need, and cheaper
        colors = (t.accent, t.ok)
        for row, title in enumerate(("Revenue (£)", "Conversions")):
            axis = pg.DateAxisItem(orientation="bottom")
            plot = pg.PlotWidget(axisItems={"bottom": axis})
            plot.setBackground(t.surface)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            item = plot.getPlotItem()
            item.showGrid(x=False, y=True, alpha=0.15)
            item.setLabel("left", title, color=t.muted)
            for name in ("left", "bottom"):
                ax = item.getAxis(name)
                ax.setPen(t.border)
                ax.setTextPen(t.muted)
            item.getAxis("left").setWidth(64)
            if row == 0:
                item.getAxis("bottom").setStyle(showValues=False)
                item.getAxis("bottom").setHeight(6)
            figures = pg.BarGraphItem(x=[], height=[], width=1, brush=colors[row], pen=None)
            pending = pg.BarGraphItem(x=[], height=[], width=1, brush=t.warn, pen=None)
            plot.addItem(figures)
            plot.addItem(pending)
            self._bars.append((figures, pending))
            self.plots.append(plot)
            self._layout.insertWidget(row, plot, 3 if row == 0 else 2)
        self.plots[1].setXLink(self.plots[0])
        self.placeholder.hide()
        self._draw()
        self.build_ms = (time.perf_counter() - started) * 1000

    def _draw(self) -> None:
        if not self.plots or self._data is None:
            return
        xs, figures, pending, width_s = self._data
        centres = [x + width_s / 2 for x in xs]
        for (bars, extra), values, more in zip(self._bars, figures, pending, strict=True):
            bars.setOpts(x=centres, height=values, width=width_s * 0.8)
            extra.setOpts(x=centres, y0=values, height=more, width=width_s * 0.8)
        if xs:
            for plot, values, more in zip(self.plots, figures, pending, strict=True):
                top = max((v + m for v, m in zip(values, more, strict=True)), default=0)
                plot.setYRange(0, max(1.0, top * 1.08), padding=0)
            self.plots[0].setXRange(xs[0], xs[-1] + width_s, padding=0.01)
        self.drawn.emit()

    @property
    def ready(self) -> bool:
        return bool(self.plots)

    def image(self) -> QImage:
        """The chart as it is drawn (for the PDF report)."""
        return self.grab().toImage()
