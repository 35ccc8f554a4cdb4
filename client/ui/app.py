"""Start the desktop app for one profile: QApplication, theme, qasync loop, the login dialog on
first start, the main window, and an orderly shutdown (pending writes drained, sync stopped)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import qasync
import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from client.credentials import KeyringTokens, TokenStore
from client.store import Replica
from client.sync import SyncEngine

from .login_dialog import LOCAL_ONLY, LoginDialog
from .main_window import MainWindow
from .theme import ThemeWatcher


class AppEventLoop(qasync.QEventLoop):
    """qasync's loop, which on ``close`` also destroys its Qt helper objects, here, on the GUI
    thread.

    qasync schedules callbacks as Qt timers on a parentless ``QObject`` and never kills the
    timers still pending when the loop closes; that object sits in a reference cycle with the
    loop, so Python's cycle collector frees it later on whichever thread happens to allocate:
    often the replica worker or a server thread. A ``QObject`` destroyed off its thread cannot
    unregister its timers ("Timers cannot be stopped from another thread") and the GUI thread's
    next timer pass dispatches to freed memory: a segfault some seconds after a loop closed.
    """

    @property
    def qt_helpers(self) -> tuple[QObject, ...]:
        """The Qt objects qasync schedules callbacks with; ``close`` destroys them."""
        helpers = (self._timer, getattr(self, "_QEventLoop__call_soon_signaller", None))
        return tuple(helper for helper in helpers if helper is not None)

    def close(self) -> None:
        super().close()
        for helper in self.qt_helpers:
            if shiboken6.isValid(helper):
                shiboken6.delete(helper)


def new_event_loop(app: QApplication | None = None) -> AppEventLoop:
    """The asyncio loop of the app (and of its tests, scripts and benchmarks)."""
    return AppEventLoop(app or application())


def application() -> QApplication:
    """The process's QApplication, created with high-DPI settings and the theme on first call."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(sys.argv[:1])
        app.setApplicationName("WedSync Marketing")
        app.setOrganizationName("WedSync")
        app.setDesktopFileName("wedsync")
        # The loop shuts the app down itself after the window closes (drains writes, stops sync).
        app.setQuitOnLastWindowClosed(False)
    if not hasattr(app, "_wedsync_theme"):
        app._wedsync_theme = ThemeWatcher(app)  # type: ignore[attr-defined]
    return app  # type: ignore[return-value]


def needs_login(replica: Replica) -> bool:
    return not replica.get_setting("server_url") and replica.get_setting(LOCAL_ONLY) != "1"


async def run_window(
    profile_dir: Path,
    *,
    tokens: TokenStore | None = None,
    setup: Callable[[], Awaitable[Any]] | None = None,
    on_window: Callable[[MainWindow], None] | None = None,
    tester: bool = False,
) -> int:
    """Run the app in the current (qasync) loop until the window closes."""
    if setup is not None:
        await setup()
    profile_dir.mkdir(parents=True, exist_ok=True)
    replica = Replica(profile_dir)
    engine = SyncEngine(replica, tokens=tokens or KeyringTokens())
    window = MainWindow(engine, tester=tester)
    closed = asyncio.get_running_loop().create_future()
    window.closed.connect(lambda: closed.done() or closed.set_result(None))
    try:
        if needs_login(replica):
            dialog = LoginDialog(window.ops)
            answered = asyncio.get_running_loop().create_future()
            dialog.finished.connect(lambda result: answered.done() or answered.set_result(result))
            dialog.open()
            if not await answered:
                return 0
        window.show()
        window.start()
        if on_window is not None:
            on_window(window)
        await closed
        return 0
    finally:
        await window.shutdown()
        await engine.close()
        replica.close()


def open_app(
    profile_dir: Path | str,
    *,
    tokens: TokenStore | None = None,
    setup: Callable[[], Awaitable[Any]] | None = None,
    tester: bool = False,
) -> int:
    """Open the desktop app on ``profile_dir`` and block until it is closed.

    ``tokens``: where the device token lives (default: the OS keyring). ``setup``: a coroutine
    factory run inside the app's event loop before the window opens (e.g. the demo starts its
    local server there, so the server and the app share the loop). ``tester``: show the tester's
    tools whatever the profile's setting."""
    app = application()
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(
            run_window(Path(profile_dir), tokens=tokens, setup=setup, tester=tester)
        )
    finally:
        loop.close()
        asyncio.set_event_loop(None)
