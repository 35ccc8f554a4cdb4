"""Background work for the views: run a store call or a server call off the GUI thread and call
back on the GUI thread.

Store calls go through the sync engine's single replica worker (``SyncEngine.run_db``), so every
replica access in the app is serialised on one thread and the GUI thread never touches the disk.
Server calls are coroutines on the qasync loop (aiohttp never blocks it).

``success`` and ``failure`` run on the GUI thread. A failure without a handler goes to
``Ops.failed`` (the main window shows it in plain words); a bug is logged with its traceback and
also reported, never swallowed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from client.credentials import CredentialsError
from client.store import StoreError
from client.sync import SyncEngine, SyncError
from shared.protocol.errors import ProtocolError

log = logging.getLogger(__name__)

#: Errors that come from the user's input or environment, told in plain words (not bugs).
KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    StoreError,
    SyncError,
    CredentialsError,
    ProtocolError,
    ValueError,
    OSError,
)


def describe(exc: BaseException) -> str:
    """One plain sentence for an error."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return message[0].upper() + message[1:] if message else message


class Ops(QObject):
    failed = Signal(str)  # a plain-words message for the status bar

    def __init__(self, engine: SyncEngine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._tasks: set[asyncio.Task] = set()

    @property
    def replica(self):  # noqa: ANN201 - the store, for views that name it
        return self.engine.replica

    def read(
        self,
        fn: Callable[..., Any],
        *args: Any,
        success: Callable[[Any], None] | None = None,
        failure: Callable[[BaseException], None] | None = None,
    ) -> asyncio.Task:
        """Run ``fn(*args)`` on the replica worker."""
        return self.call(lambda: self.engine.run_db(fn, *args), success=success, failure=failure)

    write = read  # writes are the same mechanism; the name says what the caller means

    def call(
        self,
        factory: Callable[[], Awaitable[Any]],
        *,
        success: Callable[[Any], None] | None = None,
        failure: Callable[[BaseException], None] | None = None,
    ) -> asyncio.Task:
        """Run the coroutine ``factory()`` on the loop; report its outcome on the GUI thread."""
        task = asyncio.ensure_future(self._run(factory, success, failure))
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    async def _run(self, factory, success, failure) -> Any:
        try:
            result = await factory()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not isinstance(exc, KNOWN_ERRORS):
                log.exception("background operation failed")
            if failure is not None:
                failure(exc)
            else:
                self.failed.emit(describe(exc))
            return None
        if success is not None:
            success(result)
        return result

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)

    @property
    def busy(self) -> bool:
        """Whether an operation is in flight (its ``success`` or ``failure`` not yet called)."""
        return bool(self._tasks)

    async def drain(self) -> None:
        """Wait for every operation in flight (closing the window, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
