"""The Conflicts page: open conflicts the server flagged, the candidates side by side with author,
device and time, and (for admins) pick one or enter a value, comment, and resolve.

Conflicts live on the server (``/api/v1/conflicts``); the page reloads when the server pushes a
conflict notice. Marketers and viewers see the conflicts and the provisional value, never the
resolve controls; the server refuses them anyway (403), and the page says so in plain words.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from client.store import Changes
from shared.protocol.ids import is_id

from . import components, icons, theme
from .ops import Ops, describe

FIELD_NAMES = {
    "status": "Status",
    "budget_cents": "Budget",
    "schedule_start": "Start date",
    "schedule_end": "End date",
    "audience_segment": "Audience",
    "trigger": "Trigger",
    "frequency_cap": "Frequency cap",
}


def field_name(field: str) -> str:
    if field.startswith("variants.") and field.endswith(".subject"):
        return "Email subject"
    return FIELD_NAMES.get(field, components.label(field))


def show_value(field: str, value: Any) -> str:
    if value is None:
        return "(not set)"
    if field == "budget_cents" and isinstance(value, int | float):
        return components.money(int(value))
    if field == "status" and isinstance(value, str):
        return components.label(value)
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2, sort_keys=True)
    return str(value)


def device_text(device: str | None) -> str:
    """A device as people read it: its name, or the end of its id (the server may send only
    the id; the whole id is in the tooltip)."""
    if not device:
        return "on an unknown device"
    if is_id(device):
        return f"on device …{device[-6:]}"
    return f"on {device}"


def parse_value(field: str, text: str) -> Any:
    """A typed-in value: JSON if it reads as JSON, pounds for a budget, else the text."""
    text = text.strip()
    if field == "budget_cents":
        try:
            return round(float(text.replace("£", "").replace(",", "")) * 100)
        except ValueError:
            raise ValueError("enter the budget in pounds, e.g. 1250.00") from None
    if field == "status":
        return text.lower()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class CandidateCard(components.Card):
    def __init__(
        self,
        index: int,
        field: str,
        candidate: dict[str, Any],
        provisional: bool,
        group: QButtonGroup,
    ) -> None:
        super().__init__()
        top = QHBoxLayout()
        self.choice = QRadioButton(f"Keep value {chr(ord('A') + index)}")
        self.choice.setAccessibleName(f"Keep candidate {index + 1}")
        group.addButton(self.choice, index)
        top.addWidget(self.choice)
        top.addStretch(1)
        if provisional:
            top.addWidget(components.Pill("Provisional", "accent"))
        self.body.addLayout(top)
        value = QLabel(show_value(field, candidate.get("value")), objectName="CardValue")
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        value.setWordWrap(True)
        if isinstance(candidate.get("value"), dict | list):
            value.setStyleSheet("font-size: 10pt; font-family: monospace;")
        self.body.addWidget(value)
        who = candidate.get("author") or "unknown author"
        meta = QLabel(
            f"{who}\n{device_text(candidate.get('device_name') or candidate.get('device'))}\n"
            f"{components.clock(candidate.get('at_ms'))} · {components.ago(candidate.get('at_ms'))}",
            objectName="Muted",
        )
        meta.setToolTip(f"Device {candidate.get('device') or 'unknown'}")
        self.body.addWidget(meta)
        self.body.addStretch(1)


class ConflictsPage(QWidget):
    counts_changed = Signal(dict)  # campaign id -> open conflicts
    open_campaign = Signal(str)
    resolved = Signal(dict)

    def __init__(self, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.conflicts: list[dict[str, Any]] = []
        self.is_admin = False
        self.current: dict[str, Any] | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.setSpacing(12)
        self.header = components.PageHeader(
            "Conflicts",
            "Edits the merge must not decide silently: both values are kept until "
            "an admin resolves them.",
        )
        self.refresh_button = QPushButton(icons.icon("sync", theme.current().text, 16), "Refresh")
        self.header.actions.addWidget(self.refresh_button)
        outer.addWidget(self.header)

        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        self.empty = components.EmptyState("No open conflicts", "")
        self.stack.addWidget(self.empty)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.list = QListWidget()
        self.list.setAccessibleName("Open conflicts")
        self.list.setMinimumWidth(260)
        self.list.setMaximumWidth(360)
        split.addWidget(self.list)
        detail = QWidget()
        dv = QVBoxLayout(detail)
        dv.setContentsMargins(16, 0, 0, 0)
        dv.setSpacing(10)
        title_row = QHBoxLayout()
        self.title = QLabel(objectName="EmptyTitle", wordWrap=True)
        self.open_button = QPushButton("Open campaign")
        title_row.addWidget(self.title, 1)
        title_row.addWidget(self.open_button)
        dv.addLayout(title_row)
        self.subtitle = QLabel(objectName="Muted", wordWrap=True)
        dv.addWidget(self.subtitle)
        self.group = QButtonGroup(self)
        self.cards_host = QWidget()
        host = QVBoxLayout(self.cards_host)
        host.setContentsMargins(0, 0, 0, 0)
        self.cards = QGridLayout()  # two candidates to a row: a third goes below, no h-scroll
        self.cards.setColumnStretch(0, 1)
        self.cards.setColumnStretch(1, 1)
        host.addLayout(self.cards)
        host.addStretch(1)
        self.cards.setSpacing(12)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.cards_host)
        scroll.setMinimumHeight(170)
        dv.addWidget(scroll)

        self.resolve_box = QWidget()
        rv = QVBoxLayout(self.resolve_box)
        rv.setContentsMargins(0, 0, 0, 0)
        custom = QHBoxLayout()
        self.custom_choice = QRadioButton("Or enter a value")
        self.group.addButton(self.custom_choice, -2)
        self.custom_value = QLineEdit(placeholderText="A value of your own")
        self.custom_value.setAccessibleName("Custom value")
        custom.addWidget(self.custom_choice)
        custom.addWidget(self.custom_value, 1)
        rv.addLayout(custom)
        self.comment = QPlainTextEdit(placeholderText="Why this value? (kept in the audit log)")
        self.comment.setTabChangesFocus(True)
        self.comment.setMaximumHeight(70)
        self.comment.setAccessibleName("Comment")
        rv.addWidget(self.comment)
        actions = QHBoxLayout()
        self.resolve_button = QPushButton(
            icons.icon("check", "#ffffff", 16), "Resolve", objectName="Primary"
        )
        self.resolve_button.setToolTip("Ctrl+Enter")
        actions.addWidget(self.resolve_button)
        actions.addStretch(1)
        rv.addLayout(actions)
        dv.addWidget(self.resolve_box)
        self.viewer_note = QLabel(objectName="Muted", wordWrap=True)
        dv.addWidget(self.viewer_note)
        self.message = QLabel(wordWrap=True)
        dv.addWidget(self.message)
        dv.addStretch(1)  # the decision sits right under the values, not at the bottom
        split.addWidget(detail)
        split.setStretchFactor(1, 1)
        self.stack.addWidget(split)
        self.main = split

        self.refresh_button.clicked.connect(self.reload)
        self.list.currentRowChanged.connect(self._show_row)
        self.open_button.clicked.connect(
            lambda: self.current and self.open_campaign.emit(self.current["campaign_id"])
        )
        self.resolve_button.clicked.connect(self.resolve)
        self.custom_value.textEdited.connect(lambda: self.custom_choice.setChecked(True))
        self.setTabOrder(self.list, self.open_button)

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        replica = self.ops.replica
        self.ops.read(
            lambda: (
                replica.get_setting("role"),
                replica.get_setting("server_url"),
                replica.offline,
            ),
            success=self._loaded_settings,
        )

    def _loaded_settings(self, data: tuple[str | None, str | None, bool]) -> None:
        role, server, offline = data
        self.is_admin = role == "admin"
        if not server:
            self._empty(
                "Conflicts need a server",
                "Conflicts are found when campaigns edited on "
                "several devices merge on the server. Sign in to see them.",
            )
            return
        if offline:
            self._empty(
                "Working offline",
                "Conflicts are kept on the server. Turn off Work "
                "offline (Ctrl+Shift+O) to see and resolve them.",
            )
            return
        self.ops.call(
            lambda: self.ops.engine.api("GET", "/api/v1/conflicts?status=open"),
            success=lambda data: self.set_conflicts(data.get("conflicts", [])),
            failure=lambda exc: self._empty("Could not load conflicts", describe(exc)),
        )

    def _empty(self, title: str, hint: str) -> None:
        self.empty.set_text(title, hint)
        self.stack.setCurrentWidget(self.empty)

    def set_conflicts(self, conflicts: list[dict[str, Any]]) -> None:
        keep = self.current["id"] if self.current else None
        self.conflicts = [c for c in conflicts if c.get("status", "open") == "open"]
        counts: dict[str, int] = {}
        for c in self.conflicts:
            counts[c["campaign_id"]] = counts.get(c["campaign_id"], 0) + 1
        self.counts_changed.emit(counts)
        if not self.conflicts:
            self.current = None
            self._empty(
                "No open conflicts",
                "When two people change a guarded field (status, "
                "budget, schedule, audience, trigger, a live subject) without seeing each "
                "other's edit, it appears here.",
            )
            return
        self.stack.setCurrentWidget(self.main)
        self.list.blockSignals(True)
        self.list.clear()
        for c in self.conflicts:
            item = QListWidgetItem(
                icons.icon("conflicts", theme.current().warn, 16),
                f"{c.get('campaign_name') or 'Campaign'}\n"
                f"{field_name(c.get('field', ''))} · "
                f"{len(c.get('candidates') or [])} values · "
                f"{components.ago(c.get('created_at_ms'))}",
            )
            self.list.addItem(item)
        self.list.blockSignals(False)
        ids = [c["id"] for c in self.conflicts]
        self.list.setCurrentRow(ids.index(keep) if keep in ids else 0)
        self._show_row(self.list.currentRow())

    def select_campaign(self, campaign_id: str) -> None:
        for i, c in enumerate(self.conflicts):
            if c["campaign_id"] == campaign_id:
                self.list.setCurrentRow(i)
                return

    def _show_row(self, row: int) -> None:
        if not 0 <= row < len(self.conflicts):
            return
        c = self.conflicts[row]
        self.current = c
        field = c.get("field", "")
        self.title.setText(f"{c.get('campaign_name') or 'Campaign'} · {field_name(field)}")
        kind = (c.get("kind") or "concurrent_edit").replace("_", " ")
        self.subtitle.setText(
            f"{kind.capitalize()}. Until resolved, the campaign uses "
            f"{show_value(field, c.get('provisional'))!s} (the provisional winner)."
        )
        while self.cards.count():
            item = self.cards.takeAt(0)
            if item.widget():
                self.group.removeButton(item.widget().choice)
                item.widget().deleteLater()
        for i, cand in enumerate(c.get("candidates") or []):
            card = CandidateCard(
                i, field, cand, cand.get("value") == c.get("provisional"), self.group
            )
            card.choice.setEnabled(self.is_admin)
            self.cards.addWidget(card, i // 2, i % 2)
        self.custom_value.clear()
        self.comment.clear()
        self.message.clear()
        self.resolve_box.setVisible(self.is_admin)
        self.viewer_note.setVisible(not self.is_admin)
        self.viewer_note.setText(
            "Only admins can resolve conflicts. The provisional value applies "
            "until an admin decides."
        )

    # ------------------------------------------------------------------ resolving

    def resolve(self) -> None:
        c = self.current
        if c is None:
            return
        choice = self.group.checkedId()
        body: dict[str, Any]
        if choice == -2:
            try:
                body = {"value": parse_value(c.get("field", ""), self.custom_value.text())}
            except ValueError as exc:
                self._say(describe(exc), "danger")
                return
        elif choice >= 0:
            body = {"candidate": choice}
        else:
            self._say("Pick a value to keep, or enter one.", "danger")
            return
        comment = self.comment.toPlainText().strip()
        if comment:
            body["comment"] = comment
        self.resolve_button.setEnabled(False)
        path = f"/api/v1/conflicts/{c['id']}/resolve"

        def done(record: dict[str, Any]) -> None:
            self.resolve_button.setEnabled(True)
            self._say(
                f"Resolved: {field_name(c.get('field', ''))} is now "
                f"{show_value(c.get('field', ''), record.get('value', body.get('value')))}. "
                "Everyone gets it on their next sync.",
                "ok",
            )
            self.resolved.emit(record)
            self.reload()

        def failed(exc: BaseException) -> None:
            self.resolve_button.setEnabled(True)
            if getattr(exc, "code", "") == "forbidden":
                self._say("Only admins can resolve conflicts: the server refused.", "danger")
            else:
                self._say(f"Not resolved: {describe(exc)}", "danger")

        self.ops.call(lambda: self.ops.engine.api("POST", path, body), success=done, failure=failed)

    def _say(self, text: str, tone: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {theme.current().color(tone).name()};")

    def on_notice(self, kind: str, body: dict[str, Any]) -> None:
        if kind == "conflict":
            self.reload()

    def on_changes(self, changes: Changes) -> None:
        if changes.settings:
            self.reload()
