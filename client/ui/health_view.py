"""The Health page (admins): every check of the server's monitor with its status colour, figure,
target and trend, the overall status with its reasons, and the alert history, to which alerts
are added as they arrive (the server's ``health_alert`` notices).

The figures are the server's (``GET /api/v1/monitor/health`` and ``/alerts``), fetched off the
GUI thread through ``Ops``; nothing is computed here. The page reads them again when shown,
every minute while shown, on Refresh (which asks the server to read its checks now) and when
an alert arrives. Marketers and viewers, a profile without a server, or one working offline see
why there is nothing to show.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from client.monitoring import ARROWS, figure_text
from client.store import Changes

from . import components, icons, theme
from .ops import Ops, describe

Index = QModelIndex | QPersistentModelIndex
TONES = {"healthy": "ok", "warning": "warn", "critical": "danger", "unknown": "muted"}
GROUP_NAMES = {
    "delivery": "Campaign delivery",
    "content": "Content generation",
    "attribution": "Attribution",
    "viral": "Viral growth",
    "sync": "Sync",
    "storage": "Storage",
}
REFRESH_MS = 60_000
NOTICE_KIND = "health_alert"


SHAPES = {"ok": "check", "warn": "conflicts", "danger": "conflicts", "muted": "wait"}


def _dot(tone: str):  # noqa: ANN202 - a QIcon
    """A check mark when healthy, a warning sign when not, a clock while there is no data."""
    return icons.icon(SHAPES.get(tone, "wait"), theme.current().color(tone), 14)


class HealthModel(QAbstractTableModel):
    """The checks, one per row: status, check, where, figure, target, trend."""

    COLUMNS = ("Status", "Check", "Where", "Figure", "Target", "Trend")

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.checks: list[dict[str, Any]] = []

    def set_checks(self, checks: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.checks = list(checks)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.checks)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        check = self.checks[index.row()]
        col = index.column()
        status = check.get("status", "unknown")
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return status.capitalize()
            if col == 1:
                return f"{GROUP_NAMES.get(check['group'], check['group'])} · {check['title']}"
            if col == 2:
                return "This organisation" if check.get("org_id") else "Server"
            if col == 3:
                return figure_text(check.get("value"), check.get("unit", ""))
            if col == 4:
                return check.get("target", "")
            return self._trend(check.get("trend"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return check.get("message")
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return _dot(TONES.get(status, "muted"))
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 0:
                return theme.current().color(TONES.get(status, "muted"))
            if col == 5:
                improving = (check.get("trend") or {}).get("improving")
                if improving is not None:
                    return theme.current().color("ok" if improving else "danger")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{check['title']}: {status}. {check.get('message', '')}"
        return None

    @staticmethod
    def _trend(trend: dict[str, Any] | None) -> str:
        if not trend:
            return ""
        arrow = ARROWS.get(trend.get("direction", ""), "")
        improving = trend.get("improving")
        if improving is None:
            return f"{arrow} steady"
        return f"{arrow} {'better' if improving else 'worse'}"


class AlertModel(QAbstractListModel):
    """Alerts, newest first; an alert arriving live goes on top (once, by id)."""

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.alerts: list[dict[str, Any]] = []

    def set_alerts(self, alerts: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.alerts = list(alerts)
        self.endResetModel()

    def add(self, alert: dict[str, Any]) -> bool:
        if any(a.get("id") == alert.get("id") for a in self.alerts):
            return False
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.alerts.insert(0, alert)
        self.endInsertRows()
        return True

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.alerts)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        alert = self.alerts[index.row()]
        critical = alert.get("kind") == "critical"
        if role == Qt.ItemDataRole.DisplayRole:
            head = "Critical" if critical else "Recovered"
            if alert.get("suppressed"):
                head += " (not sent: cooldown)"
            where = alert.get("org_name") or "Server"
            return (
                f"{components.clock(alert.get('at_ms'))}   {head} · {where}\n{alert.get('message')}"
            )
        if role == Qt.ItemDataRole.DecorationRole:
            return _dot("danger" if critical else "ok")
        if role == Qt.ItemDataRole.ToolTipRole:
            channels = alert.get("channels") or {}
            return "\n".join(f"{k}: {v}" for k, v in sorted(channels.items())) or None
        return None


class HealthPage(QWidget):
    #: an alert arrived live (its body): the window may say so in its status bar
    alert_arrived = Signal(dict)
    #: the checks were shown (after each successful read)
    loaded = Signal()

    def __init__(self, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.is_admin = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.setSpacing(12)
        self.header = components.PageHeader(
            "Health",
            "The server's own checks: campaign delivery, content, attribution, viral growth, "
            "sync and storage.",
        )
        self.refresh_button = QPushButton(icons.icon("sync", theme.current().text, 16), "Refresh")
        self.refresh_button.setToolTip("Have the server read its checks now")
        self.header.actions.addWidget(self.refresh_button)
        outer.addWidget(self.header)

        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        self.empty = components.EmptyState("", "")
        self.stack.addWidget(self.empty)

        main = QWidget()
        body = QVBoxLayout(main)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(10)
        row = QHBoxLayout()
        self.overall = components.Pill("Unknown", "muted")
        self.overall.setAccessibleName("Overall status")
        self.as_of = QLabel(objectName="Muted")
        row.addWidget(self.overall)
        row.addWidget(self.as_of, 1)
        body.addLayout(row)
        self.reasons = QLabel(wordWrap=True)
        self.reasons.setAccessibleName("Why")
        body.addWidget(self.reasons)

        split = QSplitter(Qt.Orientation.Vertical)
        self.model = HealthModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Health checks")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        split.addWidget(self.table)
        alerts_card = components.Card("Alerts")
        self.alerts = AlertModel(self)
        self.alert_list = QListView()
        self.alert_list.setModel(self.alerts)
        self.alert_list.setAccessibleName("Alerts")
        self.alert_list.setWordWrap(True)
        alerts_card.body.addWidget(self.alert_list)
        split.addWidget(alerts_card)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([480, 150])
        body.addWidget(split, 1)
        self.message = QLabel(wordWrap=True)
        body.addWidget(self.message)
        self.stack.addWidget(main)
        self.main = main

        self._timer = QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.reload)
        self.refresh_button.clicked.connect(lambda: self.reload(refresh=True))

    # ------------------------------------------------------------------ loading

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()
        self.reload()

    def hideEvent(self, event) -> None:  # noqa: ANN001
        self._timer.stop()
        super().hideEvent(event)

    def reload(self, refresh: bool = False) -> None:
        replica = self.ops.replica
        self.ops.read(
            lambda: (
                replica.get_setting("role"),
                replica.get_setting("server_url"),
                replica.offline,
            ),
            success=lambda data: self._loaded_settings(data, refresh),
        )

    def _loaded_settings(self, data: tuple[str | None, str | None, bool], refresh: bool) -> None:
        role, server, offline = data
        self.is_admin = role == "admin"
        self.refresh_button.setEnabled(bool(server) and not offline and self.is_admin)
        if not server:
            self._empty("Health needs a server", "Sign in to see how the server is doing.")
            return
        if not self.is_admin:
            self._empty(
                "Health is for admins",
                "An admin of your organisation sees the server's checks and its alerts here.",
            )
            return
        if offline:
            self._empty(
                "Working offline",
                "The checks live on the server. Turn off Work offline (Ctrl+Shift+O) to see them.",
            )
            return
        engine = self.ops.engine
        path = "/api/v1/monitor/health" + ("?refresh=1" if refresh else "")
        self.ops.call(
            lambda: engine.api("GET", path),
            success=self.set_health,
            failure=lambda exc: self._failed(exc),
        )
        self.ops.call(
            lambda: engine.api("GET", "/api/v1/monitor/alerts?limit=100"),
            success=lambda body: self.alerts.set_alerts(body.get("alerts", [])),
            failure=lambda exc: self._failed(exc),
        )

    def _failed(self, exc: BaseException) -> None:
        if self.stack.currentWidget() is self.main:
            self.message.setText(f"Could not refresh: {describe(exc)}")
        else:
            self._empty("Could not load the checks", describe(exc))

    def _empty(self, title: str, hint: str) -> None:
        self.empty.set_text(title, hint)
        self.stack.setCurrentWidget(self.empty)

    def set_health(self, body: dict[str, Any]) -> None:
        overall = body.get("overall") or {}
        status = overall.get("status", "unknown")
        self.overall.set(f"● {status.capitalize()}", TONES.get(status, "muted"))
        counts = overall.get("counts") or {}
        self.as_of.setText(
            f"{counts.get('critical', 0)} critical · {counts.get('warning', 0)} warning · "
            f"{counts.get('healthy', 0)} healthy · {counts.get('unknown', 0)} without data · "
            f"as of {components.clock(body.get('as_of_ms'))}"
        )
        reasons = overall.get("reasons") or []
        self.reasons.setText("\n".join(reasons[:6]) + ("\n…" if len(reasons) > 6 else ""))
        self.reasons.setVisible(bool(reasons))
        self.reasons.setStyleSheet(
            f"color: {theme.current().color(TONES.get(status, 'muted')).name()};"
        )
        self.model.set_checks(body.get("checks") or [])
        self.message.clear()
        self.stack.setCurrentWidget(self.main)
        self.loaded.emit()

    # ------------------------------------------------------------------ live

    def on_notice(self, kind: str, body: dict[str, Any]) -> None:
        if kind != NOTICE_KIND:
            return
        if self.alerts.add(body):
            self.alert_arrived.emit(body)
        if self.isVisible():
            self.reload()

    def on_changes(self, changes: Changes) -> None:
        if changes.settings and self.isVisible():
            self.reload()
