"""UI tests: offscreen Qt, the qasync loop for async tests, a private in-memory keyring, a real
server on 127.0.0.1 and real replica files in tmp_path."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before PySide6 is imported

import asyncio  # noqa: E402
import socket  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import keyring  # noqa: E402
import keyring.backend  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import SignalInstance  # noqa: E402

from client.credentials import KeyringTokens  # noqa: E402
from client.store import Replica  # noqa: E402
from client.sync import SyncEngine  # noqa: E402

from .server_thread import ServerThread  # noqa: E402

PASSWORD = "correct horse battery"


def pytest_asyncio_loop_factories(config, item):  # noqa: ANN001, ANN201 - pytest-asyncio hook
    from client.ui.app import new_event_loop

    return {"qasync": new_event_loop}


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that lives in this test only."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.data_dir = data_dir


@pytest.fixture
async def server(tmp_path: Path):
    from server import admin
    from server.app import create_app
    from server.config import ServerConfig

    data_dir = tmp_path / "server"
    admin.create_user(
        data_dir, email="admin@venue.test", password=PASSWORD, role="admin", org="Venue"
    )
    admin.create_user(
        data_dir, email="mia@venue.test", password=PASSWORD, role="marketer", org="Venue"
    )
    port = _free_port()
    thread = await ServerThread(
        create_app(ServerConfig(data_dir=data_dir, port=port)), port
    ).start()
    try:
        yield Server(thread.url, data_dir)
    finally:
        await thread.stop()


async def settle(window, timeout_s: float = 10.0) -> None:  # noqa: ANN001
    """Wait until the window is idle: no background operation in flight and every store change
    delivered to the views, with what those started (``MainWindow.idle``)."""
    await asyncio.wait_for(window.idle(), timeout_s)


async def until(
    signal: SignalInstance,
    predicate: Callable[[], object],
    *,
    timeout_s: float = 10.0,
    what: str = "condition",
) -> None:
    """Wait until ``predicate()`` holds, checking it now and each time ``signal`` is emitted."""
    if predicate():
        return
    future = asyncio.get_running_loop().create_future()

    def check(*_: object) -> None:
        if not future.done() and predicate():
            future.set_result(None)

    signal.connect(check)
    try:
        await asyncio.wait_for(future, timeout_s)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
    finally:
        signal.disconnect(check)


@pytest.fixture
async def open_window(tmp_path: Path, qtbot):
    """Factory: a started main window on a new profile (``name``), optionally logged in.

    Tests that also use ``server`` must request it first, so windows close before it stops."""
    from client.ui.main_window import MainWindow

    made = []

    async def make(
        name: str = "laptop",
        *,
        server: Server | None = None,
        email: str = "admin@venue.test",
        tester: bool = False,
    ) -> MainWindow:
        replica = Replica(tmp_path / name)
        engine = SyncEngine(replica, tokens=KeyringTokens(), timeout_s=10)
        if server is not None:
            await engine.login(server.url, email, PASSWORD, name)
        window = MainWindow(engine, tester=tester)
        window.show()
        window.activateWindow()  # shortcuts need an active window, even offscreen
        window.start()
        made.append(window)
        await settle(window)
        return window

    yield make
    for window in made:
        await window.shutdown()
        await window.engine.close()
        window.engine.replica.close()
        window.close()
        window.deleteLater()
