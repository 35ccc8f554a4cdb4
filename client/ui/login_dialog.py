"""First start: sign in to a server (the device token goes to the OS keyring) or use this
computer only, with a local profile."""

from __future__ import annotations

import socket

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from . import theme
from .ops import Ops, describe

LOCAL_ONLY = "local_only"


class LoginDialog(QDialog):
    def __init__(self, ops: Ops, parent: QWidget | None = None, server_url: str = "") -> None:
        super().__init__(parent)
        self.ops = ops
        self.setWindowTitle("Welcome to WedSync")
        self.setMinimumWidth(440)
        v = QVBoxLayout(self)
        v.setContentsMargins(28, 24, 28, 20)
        v.setSpacing(12)
        v.addWidget(QLabel("Sign in", objectName="PageTitle"))
        hint = QLabel(
            "Sign in to sync campaigns and captures with your team. You can also work "
            "on this computer only and sign in later.",
            objectName="Muted",
        )
        hint.setWordWrap(True)
        v.addWidget(hint)
        form = QFormLayout()
        form.setVerticalSpacing(10)
        self.server = QLineEdit(server_url, placeholderText="https://wedsync.example.com")
        self.email = QLineEdit(placeholderText="you@venue.co.uk")
        self.password = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        form.addRow("Server", self.server)
        form.addRow("Email", self.email)
        form.addRow("Password", self.password)
        v.addLayout(form)
        self.error = QLabel(wordWrap=True)
        self.error.setStyleSheet(f"color: {theme.current().danger};")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.error)
        buttons = QHBoxLayout()
        self.offline_button = QPushButton("Use offline only")
        self.sign_in = QPushButton("Sign in", objectName="Primary", default=True)
        buttons.addWidget(self.offline_button)
        buttons.addStretch(1)
        buttons.addWidget(self.sign_in)
        v.addLayout(buttons)
        self.sign_in.clicked.connect(self.submit)
        self.offline_button.clicked.connect(self.use_offline)
        self.setTabOrder(self.server, self.email)
        self.setTabOrder(self.email, self.password)
        self.setTabOrder(self.password, self.sign_in)
        self.setTabOrder(self.sign_in, self.offline_button)
        (self.email if server_url else self.server).setFocus()

    def submit(self) -> None:
        server, email, password = (
            self.server.text().strip(),
            self.email.text().strip(),
            self.password.text(),
        )
        if not server or not email or not password:
            self.error.setText("Enter the server, your email and your password.")
            return
        if "://" not in server:
            server = "https://" + server
        self.sign_in.setEnabled(False)
        self.error.clear()

        def failed(exc: BaseException) -> None:
            self.sign_in.setEnabled(True)
            self.error.setText(describe(exc))

        self.ops.call(
            lambda: self.ops.engine.login(server, email, password, socket.gethostname()),
            success=lambda _: self.accept(),
            failure=failed,
        )

    def use_offline(self) -> None:
        self.ops.write(
            self.ops.replica.set_setting, LOCAL_ONLY, "1", success=lambda _: self.accept()
        )
