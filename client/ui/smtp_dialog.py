"""The organisation's mail server (SMTP) settings, for admins: host, port, security, login and
the sender address, and a test message. The password goes to the server and never comes back:
the dialog only learns whether one is set, and an empty password field keeps it.

Every request runs off the GUI thread (``Ops.call``); the server checks the role too.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from client.automation import save_smtp_settings, smtp_body, smtp_settings, smtp_test
from client.store import StoreError

from . import theme
from .ops import Ops, describe

SECURITY_CHOICES = (
    ("starttls", "STARTTLS (port 587)"),
    ("tls", "TLS from the start (port 465)"),
    ("none", "None (a relay on this network only)"),
)
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class SmtpDialog(QDialog):
    loaded = Signal()  # the current settings (or why they could not be read) are shown
    saved = Signal(bool)  # a save finished: accepted (True) or refused
    tested = Signal(bool)  # a test message finished: accepted (True) or not

    def __init__(self, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.setWindowTitle("Mail server")
        self.setMinimumWidth(520)
        v = QVBoxLayout(self)
        v.setSpacing(10)
        intro = QLabel(
            "Campaign emails go out through your organisation's mail server. The password is "
            "kept on the WedSync server, never on this computer.",
            wordWrap=True,
            objectName="Muted",
        )
        v.addWidget(intro)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.host = QLineEdit(placeholderText="smtp.example.com")
        self.port = QSpinBox(minimum=1, maximum=65535, value=587)
        self.security = QComboBox()
        for key, text in SECURITY_CHOICES:
            self.security.addItem(text, key)
        self.user = QLineEdit(placeholderText="login name (empty: no login)")
        self.password = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("password")
        self.sender = QLineEdit(placeholderText="Hollow Barn <hello@hollowbarn.example>")
        self.sender.setPlaceholderText("hello@hollowbarn.example")
        for label, widget in (
            ("Host", self.host),
            ("Port", self.port),
            ("Security", self.security),
            ("Login", self.user),
            ("Password", self.password),
            ("Send as", self.sender),
        ):
            widget.setAccessibleName(label)
            form.addRow(label, widget)
        v.addLayout(form)
        self.state = QLabel(wordWrap=True)
        self.state.setAccessibleName("Mail server status")
        v.addWidget(self.state)

        buttons = QHBoxLayout()
        self.to = QLineEdit(placeholderText="send a test to…")
        self.to.setAccessibleName("Test address")
        self.test_button = QPushButton("Send test")
        buttons.addWidget(self.to, 1)
        buttons.addWidget(self.test_button)
        buttons.addSpacing(16)
        self.save_button = QPushButton("Save", objectName="Primary")
        self.close_button = QPushButton("Close")
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.close_button)
        v.addLayout(buttons)

        self.security.activated.connect(self._security_chosen)
        self.save_button.clicked.connect(self.save)
        self.test_button.clicked.connect(self.send_test)
        self.close_button.clicked.connect(self.reject)
        self._password_set = False
        self._set_busy(True)
        replica = ops.replica
        ops.read(
            lambda: replica.get_setting("user_email"),
            success=lambda email: self.to.text() or self.to.setText(email or ""),
        )
        ops.call(lambda: smtp_settings(ops.engine), success=self._show, failure=self._load_failed)

    # ------------------------------------------------------------------ showing

    def _set_busy(self, busy: bool) -> None:
        for w in (self.save_button, self.test_button):
            w.setEnabled(not busy)

    def _say(self, text: str, tone: str = "") -> None:
        self.state.setText(text)
        color = theme.current().color(tone).name() if tone else ""
        self.state.setStyleSheet(f"color: {color};" if color else "")

    def _security_chosen(self, *_: Any) -> None:
        if self.port.value() in DEFAULT_PORTS.values():
            self.port.setValue(DEFAULT_PORTS[self.security.currentData()])

    def _show(self, settings: dict[str, Any]) -> None:
        self._set_busy(False)
        if not settings.get("configured"):
            self._password_set = False
            self._say("No mail server yet: campaigns cannot send email until one is saved.", "warn")
        else:
            self.host.setText(settings.get("host") or "")
            self.port.setValue(int(settings.get("port") or 587))
            self.security.setCurrentIndex(max(0, self.security.findData(settings.get("security"))))
            self.user.setText(settings.get("user") or "")
            self.sender.setText(settings.get("from") or "")
            self._password_set = bool(settings.get("password_set"))
            self._say(f"Sending through {settings.get('host')}:{settings.get('port')}.", "ok")
        self.password.clear()
        self.password.setPlaceholderText(
            "set: leave empty to keep it"
            if self._password_set
            else "password (if the login needs one)"
        )
        self.loaded.emit()

    def _load_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.save_button.setEnabled(False)
        self.test_button.setEnabled(False)
        self._say(f"Cannot read the mail server settings: {describe(exc)}", "danger")
        self.loaded.emit()

    # ------------------------------------------------------------------ actions

    def body(self) -> dict[str, Any]:
        """What Save sends (checked here first; the server checks again). An empty password
        keeps the saved one, unless the login is emptied too: then both go."""
        password, user = self.password.text(), self.user.text().strip()
        keep = self._password_set and not password and bool(user)
        return smtp_body(
            host=self.host.text(),
            port=self.port.value(),
            security=self.security.currentData(),
            user=user,
            password=None if keep else password,
            sender=self.sender.text(),
        )

    def save(self) -> None:
        try:
            body = self.body()
        except (StoreError, ValueError) as exc:  # say what to fix; nothing is sent
            self._say(describe(exc), "danger")
            self.saved.emit(False)
            return
        self._set_busy(True)
        self._say("Saving…")

        def done(settings: dict[str, Any]) -> None:
            self._show(settings)
            self._say("Saved. Send a test to check that the mail server accepts it.", "ok")
            self.saved.emit(True)

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self._say(f"Not saved: {describe(exc)}", "danger")
            self.saved.emit(False)

        self.ops.call(
            lambda: save_smtp_settings(self.ops.engine, body), success=done, failure=failed
        )

    def send_test(self) -> None:
        to = self.to.text()
        self._set_busy(True)
        self._say(f"Sending a test to {to.strip()}…")

        def done(result: dict[str, Any]) -> None:
            self._set_busy(False)
            self._say(f"The mail server accepted the test to {result['to']}.", "ok")
            self.tested.emit(True)

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self._say(describe(exc), "danger")
            self.tested.emit(False)

        self.ops.call(lambda: smtp_test(self.ops.engine, to), success=done, failure=failed)
