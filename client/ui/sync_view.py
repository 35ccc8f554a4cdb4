"""The Sync page: what is waiting per priority class, sync now, and a log of recent syncs and
errors in plain words."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from client.network_control import NetworkConditions
from client.store import Changes

from . import components, icons, theme
from .network_view import NetworkControl
from .ops import Ops

CLASS_HINTS = {
    0: "Conversions and touchpoints: always first",
    1: "Engagement and campaign edits",
    2: "Contact details",
    3: "Photos and logs: last",
}

Index = QModelIndex | QPersistentModelIndex


def sync_sentence(entry: dict[str, Any]) -> str:
    """One sync-log entry in plain words."""
    if not entry.get("ok"):
        error = entry.get("error") or "unknown error"
        return f"Sync failed: {error[0].upper() + error[1:]}"
    pushed = {int(k): v for k, v in (entry.get("pushed") or {}).items() if v}
    total = sum(pushed.values())
    parts = []
    if total:
        by_class = ", ".join(
            f"{n:,} {components.CLASS_NAMES[c].lower()}" for c, n in sorted(pushed.items())
        )
        parts.append(f"sent {total:,} item{'s' if total != 1 else ''} ({by_class})")
    if entry.get("pulled"):
        n = entry["pulled"]
        parts.append(f"received {n} campaign update{'s' if n != 1 else ''}")
    if entry.get("duplicates"):
        parts.append(f"{entry['duplicates']:,} already on the server")
    if entry.get("rejected"):
        parts.append(f"{entry['rejected']:,} refused by the server (kept aside)")
    if not parts:
        return "Up to date: nothing to send or receive"
    seconds = (entry.get("duration_ms") or 0) / 1000
    text = "; ".join(parts)
    return f"{text[0].upper() + text[1:]} in {seconds:.1f} s"


class SyncLogModel(QAbstractListModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.entries: list[dict[str, Any]] = []

    def set_entries(self, entries: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.entries = entries
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{components.clock(entry.get('at_ms'))}   {sync_sentence(entry)}"
        if role == Qt.ItemDataRole.DecorationRole:
            t = theme.current()
            return icons.icon(
                "check" if entry.get("ok") else "conflicts",
                t.ok if entry.get("ok") else t.danger,
                16,
            )
        return None


class SyncPage(QWidget):
    sync_now_requested = Signal()

    def __init__(self, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        #: the tester's network control (loss, latency, off), made when tester mode is on
        self.network: NetworkControl | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.setSpacing(14)
        self.header = components.PageHeader("Sync", "")
        self.sync_button = QPushButton(
            icons.icon("sync", "#ffffff", 16), "Sync now", objectName="Primary"
        )
        self.sync_button.setToolTip("F5")
        self.header.actions.addWidget(self.sync_button)
        outer.addWidget(self.header)

        grid = QGridLayout()
        grid.setSpacing(12)
        self.class_values: dict[int, QLabel] = {}
        for c, name in components.CLASS_NAMES.items():
            card = components.Card(name)
            value = QLabel("0", objectName="CardValue")
            card.body.addWidget(value)
            card.body.addWidget(QLabel(CLASS_HINTS[c], objectName="Muted", wordWrap=True))
            card.body.addStretch(1)  # top-aligned: the numbers line up whatever the hints' length
            grid.addWidget(card, 0, c)
            self.class_values[c] = value
        outer.addLayout(grid)

        info = QHBoxLayout()
        self.state = components.Pill()
        self.detail = QLabel(objectName="Muted", wordWrap=True)
        info.addWidget(self.state)
        info.addWidget(self.detail, 1)
        outer.addLayout(info)

        self._network_slot = outer.count()  # where the tester's card goes

        outer.addWidget(QLabel("Recent syncs", objectName="CardTitle"))
        self.model = SyncLogModel(self)
        self.log = QListView()
        self.log.setModel(self.model)
        self.log.setAccessibleName("Sync log")
        self.log.setSpacing(3)
        self.log.setWordWrap(True)
        outer.addWidget(self.log, 1)
        self.empty = components.EmptyState(
            "No syncs yet",
            "Captures and campaign edits wait here until you sync. Press F5 "
            "(Sync now) when you are online.",
        )
        outer.addWidget(self.empty, 1)
        self.empty.hide()

        self.sync_button.clicked.connect(self.sync_now_requested)
        self._refresh = QTimer(self, singleShot=True, interval=250)
        self._refresh.timeout.connect(self.reload)

    def set_tester(self, on: bool) -> None:
        """Show the tester's network control (tester mode) or not: marketers never need it."""
        if on and self.network is None:
            engine = self.ops.engine
            if engine.network is None:  # the control needs conditions to drive
                engine.network = NetworkConditions()
            self.network = NetworkControl(engine.network)
            layout = self.layout()
            assert isinstance(layout, QVBoxLayout)
            layout.insertWidget(self._network_slot, self.network)
        if self.network is not None:
            if not on and self.network.isVisibleTo(self):
                self.network.network.set("online")  # no fault left behind, out of sight
            self.network.setVisible(on)

    def reload(self) -> None:
        replica = self.ops.replica
        self.ops.read(lambda: (replica.status(), replica.sync_history(100)), success=self._show)

    def _show(self, data: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
        status, history = data
        for c, label in self.class_values.items():
            label.setText(f"{int(status['queue'].get(str(c), 0)):,}")
        total = sum(int(v) for v in status["queue"].values())
        if not status.get("server"):
            self.state.set("Local only", "muted")
            self.detail.setText(
                "This profile is not signed in to a server; everything stays on this computer."
            )
        elif status["work_offline"]:
            self.state.set("Working offline", "warn")
            self.detail.setText(
                f"{total:,} item{'s' if total != 1 else ''} waiting. Turn off Work offline to sync."
            )
        elif status.get("server_reachable") is False:
            self.state.set("Server unreachable", "danger")
            self.detail.setText(
                f"Last reached {components.ago(status.get('last_reached_ms'))}; tried "
                f"{components.ago(status.get('last_attempt_ms'))}: "
                f"{status.get('last_error') or 'no answer'}. Captures stay queued meanwhile."
            )
            self.detail.setToolTip(status.get("last_error") or "")
        else:
            self.state.set("Online", "ok")
            self.detail.setText(
                f"{status['server']} as {status.get('user') or '?'} · last sync "
                f"{components.ago(status.get('last_sync_ms'))}"
            )
        if status.get("rejected"):
            self.detail.setText(
                self.detail.text() + f" · {status['rejected']:,} item(s) refused "
                "by the server are kept aside"
            )
        self.header.subtitle.setText(f"{total:,} item{'s' if total != 1 else ''} waiting to sync")
        self.header.subtitle.show()
        self.sync_button.setEnabled(bool(status.get("server")) and not status["work_offline"])
        self.model.set_entries(history)
        self.log.setVisible(bool(history))
        self.empty.setVisible(not history)

    def on_changes(self, changes: Changes) -> None:
        if (changes.outbox or changes.sync or changes.settings) and not self._refresh.isActive():
            self._refresh.start()
