"""Every main page fits the window at its minimum size (960×600) and at the default size: no
label, button or tab cut off or elided, no horizontal scroll bar, nothing past the window's edge.

The pages hold real data: campaigns with a flow and notes, captures, and a real budget conflict
that the server flagged between two devices."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QTabBar,
    QWidget,
)

from client.credentials import KeyringTokens
from client.store import Replica
from client.sync import SyncEngine
from client.ui import campaign_edits as edits
from shared.protocol import campaign as schema

from .conftest import PASSWORD, settle, until

pytestmark = pytest.mark.ui

SLACK_PX = 1  # rounding in Qt's layouts


def _shown(widget: QWidget, window: QWidget) -> bool:
    return widget.isVisibleTo(window) and widget.width() > 0 and widget.height() > 0


def problems(window: QWidget) -> list[str]:
    """What does not fit: each a line naming the widget and its text."""
    found = []
    right = window.width()
    for widget in window.findChildren(QWidget):
        if not _shown(widget, window) or widget.window() is not window:
            continue
        name = f"{type(widget).__name__}({widget.objectName() or widget.accessibleName()})"
        corner = widget.mapTo(window, QPoint(widget.width(), 0))
        if corner.x() > right + SLACK_PX:
            found.append(f"{name} ends at x={corner.x()}, past the window's {right}")
        if isinstance(widget, QLabel) and widget.text() and not widget.pixmap():
            text = widget.text()
            room = widget.contentsRect()
            if widget.wordWrap():
                if widget.heightForWidth(room.width()) > widget.height() + SLACK_PX:
                    found.append(f"{name} {text!r} is cut at the bottom")
            else:
                metrics = widget.fontMetrics()
                widest = max(metrics.horizontalAdvance(line) for line in text.split("\n"))
                if widest > room.width() + SLACK_PX:
                    found.append(f"{name} {text!r} needs {widest}px, has {room.width()}px")
        elif isinstance(widget, QAbstractButton) and widget.text():
            if widget.sizeHint().width() > widget.width() + SLACK_PX:
                found.append(f"{name} {widget.text()!r} is cut ({widget.width()}px)")
        elif isinstance(widget, QLineEdit | QAbstractSpinBox) and widget.text():
            if isinstance(widget.parent(), QAbstractSpinBox | QComboBox):
                continue  # its owner is checked
            needed = widget.fontMetrics().horizontalAdvance(widget.text()) + 12
            if needed > widget.width() + SLACK_PX:  # e.g. the builder's title
                found.append(f"{name} {widget.text()!r} is cut ({widget.width()}px)")
        elif isinstance(widget, QComboBox) and widget.currentText():
            needed = widget.fontMetrics().horizontalAdvance(widget.currentText()) + 30
            if needed > widget.width() + SLACK_PX:
                found.append(f"{name} {widget.currentText()!r} is cut ({widget.width()}px)")
        elif isinstance(widget, QTabBar):
            for i in range(widget.count()):
                rect = widget.tabRect(i)
                if rect.width() + SLACK_PX < widget.tabSizeHint(i).width() or (
                    rect.right() > widget.width() + SLACK_PX
                ):
                    found.append(f"tab {widget.tabText(i)!r} is elided or out of sight")
        if isinstance(widget, QAbstractScrollArea) and widget.horizontalScrollBar().isVisible():
            found.append(f"{name} needs a horizontal scroll bar")
    return found


async def _conflict(server, window) -> str:  # noqa: ANN001
    """A campaign with a flow, content and notes, whose budget two devices set offline."""
    replica = window.replica
    cid, _ = replica.create_campaign(name="Autumn fair follow-up", fields={"budget_cents": 90_000})

    def flow(doc) -> list:  # noqa: ANN001
        a = edits.add_variant(doc, subject="See you at the barn", body="Dear {first_name},")
        first = edits.add_step(doc, "send_email")
        edits.set_step_config(doc, first, {"variant": a})
        wait = edits.add_step(doc, "wait", after=first)
        branch = edits.add_step(doc, "branch", after=wait)
        goal = edits.add_step(doc, "goal", after=branch)
        edits.connect(doc, branch, goal)
        return [schema.set_field(doc, "trigger", {"event": "lead"})]

    replica.edit_campaign(cid, flow)
    replica.add_campaign_note(cid, "Book stand 14 at the fair; bring the spring brochures.")
    await window.sync.stop()  # the server keeps one connection per device: sync here only
    await window.engine.sync_once()
    mia = SyncEngine(Replica(server.data_dir.parent / "mia"), tokens=KeyringTokens())
    try:
        await mia.login(server.url, "mia@venue.test", PASSWORD, "Mia's laptop")
        await mia.sync_once()
        mia.replica.add_campaign_note(cid, "Ask the florist for a stand.")
        replica.set_campaign_field(cid, "budget_cents", 120_000)
        mia.replica.set_campaign_field(cid, "budget_cents", 150_000)
        await mia.sync_once()
        await window.engine.sync_once()
    finally:
        await mia.close()
        mia.replica.close()
    window.sync.start()
    return cid


async def _fits(window) -> list[str]:  # noqa: ANN001
    await settle(window)
    QApplication.sendPostedEvents()  # pending layout requests
    return problems(window)


@pytest.mark.parametrize("size", [(960, 600), (1280, 800)])
async def test_every_main_page_fits_the_window(server, open_window, size):
    from devtools.seed import seed_demo

    # a venue's history: the dashboard's tiles, chart and tables, the campaigns' figures
    seed_demo(server.data_dir, org="Venue", seed=3, suppliers=20, couples=100, campaigns=5, days=60)
    window = await open_window(server=server, tester=True)
    cid = await _conflict(server, window)
    for i in range(20):
        window.replica.capture(
            kind=("lead", "touchpoint", "conversion", "invite_sent")[i % 4],
            contact=f"someone.with.a.long.name{i}@weddingsupplier.example.com",
            channel="wedding_fair" if i % 4 in (0, 1) else None,
            value_cents=250_000 if i % 4 == 2 else None,
            payload={"invitee": "friend@example.com"} if i % 4 == 3 else None,
        )
    window.resize(*size)
    assert (window.width(), window.height()) == size  # 960×600 is the minimum
    found: dict[str, list[str]] = {}

    window.go("dashboard")
    page = window.dashboard
    await until(page.loaded, lambda: page.snapshot is not None and page.snapshot.live)
    await until(page.chart.drawn, lambda: page.chart.ready, timeout_s=20)
    found["dashboard"] = await _fits(window)
    page.scroll.verticalScrollBar().setValue(page.scroll.verticalScrollBar().maximum())
    found["dashboard, scrolled down"] = await _fits(window)
    page.set_period("custom")
    found["dashboard, custom period"] = await _fits(window)
    await until(page.loaded, lambda: page.idle)

    window.go("campaigns")
    found["campaigns"] = await _fits(window)
    window.campaigns.open_campaign(cid)
    await settle(window)
    builder = window.campaigns.builder
    for tab in range(builder.tabs.count()):
        builder.tabs.setCurrentIndex(tab)
        found[f"builder {builder.tabs.tabText(tab)}"] = await _fits(window)
    builder.canvas.select(builder.canvas.order()[3])  # the branch, the widest settings
    builder.tabs.setCurrentIndex(0)
    found["builder branch step"] = await _fits(window)

    window.go("capture")
    for kind in range(len(window.capture.kind_buttons)):
        window.capture.choose(kind)
        found[f"capture {kind}"] = await _fits(window)

    window.go("conflicts")
    window.conflicts.reload()
    await until(window.conflicts.counts_changed, lambda: window.conflicts.current is not None)
    found["conflicts"] = await _fits(window)

    window.go("sync")
    window.sync_page.reload()
    found["sync"] = await _fits(window)

    assert {page: p for page, p in found.items() if p} == {}
