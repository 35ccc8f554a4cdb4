"""Pieces of the Dashboard page: a KPI tile (figure, target, status colour, trend), a table
model over the dashboard's rows, and a table that is as tall as its rows (the page scrolls as a
whole)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QFrame,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from client import dashboard
from client.dashboard import Column, Kpi

from . import theme

Index = QModelIndex | QPersistentModelIndex
TONES = {
    dashboard.HEALTHY: "ok",
    dashboard.WARNING: "warn",
    dashboard.CRITICAL: "danger",
    dashboard.NO_TARGET: "accent",
    dashboard.UNKNOWN: "muted",
}
STATUS_WORDS = {
    dashboard.HEALTHY: "On target",
    dashboard.WARNING: "Warning",
    dashboard.CRITICAL: "Critical",
    dashboard.NO_TARGET: "No target",
    dashboard.UNKNOWN: "No data",
}
TIER_TONES = {
    "excellent": "ok",
    "good": "ok",
    "profitable": "accent",
    "needs_optimization": "danger",
    "unpriced": "muted",
}
RAW_ROLE = Qt.ItemDataRole.UserRole + 1
D, TIP, FG, FONT, ALIGN = (
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.FontRole,
    Qt.ItemDataRole.TextAlignmentRole,
)
HANDLED = {int(r) for r in (RAW_ROLE, D, TIP, FG, FONT, ALIGN)}
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def restyle(widget: QWidget, css: str) -> None:
    """Set a style sheet only when it changes: each change re-polishes the widget, which a
    live update would otherwise pay for every tile on every snapshot."""
    if widget.styleSheet() != css:
        widget.setStyleSheet(css)


class KpiTile(QFrame):
    """One KPI: caption, figure in its status colour, target and status, trend, a note."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="Card")
        self.kpi: Kpi | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(2)
        self.caption = QLabel("", objectName="CardTitle")
        self.value = QLabel("—", objectName="CardValue")
        self.status = QLabel("", wordWrap=True)
        self.trend = QLabel("", objectName="Muted", wordWrap=True)
        self.note = QLabel("", objectName="Muted", wordWrap=True)
        self.pending = QLabel("", wordWrap=True)
        for widget in (self.caption, self.value, self.status, self.trend, self.note, self.pending):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_kpi(self, kpi: Kpi, pending: str = "") -> None:
        self.kpi = kpi
        t = theme.current()
        tone = TONES.get(kpi.status, "muted")
        color = t.color(tone).name()
        self.caption.setText(kpi.title)
        self.value.setText(kpi.text)
        restyle(self.value, f"color: {color};" if tone in ("ok", "warn", "danger") else "")
        words = STATUS_WORDS.get(kpi.status, "")
        target = kpi.target.replace(" ", "\u00a0").replace("target\u00a0", "target ", 1)
        self.status.setText(f"● {words}" + (f" · {target}" if target else ""))
        restyle(self.status, f"color: {color}; font-weight: 600;")
        if kpi.trend:
            self.trend.setText(kpi.trend.text)
        elif kpi.against:
            self.trend.setText(f"No figure for {kpi.against} to compare")
        else:
            self.trend.setText("No earlier period to compare")
        if kpi.trend and kpi.trend.improving is not None:
            better = t.color("ok" if kpi.trend.improving else "danger").name()
            restyle(self.trend, f"color: {better};")
        else:
            restyle(self.trend, "")
        self.note.setText(kpi.note)
        self.note.setVisible(bool(kpi.note))
        self.pending.setText(pending)
        restyle(self.pending, f"color: {t.warn};")
        self.pending.setVisible(bool(pending))
        restyle(self, f"#Card {{ border-top: 3px solid {color}; }}")
        self.setToolTip(kpi.help)
        self.setAccessibleName(
            f"{kpi.title}: {kpi.text}. {words}. {kpi.target}. "
            f"{kpi.trend.text if kpi.trend else ''}".strip()
        )


