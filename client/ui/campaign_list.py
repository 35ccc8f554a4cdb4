"""The campaigns list: a table model over ``Replica.campaigns()`` and a filter proxy (type,
status, free-text search), refreshed on ``changes_applied`` when campaigns changed; beside each
campaign, its performance from the dashboard's report (sends, open, click and conversion rates,
revenue, ROI and tier), live or the last snapshot, matched by campaign id."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from client import dashboard

from . import components, icons, theme
from .dashboard_parts import TIER_TONES

ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = (
    "Name",
    "Type",
    "Status",
    "Steps",
    "Budget",
    "Updated",
    "Sends",
    "Open",
    "Click",
    "Conv.",
    "Revenue",
    "ROI",
    "Tier",
)
#: the performance columns: the report's field behind each, and how it is shown
PERFORMANCE = {
    6: ("sends", "count"),
    7: ("open_rate", "ratio"),
    8: ("click_rate", "ratio"),
    9: ("conversion_rate", "ratio"),
    10: ("revenue", "money"),
    11: ("roi_pct", "pct"),
    12: ("tier", ""),
}
HEADER_TIPS = {
    7: "Open rate: opens ÷ sends",
    8: "Click rate: clicks ÷ opens",
    9: "Conversion rate: attributed conversions ÷ sends",
    10: "Revenue attributed to the campaign",
    11: "Return on investment: (revenue − cost) ÷ cost",
    12: "ROI tier: excellent (> 5×), good (> 3×), profitable (> 1×), needs optimisation",
}

Index = QModelIndex | QPersistentModelIndex


class CampaignListModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []
        self._conflicts: dict[str, int] = {}
        self._performance: dict[str, dict[str, Any]] = {}

    # -------------------------------------------------------------- data in

    def set_campaigns(self, rows: list[dict[str, Any]]) -> None:
        """Replace the rows, keeping rows that still exist in place (selection survives)."""
        new_ids = [r["id"] for r in rows]
        if new_ids == [r["id"] for r in self._rows]:
            self._rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def set_open_conflicts(self, counts: dict[str, int]) -> None:
        self._conflicts = dict(counts)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 0))

    def set_performance(self, rows: dict[str, dict[str, Any]]) -> None:
        """The report's row of each campaign, by campaign id."""
        self._performance = dict(rows)
        if self._rows:
            self.dataChanged.emit(self.index(0, 6), self.index(len(self._rows) - 1, 12))

    def performance(self, campaign_id: str) -> dict[str, Any] | None:
        return self._performance.get(campaign_id)

    def conflicts_for(self, campaign_id: str) -> int:
        return self._conflicts.get(campaign_id, 0)

    def row_of(self, campaign_id: str) -> int:
        for i, row in enumerate(self._rows):
            if row["id"] == campaign_id:
                return i
        return -1

    # -------------------------------------------------------------- Qt model

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(section)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == ID_ROLE:
            return row["id"]
        if col in PERFORMANCE:
            return self._performance_data(row, col, role)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == SORT_ROLE:
            return self._sort_key(row, col)
        if role == Qt.ItemDataRole.DecorationRole and col == 0 and self._conflicts.get(row["id"]):
            return icons.icon("conflicts", theme.current().warn, 16)
        if role == Qt.ItemDataRole.ToolTipRole and col == 0 and self._conflicts.get(row["id"]):
            n = self._conflicts[row["id"]]
            return f"{n} open conflict{'s' if n != 1 else ''}: open the campaign to review"
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            return theme.current().color(
                components.STATUS_COLORS.get(row.get("status", ""), "muted")
            )
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (3, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _performance_data(self, row: dict[str, Any], col: int, role: int) -> Any:
        figures = self._performance.get(row["id"])
        key, unit = PERFORMANCE[col]
        value = figures.get(key) if figures else None
        if role == Qt.ItemDataRole.DisplayRole:
            if figures is None:
                return ""
            if key == "tier":
                return dashboard.TIER_NAMES.get(value or "", value or "")
            return dashboard.cell(value, unit)
        if role == SORT_ROLE:
            if key == "tier":
                return -dashboard.TIERS.index(value) if value in dashboard.TIERS else -99
            return value if value is not None else float("-inf")
        if role == Qt.ItemDataRole.ToolTipRole and key == "tier" and figures:
            return dashboard.TIER_MEANING.get(value or "")
        if role == Qt.ItemDataRole.ForegroundRole and key == "tier" and figures:
            return theme.current().color(TIER_TONES.get(value or "", "muted"))
        if role == Qt.ItemDataRole.TextAlignmentRole and key != "tier":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _display(row: dict[str, Any], col: int) -> str:
        if col == 0:
            return row.get("name") or "Untitled campaign"
        if col == 1:
            return components.label(row.get("type"))
        if col == 2:
            return components.label(row.get("status"))
        if col == 3:
            return str(len(row.get("steps") or []))
        if col == 4:
            return components.money(row.get("budget_cents"))
        return components.ago(row.get("updated_at_ms"))

    @staticmethod
    def _sort_key(row: dict[str, Any], col: int) -> Any:
        if col == 3:
            return len(row.get("steps") or [])
        if col == 4:
            return row.get("budget_cents") or 0
        if col == 5:
            return row.get("updated_at_ms") or 0
        return CampaignListModel._display(row, col).casefold()

    def raw(self, row: int) -> dict[str, Any]:
        return self._rows[row]


class CampaignFilter(QSortFilterProxyModel):
    """Filters by type, status and a search over name, description and notes."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._type = ""
        self._status = ""
        self._words: list[str] = []
        self.setSortRole(SORT_ROLE)

    def set_type(self, value: str) -> None:
        self.beginFilterChange()
        self._type = value
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_status(self, value: str) -> None:
        self.beginFilterChange()
        self._status = value
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_search(self, text: str) -> None:
        self.beginFilterChange()
        self._words = text.casefold().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, CampaignListModel):
            return True
        row = model.raw(source_row)
        if self._type and row.get("type") != self._type:
            return False
        if self._status and row.get("status") != self._status:
            return False
        if self._words:
            notes = row.get("notes") if isinstance(row.get("notes"), list) else []
            hay = " ".join(
                [str(row.get(k) or "") for k in ("name", "description", "owner")]
                + [str(n.get("text") or "") for n in notes]
            ).casefold()
            return all(w in hay for w in self._words)
        return True
