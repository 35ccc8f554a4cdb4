"""Status bar, Work offline and the Sync page against a real server on 127.0.0.1."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from .conftest import settle, until

pytestmark = pytest.mark.ui


async def test_toggle_offline_and_back_syncs_what_was_queued(server, open_window, qtbot):
    window = await open_window(server=server)
    replica = window.replica
    await until(window.sync.state_changed, lambda: window.sync.state == "online", what="sync")
    assert "Online" in window.connection.text()

    qtbot.keyClick(
        window,
        Qt.Key.Key_O,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    await settle(window)
    assert window.offline_toggle.isChecked()
    assert replica.offline
    # background sync restarts, sees the switch and says so
    await until(window.sync.state_changed, lambda: "Offline" in window.connection.text())

    replica.capture(kind="touchpoint", contact="ann@example.com", channel="wedding_fair")
    replica.capture(kind="conversion", contact="ann@example.com", value_cents=90_000)
    await settle(window)
    # the status bar refreshes after a short pause that coalesces bursts of changes
    await until(window.status_shown, lambda: "Queue 2" in window.queue.text(), what="queue 2")
    assert not any(e["synced"] for e in replica.recent_events())

    window.offline_toggle.click()  # back online
    await until(
        window.sync.report,
        lambda: (
            replica.queue_depths().get(0, 0) == 0
            and all(e["synced"] for e in replica.recent_events())
        ),
        what="queue synced",
    )
    await settle(window)
    await until(window.status_shown, lambda: "Queue 0" in window.queue.text(), what="queue 0")
    assert "never" not in window.last_sync.text()

    window.go("sync")
    page = window.sync_page
    page.reload()
    await settle(window)
    sentences = [page.model.index(i, 0).data() for i in range(page.model.rowCount())]
    assert any("attribution" in s for s in sentences), sentences
    assert page.class_values[0].text() == "0"


async def test_sync_now_logs_the_sync_in_plain_words(server, open_window, qtbot):
    window = await open_window(server=server)
    await until(window.sync.state_changed, lambda: window.sync.state == "online", what="sync")
    await window.sync.stop()
    await window.sync.sync_now()
    await settle(window)
    window.sync_page.reload()
    await settle(window)
    first = window.sync_page.model.index(0, 0).data()
    assert "Up to date" in first or "Sent" in first or "Received" in first


async def test_local_only_profile_shows_local_state(open_window):
    window = await open_window()
    await settle(window)
    assert "Local only" in window.connection.text()
    assert not window.offline_toggle.isEnabled()
    assert window.sync_page.empty.isVisibleTo(window.sync_page)


async def test_the_sync_page_says_when_the_server_cannot_be_reached(server, open_window):
    from .conftest import _free_port

    window = await open_window(server=server)
    await until(window.sync.state_changed, lambda: window.sync.state == "online", what="sync")
    await window.sync.stop()
    dead = f"http://127.0.0.1:{_free_port()}"  # nothing listens there: the server is down
    window.replica.set_setting("server_url", dead)
    await window.sync.sync_now()
    await window.sync.stop()
    page = window.sync_page
    page.reload()
    await settle(window)
    assert page.state.text() == "Server unreachable"
    detail = page.detail.text()
    assert detail.startswith("Last reached just now; tried just now: cannot reach " + dead)
    assert detail.endswith("Captures stay queued meanwhile.")