class RowsModel(QAbstractTableModel):
    """Rows of dicts shown through ``columns`` (``dashboard.cell`` formats each figure)."""

    def __init__(
        self,
        columns: tuple[Column, ...],
        titles: dict[str, str] | None = None,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.columns = columns
        self.titles = titles or {}
        self.rows: list[dict[str, Any]] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        if rows == self.rows:
            return  # nothing changed: no reset, no re-measuring
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
            return self.titles.get(column.key, column.title)
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.title
        if role == Qt.ItemDataRole.TextAlignmentRole and column.unit:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in HANDLED or not index.isValid():  # the other roles: Qt's defaults
            return None
        row = self.rows[index.row()]
        column = self.columns[index.column()]
        key = column.key
        value = row.get(key)
        if role == RAW_ROLE:
            return value
        if role == D:
            if key == "tier":
                return row.get("tier_name") or value
            if key == "channel":
                return row.get("channel_name") or value
            if key == "pending" and not value:
                return ""
            return dashboard.cell(value, column.unit)
        if role == ALIGN:
            return RIGHT if column.unit else None
        if role == TIP:
            if key == "tier":
                return dashboard.TIER_MEANING.get(value or "")
            if key == "pending" and value:
                return f"{value:,} touches captured here, not in these figures yet"
            return row.get("name") if key == "name" else None
        if role == FG:
            if key == "tier":
                return theme.current().color(TIER_TONES.get(value or "", "muted"))
            if key == "pending" and value:
                return theme.current().color("warn")
        if role == FONT and key == "tier":
            font = QFont()
            font.setBold(True)
            return font
        return None


def rows_table(model: RowsModel, name: str) -> QTableView:
    """A read-only table as tall as its rows, its first column stretched and wrapped.

    Widths and heights are measured here from the formatted cells with the font (a few hundred
    string measurements) instead of Qt's resize-to-contents, which asks the model for every
    cell and role again on each reset: a live update stays a few milliseconds."""
    table = QTableView()
    table.setModel(model)
    table.setAccessibleName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(28)
    table.setShowGrid(False)
    table.setWordWrap(True)  # a long campaign name wraps rather than being cut
    table.setTabKeyNavigation(False)
    head = table.horizontalHeader()
    head.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    head.setMinimumSectionSize(48)
    head.setHighlightSections(False)
    table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def fit_columns() -> None:
        metrics = table.fontMetrics()
        bold = QFont(table.font())
        bold.setBold(True)
        bold_metrics = QFontMetrics(bold)
        header_metrics = QFontMetrics(head.font())
        for c in range(1, model.columnCount()):
            key = model.columns[c].key
            texts = [str(model.data(model.index(r, c), D) or "") for r in range(model.rowCount())]
            widest = max((bold_metrics if key == "tier" else metrics).horizontalAdvance(t)
                         for t in texts) if texts else 0  # fmt: skip
            title = str(model.headerData(c, Qt.Orientation.Horizontal) or "")
            head.resizeSection(c, max(widest, header_metrics.horizontalAdvance(title)) + 20)

    def fit_rows() -> None:
        """Rows as tall as the first column's words need at its width (the figures do not
        wrap)."""
        width = head.sectionSize(0) - 10
        metrics = table.fontMetrics()
        base = table.verticalHeader().defaultSectionSize()
        flags = int(Qt.TextFlag.TextWordWrap)
        for r in range(model.rowCount()):
            text = str(model.index(r, 0).data() or "")
            needed = metrics.boundingRect(0, 0, max(20, width), 10_000, flags, text).height() + 10
            table.setRowHeight(r, max(base, needed))
        table.updateGeometry()

    def reset() -> None:
        fit_columns()
        fit_rows()

    head.sectionResized.connect(lambda index, *_: index == 0 and fit_rows())
    model.modelReset.connect(reset)
    return table
