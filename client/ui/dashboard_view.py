"""The Dashboard page (the app's first page): KPI tiles with their targets, status colour and
trend; revenue and conversions over time; campaigns ranked by ROI tier; channel performance; the
report's recommendations and predictive insights, for a period the user picks.

The figures are the server's ROI report, fetched off the GUI thread (``client.reports``) and kept
in the replica; offline, the last snapshot of the period shows with its as-of time and the
events captured here that it cannot count yet, marked pending. Live: the server's
``report_changed`` notice re-fetches the report (at most one fetch in flight and one queued;
no polling); a capture or an ack here updates the pending overlay only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QDateTime, Qt, QTimer, QTimeZone, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from client import dashboard
from client.human import pounds
from client.reports import (
    BEFORE,
    KINDS,
    NoSnapshot,
    Period,
    Snapshot,
    fetch_snapshot,
    pending_for,
    period,
    with_pending,
)
from client.store import Changes

from . import charts, components, icons, theme
from .dashboard_parts import KpiTile, RowsModel, restyle, rows_table
from .ops import Ops, describe

NOTICE_KIND = "report_changed"
PENDING_COALESCE_MS = 250  # captures and acks within this are counted once
PENDING_COALESCE_BIG_QUEUE_MS, BIG_QUEUE = 2000, 5000
MIN_LIVE_INTERVAL_MS = 1000  # notice-driven fetches start at least this far apart
PICKED = ("last_30_days", "last_90_days", "this_quarter", "custom")
CAMPAIGN_TITLES = {
    "sends": "Sends",
    "open_rate": "Open",
    "click_rate": "Click",
    "conversion_rate": "Conv. rate",
    "conversions": "Conv.",
}
CHANNEL_TITLES = {"revenue": "Revenue", "roi_ratio": "Return", "pending": "Pending"}
CSV_NAMES = {
    "kpis": "kpis",
    "campaigns": "campaigns-by-roi",
    "channels": "channels",
    "advice": "recommendations",
}


def _utc_date(ms: int) -> QDate:
    return QDateTime.fromMSecsSinceEpoch(ms, QTimeZone.utc()).date()


def _date_ms(date: QDate) -> int:
    return QDateTime(date, QDateTime.currentDateTime().time(), QTimeZone.utc()).toMSecsSinceEpoch()


class DashboardPage(QWidget):
    #: a snapshot is on screen (live or last known): the campaign list shows its figures too
    snapshot_shown = Signal(object)
    #: a snapshot, an empty state or a problem was shown (after each fetch)
    loaded = Signal()

    def __init__(self, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.snapshot: Snapshot | None = None
        self.fetches = 0  # fetches started (tests, benchmarks)
        #: per snapshot shown, the longest step of showing it on the GUI thread (ms)
        self.render_ms: list[float] = []
        self._stage_ms: list[float] = []
        self.stage_ms: list[list[float]] = []  # tiles, chart, tables: per snapshot shown
        self._busy = False
        self._queued = False
        self._queued_full = False
        self._last_start = -1e9
        self._local_queue = 0
        self._deferred = False
        self._deferred_full = False
        self._spacing = QTimer(self, singleShot=True)
        self._spacing.timeout.connect(lambda: self._start(full=False))
        t = theme.current()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.setSpacing(10)

        self.header = components.PageHeader(
            "Dashboard", "How marketing performs: return, revenue, conversions and growth."
        )
        self.period_box = QComboBox()
        self.period_box.setAccessibleName("Period")
        for kind in PICKED:
            self.period_box.addItem(KINDS[kind], kind)
        today = _utc_date(int(time.time() * 1000))
        self.from_date = QDateEdit(today.addDays(-29), calendarPopup=True)
        self.to_date = QDateEdit(today, calendarPopup=True)
        for edit, name in ((self.from_date, "From"), (self.to_date, "To")):
            edit.setDisplayFormat("d MMM yyyy")
            edit.setAccessibleName(name)
            edit.hide()
        self.refresh_button = QPushButton(icons.icon("sync", t.text, 16), "Refresh")
        self.refresh_button.setToolTip("Ask the server for the latest report")
        self.pdf_button = QPushButton("Export PDF")
        self.pdf_button.setToolTip("The dashboard as a PDF report")
        for widget in (
            self.period_box,
            self.from_date,
            self.to_date,
            self.refresh_button,
            self.pdf_button,
        ):
            self.header.actions.addWidget(widget)
        outer.addWidget(self.header)

        status = QHBoxLayout()
        self.freshness = components.Pill("No report yet", "muted")
        self.freshness.setAccessibleName("How recent the figures are")
        status.addWidget(self.freshness, 0, Qt.AlignmentFlag.AlignTop)
        self.notice = QLabel(wordWrap=True)
        self.notice.setAccessibleName("About these figures")
        status.addWidget(self.notice, 1)
        outer.addLayout(status)
        self.pending = QLabel(wordWrap=True, objectName="Pending")
        self.pending.setAccessibleName("Pending sync")
        self.pending.hide()
        outer.addWidget(self.pending)

        self.stack = QStackedWidget()
        self.empty = components.EmptyState("Loading the report…", "")
        content = QWidget()
        body = QVBoxLayout(content)
        body.setContentsMargins(0, 0, 4, 0)
        body.setSpacing(12)
        grid = QGridLayout()
        grid.setSpacing(10)
        self.tiles = {spec.key: KpiTile() for spec in dashboard.SPECS}
        for i, tile in enumerate(self.tiles.values()):
            grid.addWidget(tile, i // 4, i % 4)
        for column in range(4):
            grid.setColumnStretch(column, 1)
        body.addLayout(grid)

        chart_card, chart_head = self._card("Revenue and conversions over time")
        self.bucket_note = QLabel("", objectName="Muted")
        chart_head.insertWidget(1, self.bucket_note)
        self.chart = charts.TimeChart()
        chart_card.body.addWidget(self.chart)
        body.addWidget(chart_card)

        campaigns_card, head = self._card("Campaigns by ROI tier", "campaigns")
        self.tier_summary = QLabel("", objectName="Muted", wordWrap=True)
        campaigns_card.body.addWidget(self.tier_summary)
        self.campaign_model = RowsModel(dashboard.CAMPAIGN_COLUMNS, CAMPAIGN_TITLES, self)
        self.campaign_table = rows_table(self.campaign_model, "Campaigns by ROI tier")
        campaigns_card.body.addWidget(self.campaign_table)
        body.addWidget(campaigns_card)

        channels_card, head = self._card("Channel performance", "channels")
        self.model_note = QLabel("", objectName="Muted", wordWrap=True)
        channels_card.body.addWidget(self.model_note)
        self.channel_model = RowsModel(dashboard.CHANNEL_COLUMNS, CHANNEL_TITLES, self)
        self.channel_table = rows_table(self.channel_model, "Channel performance")
        channels_card.body.addWidget(self.channel_table)
        body.addWidget(channels_card)

        advice_card, head = self._card("Recommendations and insights", "advice")
        self.advice_box = QVBoxLayout()
        self.advice_box.setSpacing(6)
        advice_card.body.addLayout(self.advice_box)
        body.addWidget(advice_card)
        body.addStretch(1)
        self.advice_labels: list[QLabel] = []
        self.advice: list[dashboard.Advice] = []

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(content)
        self.stack.addWidget(self.scroll)
        self.stack.addWidget(self.empty)
        self.stack.setCurrentWidget(self.empty)
        outer.addWidget(self.stack, 1)

        self._pending_timer = QTimer(self, singleShot=True, interval=PENDING_COALESCE_MS)
        self._pending_timer.timeout.connect(self._refresh_pending)
        self.period_box.currentIndexChanged.connect(self._period_changed)
        self.from_date.dateChanged.connect(lambda _: self.request_refresh())
        self.to_date.dateChanged.connect(lambda _: self.request_refresh())
        self.refresh_button.clicked.connect(self.request_refresh)
        self.pdf_button.clicked.connect(self._ask_pdf)

    def _card(self, title: str, csv_key: str | None = None) -> tuple[components.Card, QHBoxLayout]:
        card = components.Card()
        head = QHBoxLayout()
        head.addWidget(QLabel(title, objectName="CardTitle"))
        head.addStretch(1)
        if csv_key:
            button = QPushButton("Export CSV")
            button.setToolTip(f"{title}: save as a CSV file")
            button.setAccessibleName(f"Export {title} as CSV")
            button.clicked.connect(lambda: self._ask_csv(csv_key))
            head.addWidget(button)
            setattr(self, f"{csv_key}_csv_button", button)
        card.body.addLayout(head)
        return card, head

    # ------------------------------------------------------------------ the period

    def current_period(self) -> Period:
        kind = self.period_box.currentData()
        if kind == "custom":
            return period(
                "custom",
                from_ms=_date_ms(self.from_date.date()),
                to_ms=_date_ms(self.to_date.date()),
            )
        return period(kind)

    def set_period(
        self, kind: str, *, from_ms: int | None = None, to_ms: int | None = None
    ) -> None:
        """Pick a period (as the user would); ``custom`` takes its first and last day."""
        if kind == "custom" and from_ms is not None and to_ms is not None:
            for edit, ms in ((self.from_date, from_ms), (self.to_date, to_ms)):
                blocked = edit.blockSignals(True)
                edit.setDate(_utc_date(ms))
                edit.blockSignals(blocked)
        self.period_box.setCurrentIndex(self.period_box.findData(kind))

    def _period_changed(self) -> None:
        custom = self.period_box.currentData() == "custom"
        self.from_date.setVisible(custom)
        self.to_date.setVisible(custom)
        self.request_refresh()

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        self.request_refresh()

    def request_refresh(self, *, live_update: bool = False) -> None:
        """Fetch the report for the period: at most one fetch in flight; a request meanwhile is
        queued (once) and runs when it ends, for the period chosen by then.

        ``live_update`` (a ``report_changed`` notice): new events land now, so the period before
        is not asked again (the trends keep the one fetched with the period), and such fetches
        start at least ``MIN_LIVE_INTERVAL_MS`` apart: while a laptop pushes a backlog the
        server is not kept computing reports for one screen."""
        if live_update and self._local_queue >= BIG_QUEUE:
            self._deferred = True  # this computer's own backlog is syncing: see set_local_queue
            return
        if self._busy or self._spacing.isActive():
            self._queued = True
            self._queued_full = self._queued_full or not live_update
            return
        wait = MIN_LIVE_INTERVAL_MS - (time.monotonic() - self._last_start) * 1000
        if live_update and wait > 0:
            self._queued = True
            self._spacing.start(int(wait))
            return
        self._start(full=not live_update)

    def set_local_queue(self, items: int) -> None:
        """How many items this computer still has to sync. While it pushes a backlog (``BIG_QUEUE``
        or more), each of its commits makes the server announce a changed report; the page waits
        for the backlog to drain (the overlay counts what is queued meanwhile) and then fetches
        once, instead of keeping the server computing reports while it takes the backlog in."""
        self._local_queue = items
        # a long queue draining acks many times a second: count the overlay less often
        self._pending_timer.setInterval(
            PENDING_COALESCE_MS if items < BIG_QUEUE else PENDING_COALESCE_BIG_QUEUE_MS
        )
        if items < BIG_QUEUE and self._deferred:
            full, self._deferred, self._deferred_full = self._deferred_full, False, False
            self.request_refresh(live_update=not full)

    @property
    def local_queue(self) -> int:
        return self._local_queue

    @property
    def idle(self) -> bool:
        """No fetch in flight or waiting to start."""
        return not (self._busy or self._queued or self._spacing.isActive())

    def _start(self, full: bool = True) -> None:
        full = full or self._queued_full
        self._busy, self._queued, self._queued_full = True, False, False
        self._last_start = time.monotonic()
        chosen = self.current_period()
        kept = self.snapshot
        previous = None
        if not full and kept is not None and kept.period.key == chosen.key and kept.live:
            previous = kept.previous
        self.fetches += 1
        self.refresh_button.setEnabled(False)
        self.ops.call(
            lambda: fetch_snapshot(self.ops.engine, chosen, previous=previous),
            success=lambda snap: self._fetched(chosen, snap, None),
            failure=lambda exc: self._fetched(chosen, None, exc),
        )

    def _fetched(self, chosen: Period, snap: Snapshot | None, exc: BaseException | None) -> None:
        self._busy = False
        self.refresh_button.setEnabled(True)
        if chosen.key == self.current_period().key:  # else the period changed meanwhile
            if snap is not None:
                self.show_snapshot(snap)
            else:
                self.show_problem(exc)
        if self._queued:  # a newer request (a notice, another period) is answered next
            self._queued = False
            self.request_refresh(live_update=not self._queued_full)

    def on_notice(self, kind: str, body: dict[str, Any]) -> None:
        if kind == NOTICE_KIND:
            self.request_refresh(live_update=True)

    def on_sync_state(self, state: str) -> None:
        """Back online with last-known figures on screen: ask for fresh ones."""
        if state == "online" and (self.snapshot is None or not self.snapshot.live):
            self.request_refresh()

    def on_changes(self, changes: Changes) -> None:
        if changes.settings:  # Work offline turned on or off, a login: live or last known
            if self._local_queue >= BIG_QUEUE:
                # back online with a backlog: the last report and the overlay until it is in
                self._deferred = self._deferred_full = True
                if self.snapshot is None:
                    self.empty.set_text(
                        "Syncing first",
                        f"The report comes once this computer's {self._local_queue:,} queued "
                        "items are with the server.",
                    )
            else:
                self.request_refresh()
        elif (changes.events or changes.outbox) and self.snapshot is not None:
            if not self._pending_timer.isActive():  # a big sync acks many times a second
                self._pending_timer.start()

    def _refresh_pending(self) -> None:
        snap = self.snapshot
        if snap is None:
            return
        replica = self.ops.replica

        def shown(pending) -> None:  # noqa: ANN001
            if self.snapshot is snap:
                self.show_snapshot(with_pending(snap, pending))

        self.ops.read(pending_for, replica, snap.period, snap.fetched_at_ms, success=shown)

    # ------------------------------------------------------------------ showing

    def show_snapshot(self, snap: Snapshot) -> None:
        """Show ``snap`` in three steps, each its own turn of the event loop (the status and
        tiles, the chart, the tables and advice), so the window repaints and stays responsive
        between them; ``loaded`` is emitted after the last. A newer snapshot arriving meanwhile
        supersedes the steps still to come."""
        self.snapshot = snap
        self._stage_ms: list[float] = []
        self._staged(snap, self._show_tiles)
        QTimer.singleShot(0, lambda: self._staged(snap, self._show_chart))
        QTimer.singleShot(0, lambda: self._staged(snap, self._show_tables, last=True))

    def _staged(self, snap: Snapshot, step, last: bool = False) -> None:  # noqa: ANN001
        if self.snapshot is not snap:
            return
        started = time.perf_counter()
        step(snap)
        self._stage_ms.append((time.perf_counter() - started) * 1000)
        if last:
            self.render_ms.append(max(self._stage_ms))
            self.stage_ms.append(list(self._stage_ms))
            self.snapshot_shown.emit(snap)
            self.loaded.emit()

    def _show_tiles(self, snap: Snapshot) -> None:
        t = theme.current()
        as_of = components.clock(snap.as_of_ms)
        if snap.live:
            self.freshness.set(f"Live · as of {as_of}", "ok")
            self.notice.setText(self._window_text(snap))
            restyle(self.notice, "")
        else:
            self.freshness.set(f"Offline · as of {as_of}", "warn")
            self.notice.setText(
                f"Offline: the last report this computer received "
                f"({components.ago(snap.fetched_at_ms)}), as of {as_of}, for "
                f"{_lower(self._window_text(snap))}. {_sentence(snap.offline_reason)}"
            )
            restyle(self.notice, f"color: {t.warn};")
        pending = dashboard.pending_text(snap.pending)
        self.pending.setText(
            f"Captured on this computer, not in these figures yet: {pending}" if pending else ""
        )
        restyle(self.pending, f"color: {t.warn}; font-weight: 600;")
        self.pending.setVisible(bool(pending))
        against = BEFORE.get(snap.period.kind, "before")
        for kpi in dashboard.kpis(snap.report, snap.previous, against):
            extra = ""
            if kpi.key == "attributed_revenue" and snap.pending.conversions:
                n = snap.pending.conversions
                extra = (
                    f"+{pounds(snap.pending.revenue)} pending sync "
                    f"({n:,} conversion{'s' if n != 1 else ''}, not attributed yet)"
                )
            self.tiles[kpi.key].set_kpi(kpi, extra)
        self.stack.setCurrentWidget(self.scroll)

    def _show_chart(self, snap: Snapshot) -> None:
        series = snap.report.get("series") or {}
        bucket = {86_400_000: "per day", 604_800_000: "per week"}.get(
            series.get("bucket_ms"), "per 30 days"
        )
        self.bucket_note.setText(f"· {bucket}")
        self.chart.set_series(series, snap.pending.by_day)

    def _show_tables(self, snap: Snapshot) -> None:
        report = snap.report
        names = dashboard.campaign_names(report)
        rows = dashboard.campaign_rows(report, names)
        self.campaign_model.set_rows(rows)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["tier_name"]] = counts.get(row["tier_name"], 0) + 1
        self.tier_summary.setText(
            " · ".join(f"{n} {name.lower()}" for name, n in counts.items())
            or "No campaign in this period."
        )
        model = (report.get("attribution") or {}).get("roi_model") or "linear"
        self.model_note.setText(
            f"Conversions and revenue credited by the {model.replace('_', ' ')} model; return "
            "= revenue ÷ cost (— where no cost is recorded)."
        )
        self.channel_model.set_rows(dashboard.channel_rows(report, snap.pending.by_channel))
        self._show_advice(
            dashboard.recommendations(report, names) + dashboard.insights(report, names)
        )

    def _window_text(self, snap: Snapshot) -> str:
        lo, hi = snap.window
        if lo is None or hi is None:
            return snap.period.label
        return f"{snap.period.label}: {_day(lo)} – {_day(hi - 1)} (UTC)"

    def _show_advice(self, items: list[dashboard.Advice]) -> None:
        self.advice = items
        while len(self.advice_labels) < len(items):
            label = QLabel(wordWrap=True)
            label.setTextFormat(Qt.TextFormat.RichText)
            self.advice_labels.append(label)
            self.advice_box.addWidget(label)
        t = theme.current()
        for label, item in zip(self.advice_labels, items, strict=False):
            tone = t.accent if item.kind == "recommendation" else t.ok
            what = "Do" if item.kind == "recommendation" else "Insight"
            label.setText(
                f"<span style='color:{tone}; font-weight:600'>{what}</span> · "
                f"<b>{_html(item.about or 'Everything')}</b><br>{_html(item.text)}"
            )
            label.setAccessibleName(f"{what}: {item.about}. {item.text}")
            label.show()
        for label in self.advice_labels[len(items) :]:
            label.hide()
        if not items:
            self.advice_labels and self.advice_labels[0].setText("Nothing to recommend.")

    def show_problem(self, exc: BaseException | None) -> None:
        if self.snapshot is not None and not isinstance(exc, NoSnapshot):
            self.notice.setText(f"Could not refresh: {describe(exc)}")
            restyle(self.notice, f"color: {theme.current().danger};")
            self.loaded.emit()
            return
        self.snapshot = None
        self.freshness.set("No report", "muted")
        self.notice.setText("")
        self.pending.hide()
        title = (
            "No report on this computer yet"
            if isinstance(exc, NoSnapshot)
            else "The server did not give the report"
        )
        self.empty.set_text(title, describe(exc) if exc else "")
        self.stack.setCurrentWidget(self.empty)
        self.loaded.emit()

    # ------------------------------------------------------------------ export

    def csv_text(self, which: str) -> str:
        snap = self.snapshot
        if snap is None:
            raise ValueError("no report to export yet")
        report = snap.report
        if which == "kpis":
            against = BEFORE.get(snap.period.kind, "before")
            return dashboard.kpis_csv(dashboard.kpis(report, snap.previous, against))
        if which == "campaigns":
            return dashboard.campaigns_csv(report)
        if which == "channels":
            return dashboard.channels_csv(report, snap.pending.by_channel)
        return dashboard.advice_csv(self.advice)

    def export_csv(self, which: str, path: Path) -> None:
        Path(path).write_text(self.csv_text(which), encoding="utf-8")

    def export_pdf(self, path: Path) -> int:
        """Write the dashboard as a PDF report; returns its page count."""
        from .dashboard_export import write_pdf

        if self.snapshot is None:
            raise ValueError("no report to export yet")
        return write_pdf(self, Path(path))

    def _ask_csv(self, which: str) -> None:
        if self.snapshot is None:
            return
        name = f"wedsync-{CSV_NAMES[which]}-{self.snapshot.period.kind}.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export CSV", name, "CSV files (*.csv)")
        if path:
            self._saved(lambda: self.export_csv(which, Path(path)), path)

    def _ask_pdf(self) -> None:
        if self.snapshot is None:
            return
        name = f"wedsync-dashboard-{self.snapshot.period.kind}.pdf"
        path, _ = QFileDialog.getSaveFileName(self, "Export PDF", name, "PDF files (*.pdf)")
        if path:
            self._saved(lambda: self.export_pdf(Path(path)), path)

    def _saved(self, write, path: str) -> None:  # noqa: ANN001
        try:
            write()
        except OSError as exc:
            self.ops.failed.emit(f"Could not save {path}: {exc.strerror or exc}")
            return
        self.ops.failed.emit(f"Saved {path}")


def _day(ms: int) -> str:
    return QDateTime.fromMSecsSinceEpoch(ms, QTimeZone.utc()).toString("d MMM yyyy")


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] in ("La", "Th") else text


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sentence(text: str | None) -> str:
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."
