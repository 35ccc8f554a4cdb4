"""The visual campaign builder: header (name, type, status, conflict badge), the flow canvas with
its tools, and the side panels.

Every edit runs on the open ``CampaignSession`` (undoable with Ctrl+Z / Ctrl+Shift+Z) and is
written through the replica at once, in order, on the replica worker. Remote changes to the open
campaign merge into the session without moving the canvas selection or the text cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.store import Changes, StoreError
from shared.protocol import campaign as schema
from shared.protocol.errors import ProtocolError

from . import campaign_edits as edits
from . import components, icons, theme
from .campaign_notes import DetailsPanel
from .campaign_panels import (
    AudiencePanel,
    ContentPanel,
    SchedulePanel,
    StatusPanel,
    StepPanel,
    TextBinding,
    TriggerPanel,
)
from .campaign_session import CampaignSession, LocalEdit
from .flow_canvas import TRIGGER, FlowCanvas
from .hold_banner import HoldBanner
from .ops import Ops, describe
from .preview_dialog import PreviewDialog

ADD_KEYS = (
    ("send_email", "E", "Email"),
    ("wait", "W", "Wait"),
    ("branch", "B", "Branch"),
    ("goal", "G", "Goal"),
)


class _Message(QLabel):
    """The builder's message line: it takes no room while it has nothing to say."""

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setVisible(bool(text))

    def clear(self) -> None:
        super().clear()
        self.hide()


