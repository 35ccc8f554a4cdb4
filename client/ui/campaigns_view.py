"""The Campaigns page: the filterable list, and the builder for the campaign being edited."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from client.store import Changes
from shared.protocol import campaign as schema

from . import components, icons, theme
from .campaign_builder import CampaignBuilder
from .campaign_list import COLUMNS, ID_ROLE, CampaignFilter, CampaignListModel
from .ops import Ops
from .run_view import RunViewPage
from .smtp_dialog import SmtpDialog


class NewCampaignDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New campaign")
        self.setMinimumWidth(380)
        form = QFormLayout(self)
        self.name = QLineEdit(placeholderText="e.g. Spring open day")
        self.type = QComboBox()
        for kind in schema.CAMPAIGN_TYPES:
            self.type.addItem(components.label(kind), kind)
        form.addRow("Name", self.name)
        form.addRow("Type", self.type)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        buttons.button(QDialogButtonBox.StandardButton.Ok).setObjectName("Primary")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _accept(self) -> None:
        if self.name.text().strip():
            self.accept()
        else:
            self.name.setFocus()
            self.name.setPlaceholderText("A campaign needs a name")


#: columns hidden first when the window is narrow: steps, budget, click rate, type, updated
OPTIONAL_COLUMNS = (3, 4, 8, 1, 5)
NAME_MIN_PX = 150


class CampaignsPage(QWidget):
    conflicts_requested = Signal(str)

    def __init__(self, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.stack = QStackedWidget(self)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.addWidget(self.stack)

        # list page
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(12)
        self.header = components.PageHeader("Campaigns", "Build flows, schedule and track them.")
        self.new_button = QPushButton(
            icons.icon("plus", "#ffffff", 16), "New campaign", objectName="Primary"
        )
        self.new_button.setToolTip("Ctrl+N")
        self.results_button = QPushButton(icons.icon("chart", theme.current().text, 16), "Results")
        self.results_button.setToolTip(
            "The selected campaign's run: enrolled, sent, opened, clicked, converted per step"
        )
        self.mail_button = QPushButton("Mail server")
        self.mail_button.setToolTip("Admins: the mail server campaign emails go out through")
        self.mail_button.hide()  # admins only (shown once the profile's role is read)
        self.header.actions.addWidget(self.mail_button)
        self.header.actions.addWidget(self.results_button)
        self.header.actions.addWidget(self.new_button)
        v.addWidget(self.header)
        filters = QHBoxLayout()
        self.search = QLineEdit(
            placeholderText="Search campaigns  (Ctrl+F)", clearButtonEnabled=True
        )
        self.search.addAction(
            icons.icon("search", theme.current().muted, 16),
            QLineEdit.ActionPosition.LeadingPosition,
        )
        self.search.setAccessibleName("Search campaigns")
        self.type_filter = QComboBox()
        self.type_filter.addItem("All types", "")
        for kind in schema.CAMPAIGN_TYPES:
            self.type_filter.addItem(components.label(kind), kind)
        self.status_filter = QComboBox()
        self.status_filter.addItem("Any status", "")
        for status in schema.STATUSES:
            self.status_filter.addItem(components.label(status), status)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.type_filter)
        filters.addWidget(self.status_filter)
        v.addLayout(filters)
        self.figures_note = QLabel("", objectName="Muted", wordWrap=True)
        self.figures_note.setAccessibleName("Where the figures come from")
        self.figures_note.hide()
        v.addWidget(self.figures_note)

        self.model = CampaignListModel(self)
        self.proxy = CampaignFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setHorizontalHeader(components.SortHeader(self.table))
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(34)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(False)
        self.table.setTabKeyNavigation(False)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            head.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        head.setMinimumSectionSize(40)
        head.setHighlightSections(False)
        self.table.setAccessibleName("Campaigns")
        self.empty = components.EmptyState(
            "No campaigns yet",
            "Press Ctrl+N to create one. Campaigns you build offline sync when you reconnect.",
        )
        self.list_stack = QStackedWidget()
        self.list_stack.addWidget(self.table)
        self.list_stack.addWidget(self.empty)
        v.addWidget(self.list_stack, 1)
        self.stack.addWidget(page)

        self.builder = CampaignBuilder(ops)
        self.stack.addWidget(self.builder)
        self.results = RunViewPage(ops)
        self.stack.addWidget(self.results)
        self._results_from: QWidget = page

        self.new_button.clicked.connect(self.new_campaign)
        self.search.textChanged.connect(self._filter_search)
        self.type_filter.currentIndexChanged.connect(
            lambda: self._filter(self.proxy.set_type, self.type_filter.currentData())
        )
        self.status_filter.currentIndexChanged.connect(
            lambda: self._filter(self.proxy.set_status, self.status_filter.currentData())
        )
        self.table.activated.connect(self._open_index)
        self.builder.back_requested.connect(self.show_list)
        self.results_button.clicked.connect(
            lambda: self.selected_id() and self.show_results(self.selected_id())
        )
        self.results.back_requested.connect(self._results_back)
        self.builder.results_requested.connect(self.show_results)
        self.mail_button.clicked.connect(self.show_mail_server)
        self.builder.conflicts_requested.connect(self.conflicts_requested)
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence.StandardKey.New, self, context=ctx).activated.connect(
            self.new_campaign
        )
        QShortcut(QKeySequence.StandardKey.Find, page, context=ctx).activated.connect(
            self._focus_search
        )
        self.setTabOrder(self.search, self.type_filter)
        self.setTabOrder(self.type_filter, self.status_filter)
        self.setTabOrder(self.status_filter, self.table)
        self._loaded = False

    # ------------------------------------------------------------------ data

    def reload(self) -> None:
        replica = self.ops.replica
        self.ops.read(replica.campaigns, success=self._loaded_rows)
        self.ops.read(
            lambda: replica.get_setting("role"),
            success=lambda role: self.mail_button.setVisible(role == "admin"),
        )

    def _loaded_rows(self, rows: list[dict[str, Any]]) -> None:
        selected = self.selected_id()
        self.model.set_campaigns(rows)
        self._fit_columns()
        self._loaded = True
        self._update_empty()
        if selected:
            self.select(selected)

    def on_changes(self, changes: Changes) -> None:
        if changes.campaigns:
            self.reload()
            self.builder.on_changes(changes)

    def set_performance(self, snapshot: Any) -> None:
        """The dashboard's report (``client.reports.Snapshot``): each campaign's sends, rates,
        revenue, ROI and tier beside it, here and in its results."""
        rows = {r["campaign"]: r for r in snapshot.report.get("campaigns") or []}
        self.model.set_performance(rows)
        self._fit_columns()
        as_of = components.clock(snapshot.as_of_ms)
        freshness = f"live as of {as_of}" if snapshot.live else f"last known, as of {as_of}"
        self.figures_note.setText(
            f"Sends, rates, revenue, ROI and tier: {snapshot.period.label} "
            f"({freshness}; the Dashboard's period)."
        )
        self.figures_note.show()
        self.results.set_performance(rows, self.figures_note.text())

    def resizeEvent(self, event) -> None:  # noqa: ANN001
        super().resizeEvent(event)
        self._fit_columns()

    def showEvent(self, event) -> None:  # noqa: ANN001
        super().showEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Show every column that fits beside the name (at least ``NAME_MIN_PX``); at narrow
        widths the less needed ones go first (``OPTIONAL_COLUMNS``), never a horizontal scroll
        bar. Each hidden column is still in the builder or the campaign's results."""
        head = self.table.horizontalHeader()
        available = self.table.viewport().width()
        if available <= 0 or not self.isVisible():
            return  # again when shown (``showEvent``): measuring columns asks for every cell

        def width(col: int) -> int:
            return max(head.sectionSizeFromContents(col).width(), self.table.sizeHintForColumn(col))

        shown = [c for c in range(1, len(COLUMNS)) if c not in OPTIONAL_COLUMNS]
        need = NAME_MIN_PX + sum(width(c) for c in shown)
        for col in reversed(OPTIONAL_COLUMNS):  # the most needed first
            fits = need + width(col) <= available
            head.setSectionHidden(col, not fits)
            if fits:
                need += width(col)

    def set_conflicts(self, counts: dict[str, int]) -> None:
        self.model.set_open_conflicts(counts)
        if self.builder.campaign_id:
            self.builder.set_open_conflicts(counts.get(self.builder.campaign_id, 0))

    # ------------------------------------------------------------------ actions

    def selected_id(self) -> str | None:
        index = self.table.currentIndex()
        return index.data(ID_ROLE) if index.isValid() else None

    def select(self, campaign_id: str) -> None:
        row = self.model.row_of(campaign_id)
        if row >= 0:
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            if index.isValid():
                self.table.setCurrentIndex(index)

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _filter_search(self, text: str) -> None:
        self._filter(self.proxy.set_search, text)

    def _filter(self, setter, value) -> None:  # noqa: ANN001
        setter(value)
        self._update_empty()

    def _update_empty(self) -> None:
        if self.model.rowCount() == 0:
            self.empty.set_text(
                "No campaigns yet",
                "Press Ctrl+N to create one. Campaigns you build offline sync when you reconnect.",
            )
            self.list_stack.setCurrentWidget(self.empty)
        elif self.proxy.rowCount() == 0:
            self.empty.set_text(
                "Nothing matches", "Clear the search or the filters to see every campaign."
            )
            self.list_stack.setCurrentWidget(self.empty)
        else:
            self.list_stack.setCurrentWidget(self.table)
            if not self.table.currentIndex().isValid():
                self.table.setCurrentIndex(self.proxy.index(0, 0))
        self.results_button.setEnabled(self.list_stack.currentWidget() is self.table)

    def _open_index(self, index: QModelIndex) -> None:
        campaign_id = index.data(ID_ROLE)
        if campaign_id:
            self.open_campaign(campaign_id)

    def open_campaign(self, campaign_id: str) -> None:
        self.builder.set_open_conflicts(self.model.conflicts_for(campaign_id))
        self.builder.open(campaign_id)
        self.stack.setCurrentWidget(self.builder)

    def show_list(self) -> None:
        self.stack.setCurrentWidget(self.stack.widget(0))
        if self.builder.campaign_id:
            self.select(self.builder.campaign_id)
        self.table.setFocus()

    def new_campaign(self) -> None:
        dialog = NewCampaignDialog(self)
        dialog.setModal(True)
        dialog.finished.connect(
            lambda result: (
                result
                and self.create_campaign(
                    name=dialog.name.text().strip(), campaign_type=dialog.type.currentData()
                )
            )
        )
        dialog.open()

    def create_campaign(self, *, name: str, campaign_type: str) -> None:
        replica = self.ops.replica

        def made(result: tuple[str, Changes]) -> None:
            self.open_campaign(result[0])

        self.ops.write(
            lambda: replica.create_campaign(
                name=name, campaign_type=campaign_type, owner=replica.get_setting("user_email")
            ),
            success=made,
        )

    # ------------------------------------------------------------------ results, mail server

    def show_results(self, campaign_id: str) -> None:
        """The campaign's run view; Back returns to the page it was opened from."""
        current = self.stack.currentWidget()
        if current is not self.results:
            self._results_from = current
        row = self.model.row_of(campaign_id)
        name = self.model.raw(row).get("name") if row >= 0 else ""
        self.results.open(campaign_id, name or "")
        self.stack.setCurrentWidget(self.results)
        self.results.setFocus()

    def _results_back(self) -> None:
        if self._results_from is self.builder and self.builder.campaign_id:
            self.stack.setCurrentWidget(self.builder)
        else:
            self.show_list()

    def show_mail_server(self) -> SmtpDialog:
        dialog = SmtpDialog(self.ops, self)
        dialog.setModal(True)
        dialog.open()
        return dialog
