"""The main window: navigation, the pages, and a status bar that always shows online/offline,
the queue per priority class, the last sync, and the Work offline toggle.

The window owns the app's plumbing for one profile: ``Ops`` (background work), the
``StoreBridge`` (``changes_applied``) and the ``SyncController``. Pages register with
``add_page`` so later views (dashboards) slot into the navigation.
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from client.store import Changes
from client.sync import SyncEngine

from . import components, icons, theme
from .attribution_view import AttributionPage
from .bridge import StoreBridge
from .campaigns_view import CampaignsPage
from .capture_view import CapturePage
from .conflicts_view import ConflictsPage
from .dashboard_view import DashboardPage
from .health_view import HealthPage
from .ops import Ops
from .sync_controller import SyncController
from .sync_view import SyncPage
from .viral_view import ViralPage

SIDEBAR_WIDTH, SIDEBAR_COMPACT_WIDTH = 210, 56
COMPACT_BELOW = 1100  # window width (px) under which the sidebar shows icons only

STATE_TEXT = {
    "local": ("Local only", "muted"),
    "offline": ("Offline", "warn"),
    "connecting": ("Connecting…", "accent"),
    "online": ("Online", "ok"),
    "error": ("Online · retrying", "danger"),
    "signed_out": ("Signed out", "danger"),
}


class MainWindow(QMainWindow):
    closed = Signal()
    status_shown = Signal()  # the status bar shows a fresh status (queue, last sync, account)

    def __init__(self, engine: SyncEngine, *, tester: bool = False) -> None:
        """``tester``: show the tester's tools (the network control) whatever the profile's
        ``tester_mode`` setting says (``wedsync app --tester``)."""
        super().__init__()
        self.engine = engine
        self.tester = tester
        self.replica = engine.replica
        self.setWindowTitle("WedSync Marketing")
        self.resize(1280, 800)
        self.setMinimumSize(QSize(960, 600))
        self.ops = Ops(engine, self)
        self.bridge = StoreBridge(self.replica, self)
        self.sync = SyncController(engine, self)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.sidebar = side = QWidget(objectName="SidebarPane")
        side.setFixedWidth(SIDEBAR_WIDTH)
        sv = QVBoxLayout(side)
        sv.setContentsMargins(0, 0, 0, 0)
        sv.setSpacing(0)
        self.brand = QLabel("WedSync", objectName="Brand")
        sv.addWidget(self.brand)
        self.account = QLabel("", objectName="BrandSub", wordWrap=True)
        sv.addWidget(self.account)
        self.nav = QListWidget(objectName="Sidebar")
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._titles: list[str] = []
        self.compact = False
        self.nav.setIconSize(QSize(18, 18))
        self.nav.setAccessibleName("Navigation")
        sv.addWidget(self.nav, 1)
        row.addWidget(side)
        self.pages = QStackedWidget()
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.dashboard = DashboardPage(self.ops)
        self.campaigns = CampaignsPage(self.ops)
        self.capture = CapturePage(self.ops)
        self.conflicts = ConflictsPage(self.ops)
        self.sync_page = SyncPage(self.ops)
        self.viral = ViralPage(self.ops)
        self.attribution = AttributionPage(self.ops)
        self._keys: list[str] = []
        self.add_page("dashboard", "Dashboard", "dashboard", self.dashboard)
        self.add_page("campaigns", "Campaigns", "campaigns", self.campaigns)
        self.add_page("capture", "Capture", "capture", self.capture)
        self.add_page("conflicts", "Conflicts", "conflicts", self.conflicts)
        self.add_page("sync", "Sync", "sync", self.sync_page)
        self.add_page("viral", "Viral growth", "viral", self.viral)
        self.add_page("attribution", "Attribution", "flow", self.attribution)
        self.health = HealthPage(self.ops)
        self.add_page("health", "Health", "chart", self.health)
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.nav.setCurrentRow(0)

        # status bar
        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        self.connection = components.Pill("Local only", "muted")
        self.connection.setAccessibleName("Connection")
        self.queue = QLabel()
        self.queue.setToolTip(
            "Items waiting to sync, by priority class: attribution, marketing, contacts, bulk"
        )
        self.last_sync = QLabel()
        self.offline_toggle = QCheckBox("Work offline", objectName="Toggle")
        self.offline_toggle.setToolTip("Queue everything on this computer (Ctrl+Shift+O)")
        self.message = QLabel()
        bar.addWidget(self.connection)
        bar.addWidget(self.message, 1)
        bar.addPermanentWidget(self.queue)
        bar.addPermanentWidget(self.last_sync)
        bar.addPermanentWidget(self.offline_toggle)

        # wiring
        self.bridge.changes_applied.connect(self.on_changes)
        self.ops.failed.connect(self.show_message)
        self.sync.state_changed.connect(self._sync_state)
        self.sync.report.connect(lambda _: self._schedule_status())
        self.offline_toggle.toggled.connect(self.set_offline)
        self.sync_page.sync_now_requested.connect(self.sync_now)
        self.campaigns.conflicts_requested.connect(self.show_conflicts_for)
        self.dashboard.snapshot_shown.connect(self.campaigns.set_performance)
        self.sync.state_changed.connect(lambda state, _: self.dashboard.on_sync_state(state))
        self.conflicts.counts_changed.connect(self.campaigns.set_conflicts)
        self.conflicts.open_campaign.connect(self.open_campaign)
        self.engine.notice_callbacks.append(self._notice)
        self.health.alert_arrived.connect(
            lambda alert: self.show_message(
                f"{'Critical' if alert.get('kind') == 'critical' else 'Recovered'}: "
                f"{alert.get('title', '')}"
            )
        )
        for i in range(min(9, len(self._keys))):
            QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self).activated.connect(
                lambda i=i: self.go(self._keys[i])
            )
        QShortcut(QKeySequence("F5"), self).activated.connect(self.sync_now)
        QShortcut(QKeySequence("Ctrl+Shift+O"), self).activated.connect(self.offline_toggle.toggle)
        self._status_timer = QTimer(self, singleShot=True, interval=300)
        self._status_timer.timeout.connect(self.refresh_status)
        self._clock = QTimer(self, interval=30_000)
        self._clock.timeout.connect(self.refresh_status)
        self._message_timer = QTimer(self, singleShot=True, interval=8_000)
        self._message_timer.timeout.connect(self.message.clear)

    # ------------------------------------------------------------------ pages

    def add_page(self, key: str, title: str, icon_name: str, widget: QWidget) -> None:
        item = QListWidgetItem(icons.icon(icon_name, theme.current().text, 18), title)
        n = len(self._keys) + 1
        item.setToolTip(f"{title} (Ctrl+{n})" if n <= 9 else title)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, title)
        self.nav.addItem(item)
        self._titles.append(title)
        if self.compact:
            item.setText("")
        self.pages.addWidget(widget)
        self._keys.append(key)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._set_compact(event.size().width() < COMPACT_BELOW)
        super().resizeEvent(event)

    def _set_compact(self, compact: bool) -> None:
        """Below ``COMPACT_BELOW`` pixels the sidebar shows icons only (names in tooltips,
        Ctrl+1…6 as ever), so every page keeps the room it needs at the minimum size."""
        if compact == self.compact:
            return
        self.compact = compact
        self.sidebar.setFixedWidth(SIDEBAR_COMPACT_WIDTH if compact else SIDEBAR_WIDTH)
        for widget in (self.brand, self.account):
            widget.setVisible(not compact)
        for i, title in enumerate(self._titles):
            self.nav.item(i).setText("" if compact else title)

    def go(self, key: str) -> None:
        self.nav.setCurrentRow(self._keys.index(key))
        page = self.pages.currentWidget()
        page.focusNextChild() if not page.focusWidget() else page.focusWidget().setFocus()

    def page(self, key: str) -> QWidget:
        return self.pages.widget(self._keys.index(key))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Load every view and start background sync (after the window is shown)."""
        self.dashboard.reload()
        self.campaigns.reload()
        self.capture.reload()
        self.sync_page.reload()
        self.conflicts.reload()
        self.refresh_status()
        self._clock.start()
        self.ops.read(self.replica.campaigns, success=self.capture.set_campaigns)
        self.sync.start()

    async def shutdown(self) -> None:
        self.bridge.changes_applied.disconnect(self.on_changes)
        for timer in (
            self._status_timer,
            self._clock,
            self.capture._refresh,
            self.sync_page._refresh,
            self.health._timer,
            self.dashboard._pending_timer,
        ):
            timer.stop()
        self.campaigns.builder.flush()
        await self.ops.drain()
        await self.sync.stop()
        await self.ops.drain()
        self.bridge.close()
        if self._notice in self.engine.notice_callbacks:
            self.engine.notice_callbacks.remove(self._notice)

    async def idle(self) -> None:
        """Return once no background operation is in flight and every store change has reached
        the views, including the operations those changes started. Background sync and the
        views' coalescing timers are not waited for."""
        while self.ops.busy or self.bridge.pending:
            await self.ops.drain()
            await self.bridge.delivered()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed.emit()
        super().closeEvent(event)

    # ------------------------------------------------------------------ updates

    def on_changes(self, changes: Changes) -> None:
        self.dashboard.on_changes(changes)
        self.campaigns.on_changes(changes)
        self.capture.on_changes(changes)
        self.sync_page.on_changes(changes)
        self.conflicts.on_changes(changes)
        self.health.on_changes(changes)
        if changes.campaigns:
            self.ops.read(self.replica.campaigns, success=self.capture.set_campaigns)
        if changes.outbox or changes.sync or changes.settings:
            self._schedule_status()

    def _schedule_status(self) -> None:
        if not self._status_timer.isActive():
            self._status_timer.start()

    def refresh_status(self) -> None:
        self.ops.read(self.replica.status, success=self._show_status)

    def _show_status(self, status: dict[str, Any]) -> None:
        role = status.get("role")
        queue = status["queue"]
        parts = [f"{components.CLASS_NAMES[c][0]} {int(queue.get(str(c), 0)):,}" for c in range(4)]
        total = sum(int(v) for v in queue.values())
        self.queue.setText(f"Queue {total:,}  ·  " + "  ".join(parts))
        self.dashboard.set_local_queue(total)
        self.last_sync.setText(f"Last sync {components.ago(status.get('last_sync_ms'))}")
        with_signals = self.offline_toggle.blockSignals(True)
        self.offline_toggle.setChecked(status["work_offline"])
        self.offline_toggle.blockSignals(with_signals)
        self.offline_toggle.setEnabled(bool(status.get("server")))
        self.sync_page.set_tester(self.tester or bool(status.get("tester_mode")))
        if status.get("user"):
            who = f"{status['user']} · {(role or 'member').capitalize()}"
            # a long address may wrap after its @ (a zero-width space is a break opportunity)
            self.account.setText(
                f"{status['user'].replace('@', chr(0x200B) + '@')}\n"
                f"{(role or 'member').capitalize()}"
            )
        else:
            who = "This computer only"
            self.account.setText(who)
        self.sidebar.setToolTip(who)  # what the compact sidebar does not show
        self.setWindowTitle(f"WedSync Marketing · {who}")
        if status["work_offline"] and self.sync.state != "offline":
            self._sync_state("offline", "")
        elif (
            not status["work_offline"]
            and status.get("server")
            and self.sync.state in ("offline", "local")
        ):
            self._sync_state("connecting", "")
        self.status_shown.emit()

    def _sync_state(self, state: str, detail: str) -> None:
        text, tone = STATE_TEXT.get(state, (state, "muted"))
        self.connection.set(f"● {text}", tone)
        self.connection.setToolTip(detail or text)
        if state == "error" and detail:
            self.show_message(detail)

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setToolTip(text)  # a long error may not fit the status bar
        self._message_timer.start()

    def _notice(self, kind: str, body: dict) -> None:
        self.dashboard.on_notice(kind, body)
        self.viral.on_notice(kind, body)
        self.attribution.on_notice(kind, body)
        self.conflicts.on_notice(kind, body)
        self.health.on_notice(kind, body)
        if kind == "campaign_invalid" and body.get("message"):  # the builder's banner says more
            self.show_message(f"{body.get('name') or 'A campaign'}: {body['message']}")

    # ------------------------------------------------------------------ actions

    def set_offline(self, offline: bool) -> None:
        def applied(_: Changes) -> None:
            asyncio.ensure_future(self.sync.restart())
            self.show_message(
                "Working offline: everything stays queued here."
                if offline
                else "Back online: syncing what was queued."
            )

        self.ops.write(self.replica.set_offline, offline, success=applied)

    def sync_now(self) -> None:
        self.ops.call(self.sync.sync_now)

    def open_campaign(self, campaign_id: str) -> None:
        self.go("campaigns")
        self.campaigns.open_campaign(campaign_id)

    def show_conflicts_for(self, campaign_id: str) -> None:
        self.go("conflicts")
        self.conflicts.select_campaign(campaign_id)
