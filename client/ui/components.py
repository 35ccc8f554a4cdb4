"""Building blocks shared by the views: page header, card, empty state, status pill, and the
human formatting of money, times and kinds."""

from __future__ import annotations

import time
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStyleOptionHeader,
    QVBoxLayout,
    QWidget,
)

from . import theme

KIND_LABELS = {
    "lead": "Lead",
    "touchpoint": "Touchpoint",
    "conversion": "Conversion",
    "invite_sent": "Referral invite",
    "invite_accepted": "Referral accepted",
    "health_score": "Health score",
    "milestone": "Milestone",
    "send": "Send",
    "open": "Open",
    "click": "Click",
    "unsubscribe": "Unsubscribe",
    "survey": "Survey",
    "contact": "Contact",
    "attachment": "Attachment",
    "activity_log": "Activity log",
}
CLASS_NAMES = {0: "Attribution", 1: "Marketing", 2: "Contacts", 3: "Bulk"}
STATUS_COLORS = {
    "draft": "muted",
    "scheduled": "accent",
    "active": "ok",
    "paused": "warn",
    "archived": "muted",
}


def money(cents: int | None) -> str:
    if cents is None:
        return "—"
    return f"£{cents / 100:,.2f}"


def label(name: str | None) -> str:
    if not name:
        return ""
    return KIND_LABELS.get(name) or name.replace("_", " ").capitalize()


def ago(ms: int | None, now_ms: int | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', or a date."""
    if not ms:
        return "never"
    now_ms = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    seconds = max(0, (now_ms - ms) // 1000)
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86_400:
        return f"{seconds // 3600} h ago"
    return datetime.fromtimestamp(ms / 1000).strftime("%d %b %Y")


def clock(ms: int | None) -> str:
    if not ms:
        return "—"
    moment = datetime.fromtimestamp(ms / 1000)
    if moment.date() == datetime.now().date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%d %b %H:%M")


class PageHeader(QWidget):
    def __init__(self, title: str, subtitle: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        text = QVBoxLayout()
        text.setSpacing(2)
        self.title = QLabel(title, objectName="PageTitle")
        self.subtitle = QLabel(subtitle, objectName="PageSubtitle", wordWrap=True)
        self.subtitle.setVisible(bool(subtitle))
        text.addWidget(self.title)
        text.addWidget(self.subtitle)
        layout.addLayout(text, 1)
        self.actions = QHBoxLayout()
        self.actions.setSpacing(8)
        layout.addLayout(self.actions)


class Card(QFrame):
    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="Card")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(16, 12, 16, 14)
        self.body.setSpacing(6)
        if title:
            self.body.addWidget(QLabel(title, objectName="CardTitle"))


class EmptyState(QWidget):
    """A centred message that tells the user what to do next."""

    def __init__(self, title: str, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.title = QLabel(title, objectName="EmptyTitle", alignment=Qt.AlignmentFlag.AlignCenter)
        self.hint = QLabel(hint, objectName="Muted", alignment=Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addStretch(2)

    def set_text(self, title: str, hint: str) -> None:
        self.title.setText(title)
        self.hint.setText(hint)


class Pill(QLabel):
    """A rounded label tinted by meaning (ok, warn, danger, accent, muted)."""

    def __init__(self, text: str = "", tone: str = "muted", parent: QWidget | None = None) -> None:
        super().__init__(text, parent, objectName="Pill")
        self.set(text, tone)

    def set(self, text: str, tone: str) -> None:
        t = theme.current()
        color = t.color(tone if tone in ("ok", "warn", "danger", "accent") else "muted")
        background = color.lighter(185) if not t.dark else color.darker(260)
        if tone == "muted":
            background = t.color("sunken")
        self.setText(text)
        self.setStyleSheet(
            f"#Pill {{ color: {color.name()}; background: {background.name()}; "
            f"border: 1px solid {color.name() if tone != 'muted' else t.border}; }}"
        )


class SortHeader(QHeaderView):
    """A horizontal table header whose sort arrow points the way the rows run: down when the
    largest or newest come first (descending), up for ascending.

    Qt's header hands styles ``SortUp`` for a descending sort, so every built-in style draws an
    up arrow over a newest-first list; this header swaps the two before painting."""

    _FLIP = {
        QStyleOptionHeader.SortIndicator.SortUp: QStyleOptionHeader.SortIndicator.SortDown,
        QStyleOptionHeader.SortIndicator.SortDown: QStyleOptionHeader.SortIndicator.SortUp,
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setSectionsClickable(True)

    def initStyleOptionForIndex(self, option: QStyleOptionHeader, logical_index: int) -> None:
        super().initStyleOptionForIndex(option, logical_index)
        option.sortIndicator = self._FLIP.get(option.sortIndicator, option.sortIndicator)
