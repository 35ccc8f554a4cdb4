"""The Capture page: quick keyboard-first forms for engagement, and the recent captures with
their sync state.

A form clears only after the replica has written the event (the success callback of the write),
so a capture is on disk before the form is ready for the next one.
Keys: Alt+1…7 pick the form, Enter captures, Esc clears.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.store import CaptureResult, Changes
from shared.protocol.kinds import KNOWN_CHANNELS

from . import components, theme
from .ops import Ops, describe

MILESTONES = ("booked", "first_review", "wedding_day", "anniversary", "ten_bookings", "renewal")


@dataclass(frozen=True)
class FormSpec:
    kind: str
    title: str
    hint: str
    fields: tuple[str, ...]  # contact, channel, value, invitee, inviter, score, milestone, campaign


FORMS = (
    FormSpec(
        "lead",
        "Lead",
        "A couple or supplier who showed interest.",
        ("contact", "channel", "campaign"),
    ),
    FormSpec(
        "touchpoint",
        "Touchpoint",
        "A contact met you on a channel (fair, visit, ad…).",
        ("contact", "channel", "campaign"),
    ),
    FormSpec(
        "conversion",
        "Conversion",
        "A booking or sale, with its value.",
        ("contact", "value", "channel", "campaign"),
    ),
    FormSpec(
        "invite_sent",
        "Referral invite",
        "A contact invited someone they know.",
        ("contact", "invitee", "campaign"),
    ),
    FormSpec(
        "invite_accepted",
        "Referral accepted",
        "An invited person accepted.",
        ("contact", "inviter", "campaign"),
    ),
    FormSpec(
        "health_score",
        "Health score",
        "A supplier's health score changed (0–100).",
        ("contact", "score"),
    ),
    FormSpec(
        "milestone",
        "Milestone",
        "A contact reached a milestone.",
        ("contact", "milestone", "campaign"),
    ),
)

FIELD_LABELS = {
    "contact": "Contact email",
    "channel": "Channel",
    "value": "Value",
    "invitee": "Invited email",
    "inviter": "Invited by",
    "score": "New score",
    "milestone": "Milestone",
    "campaign": "Campaign",
}

Index = QModelIndex | QPersistentModelIndex


class RecentCapturesModel(QAbstractTableModel):
    COLUMNS = ("Time", "Kind", "Contact", "Details", "State")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        if [r["id"] for r in rows] == [r["id"] for r in self.rows]:
            self.rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, 4))
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return components.clock(row.get("occurred_at_ms"))
            if col == 1:
                return components.label(row.get("kind"))
            if col == 2:
                return row.get("contact") or ""
            if col == 3:
                return details(row)
            return "Synced" if row.get("synced") else "Queued"
        if role == Qt.ItemDataRole.ForegroundRole and col == 4:
            return theme.current().color("ok" if row.get("synced") else "warn")
        if role == Qt.ItemDataRole.ToolTipRole and col in (2, 3):
            return (row.get("contact") or "") if col == 2 else details(row)
        if role == Qt.ItemDataRole.ToolTipRole and col == 4:
            return (
                "On the server."
                if row.get("synced")
                else "Saved on this computer; it will sync when you are online."
            )
        return None


def details(row: dict[str, Any]) -> str:
    payload = row.get("payload") or {}
    parts = []
    if row.get("value_cents") is not None:
        parts.append(components.money(row["value_cents"]))
    if row.get("channel"):
        parts.append(components.label(row["channel"]))
    for key, words in (("invitee", "invites"), ("inviter", "invited by"), ("milestone", "")):
        if payload.get(key):
            parts.append(f"{words} {payload[key]}" if words else components.label(payload[key]))
    if "score" in payload:
        parts.append(f"score {payload['score']}")
    return " · ".join(parts)


class CapturePage(QWidget):
    def __init__(self, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.spec = FORMS[0]
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.setSpacing(14)
        outer.addWidget(
            components.PageHeader(
                "Capture",
                "Record engagement as it happens: it is saved here first and syncs later.",
            )
        )

        kinds = QHBoxLayout()
        kinds.setSpacing(6)
        self.kind_group = QButtonGroup(self)
        self.kind_buttons: list[QToolButton] = []
        for i, spec in enumerate(FORMS):
            button = QToolButton(objectName="Segment", checkable=True, text=spec.title)
            button.setToolTip(f"{spec.hint} (Alt+{i + 1})")
            self.kind_group.addButton(button, i)
            kinds.addWidget(button)
            self.kind_buttons.append(button)
        kinds.addStretch(1)
        outer.addLayout(kinds)

        row = QHBoxLayout()
        row.setSpacing(16)
        form_card = components.Card()
        form_card.setMinimumWidth(330)
        form_card.setMaximumWidth(460)
        self.form_title = QLabel(objectName="EmptyTitle")
        self.form_hint = QLabel(objectName="Muted", wordWrap=True)
        form_card.body.addWidget(self.form_title)
        form_card.body.addWidget(self.form_hint)
        self.form = QFormLayout()
        self.form.setVerticalSpacing(10)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.inputs: dict[str, QWidget] = {
            "contact": QLineEdit(placeholderText="name@example.com"),
            "channel": _combo([(components.label(c), c) for c in KNOWN_CHANNELS], editable=True),
            "value": QDoubleSpinBox(
                prefix="£ ", maximum=10**8, decimals=2, groupSeparatorShown=True
            ),
            "invitee": QLineEdit(placeholderText="friend@example.com"),
            "inviter": QLineEdit(placeholderText="who invited them"),
            "score": QSpinBox(maximum=100, value=70),
            "milestone": _combo([(components.label(m), m) for m in MILESTONES], editable=True),
            "campaign": QComboBox(),
        }
        for name, widget in self.inputs.items():
            widget.setAccessibleName(FIELD_LABELS[name])
            self.form.addRow(FIELD_LABELS[name], widget)
        self.inputs["value"].setButtonSymbols(QDoubleSpinBox.ButtonSymbols.NoButtons)
        form_card.body.addLayout(self.form)
        buttons = QHBoxLayout()
        self.capture_button = QPushButton("Capture", objectName="Primary")
        self.capture_button.setToolTip("Enter")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Esc")
        buttons.addWidget(self.capture_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        form_card.body.addLayout(buttons)
        self.feedback = QLabel(objectName="Muted", wordWrap=True)
        form_card.body.addWidget(self.feedback)
        form_card.body.addStretch(1)
        row.addWidget(form_card)

        recent = QVBoxLayout()
        recent.addWidget(QLabel("Recent captures", objectName="CardTitle"))
        self.model = RecentCapturesModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.setShowGrid(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.setAccessibleName("Recent captures")
        head = self.table.horizontalHeader()
        head.setHighlightSections(False)
        for col, mode in enumerate(
            (
                QHeaderView.ResizeMode.ResizeToContents,
                QHeaderView.ResizeMode.ResizeToContents,
                QHeaderView.ResizeMode.Stretch,  # contact and details share the room left,
                QHeaderView.ResizeMode.Stretch,  # so the table never needs a horizontal bar
                QHeaderView.ResizeMode.ResizeToContents,
            )
        ):
            head.setSectionResizeMode(col, mode)
        # emails and invitees keep both ends readable when squeezed; the tooltip has it all
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        recent.addWidget(self.table, 1)
        row.addLayout(recent, 1)
        outer.addLayout(row, 1)

        self.kind_group.idClicked.connect(self.choose)
        self.capture_button.clicked.connect(self.submit)
        self.clear_button.clicked.connect(self.clear)
        for i in range(len(FORMS)):
            QShortcut(
                QKeySequence(f"Alt+{i + 1}"),
                self,
                context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
            ).activated.connect(lambda i=i: self.choose(i, focus=True))
        for key in ("Return", "Enter", "Ctrl+Return"):
            QShortcut(
                QKeySequence(key), form_card, context=Qt.ShortcutContext.WidgetWithChildrenShortcut
            ).activated.connect(self.submit)
        QShortcut(
            QKeySequence("Esc"), form_card, context=Qt.ShortcutContext.WidgetWithChildrenShortcut
        ).activated.connect(self.clear)
        self._refresh = QTimer(self, singleShot=True, interval=250)  # coalesce during a big sync
        self._refresh.timeout.connect(self.reload)
        self.busy = False
        self.choose(0)

    # ------------------------------------------------------------------ forms

    def choose(self, index: int, *, focus: bool = False) -> None:
        self.spec = FORMS[index]
        self.kind_buttons[index].setChecked(True)
        self.form_title.setText(self.spec.title)
        self.form_hint.setText(self.spec.hint)
        order = [self.inputs[name] for name in self.spec.fields]
        for name, widget in self.inputs.items():
            self.form.setRowVisible(widget, name in self.spec.fields)
        previous = self.kind_buttons[-1]
        for widget in order:
            self.setTabOrder(previous, widget)
            previous = widget
        self.setTabOrder(previous, self.capture_button)
        if focus:
            order[0].setFocus()

    def set_campaigns(self, campaigns: list[dict[str, Any]]) -> None:
        combo = self.inputs["campaign"]
        assert isinstance(combo, QComboBox)
        current = combo.currentData()
        combo.clear()
        combo.addItem("No campaign", None)
        for c in campaigns:
            if c.get("status") != "archived":
                combo.addItem(c.get("name") or "Untitled", c["id"])
        index = combo.findData(current)
        combo.setCurrentIndex(max(index, 0))

    def values(self) -> dict[str, Any]:
        """The event fields the current form describes."""
        get = self.inputs
        spec = self.spec
        contact = get["contact"].text().strip()  # type: ignore[attr-defined]
        if not contact:
            raise ValueError("enter the contact's email")
        fields: dict[str, Any] = {"kind": spec.kind, "contact": contact}
        payload: dict[str, Any] = {}
        if "channel" in spec.fields:
            channel = _choice(get["channel"])  # type: ignore[arg-type]
            if channel:
                fields["channel"] = channel
        if "value" in spec.fields:
            cents = round(get["value"].value() * 100)  # type: ignore[attr-defined]
            if cents <= 0:
                raise ValueError("enter the conversion's value")
            fields["value_cents"] = cents
        if "invitee" in spec.fields:
            payload["invitee"] = get["invitee"].text().strip()  # type: ignore[attr-defined]
            if not payload["invitee"]:
                raise ValueError("enter the invited person's email")
        if "inviter" in spec.fields and get["inviter"].text().strip():  # type: ignore[attr-defined]
            payload["inviter"] = get["inviter"].text().strip()  # type: ignore[attr-defined]
        if "score" in spec.fields:
            payload["score"] = get["score"].value()  # type: ignore[attr-defined]
        if "milestone" in spec.fields:
            payload["milestone"] = _choice(get["milestone"])  # type: ignore[arg-type]
            if not payload["milestone"]:
                raise ValueError("name the milestone")
        if "campaign" in spec.fields and get["campaign"].currentData():  # type: ignore[attr-defined]
            fields["campaign"] = get["campaign"].currentData()  # type: ignore[attr-defined]
        if payload:
            fields["payload"] = payload
        return fields

    def submit(self) -> None:
        if self.busy:
            return
        try:
            fields = self.values()
        except ValueError as exc:
            self._say(describe(exc), "danger")
            return
        self.busy = True
        self.capture_button.setEnabled(False)
        title = self.spec.title

        def saved(result: CaptureResult) -> None:
            self.busy = False
            self.capture_button.setEnabled(True)
            self.clear()
            event = result.events[0]
            self._say(f"{title} for {event.contact} saved · queued to sync", "ok")

        def failed(exc: BaseException) -> None:
            self.busy = False
            self.capture_button.setEnabled(True)
            self._say(f"Not saved: {describe(exc)}", "danger")

        replica = self.ops.replica
        self.ops.write(lambda: replica.capture(**fields), success=saved, failure=failed)

    def clear(self) -> None:
        for name in ("contact", "invitee", "inviter"):
            self.inputs[name].clear()  # type: ignore[attr-defined]
        self.inputs["value"].setValue(0)  # type: ignore[attr-defined]
        self.inputs[self.spec.fields[0]].setFocus()

    def _say(self, text: str, tone: str) -> None:
        self.feedback.setText(text)
        self.feedback.setStyleSheet(f"color: {theme.current().color(tone).name()};")

    # ------------------------------------------------------------------ recent

    def reload(self) -> None:
        self.ops.read(self.ops.replica.recent_events, 100, success=self.model.set_rows)

    def on_changes(self, changes: Changes) -> None:
        if changes.events or changes.outbox or changes.sync:
            if not self._refresh.isActive():
                self._refresh.start()


def _combo(items: list[tuple[str, str]], *, editable: bool = False) -> QComboBox:
    combo = QComboBox(editable=editable)
    for text, data in items:
        combo.addItem(text, data)
    return combo


def _choice(combo: QComboBox) -> str:
    """The data of the item whose text is shown, or the typed text as a lowercase name."""
    text = combo.currentText().strip()
    index = combo.findText(text, Qt.MatchFlag.MatchFixedString)
    if index >= 0:
        return str(combo.itemData(index))
    return text.lower().replace(" ", "_")
