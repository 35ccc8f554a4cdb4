"""The campaign list and the visual builder, driven through their widgets on a real replica."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from client.ui.flow_canvas import TRIGGER

from .conftest import eventually, settle

pytestmark = pytest.mark.ui


async def _new_campaign(window, qtbot, name: str = "Spring open day"):  # noqa: ANN001
    page = window.campaigns
    window.go("campaigns")
    qtbot.keyClick(page, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    from client.ui.campaigns_view import NewCampaignDialog

    await eventually(lambda: page.findChild(NewCampaignDialog) is not None, what="dialog")
    dialog = page.findChild(NewCampaignDialog)
    qtbot.keyClicks(dialog.name, name)
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    await eventually(lambda: page.builder.session is not None, what="builder opens")
    await settle(window)
    return page.builder


async def test_build_a_campaign_with_three_steps_through_the_widgets(open_window, qtbot):
    window = await open_window()
    builder = await _new_campaign(window, qtbot)
    canvas = builder.canvas
    assert canvas.selected == TRIGGER
    qtbot.mouseClick(builder.add_buttons["send_email"], Qt.MouseButton.LeftButton)
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_W)  # W adds a wait after the selected step
    qtbot.keyClick(canvas, Qt.Key.Key_G)
    await settle(window)
    stored = window.replica.campaign(builder.campaign_id)
    assert [s["kind"] for s in stored["steps"]] == ["send_email", "wait", "goal"]
    assert stored["name"] == "Spring open day"

    # reorder with the keyboard: the goal moves above the wait
    qtbot.keyClick(canvas, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    await settle(window)
    assert [s["kind"] for s in window.replica.campaign(builder.campaign_id)["steps"]] == [
        "send_email",
        "goal",
        "wait",
    ]

    # configure the wait in the side panel
    qtbot.keyClick(canvas, Qt.Key.Key_Down)
    panel = builder.step_panel
    assert panel.step_id == window.replica.campaign(builder.campaign_id)["steps"][2]["id"]
    panel.days.setValue(5)
    panel.days.editingFinished.emit()
    await settle(window)
    assert window.replica.campaign(builder.campaign_id)["steps"][2]["config"]["days"] == 5

    # every edit is undoable: Ctrl+Z twice undoes the config change and the reorder
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    await settle(window)
    stored = window.replica.campaign(builder.campaign_id)
    assert [s["kind"] for s in stored["steps"]] == ["send_email", "wait", "goal"]
    assert stored["steps"][1]["config"]["days"] == 2
    qtbot.keyClick(
        canvas,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    await settle(window)
    assert [s["kind"] for s in window.replica.campaign(builder.campaign_id)["steps"]] == [
        "send_email",
        "goal",
        "wait",
    ]
    # undo went through the replica: it is queued for sync like any edit
    assert window.replica.queue_depths()[1] > 0
