"""First start: the login dialog against a real server on 127.0.0.1. The device token lands in
the tests' own in-memory keyring (``memory_keyring``), never the user's."""

from __future__ import annotations

import asyncio

import keyring
import pytest
from PySide6.QtCore import Qt

from client.credentials import SERVICE
from client.ui.app import needs_login
from client.ui.login_dialog import LoginDialog

from .conftest import PASSWORD, settle

pytestmark = pytest.mark.ui


def _finished(dialog: LoginDialog) -> asyncio.Future:
    future = asyncio.get_running_loop().create_future()
    dialog.finished.connect(lambda result: future.done() or future.set_result(result))
    return future


async def test_sign_in_stores_the_token_in_the_keyring_and_remembers_the_server(
    server, open_window, memory_keyring, qtbot
):
    assert keyring.get_keyring() is memory_keyring  # the user's keyring is out of reach
    window = await open_window("first-start")
    replica = window.replica
    assert needs_login(replica)
    dialog = LoginDialog(window.ops, window)
    dialog.open()
    answered = _finished(dialog)

    qtbot.keyClicks(dialog.server, server.url)
    qtbot.keyClicks(dialog.email, "mia@venue.test")
    qtbot.keyClicks(dialog.password, "not the password")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    await settle(window)
    assert dialog.error.text()  # the refusal is shown
    assert dialog.isVisible() and dialog.sign_in.isEnabled()
    assert memory_keyring.store == {}

    dialog.password.clear()
    qtbot.keyClicks(dialog.password, PASSWORD)
    dialog.sign_in.click()
    assert await asyncio.wait_for(answered, 10) == dialog.DialogCode.Accepted
    await settle(window)
    (((service, account), token),) = memory_keyring.store.items()
    assert service == SERVICE and replica.device_id in account and token
    status = replica.status()
    assert status["server"] == server.url and status["user"] == "mia@venue.test"
    assert status["role"] == "marketer"
    assert not needs_login(replica)


async def test_a_server_that_is_not_there_is_told_in_plain_words(open_window, memory_keyring):
    window = await open_window("first-start")
    dialog = LoginDialog(window.ops, window, server_url="http://127.0.0.1:9")
    dialog.email.setText("mia@venue.test")
    dialog.password.setText(PASSWORD)
    dialog.submit()
    await settle(window)
    assert "cannot reach" in dialog.error.text().lower()
    assert memory_keyring.store == {}


async def test_use_offline_only_skips_sign_in_from_then_on(open_window):
    window = await open_window("first-start")
    dialog = LoginDialog(window.ops, window)
    dialog.open()
    answered = _finished(dialog)
    dialog.offline_button.click()
    assert await asyncio.wait_for(answered, 5) == dialog.DialogCode.Accepted
    await settle(window)
    assert not needs_login(window.replica)
