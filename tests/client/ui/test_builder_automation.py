"""The builder and a running campaign: activating one that is not ready shows the server's
reasons in a banner over the flow (a real server on 127.0.0.1 keeps it a draft), offline the
banner says what the server will refuse, and Preview and Results open from the header."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from client import journey_edits
from client.ui.campaign_panels import StatusPanel
from client.ui.preview_dialog import PreviewDialog
from tests.client.ui.conftest import settle, until
from tests.client.ui.live_server import live_server

pytestmark = pytest.mark.ui


async def open_in_builder(window, cid: str):  # noqa: ANN001, ANN201
    window.go("campaigns")
    window.campaigns.open_campaign(cid)
    await settle(window)
    builder = window.campaigns.builder
    assert builder.campaign_id == cid
    return builder


def click_status(builder, text: str) -> None:  # noqa: ANN001
    panel = next(p for p in builder.panels if isinstance(p, StatusPanel))
    builder.tabs.setCurrentWidget(panel)
    button = next(b for b in panel.findChildren(QPushButton) if b.text() == text)
    button.click()


async def banner(window, tone: str, timeout_s: float = 20.0) -> None:  # noqa: ANN001
    """Wait until the builder's banner has ``tone``: checked after each store change reached
    the views (the server's correction arrives as a campaign update)."""
    builder = window.campaigns.builder
    deadline = asyncio.get_running_loop().time() + timeout_s
    while builder.hold_banner.tone != tone:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(f"the banner never turned {tone!r}")
        changed = asyncio.get_running_loop().create_future()

        def seen(*_: object, fut: asyncio.Future = changed) -> None:
            if not fut.done():
                fut.set_result(None)

        window.bridge.changes_applied.connect(seen)
        try:
            await asyncio.wait_for(changed, left)
        except TimeoutError:
            raise AssertionError(f"the banner never turned {tone!r}") from None
        finally:
            window.bridge.changes_applied.disconnect(seen)
        await settle(window)


async def test_activation_refused_by_the_server_shows_its_reasons_over_the_flow(
    server, open_window
):
    window = await open_window(server=server)
    cid, _ = window.replica.create_campaign(name="Spring open day")
    builder = await open_in_builder(window, cid)
    assert builder.hold_banner.isHidden()

    noticed = asyncio.get_running_loop().create_future()
    window.engine.notice_callbacks.append(  # after the window's own: the message is shown
        lambda kind, body: (
            kind == "campaign_invalid" and not noticed.done() and noticed.set_result(0)
        )
    )
    click_status(builder, "Activate")
    await banner(window, "danger")
    text = builder.hold_banner.text.text()
    assert text.startswith("Not active: the server kept this campaign a draft because it is")
    assert "• choose the event that starts the campaign (its trigger)" in text
    assert "• add at least one step" in text
    assert window.replica.campaign(cid)["status"] == "draft"
    assert builder.status.text() == "Draft"
    await asyncio.wait_for(noticed, 20)
    assert window.message.text() == (
        "Spring open day: kept as a draft, not active: choose the event that starts the "
        "campaign (its trigger) (and 1 more problem)"
    )

    # fixed and activated again: the server lets it run and the banner goes
    journey_edits.set_rules_field(window.replica, cid, "trigger", '{"event": "lead"}')
    journey_edits.add_variant(window.replica, cid, subject="Come and see", body="Hi")
    journey_edits.add_step(window.replica, cid, "send_email")
    await settle(window)
    click_status(builder, "Activate")
    await banner(window, "")
    assert builder.hold_banner.isHidden() and builder.status.text() == "Active"


async def test_offline_the_banner_says_what_the_server_will_refuse(open_window):
    window = await open_window()
    cid, _ = window.replica.create_campaign(name="Spring open day")
    journey_edits.set_rules_field(window.replica, cid, "trigger", '{"event": "lead"}')
    builder = await open_in_builder(window, cid)
    click_status(builder, "Activate")
    await settle(window)
    assert builder.hold_banner.tone == "warn"
    assert builder.hold_banner.text.text() == (
        "Marked active here, but the server will keep it a draft when this reaches it, "
        "because:\n• add at least one step"
    )


@pytest.fixture
async def live(tmp_path):
    async with live_server(tmp_path) as server:
        yield server


async def test_preview_and_results_open_from_the_builder(live, open_window, qtbot):
    window = await open_window(server=live)
    cid, _ = window.replica.create_campaign(name="Spring open day")
    journey_edits.add_variant(
        window.replica, cid, subject="Come and see, {{ first_name }}", body="Hi"
    )
    journey_edits.add_step(window.replica, cid, "send_email")
    await window.sync.sync_now()
    builder = await open_in_builder(window, cid)

    dialog = builder.show_preview()
    assert isinstance(dialog, PreviewDialog)
    await until(dialog.rendered, lambda: dialog.subject.text() == "Come and see, Ella")
    dialog.close()

    qtbot.mouseClick(builder.results_button, Qt.MouseButton.LeftButton)
    results = window.campaigns.results
    await until(results.loaded, lambda: results.view is not None, what="the run view")
    assert window.campaigns.stack.currentWidget() is results
    assert results.title.text() == "Spring open day" and results.status.text() == "Draft"
    assert results.empty.title.text() == "No one has entered this campaign yet"
    assert results.empty.hint.text().startswith("It is a draft: contacts enter once it is active")
    results.back_requested.emit()
    assert window.campaigns.stack.currentWidget() is builder  # back where it was opened
    await settle(window)
