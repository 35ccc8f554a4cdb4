"""Light and dark palettes that follow the operating system, and the app's style sheet.

The OS colour scheme (``QStyleHints.colorScheme``) picks the palette at start and whenever the user
switches it; custom-painted widgets (the flow canvas, status pills) read their colours from
``current()`` so they switch too.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    dark: bool
    window: str
    surface: str
    sunken: str
    border: str
    text: str
    muted: str
    accent: str
    accent_text: str
    ok: str
    warn: str
    danger: str
    node: dict[str, str]

    def color(self, name: str) -> QColor:
        return QColor(getattr(self, name))


LIGHT = Theme(
    dark=False,
    window="#f6f7f9",
    surface="#ffffff",
    sunken="#eef0f3",
    border="#dcdfe5",
    text="#1d2330",
    muted="#6b7385",
    accent="#5b5bd6",
    accent_text="#ffffff",
    ok="#1f9d55",
    warn="#c77c02",
    danger="#d93f3f",
    node={
        "trigger": "#7c5cff",
        "send_email": "#2f80ed",
        "wait": "#8a94a6",
        "branch": "#e0891b",
        "goal": "#1f9d55",
    },
)
DARK = Theme(
    dark=True,
    window="#17191e",
    surface="#1f2228",
    sunken="#15171b",
    border="#30343c",
    text="#e6e8ee",
    muted="#959cab",
    accent="#8083ff",
    accent_text="#ffffff",
    ok="#3cc47c",
    warn="#f0a43a",
    danger="#f06464",
    node={
        "trigger": "#9b85ff",
        "send_email": "#5aa0ff",
        "wait": "#9aa3b5",
        "branch": "#f0a43a",
        "goal": "#3cc47c",
    },
)

_current = LIGHT


def current() -> Theme:
    return _current


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def _palette(t: Theme) -> QPalette:
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: t.window,
        QPalette.ColorRole.WindowText: t.text,
        QPalette.ColorRole.Base: t.surface,
        QPalette.ColorRole.AlternateBase: t.sunken,
        QPalette.ColorRole.Text: t.text,
        QPalette.ColorRole.Button: t.surface,
        QPalette.ColorRole.ButtonText: t.text,
        QPalette.ColorRole.Highlight: t.accent,
        QPalette.ColorRole.HighlightedText: t.accent_text,
        QPalette.ColorRole.ToolTipBase: t.surface,
        QPalette.ColorRole.ToolTipText: t.text,
        QPalette.ColorRole.PlaceholderText: t.muted,
        QPalette.ColorRole.Link: t.accent,
        QPalette.ColorRole.Mid: t.border,
        QPalette.ColorRole.Midlight: t.sunken,
        QPalette.ColorRole.Dark: t.border,
    }
    for role, color in roles.items():
        pal.setColor(role, QColor(color))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(t.muted))
    return pal


def style_sheet(t: Theme) -> str:
    return f"""
    QWidget {{ font-size: 10pt; }}
    QMainWindow, QDialog {{ background: {t.window}; }}
    #Sidebar {{ background: {t.sunken}; border: none; border-right: 1px solid {t.border};
        padding: 8px 6px; outline: 0; }}
    #Sidebar::item {{ padding: 7px 10px; border-radius: 6px; margin: 1px 0; color: {t.text}; }}
    #Sidebar::item:selected {{ background: {t.surface}; color: {t.accent}; font-weight: 600;
        border: 1px solid {t.border}; }}
    #Sidebar::item:hover:!selected {{ background: {t.border}; }}
    #Brand {{ font-size: 12pt; font-weight: 700; padding: 14px 14px 6px 16px; color: {t.text};
        background: {t.sunken}; }}
    #BrandSub {{ color: {t.muted}; padding: 0 16px 10px 16px; background: {t.sunken};
        font-size: 9pt; }}
    #SidebarPane {{ background: {t.sunken}; border-right: 1px solid {t.border}; }}
    #PageTitle {{ font-size: 16pt; font-weight: 700; }}
    #PageSubtitle, .muted, #Muted {{ color: {t.muted}; }}
    #Card {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: 10px; }}
    #CardTitle {{ color: {t.muted}; font-size: 9pt; font-weight: 600; text-transform: uppercase; }}
    #CardValue {{ font-size: 20pt; font-weight: 700; }}
    #EmptyTitle {{ font-size: 13pt; font-weight: 600; }}
    #Badge {{ background: {t.warn}; color: #ffffff; border-radius: 9px; padding: 2px 10px;
        font-weight: 600; border: none; }}
    #Badge:focus {{ border: 2px solid {t.text}; }}
    #Pill {{ border-radius: 9px; padding: 2px 10px; font-weight: 600; }}
    #NameEdit {{ font-size: 15pt; font-weight: 700; border: 1px solid transparent;
        background: transparent; padding: 2px 4px; }}
    #NameEdit:focus, #NameEdit:hover {{ border: 1px solid {t.border}; background: {t.surface};
        border-radius: 6px; }}
    QLineEdit, QPlainTextEdit, QTextEdit, QSpinBox, QDoubleSpinBox, QComboBox, QDateTimeEdit,
    QTimeEdit {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: 6px;
        padding: 4px 6px; selection-background-color: {t.accent}; }}
    QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus,
    QComboBox:focus, QDateTimeEdit:focus, QTimeEdit:focus {{ border: 1px solid {t.accent}; }}
    QComboBox::drop-down {{ border: none; width: 20px; }}
    QSpinBox::up-button, QSpinBox::down-button, QDoubleSpinBox::up-button,
    QDoubleSpinBox::down-button, QDateTimeEdit::up-button, QDateTimeEdit::down-button,
    QTimeEdit::up-button, QTimeEdit::down-button {{ border: none; width: 16px; }}
    QPushButton, QToolButton {{ background: {t.surface}; border: 1px solid {t.border};
        border-radius: 6px; padding: 5px 12px; }}
    QPushButton:hover, QToolButton:hover {{ border-color: {t.muted}; }}
    QPushButton:focus, QToolButton:focus {{ border: 1px solid {t.accent}; }}
    QPushButton:disabled {{ color: {t.muted}; }}
    QPushButton#Primary {{ background: {t.accent}; color: {t.accent_text}; border: 1px solid {t.accent};
        font-weight: 600; }}
    QPushButton#Primary:disabled {{ background: {t.border}; border-color: {t.border};
        color: {t.muted}; }}
    QPushButton#Danger {{ color: {t.danger}; }}
    QToolButton#Segment {{ border-radius: 6px; padding: 5px 10px; }}
    QToolButton#Segment:checked {{ background: {t.accent}; color: {t.accent_text};
        border-color: {t.accent}; font-weight: 600; }}
    QTableView, QListView, QTreeView {{ background: {t.surface}; border: 1px solid {t.border};
        border-radius: 8px; gridline-color: transparent; outline: 0;
        selection-background-color: {t.accent}; selection-color: {t.accent_text}; }}
    QTableView::item {{ padding: 4px 6px; border: none; }}
    QHeaderView::section {{ background: {t.surface}; color: {t.muted}; border: none;
        border-bottom: 1px solid {t.border}; padding: 6px; font-weight: 600; }}
    QTabWidget::pane {{ border: 1px solid {t.border}; border-radius: 8px; background: {t.surface};
        top: -1px; }}
    QTabBar::tab {{ padding: 6px 7px; border: none; color: {t.muted}; }}
    QTabBar::tab:selected {{ color: {t.text}; border-bottom: 2px solid {t.accent}; font-weight: 600; }}
    QStatusBar {{ background: {t.sunken}; border-top: 1px solid {t.border}; color: {t.muted}; }}
    QStatusBar QLabel {{ padding: 0 8px; }}
    QStatusBar::item {{ border: none; }}
    QGraphicsView {{ background: {t.window}; border: 1px solid {t.border}; border-radius: 8px; }}
    QSplitter::handle {{ background: {t.border}; }}
    QScrollArea {{ border: none; background: transparent; }}
    QGroupBox {{ border: 1px solid {t.border}; border-radius: 8px; margin-top: 12px;
        padding: 10px 8px 8px 8px; font-weight: 600; }}
    QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {t.muted}; }}
    QCheckBox#Toggle {{ padding: 0 6px; }}
    QToolTip {{ background: {t.surface}; color: {t.text}; border: 1px solid {t.border}; }}
    """


class ThemeWatcher(QObject):
    """Applies the palette matching the OS scheme, now and whenever it changes."""

    changed = Signal(object)  # Theme

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.app = app
        app.setStyle("Fusion")  # the same metrics on every platform; the palette does the rest
        font = QFont(app.font())
        font.setPointSizeF(max(font.pointSizeF(), 10.0))
        app.setFont(font)
        self.apply()
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: self.apply())

    def apply(self, dark: bool | None = None) -> Theme:
        global _current
        _current = DARK if (system_prefers_dark() if dark is None else dark) else LIGHT
        self.app.setPalette(_palette(_current))
        self.app.setStyleSheet(style_sheet(_current))
        self.changed.emit(_current)
        return _current
