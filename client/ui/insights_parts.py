"""Building blocks of the report pages (viral tracker, attribution visualiser): the period
picker, a page that loads the ROI report for the period off the GUI thread and says when its
figures are from (or why there are none), figure tiles, and tables that export to CSV.

The figures are the server's report (``GET /api/v1/reports/roi?from=…&to=…``); the pages only
lay them out. A page keeps the last report it showed: when a refresh fails or the profile works
offline it goes on showing it with the time it is as of.
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from client.sync import SyncEngine

from . import components, icons, theme
from .ops import Ops, describe

Index = QModelIndex | QPersistentModelIndex
DAY_MS = 86_400_000
#: the viral coefficient's bands (the brief's target, as the server's health monitor has them)
K_TARGET = 1.2
K_WARNING = 1.0
PERIODS = (("30", "Last 30 days"), ("90", "Last 90 days"), ("quarter", "This quarter"))
REPORT_NOTICE = "report_changed"


def k_tone(k: float | None) -> str:
    """healthy (ok) at or above the target, warning from 1.0, critical below; muted: no K."""
    if k is None:
        return "muted"
    return "ok" if k >= K_TARGET else "warn" if k >= K_WARNING else "danger"


def k_status(k: float | None) -> str:
    return {"ok": "healthy", "warn": "warning", "danger": "critical"}.get(k_tone(k), "no data")


def period_window(key: str, now: datetime | None = None) -> tuple[int, int]:
    """``[from_ms, to_ms)`` of a period, in UTC like the report: the calendar quarter so far,
    or the last 30 or 90 days, up to now."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    to_ms = int(now.timestamp() * 1000) + 1
    if key == "quarter":
        start = now.replace(
            month=(now.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0, second=0, microsecond=0
        )
        return int(start.timestamp() * 1000), to_ms
    return int((now - timedelta(days=int(key))).timestamp() * 1000), to_ms


def day(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000).strftime("%d %b %Y")


def number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def pounds(value: float | None) -> str:
    """A report amount (pounds, a float) as money."""
    return "—" if value is None else components.money(round(value * 100))


def share(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}\u00a0%"


# ---------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    title: str
    text: Callable[[dict[str, Any]], str]
    #: the value written to CSV (default: the text)
    value: Callable[[dict[str, Any]], Any] | None = None
    numeric: bool = False
    tone: Callable[[dict[str, Any]], str | None] | None = None
    tip: Callable[[dict[str, Any]], str | None] | None = None
    bold: Callable[[dict[str, Any]], bool] | None = None


class RowsModel(QAbstractTableModel):
    """Rows of dicts shown through ``Column``s."""

    def __init__(self, columns: Sequence[Column], parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.rows: list[dict[str, Any]] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column.tone is not None:
            tone = column.tone(row)
            return theme.current().color(tone) if tone else None
        if role == Qt.ItemDataRole.FontRole and column.bold is not None and column.bold(row):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and column.tip is not None:
            return column.tip(row)
        return None

    def table(self) -> tuple[list[str], list[list[Any]]]:
        """The header and the rows as exported: each column's value (else its text)."""
        header = [c.title for c in self.columns]
        body = [[(c.value or c.text)(row) for c in self.columns] for row in self.rows]
        return header, body


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> int:
    """Write a table as CSV (UTF-8 with a byte-order mark, so spreadsheets read £ and names
    right); how many rows."""
    with open(path, "w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return len(rows)


class TableCard(components.Card):
    """A titled table with an Export CSV button; ``exported`` says where a file went."""

    exported = Signal(str)

    def __init__(
        self, ops: Ops, title: str, model: RowsModel, file_stem: str, rows_shown: int = 6
    ) -> None:
        super().__init__()
        self.ops, self.model, self.file_stem = ops, model, file_stem
        head = QHBoxLayout()
        head.addWidget(QLabel(title, objectName="CardTitle"), 1)
        self.export_button = QPushButton("Export CSV")
        self.export_button.setToolTip(f"Save {title.lower()} as a CSV file")
        self.export_button.clicked.connect(self.choose_file)
        head.addWidget(self.export_button)
        self.body.addLayout(head)
        self.view = QTableView()
        self.view.setModel(model)
        self.view.setAccessibleName(title)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(False)
        self.view.setWordWrap(False)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(48)
        rows_px = self.view.verticalHeader().defaultSectionSize() * rows_shown
        self.view.setMinimumHeight(header.sizeHint().height() + rows_px + 4)
        self.body.addWidget(self.view)
        self.empty = QLabel("", objectName="Muted", wordWrap=True)
        self.empty.hide()
        self.body.addWidget(self.empty)

    def set_rows(self, rows: list[dict[str, Any]], empty: str = "Nothing in this period.") -> None:
        self.model.set_rows(rows)
        self.empty.setText(empty)
        self.empty.setVisible(not rows)
        self.export_button.setEnabled(bool(rows))

    def choose_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export CSV", str(Path.home() / f"{self.file_stem}.csv"), "CSV files (*.csv)"
        )
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> asyncio.Task:
        """Write the table to ``path`` off the GUI thread."""
        header, rows = self.model.table()
        return self.ops.call(
            lambda: asyncio.to_thread(write_csv, path, header, rows),
            success=lambda n: self.exported.emit(f"Saved {n} rows to {path.name}"),
        )


class Tile(QFrame):
    """A figure with its title and a line under it, coloured by meaning."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="Card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(2)
        self.title = QLabel(title, objectName="CardTitle")
        self.value = QLabel("—", objectName="CardValue")
        self.note = QLabel("", objectName="Muted", wordWrap=True)
        self.setAccessibleName(title)
        layout.addWidget(self.title)
        layout.addWidget(self.value)
        layout.addWidget(self.note)
        layout.addStretch(1)

    def set(self, value: str, note: str = "", tone: str | None = None, tip: str = "") -> None:
        self.value.setText(value)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        color = theme.current().color(tone).name() if tone and tone != "muted" else ""
        self.value.setStyleSheet(f"color: {color};" if color else "")
        self.setToolTip(tip)


# ---------------------------------------------------------------------- the page


class ReportPage(QWidget):
    """A page over the ROI report of a period: header with the period picker and Refresh, a
    line saying when the figures are from, and the page's body (``body``, in a scroll area)
    filled by ``show_report``."""

    #: the report was shown (after each successful read)
    loaded = Signal()
    #: a plain-words message for the status bar (an export saved)
    message = Signal(str)

    def __init__(
        self, ops: Ops | SyncEngine, title: str, subtitle: str, parent: QWidget | None = None
    ) -> None:
        """``ops``: the window's ``Ops``, or a ``SyncEngine`` (the page then runs its own)."""
        super().__init__(parent)
        if not isinstance(ops, Ops):
            ops = Ops(ops, self)
            ops.failed.connect(self.message)
        self.ops = ops
        self.report: dict[str, Any] | None = None
        self.as_of_ms: int | None = None
        self._shown_period: str | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.setSpacing(10)
        self.header = components.PageHeader(title, subtitle)
        self.period = QComboBox()
        self.period.setAccessibleName("Period")
        for key, text in PERIODS:
            self.period.addItem(text, key)
        self.period.setCurrentIndex(1)
        self.refresh_button = QPushButton(icons.icon("sync", theme.current().text, 16), "Refresh")
        self.refresh_button.setToolTip("Read the report again")
        self.header.actions.addWidget(self.period)
        self.header.actions.addWidget(self.refresh_button)
        outer.addWidget(self.header)
        self.status = QLabel("", objectName="Muted", wordWrap=True)
        self.status.setAccessibleName("Figures as of")
        outer.addWidget(self.status)

        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        self.empty = components.EmptyState("Loading…", "")
        self.stack.addWidget(self.empty)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.content = QWidget()
        self.body = QVBoxLayout(self.content)
        self.body.setContentsMargins(0, 0, 4, 0)
        self.body.setSpacing(12)
        self.scroll.setWidget(self.content)
        self.stack.addWidget(self.scroll)

        self.period.currentIndexChanged.connect(lambda _: self.reload())
        self.refresh_button.clicked.connect(self.reload)

    def table(
        self, title: str, columns: Sequence[Column], file_stem: str, rows: int = 6
    ) -> TableCard:
        card = TableCard(self.ops, title, RowsModel(columns, self), file_stem, rows)
        card.exported.connect(self.message)
        card.exported.connect(self.status_note)
        return card

    def status_note(self, text: str) -> None:
        self.status.setText(f"{self._as_of_text()} {text}.")

    # ------------------------------------------------------------------ loading

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.report is None or self._shown_period != self.period.currentData():
            self.reload()

    def window_ms(self) -> tuple[int, int]:
        return period_window(self.period.currentData())

    def reload(self) -> None:
        replica = self.ops.replica
        self.ops.read(
            lambda: (replica.get_setting("server_url"), replica.offline),
            success=self._loaded_settings,
        )

    def _loaded_settings(self, data: tuple[str | None, bool]) -> None:
        server, offline = data
        self.refresh_button.setEnabled(bool(server) and not offline)
        if not server:
            self._no_figures(
                "The report needs a server", "Sign in to your organisation's server to see it."
            )
            return
        if offline:
            self._no_figures(
                "Working offline",
                "The report is made on the server. Turn off Work offline (Ctrl+Shift+O) to "
                "read it.",
            )
            return
        period = self.period.currentData()
        start, end = self.window_ms()
        engine = self.ops.engine
        if self.report is None:
            self.empty.set_text("Loading…", "Reading the report from the server.")
        self.status.setText("Reading the report…" if self.report is None else self.status.text())
        self.ops.call(
            lambda: engine.api("GET", f"/api/v1/reports/roi?from={start}&to={end}"),
            success=lambda report: self._show(report, period),
            failure=self._failed,
        )

    def _no_figures(self, title: str, hint: str) -> None:
        if self.report is not None:  # keep the last figures, saying how old they are
            self.status.setText(f"{title}: showing {self._as_of_text().lower()}")
            return
        self.status.setText("")
        self.empty.set_text(title, hint)
        self.stack.setCurrentWidget(self.empty)

    def _failed(self, exc: BaseException) -> None:
        self._no_figures("Could not reach the server", describe(exc))

    def _as_of_text(self) -> str:
        period = self.period.itemText(self.period.findData(self._shown_period))
        return f"Figures as of {components.clock(self.as_of_ms)} ({period.lower()})."

    def _show(self, report: dict[str, Any], period: str) -> None:
        self.report = report
        self.as_of_ms = time.time_ns() // 1_000_000
        self._shown_period = period
        window = report.get("window") or {}
        data_to = window.get("data_to_ms")
        seen = f" Latest event {components.ago(data_to - 1)}." if data_to else ""
        self.status.setText(
            f"{self._as_of_text()} {day(window.get('from_ms'))} to "
            f"{day(window.get('to_ms', 1) - 1)}.{seen}"
        )
        self.show_report(report)
        self.stack.setCurrentWidget(self.scroll)
        self.loaded.emit()

    def show_report(self, report: dict[str, Any]) -> None:
        """Lay the report out in ``body`` (each page its own way)."""
        raise NotImplementedError(type(self).__name__)

    # ------------------------------------------------------------------ live

    def on_notice(self, kind: str, body: dict[str, Any]) -> None:
        """The server says the org's figures changed: read them again if shown."""
        if kind == REPORT_NOTICE and self.isVisible():
            self.reload()
