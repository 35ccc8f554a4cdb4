"""Keeps the app in sync in the background: runs ``SyncEngine.run_forever`` on the qasync loop,
restarts it when the user goes offline or online, and offers "sync now".

States (``state_changed``): ``local`` (no server), ``offline`` (Work offline), ``connecting``,
``online``, ``error`` (with a plain-words detail), ``signed_out``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from PySide6.QtCore import QObject, Signal

from client.sync import NotLoggedIn, SyncEngine, SyncError, SyncReport

from .ops import describe

log = logging.getLogger(__name__)


class SyncController(QObject):
    state_changed = Signal(str, str)
    report = Signal(object)  # SyncReport or Exception

    def __init__(self, engine: SyncEngine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.state = "local"
        self._task: asyncio.Task | None = None
        self._stop: asyncio.Event | None = None
        self._manual = False

    def _set(self, state: str, detail: str = "") -> None:
        self.state = state
        self.state_changed.emit(state, detail)

    def start(self) -> None:
        """Start background sync (no-op if running). Reads settings from the replica worker."""
        if self._task is not None and not self._task.done():
            return
        self._stop = asyncio.Event()
        self._task = asyncio.ensure_future(self._run(self._stop))

    async def _run(self, stop: asyncio.Event) -> None:
        replica = self.engine.replica
        server, offline = await self.engine.run_db(
            lambda: (replica.get_setting("server_url"), replica.offline)
        )
        if not server:
            self._set("local", "Not signed in to a server")
            return
        if offline:
            self._set("offline", "Working offline")
            return
        self._set("connecting", f"Connecting to {server}")
        try:
            await self.engine.run_forever(stop, on_report=self._on_report)
        except NotLoggedIn as exc:
            self._set("signed_out", describe(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in sync must show, not kill the window
            log.exception("background sync stopped")
            self._set("error", describe(exc))

    def _on_report(self, outcome: SyncReport | Exception) -> None:
        if isinstance(outcome, Exception):
            self._set("error", describe(outcome))
        else:
            self._set("online", "")
        self.report.emit(outcome)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        if self._stop is not None:
            self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), 5)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        except Exception:  # already reported through _set
            pass

    async def restart(self) -> None:
        await self.stop()
        self.start()

    async def sync_now(self) -> SyncReport | None:
        """Stop the background loop, run one full sync and report it, then resume."""
        await self.stop()
        report: SyncReport | None = None
        try:
            self._set("connecting", "Syncing…")
            report = await self.engine.sync_once()
            self._set("online", "")
            self.report.emit(report)
        except SyncError as exc:
            self._set("error", describe(exc))
            self.report.emit(exc)
        finally:
            self.start()
        return report
