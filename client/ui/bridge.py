"""The store's change notifications as a Qt signal.

``Replica.subscribe`` calls back on whichever thread wrote (the replica worker, usually). The
bridge re-emits each ``Changes`` as ``changes_applied`` on the GUI thread (a queued connection,
since the bridge lives there), which is the one signal every model refreshes on.

It counts the changes reported but not yet delivered, so that closing the window (and a test)
can wait until every write has reached the views: ``await bridge.delivered()``.
"""

from __future__ import annotations

import asyncio
import threading

from PySide6.QtCore import QObject, Qt, Signal

from client.store import Changes, Replica


class StoreBridge(QObject):
    changes_applied = Signal(object)  # client.store.Changes
    _incoming = Signal(object)

    def __init__(self, replica: Replica, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._incoming.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = replica.subscribe(self._reported)

    @property
    def pending(self) -> int:
        """Changes the store reported that ``changes_applied`` has not delivered yet."""
        with self._lock:
            return self._pending

    async def delivered(self) -> None:
        """Return once every change reported so far has been delivered (GUI thread only)."""
        while self.pending:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def close(self) -> None:
        self._unsubscribe()

    def _reported(self, changes: Changes) -> None:  # any thread
        with self._lock:
            self._pending += 1
        self._incoming.emit(changes)

    def _deliver(self, changes: Changes) -> None:  # GUI thread
        try:
            self.changes_applied.emit(changes)
        finally:
            with self._lock:
                self._pending -= 1
                done = self._pending == 0
            if done:
                waiters, self._waiters = self._waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
