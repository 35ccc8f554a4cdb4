"""A campaign's run view: how many contacts each step holds and what they did (enrolled,
waiting, sent, opened, clicked, converted, held out, bounced, suppressed), per step and per
variant, from the server; offline, the last known figures with the time they are as of.

The figures come from ``client.automation.fetch_run_view`` (run off the GUI thread through
``Ops``); ``RunViewModel`` is a tree over them: the totals, then each step with its variants as
children. Nothing here computes a figure: the server's numbers are shown as they came.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from client.automation import STEP_METRICS, VARIANT_METRICS, NoFigures, fetch_run_view

from . import components, icons, theme
from .ops import Ops, describe

Index = QModelIndex | QPersistentModelIndex
LEGEND = (
    "Enrolled: contacts who reached the step. Waiting: contacts there now, for a wait, an "
    "event or quiet hours to end.",
    "Opened, clicked and converted are also shown as a share of the emails sent. Opens by "
    "mail privacy proxies and clicks by link scanners are not counted as engagement.",
    "Held out: the control group. They go through the same steps without being emailed, so "
    "their conversions show what the campaign adds (the ROI report's lift).",
    "An email with several variants is a live test: at least once a minute the server gives "
    "each variant a share of the next sends by how likely it is to have the best click rate "
    "(P(best)), never less than 5 % while the test runs; a variant becomes the winner, "
    "and gets every send, once it has a 95 % chance of being best after 200 sends each. "
    "The rate shown is the estimate with the range it lies in with 90 % certainty.",
)
#: the table's figures; bounced and suppressed are told with the emails sent (its tooltip and
#: the headline), so a variant's subject has room
METRICS = tuple(m for m in STEP_METRICS if m not in ("bounced", "suppressed"))
COLUMNS = ("Step", *(m.replace("_", " ").capitalize() for m in METRICS))
#: figures told with their share of the emails sent
RATED = ("opened", "clicked", "converted")
METRIC_ROLE = Qt.ItemDataRole.UserRole + 1  # the raw figure of a cell (int or None)


def _share(part: int, whole: int) -> str:
    return f"{part / whole * 100:.0f}\u00a0%" if whole else ""  # never wrapped apart


class RunViewModel(QAbstractItemModel):
    """Top-level rows: "All steps", then one per step; a send step's variants are its
    children. Columns: the step (or variant) in words, then ``METRICS``."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []

    def set_view(self, view: dict[str, Any] | None) -> None:
        self.beginResetModel()
        self._rows = []
        if view is not None:
            self._rows.append({"label": "All steps", "figures": view["totals"], "children": []})
            for step in view["steps"]:
                test = step.get("test")
                children = [
                    {
                        "label": _variant_label(v, test),
                        "tooltip": _variant_tooltip(v, test),
                        "figures": {m: v[m] for m in VARIANT_METRICS},
                    }
                    for v in step["variants"]
                ]
                self._rows.append(
                    {
                        "label": f"{step['index'] + 1}. {_short(step)}",
                        "tooltip": f"{step['index'] + 1}. {step['label']}" + _test_words(step),
                        "figures": step,
                        "children": children,
                    }
                )
        self.endResetModel()

    def _node(self, index: Index) -> dict[str, Any] | None:
        if not index.isValid():
            return None
        parent_row = index.internalId() - 1
        if parent_row < 0:
            return self._rows[index.row()] if index.row() < len(self._rows) else None
        children = self._rows[parent_row]["children"] if parent_row < len(self._rows) else []
        return children[index.row()] if index.row() < len(children) else None

    # -------------------------------------------------------------- Qt model

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0)
        return self.createIndex(row, column, parent.row() + 1)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, 0)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._rows)
        if parent.internalId() != 0 or parent.column() != 0:
            return 0
        return len(self._rows[parent.row()]["children"])

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        node = self._node(index)
        if node is None:
            return None
        col = index.column()
        metric = METRICS[col - 1] if col else None
        value = node["figures"].get(metric) if metric else None
        if role == METRIC_ROLE:
            return value
        if role == Qt.ItemDataRole.DisplayRole:
            if not col:
                return node["label"]
            # counts only, so the steps' and subjects' words keep their room; the shares of
            # the emails sent are in the tooltips and the headline figures
            return "" if value is None else f"{value:,}"
        if role == Qt.ItemDataRole.ToolTipRole:
            if not col:
                return node.get("tooltip") or node["label"]
            if metric in RATED and value is not None and node["figures"].get("sent"):
                sent = node["figures"]["sent"]
                return f"{value:,} of {sent:,} emails sent ({_share(value, sent)})"
            if metric == "sent" and "bounced" in node["figures"]:
                figures = node["figures"]
                return (
                    f"{figures['sent']:,} sent · {figures['bounced']:,} bounced · "
                    f"{figures['suppressed']:,} not sent to suppressed contacts"
                )
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and index.internalId() == 0 and index.row() == 0:
            font = QFont()
            font.setBold(True)
            return font
        return None


