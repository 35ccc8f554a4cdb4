"""The tester's network control on the Sync page, against a real server on 127.0.0.1."""

from __future__ import annotations

import pytest

from client.network_control import NetworkMode
from client.sync import OfflineError

from .conftest import settle, until

pytestmark = pytest.mark.ui


async def test_network_control_switches_offline_flaky_and_back(server, open_window):
    window = await open_window(server=server, tester=True)
    await until(window.sync.state_changed, lambda: window.sync.state == "online", what="sync")
    control = window.sync_page.network
    network = window.engine.network
    assert network is not None and network.state.mode == NetworkMode.ONLINE
    assert not control.loss.isEnabled()

    control.mode.setCurrentIndex(1)  # Offline
    await settle(window)
    assert network.offline and "refused" in control.note.text()
    with pytest.raises(OfflineError):
        await window.engine.sync_once()
    window.replica.capture(kind="conversion", contact="ann@example.com", value_cents=1000)
    assert window.replica.queue_depths()[0] == 1

    control.mode.setCurrentIndex(2)  # Flaky
    control.loss.setValue(0)
    control.latency.setValue(20)
    control.latency.editingFinished.emit()
    await settle(window)
    assert network.state.mode == NetworkMode.FLAKY
    assert network.state.latency_ms == 20 and network.state.loss == 0
    assert control.loss.isEnabled() and "20 ms" in control.note.text()
    # slow but lossless: it gets through. The app's live loop stops first: the server keeps
    # one connection per device and would close one of the two
    await window.sync.stop()
    await window.engine.sync_once()
    assert window.replica.queue_depths()[0] == 0
    assert window.replica.recent_events()[0]["synced"]

    network.set("online")  # changed elsewhere (e.g. a script): the control follows
    await settle(window)
    assert control.mode.currentText() == "Online" and not control.loss.isEnabled()


async def test_a_marketer_never_sees_the_network_control(server, open_window):
    window = await open_window(server=server)
    await settle(window)
    assert window.sync_page.network is None
    assert window.engine.network is None  # nothing stands between the engine and the server


async def test_the_profile_setting_turns_tester_mode_on_and_off(open_window):
    from wedsync.cli import main

    window = await open_window()
    profile = str(window.replica.profile_dir)
    assert main(["client", "--profile", profile, "tester", "on"]) == 0
    window.refresh_status()
    await until(window.status_shown, lambda: window.sync_page.network is not None)
    page = window.sync_page
    assert page.network.isVisibleTo(page)
    page.network.mode.setCurrentIndex(1)  # Offline, then tester mode goes off
    assert window.engine.network.offline
    assert main(["client", "--profile", profile, "tester", "off"]) == 0
    window.refresh_status()
    await until(window.status_shown, lambda: not page.network.isVisibleTo(page))
    assert not window.engine.network.offline  # no simulated fault left out of sight
