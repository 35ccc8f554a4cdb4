"""The campaign list and the visual builder, driven through their widgets on a real replica."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from client.ui.flow_canvas import TRIGGER

from .conftest import settle

pytestmark = pytest.mark.ui


async def _new_campaign(window, qtbot, name: str = "Spring open day"):  # noqa: ANN001
    page = window.campaigns
    window.go("campaigns")
    qtbot.keyClick(page, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    from client.ui.campaigns_view import NewCampaignDialog

    dialog = page.findChild(NewCampaignDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.name, name)
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    await settle(window)  # the campaign is created, then opened in the builder
    assert page.builder.session is not None
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


async def test_a_remote_edit_while_typing_keeps_the_cursor_and_the_selection(open_window, qtbot):
    from client.ui import campaign_edits as edits
    from client.ui.campaign_notes import DetailsPanel
    from shared.protocol import campaign as schema

    window = await open_window()
    replica = window.replica
    cid, _ = replica.create_campaign(name="Open day", fields={"description": "barn tour"})

    def two_steps(doc) -> None:  # noqa: ANN001
        edits.add_step(doc, "send_email")
        edits.add_step(doc, "wait")

    replica.edit_campaign(cid, two_steps)
    builder = window.campaigns.builder
    window.go("campaigns")
    window.campaigns.open_campaign(cid)
    await settle(window)
    assert builder.campaign_id == cid
    wait = replica.campaign(cid)["steps"][1]["id"]
    builder.canvas.select(wait)
    details = next(p for p in builder.panels if isinstance(p, DetailsPanel))
    builder.tabs.setCurrentWidget(details)
    box = details.description
    box.setFocus()
    box.moveCursor(box.textCursor().MoveOperation.End)
    qtbot.keyClicks(box, " with cake")  # not yet committed: the pause timer is running

    # another device prepends to the same text and renames the campaign meanwhile
    remote = schema.doc_from_state(replica.campaign_state(cid))
    before = remote.get_state()
    with remote.transaction():
        schema.set_field(remote, "description", "Guided barn tour")
        schema.set_field(remote, "name", "Spring open day")
    replica.apply_remote_updates([(cid, remote.get_update(before))])
    await settle(window)  # the change reached the builder, which merged it

    assert builder.name.text() == "Spring open day"
    expected = "Guided barn tour with cake"
    assert box.toPlainText() == expected
    assert box.textCursor().position() == len(expected)  # still right after what was typed
    assert builder.canvas.selected == wait
    assert replica.campaign(cid)["description"] == expected
    qtbot.keyClicks(box, "!")  # typing goes on where it was
    builder.flush()
    await settle(window)
    assert replica.campaign(cid)["description"] == expected + "!"


async def test_notes_show_as_entries_and_the_notes_tab_adds_one(open_window, qtbot):
    from PySide6.QtCore import Qt

    from shared.protocol import campaign as schema

    window = await open_window()
    replica = window.replica
    cid, _ = replica.create_campaign(name="Autumn fair")
    builder = window.campaigns.builder
    window.go("campaigns")
    window.campaigns.open_campaign(cid)
    await settle(window)
    details = builder.details
    builder.tabs.setCurrentWidget(details)
    assert details.empty.isVisibleTo(details) and not details.notes.isVisibleTo(details)
    assert not details.add_button.isEnabled()

    qtbot.keyClicks(details.new_note, "book stand 14")
    qtbot.mouseClick(details.add_button, Qt.MouseButton.LeftButton)
    await settle(window)
    (mine,) = replica.campaign(cid)["notes"]
    assert mine["text"] == "book stand 14" and details.new_note.toPlainText() == ""

    # a planner on another laptop added one meanwhile: it arrives as an entry of its own
    remote = schema.doc_from_state(replica.campaign_state(cid))
    before = remote.get_state()
    with remote.transaction():
        schema.add_note(
            remote, text="bring brochures", author="mia@x.test", at_ms=mine["at_ms"] + 1
        )
    replica.apply_remote_updates([(cid, remote.get_update(before))])
    await settle(window)
    shown = [details.notes.item(i).text() for i in range(details.notes.count())]
    assert shown[0].startswith("You · ") and shown[0].endswith("\nbook stand 14")
    assert shown[1].startswith("mia@x.test · ") and shown[1].endswith("\nbring brochures")
    assert details.notes.isVisibleTo(details) and not details.empty.isVisibleTo(details)


async def test_an_empty_campaign_shows_how_to_start_and_its_buttons_do_it(open_window, qtbot):
    from PySide6.QtCore import Qt

    window = await open_window()
    replica = window.replica
    cid, _ = replica.create_campaign(name="Autumn fair")
    builder = window.campaigns.builder
    window.go("campaigns")
    window.campaigns.open_campaign(cid)
    await settle(window)
    panel = builder.step_panel
    guide = panel.none
    assert builder.tabs.currentWidget() is panel and panel.stack.currentWidget() is guide
    assert panel.title.text() == "Start this campaign"
    assert [s.text() for s in guide.states[:3]] == [
        "Not set yet",
        "Add one:",
        "No email content yet",
    ]

    qtbot.mouseClick(guide.step_buttons["send_email"], Qt.MouseButton.LeftButton)
    await settle(window)
    (step,) = replica.campaign(cid)["steps"]
    assert step["kind"] == "send_email" and builder.canvas.selected == step["id"]

    builder.canvas.select("trigger")
    builder.tabs.setCurrentIndex(0)
    await settle(window)
    assert panel.title.text() == "No step selected"
    assert guide.states[1].text().startswith("1 step")
    buttons = {b.text(): b for b in guide.findChildren(type(guide.step_buttons["wait"]))}
    qtbot.mouseClick(buttons["Set the trigger"], Qt.MouseButton.LeftButton)
    assert builder.tabs.tabText(builder.tabs.currentIndex()) == "Trigger"