class WrappingDelegate(QStyledItemDelegate):
    """The first column's words wrapped to the column's width, each row as tall as they need
    (a tree view on its own keeps one line and cuts the rest)."""

    def __init__(self, view: QTreeView) -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        hint = super().sizeHint(option, index)
        depth = 1 if index.parent().isValid() else 0
        indent = self.view.indentation() * (depth + int(self.view.rootIsDecorated()))
        width = self.view.header().sectionSize(0) - indent - 12
        text = str(index.data() or "")
        if width <= 0 or not text:
            return hint
        bounds = option.fontMetrics.boundingRect(
            QRect(0, 0, width, 100_000), int(Qt.TextFlag.TextWordWrap), text
        )
        return QSize(hint.width(), max(hint.height(), bounds.height() + 10))


class Figure(QWidget):
    """One headline figure: a small caption over a large number."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.caption = QLabel(caption, objectName="CardTitle")
        self.value = QLabel("—", objectName="CardValue")
        self.note = QLabel("", objectName="Muted")
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.note)

    def set(self, value: str, note: str = "") -> None:
        self.value.setText(value)
        self.note.setText(note)
        self.setAccessibleName(f"{self.caption.text()}: {value} {note}".strip())


class RunViewPage(QWidget):
    """The run view of one campaign, with a way back and a refresh."""

    back_requested = Signal()
    loaded = Signal()  # a view (live or last known) or an explanation is shown

    def __init__(self, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.campaign_id: str | None = None
        self.view: dict[str, Any] | None = None
        t = theme.current()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(12)

        header = QHBoxLayout()
        self.back = QToolButton(toolTip="Back (Esc)", autoRaise=True)
        self.back.setIcon(icons.icon("back", t.text, 20))
        header.addWidget(self.back, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.title = QLabel("Results", objectName="PageTitle")
        self.subtitle = QLabel("", objectName="PageSubtitle", wordWrap=True)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        header.addLayout(titles, 1)
        self.status = components.Pill()
        header.addWidget(self.status, 0, Qt.AlignmentFlag.AlignTop)
        self.freshness = components.Pill()
        self.freshness.setAccessibleName("How recent the figures are")
        header.addWidget(self.freshness, 0, Qt.AlignmentFlag.AlignTop)
        self.refresh_button = QPushButton(icons.icon("sync", t.text, 16), "Refresh")
        self.refresh_button.setToolTip("Ask the server for the latest figures")
        header.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(header)

        self.notice = QLabel(wordWrap=True)
        self.notice.setAccessibleName("About these figures")
        self.notice.hide()
        outer.addWidget(self.notice)

        self.stack = QStackedWidget()
        content = QWidget()
        cv = QVBoxLayout(content)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.setSpacing(12)
        card = components.Card()
        grid = QGridLayout()
        grid.setHorizontalSpacing(28)
        self.figures = {
            key: Figure(caption)
            for key, caption in (
                ("enrolled", "Enrolled"),
                ("waiting", "Waiting"),
                ("sent", "Sent"),
                ("opened", "Opened"),
                ("clicked", "Clicked"),
                ("converted", "Converted"),
                ("held_out", "Held out"),
            )
        }
        for column, figure in enumerate(self.figures.values()):
            grid.addWidget(figure, 0, column)
        card.body.addLayout(grid)
        cv.addWidget(card)
        # the campaign's return from the dashboard's report (its period, live or last known)
        self.performance_card = components.Card("Return")
        self.performance_note = QLabel("", objectName="Muted", wordWrap=True)
        self.performance_card.body.addWidget(self.performance_note)
        pgrid = QGridLayout()
        pgrid.setHorizontalSpacing(28)
        self.performance = {
            key: Figure(caption)
            for key, caption in (
                ("sends", "Sends"),
                ("open_rate", "Open rate"),
                ("click_rate", "Click rate"),
                ("conversion_rate", "Conv. rate"),
                ("revenue", "Revenue"),
                ("roi_pct", "ROI"),
                ("tier", "Tier"),
            )
        }
        for column, figure in enumerate(self.performance.values()):
            pgrid.addWidget(figure, 0, column)
        self.performance_card.body.addLayout(pgrid)
        self.performance_card.hide()
        self._performance: dict[str, dict[str, Any]] = {}
        self._performance_text = ""
        cv.addWidget(self.performance_card)
        self.model = RunViewModel(self)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setAccessibleName("Figures per step and variant")
        # a step's words wrap onto more lines rather than being cut at a narrow width
        self.tree.setWordWrap(True)
        self.tree.setItemDelegateForColumn(0, WrappingDelegate(self.tree))
        self.tree.setStyleSheet("QTreeView::item { padding: 4px 2px; }")
        self.tree.setRootIsDecorated(True)
        self.tree.setItemsExpandable(True)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        head = self.tree.header()
        head.setStretchLastSection(False)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            head.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        head.setMinimumSectionSize(60)
        head.sectionResized.connect(lambda *_: self.tree.scheduleDelayedItemsLayout())
        self.tree.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        # every row shown: the page scrolls as a whole when the window is short
        self.tree.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        cv.addWidget(self.tree)
        legend = components.Card("Reading the figures")
        for line in LEGEND:
            text = QLabel(line, wordWrap=True, objectName="Muted")
            legend.body.addWidget(text)
        cv.addWidget(legend)
        cv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        self.stack.addWidget(scroll)
        self.empty = components.EmptyState("", "")
        self.stack.addWidget(self.empty)
        outer.addWidget(self.stack, 1)

        self.back.clicked.connect(self.back_requested)
        self.refresh_button.clicked.connect(self.refresh)
        QShortcut(
            QKeySequence("Esc"), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut
        ).activated.connect(self.back_requested)

    # ------------------------------------------------------------------ loading

    def open(self, campaign_id: str, name: str = "") -> None:
        """Show ``campaign_id``'s run view (asks the server; offline, the last known one)."""
        if campaign_id != self.campaign_id:
            self.view = None
            self.model.set_view(None)
        self.campaign_id = campaign_id
        self.title.setText(name or "Results")
        self.refresh()

    def set_performance(self, rows: dict[str, dict[str, Any]], note: str) -> None:
        """Each campaign's row of the dashboard's report, by id, and where it comes from."""
        self._performance = dict(rows)
        self._performance_text = note
        self._show_performance()

    def _show_performance(self) -> None:
        from client import dashboard

        row = self._performance.get(self.campaign_id or "")
        self.performance_card.setVisible(row is not None)
        if row is None:
            return
        self.performance_note.setText(self._performance_text)
        units = {
            "sends": "count",
            "open_rate": "ratio",
            "click_rate": "ratio",
            "conversion_rate": "ratio",
            "revenue": "money",
            "roi_pct": "pct",
        }
        for key, figure in self.performance.items():
            if key == "tier":
                figure.set(dashboard.TIER_NAMES.get(row.get("tier", ""), row.get("tier", "")))
                figure.setToolTip(dashboard.TIER_MEANING.get(row.get("tier", ""), ""))
            else:
                note = (
                    f"cost {dashboard.cell(row.get('cost'), 'money')}" if key == "roi_pct" else ""
                )
                figure.set(dashboard.cell(row.get(key), units[key]), note)

    def refresh(self) -> None:
        self._show_performance()
        campaign_id = self.campaign_id
        if campaign_id is None:
            return
        self.refresh_button.setEnabled(False)
        self.subtitle.setText("Asking the server for the latest figures…")

        def shown(view: dict[str, Any]) -> None:
            if campaign_id == self.campaign_id:
                self.show_view(view)

        def failed(exc: BaseException) -> None:
            if campaign_id == self.campaign_id:
                self.show_problem(exc)

        self.ops.call(
            lambda: fetch_run_view(self.ops.engine, campaign_id), success=shown, failure=failed
        )

    # ------------------------------------------------------------------ showing

    def show_view(self, view: dict[str, Any]) -> None:
        self.view = view
        self.refresh_button.setEnabled(True)
        self.title.setText(view["name"])
        status = view.get("status") or "draft"
        self.status.set(components.label(status), components.STATUS_COLORS.get(status, "muted"))
        as_of = components.clock(view.get("as_of_ms"))
        holdout = view.get("holdout_pct") or 0
        self.subtitle.setText(
            "Per step: who reached it, who waits there, and what they did."
            + (f" Holdout: {holdout}\u00a0% get no email, to measure the lift." if holdout else "")
        )
        if view.get("live"):
            self.freshness.set(f"Live · as of {as_of}", "ok")
            self.notice.hide()
        else:
            self.freshness.set(f"Last known · as of {as_of}", "warn")
            self.notice.setText(
                f"Offline: these are the last figures this computer received "
                f"({components.ago(view.get('fetched_at_ms'))}), as of {as_of}. "
                f"{_sentence(view.get('offline_reason'))}"
            )
            self.notice.setStyleSheet(f"color: {theme.current().color('warn').name()};")
            self.notice.show()
        totals = view["totals"]
        sent = totals["sent"]
        for key, figure in self.figures.items():
            value = totals[key]
            note = ""
            if key in RATED and sent:
                note = f"{_share(value, sent)} of sent"
            elif key == "held_out" and totals["enrolled"]:
                note = f"{_share(value, totals['enrolled'])} of enrolled"
            elif key == "sent" and (totals["bounced"] or totals["suppressed"]):
                note = f"{totals['bounced']:,} bounced · {totals['suppressed']:,} suppressed"
            figure.set(f"{value:,}", note)
        self.model.set_view(view)
        self.tree.expandAll()
        if view["steps"] and totals["enrolled"]:
            self.stack.setCurrentIndex(0)
        else:
            self.empty.set_text("No one has entered this campaign yet", _why_empty(status))
            self.stack.setCurrentWidget(self.empty)
        self.loaded.emit()

    def show_problem(self, exc: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        if self.view is not None:  # keep the figures on screen; say why they are not fresher
            self.notice.setText(f"Could not refresh: {describe(exc)}")
            self.notice.setStyleSheet(f"color: {theme.current().color('danger').name()};")
            self.notice.show()
            self.loaded.emit()
            return
        self.status.set("", "muted")
        self.freshness.set("No figures", "muted")
        self.subtitle.setText("")
        self.notice.hide()
        if isinstance(exc, NoFigures):
            title = "No figures on this computer yet"
        else:
            title = "The server did not give the figures"
        self.empty.set_text(title, describe(exc))
        self.stack.setCurrentWidget(self.empty)
        self.loaded.emit()


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %" if 0 < value < 0.1 else f"{value * 100:.0f} %"


def _variant_label(variant: dict[str, Any], test: dict[str, Any] | None) -> str:
    """The variant and its subject; in a live test, a second line with its share of the next
    sends, P(best) and the estimated rate with its 90 % interval."""
    name = f"Variant {variant['label']}" if variant.get("label") else "Variant"
    label = f"{name}: {variant['subject']}"
    allocation = variant.get("allocation")
    if test is None or allocation is None:
        return label
    won = test.get("winner") == variant["id"]
    label += " · Winner" if won else ""
    if not variant["sent"]:
        return f"{label}\nShare {_percent(allocation['share'])} · no sends yet"
    rate = "click rate" if test["metric"] == "click" else "conversion rate"
    return (
        f"{label}\n"
        f"Share {_percent(allocation['share'])} · P(best) {_percent(allocation['p_best'])} · "
        f"{rate} {_percent(allocation['mean'])} "
        f"({_percent(allocation['low'])}–{_percent(allocation['high'])})"
    )


def _variant_tooltip(variant: dict[str, Any], test: dict[str, Any] | None) -> str:
    allocation = variant.get("allocation")
    if test is None or allocation is None:
        return f"Variant {variant.get('label') or ''}: {variant['subject']}"
    what = "clicks" if test["metric"] == "click" else "conversions"
    return (
        f"Gets {_percent(allocation['share'])} of the next sends; "
        f"{_percent(allocation['p_best'])} likely to be the best on {what}. "
        f"Its rate per email is {_percent(allocation['mean'])}, between "
        f"{_percent(allocation['low'])} and {_percent(allocation['high'])} with 90 % "
        "certainty."
    )


def _test_words(step: dict[str, Any]) -> str:
    test = step.get("test")
    if test is None:
        return ""
    what = "clicks" if test["metric"] == "click" else "conversions"
    if test.get("winner"):
        return f" — live test on {what}: the winner gets every send"
    return f" — live test on {what}: sends shift to the variant most likely best"


def _short(step: dict[str, Any]) -> str:
    """A send step by its variant's letter (its rows below carry the subjects), so the words
    fit beside the figures; other steps as described."""
    variants = step["variants"]
    if step["kind"] != "send_email" or not variants:
        return step["label"]
    if len(variants) == 1 and variants[0].get("label"):
        return f"Send email · Variant {variants[0]['label']}"
    test = step.get("test")
    winner = next((v for v in variants if test and v["id"] == test.get("winner")), None)
    if winner is not None and winner.get("label"):
        return f"Send email · Variant {winner['label']} won"
    return "Send email · the best variant"


def _why_empty(status: str) -> str:
    if status in ("draft", "scheduled"):
        return (
            f"It is {'a draft' if status == 'draft' else 'scheduled'}: contacts enter once it "
            "is active and its trigger fires. Figures appear here then."
        )
    if status == "paused":
        return "It is paused: nobody enters until it is active again."
    if status == "archived":
        return "It was archived before anyone entered."
    return "Figures appear here once its trigger enrols someone."


def _sentence(text: str | None) -> str:
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."
