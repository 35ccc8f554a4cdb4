"""The store's change notifications as a Qt signal.

``Replica.subscribe`` calls back on whichever thread wrote (the replica worker, usually). The
bridge re-emits each ``Changes`` as ``changes_applied`` on the GUI thread (a queued connection,
since the bridge lives there), which is the one signal every model refreshes on.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal

from client.store import Replica


class StoreBridge(QObject):
    changes_applied = Signal(object)  # client.store.Changes
    _incoming = Signal(object)

    def __init__(self, replica: Replica, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._incoming.connect(self.changes_applied.emit, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = replica.subscribe(self._incoming.emit)

    def close(self) -> None:
        self._unsubscribe()
