"""The campaigns list: a table model over ``Replica.campaigns()`` and a filter proxy (type,
status, free-text search), refreshed on ``changes_applied`` when campaigns changed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from . import components, icons, theme

ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = ("Name", "Type", "Status", "Steps", "Budget", "Updated")

Index = QModelIndex | QPersistentModelIndex


class CampaignListModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []
        self._conflicts: dict[str, int] = {}

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
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == ID_ROLE:
            return row["id"]
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