class CampaignBuilder(QWidget):
    back_requested = Signal()
    conflicts_requested = Signal(str)  # campaign id
    opened = Signal(str)
    saved = Signal()  # a local edit reached the replica
    results_requested = Signal(str)  # campaign id: show its run view

    def __init__(self, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.session: CampaignSession | None = None
        self._writes = 0
        t = theme.current()

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(10)

        header = QHBoxLayout()
        self.back = QToolButton(toolTip="Back to all campaigns (Esc)", autoRaise=True)
        self.back.setIcon(icons.icon("back", t.text, 20))
        header.addWidget(self.back)
        self.name = QLineEdit(objectName="NameEdit", placeholderText="Campaign name")
        self.name.setAccessibleName("Campaign name")
        header.addWidget(self.name, 1)
        self.type = QComboBox()
        self.type.setAccessibleName("Campaign type")
        for kind in schema.CAMPAIGN_TYPES:
            self.type.addItem(components.label(kind), kind)
        header.addWidget(self.type)
        self.status = components.Pill()
        header.addWidget(self.status)
        self.conflict_badge = QPushButton(objectName="Badge")
        self.conflict_badge.setIcon(icons.icon("conflicts", "#ffffff", 16))
        self.conflict_badge.setToolTip("Review the open conflict in Conflicts")
        self.conflict_badge.hide()
        header.addWidget(self.conflict_badge)
        self.undo_button = QToolButton(toolTip="Undo (Ctrl+Z)", autoRaise=True)
        self.undo_button.setIcon(icons.icon("undo", t.text, 20))
        self.redo_button = QToolButton(toolTip="Redo (Ctrl+Shift+Z)", autoRaise=True)
        self.redo_button.setIcon(icons.icon("redo", t.text, 20))
        header.addWidget(self.undo_button)
        header.addWidget(self.redo_button)
        outer.addLayout(header)

        self.message = _Message(objectName="Muted")
        self.message.setWordWrap(True)
        self.message.hide()
        outer.addWidget(self.message)
        self.hold_banner = HoldBanner()
        outer.addWidget(self.hold_banner)

        # the tools sit above the canvas and the panels together: at the minimum window size the
        # canvas alone is too narrow for their labels
        tools = QHBoxLayout()
        tools.setSpacing(6)
        self.add_buttons: dict[str, QPushButton] = {}
        for kind, key, text in ADD_KEYS:
            button = QPushButton(icons.icon(kind, t.node[kind], 18), text)
            button.setToolTip(f"Add a {text.lower()} step after the selected one ({key})")
            button.clicked.connect(lambda _=False, k=kind: self.add_step(k))
            tools.addWidget(button)
            self.add_buttons[kind] = button
        tools.addSpacing(12)
        self.up = QToolButton(toolTip="Move the step up (Alt+↑)", autoRaise=True)
        self.up.setIcon(icons.icon("up", t.text, 18))
        self.down = QToolButton(toolTip="Move the step down (Alt+↓)", autoRaise=True)
        self.down.setIcon(icons.icon("down", t.text, 18))
        self.delete = QToolButton(toolTip="Delete the step (Del)", autoRaise=True)
        self.delete.setIcon(icons.icon("delete", t.danger, 18))
        for w in (self.up, self.down, self.delete):
            tools.addWidget(w)
        tools.addStretch(1)
        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("The email as a contact gets it, and a test send")
        self.results_button = QPushButton(icons.icon("chart", t.text, 16), "Results")
        self.results_button.setToolTip("How the campaign runs: each step's figures")
        tools.addWidget(self.preview_button)
        tools.addWidget(self.results_button)
        outer.addLayout(tools)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.canvas = FlowCanvas()
        split.addWidget(self.canvas)

        self.tabs = QTabWidget()
        self.tabs.setMinimumWidth(440)
        self.tabs.setUsesScrollButtons(False)
        apply = self.apply
        self.step_panel = StepPanel(apply)
        self.details = DetailsPanel(apply)
        self.panels = [
            self.step_panel,
            TriggerPanel(apply),
            AudiencePanel(apply),
            ContentPanel(apply, ops=ops),
            SchedulePanel(apply),
            StatusPanel(apply),
            self.details,
        ]
        titles = ("Step", "Trigger", "Audience", "Content", "Schedule", "Status", "Notes")
        for panel, title in zip(self.panels, titles, strict=True):
            self.tabs.addTab(panel, title)
        guide = self.step_panel.none  # the Step tab's guide while no step is selected
        guide.add_requested.connect(self.add_step)
        guide.tab_requested.connect(lambda title: self.tabs.setCurrentIndex(titles.index(title)))
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        split.setSizes([600, 440])  # proportions; the tabs keep their minimum width
        outer.addWidget(split, 1)

        self.name_binding = TextBinding(
            self.name,
            lambda t: self.apply(
                lambda doc: schema.set_field(doc, "name", t or "Untitled campaign")
            ),
        )

        # wiring
        self.back.clicked.connect(self._back)
        self.type.activated.connect(
            lambda *_: self.apply(
                lambda doc: schema.set_field(doc, "type", self.type.currentData())
            )
        )
        self.undo_button.clicked.connect(self.undo)
        self.redo_button.clicked.connect(self.redo)
        self.conflict_badge.clicked.connect(
            lambda: self.session and self.conflicts_requested.emit(self.session.campaign_id)
        )
        self.preview_button.clicked.connect(self.show_preview)
        self.results_button.clicked.connect(
            lambda: self.session and self.results_requested.emit(self.session.campaign_id)
        )
        self.canvas.selection_changed.connect(self._selected)
        self.canvas.activated.connect(self._activated)
        self.canvas.move_requested.connect(self.move_step)
        self.canvas.delete_requested.connect(self.delete_step)
        self.up.clicked.connect(lambda: self.move_step(self.canvas.selected, -1))
        self.down.clicked.connect(lambda: self.move_step(self.canvas.selected, 1))
        self.delete.clicked.connect(lambda: self.delete_step(self.canvas.selected))
        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for seq, slot in (
            (QKeySequence.StandardKey.Undo, self.undo),
            (QKeySequence.StandardKey.Redo, self.redo),
            (QKeySequence("Ctrl+Shift+Z"), self.redo),
            (QKeySequence("Esc"), self._back),
        ):
            QShortcut(seq, self, context=ctx).activated.connect(slot)
        self.canvas.add_requested.connect(self.add_step)
        self.setTabOrder(self.name, self.type)
        self.setTabOrder(self.type, self.canvas)
        self.setTabOrder(self.canvas, self.tabs)
        self._conflicts = 0

    def keyPressEvent(self, event) -> None:  # noqa: ANN001
        # The shortcuts above handle these when the window is active; key events that reach
        # the builder while it is not (a just-raised window) are handled the same way.
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
        elif event.matches(QKeySequence.StandardKey.Redo) or (
            event.key() == Qt.Key.Key_Z
            and event.modifiers()
            == (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        ):
            self.redo()
        elif event.key() == Qt.Key.Key_Escape:
            self._back()
        else:
            super().keyPressEvent(event)

    # ------------------------------------------------------------------ open

    @property
    def campaign_id(self) -> str | None:
        return self.session.campaign_id if self.session else None

    def open(self, campaign_id: str) -> None:
        def opened(state: bytes) -> None:
            self.session = CampaignSession(campaign_id, state)
            self.canvas._selected = TRIGGER
            self.message.clear()
            self.refresh()
            self.canvas.setFocus()
            self.opened.emit(campaign_id)

        replica = self.ops.replica
        self.ops.read(
            lambda: replica.get_setting("user_email"),
            success=lambda user: setattr(self.details, "author", user),
        )
        self.ops.read(replica.campaign_state, campaign_id, success=opened)

    def set_open_conflicts(self, count: int) -> None:
        self._conflicts = count
        self.conflict_badge.setText(f"{count} open conflict{'s' if count != 1 else ''}")
        self.conflict_badge.setVisible(count > 0)

    def _back(self) -> None:
        self.flush()
        self.back_requested.emit()

    # ------------------------------------------------------------------ editing

    def apply(self, fn: Callable[[Any], Any]) -> bool:
        """Run ``fn`` on the open campaign as one undoable edit; write it through the replica."""
        if self.session is None:
            return False
        try:
            local = self.session.edit(fn)
        except (edits.EditError, ProtocolError, StoreError, ValueError) as exc:
            self.message.setText(describe(exc))
            self.refresh()  # put the widgets back to what the document says
            return False
        self.message.clear()
        self._write(local)
        self.refresh()
        return True

    def _write(self, local: LocalEdit | None) -> None:
        if local is None or self.session is None:
            return
        campaign_id = self.session.campaign_id
        self._writes += 1

        def done(_: Changes) -> None:
            self._writes -= 1
            self.saved.emit()

        def failed(exc: BaseException) -> None:
            self._writes -= 1
            self.message.setText(f"Could not save: {describe(exc)}. Reloaded the campaign.")
            self.open(campaign_id)

        self.ops.write(
            self.ops.replica.apply_local_update,
            campaign_id,
            local.update,
            local.guards,
            success=done,
            failure=failed,
        )

    @property
    def pending_writes(self) -> int:
        return self._writes

    def add_step(self, kind: str) -> None:
        """Add a step after the selected one (first when the trigger is selected)."""
        selected = self.canvas.selected
        made: list[str] = []
        if (
            self.apply(
                lambda doc: made.append(
                    edits.add_step(
                        doc,
                        kind,
                        after=None if selected == TRIGGER else selected,
                        first=selected == TRIGGER,
                    )
                )
            )
            and made
        ):
            self.canvas.select(made[-1])
            self.canvas.setFocus()

    def move_step(self, step_id: str, offset: int) -> None:
        if step_id and step_id != TRIGGER:
            self.apply(lambda doc: edits.move_step(doc, step_id, offset))
            self.canvas.select(step_id, notify=False)

    def delete_step(self, step_id: str) -> None:
        if not step_id or step_id == TRIGGER or self.session is None:
            return
        order = self.canvas.order()
        pos = order.index(step_id)
        if self.apply(lambda doc: edits.delete_step(doc, step_id)):
            remaining = self.canvas.order()
            self.canvas.select(remaining[min(pos, len(remaining) - 1)])

    def undo(self) -> None:
        self._replay(lambda s: s.undo())

    def redo(self) -> None:
        self._replay(lambda s: s.redo())

    def _replay(self, action: Callable[[CampaignSession], LocalEdit | None]) -> None:
        if self.session is None:
            return
        self.flush()
        self._write(action(self.session))
        self.refresh()

    def flush(self) -> None:
        """Commit typing that has not been committed yet."""
        self.name_binding.flush()
        for panel in self.panels:
            panel.flush()

    # ------------------------------------------------------------------ showing

    def refresh(self) -> None:
        if self.session is None:
            return
        snap = self.session.snapshot()
        self.name_binding.show(snap.get("name") or "")
        with QSignalBlocker(self.type):
            self.type.setCurrentIndex(max(0, self.type.findData(snap.get("type"))))
        status = snap.get("status") or "draft"
        self.status.set(components.label(status), components.STATUS_COLORS.get(status, "muted"))
        self.canvas.set_flow(snap)
        for panel in self.panels:
            panel.show_snapshot(snap)
        self.hold_banner.show_snapshot(snap)
        self.step_panel.select(self.canvas.selected)
        self.undo_button.setEnabled(self.session.can_undo)
        self.redo_button.setEnabled(self.session.can_redo)
        has_step = self.canvas.selected != TRIGGER
        for w in (self.up, self.down, self.delete):
            w.setEnabled(has_step)
        archived = status == "archived"
        for w in (*self.add_buttons.values(), self.type):
            w.setEnabled(not archived)
        if archived:
            self.message.setText(
                "This campaign is archived: changes would be flagged as conflicts."
            )

    def _selected(self, key: str) -> None:
        self.step_panel.select(key)
        has_step = key != TRIGGER
        for w in (self.up, self.down, self.delete):
            w.setEnabled(has_step)
        if has_step and self.tabs.currentIndex() == 1:
            self.tabs.setCurrentIndex(0)
        elif not has_step and self.tabs.currentIndex() == 0:
            self.tabs.setCurrentIndex(1)

    def _activated(self, key: str) -> None:
        self.tabs.setCurrentIndex(1 if key == TRIGGER else 0)
        self.tabs.currentWidget().focusNextChild()

    def on_changes(self, changes: Changes) -> None:
        """A write landed in the replica: merge it if it concerns the open campaign."""
        if self.session is None or self.session.campaign_id not in changes.campaigns:
            return
        session = self.session

        def merge(state: bytes) -> None:
            if self.session is not session:
                return
            self.flush()  # commit local typing first: the merge is then by character
            if session.merge(state):
                self.refresh()

        self.ops.read(self.ops.replica.campaign_state, session.campaign_id, success=merge)

    def show_preview(self) -> PreviewDialog | None:
        """The open campaign's email, rendered by the server, with a test send."""
        if self.session is None:
            return None
        self.flush()
        campaign = {"id": self.session.campaign_id, **self.session.snapshot()}
        dialog = PreviewDialog(self.ops, campaign, self)
        dialog.setModal(True)
        dialog.open()
        return dialog
