"""Capture forms, driven with the keyboard only, on a real replica."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from .conftest import settle, until

pytestmark = pytest.mark.ui

CTRL, ALT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.AltModifier


async def test_capture_a_conversion_with_the_keyboard_only(open_window, qtbot):
    window = await open_window()
    qtbot.keyClick(window, Qt.Key.Key_3, CTRL)  # Capture page (after Dashboard and Campaigns)
    page = window.capture
    assert window.pages.currentWidget() is page
    qtbot.keyClick(page, Qt.Key.Key_3, ALT)  # the conversion form, focus in its first field
    await until(
        QApplication.instance().focusChanged,
        lambda: QApplication.focusWidget() is page.inputs["contact"],
        what="focus",
    )
    focused = QApplication.focusWidget()
    qtbot.keyClicks(focused, "ella@example.com")
    qtbot.keyClick(focused, Qt.Key.Key_Tab)
    focused = QApplication.focusWidget()
    assert focused is page.inputs["value"]
    qtbot.keyClicks(focused, "1250.50")
    qtbot.keyClick(focused, Qt.Key.Key_Return)
    await settle(window)

    events = window.replica.recent_events(5)
    assert events[0]["kind"] == "conversion"
    assert events[0]["contact"] == "ella@example.com"
    assert events[0]["value_cents"] == 125_050
    assert window.replica.queue_depths()[0] == 1  # attribution class, queued for sync
    # the form cleared only after the write, and is ready for the next capture
    assert page.inputs["contact"].text() == ""
    assert "saved" in page.feedback.text()
    assert QApplication.focusWidget() is page.inputs["contact"]
    # the recent list refreshes after a short pause that coalesces a burst of captures
    await until(page.model.modelReset, lambda: page.model.rowCount() == 1, what="recent list")
    assert page.model.index(0, 4).data() == "Queued"


async def test_capture_refuses_an_incomplete_form_and_keeps_the_input(open_window, qtbot):
    window = await open_window()
    window.go("capture")
    page = window.capture
    page.choose(3, focus=True)  # referral invite
    qtbot.keyClicks(page.inputs["contact"], "tom@example.com")
    qtbot.keyClick(page.inputs["contact"], Qt.Key.Key_Return)
    await settle(window)
    assert "invited person" in page.feedback.text()
    assert page.inputs["contact"].text() == "tom@example.com"
    assert window.replica.event_count() == 0
