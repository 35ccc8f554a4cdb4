"""An app the server no longer speaks to says so in plain words, with what it holds queued,
and syncs the same queue once it can."""

from __future__ import annotations

import pytest

from client.sync import VersionMismatch
from shared.protocol import messages as m

from .conftest import settle, until

pytestmark = pytest.mark.ui


async def test_the_app_says_to_update_and_that_the_queue_is_safe(server, open_window):
    window = await open_window(server=server, email="mia@venue.test")
    await until(window.sync.state_changed, lambda: window.sync.state == "online", what="online")
    # The live connection was made in the current protocol: end it before the app "ages", or it
    # would push the capture below before any new handshake.
    await window.sync.stop()
    window.engine.protocol_version = m.OLDEST_PROTOCOL_VERSION - 1  # an app too old to sync
    window.replica.capture(kind="conversion", contact="ann@example.com", value_cents=50_000)
    await settle(window)
    assert sum(window.replica.queue_depths().values()) == 1

    reports = []
    window.sync.report.connect(reports.append)
    window.sync_now()
    await until(
        window.sync.report,
        lambda: any(isinstance(r, VersionMismatch) for r in reports),
        what="the refusal",
    )
    shown = window.message.text()
    assert shown.startswith("Update the app to sync; your 1 queued item is safe")
    assert window.sync.state == "error"
    assert sum(window.replica.queue_depths().values()) == 1

    window.engine.protocol_version = m.PROTOCOL_VERSION  # updated
    reports.clear()
    window.sync_now()
    await until(
        window.sync.report,
        lambda: any(not isinstance(r, Exception) for r in reports),
        what="a sync",
    )
    assert sum(window.replica.queue_depths().values()) == 0
