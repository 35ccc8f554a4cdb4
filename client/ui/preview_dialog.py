"""The email preview: a campaign's variant rendered for a sample contact by the server (the same
template sandbox as real sends), its text and HTML parts, and a test send to an address.

Rendering happens on the server; offline the dialog shows the template as written and says so.
Every request runs off the GUI thread (``Ops.call``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from client.automation import preview, send_test_email
from client.sync import NotLoggedIn, OfflineError, ServerUnreachable

from . import theme
from .ops import Ops, describe

#: refusals that mean "no server to ask right now", as opposed to the server saying no
UNREACHABLE = (OfflineError, ServerUnreachable, NotLoggedIn)


class PreviewDialog(QDialog):
    rendered = Signal()  # a preview (or the template as written) is shown
    send_finished = Signal(bool)  # a test send was accepted (True) or not

    def __init__(self, ops: Ops, campaign: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.campaign = campaign
        self.setWindowTitle(f"Preview · {campaign.get('name') or 'Untitled campaign'}")
        self.setMinimumSize(720, 560)
        v = QVBoxLayout(self)
        v.setSpacing(10)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.variant = QComboBox()
        self.variant.setAccessibleName("Variant")
        for item in campaign.get("variants") or []:
            subject = item.get("subject") or "no subject yet"
            self.variant.addItem(f"Variant {item.get('label', '?')} · {subject}", item["id"])
        form.addRow("Variant", self.variant)
        contact = QHBoxLayout()
        self.first_name = QLineEdit("Ella", placeholderText="first name")
        self.first_name.setAccessibleName("Sample first name")
        self.email = QLineEdit("ella@example.com", placeholderText="email")
        self.email.setAccessibleName("Sample email")
        contact.addWidget(self.first_name, 1)
        contact.addWidget(self.email, 2)
        form.addRow("Sample contact", contact)
        v.addLayout(form)

        self.subject = QLabel(wordWrap=True)
        self.subject.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subject.setStyleSheet("font-size: 12pt; font-weight: 600;")
        self.subject.setAccessibleName("Subject")
        v.addWidget(self.subject)
        self.tabs = QTabWidget()
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setAccessibleName("Plain-text part")
        self.html = QTextBrowser()
        self.html.setOpenLinks(False)  # a preview never follows (tracked) links
        self.html.setAccessibleName("HTML part")
        self.tabs.addTab(self.html, "HTML")
        self.tabs.addTab(self.text, "Text")
        v.addWidget(self.tabs, 1)
        self.notice = QLabel(wordWrap=True)
        self.notice.hide()
        v.addWidget(self.notice)

        send = QHBoxLayout()
        send.addWidget(QLabel("Send a test to"))
        self.to = QLineEdit(placeholderText="you@example.com")
        self.to.setAccessibleName("Test address")
        send.addWidget(self.to, 1)
        self.send_button = QPushButton("Send test", objectName="Primary")
        send.addWidget(self.send_button)
        v.addLayout(send)
        self.send_result = QLabel(wordWrap=True)
        self.send_result.setAccessibleName("Test send result")
        v.addWidget(self.send_result)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        v.addWidget(buttons)

        self._timer = QTimer(self, singleShot=True, interval=350)
        self._timer.timeout.connect(self.render)
        self.variant.currentIndexChanged.connect(lambda *_: self.render())
        for edit in (self.first_name, self.email):
            edit.textEdited.connect(lambda *_: self._timer.start())
        self.send_button.clicked.connect(self.send_test)
        self.to.returnPressed.connect(self.send_test)
        replica = ops.replica
        ops.read(
            lambda: replica.get_setting("user_email"),
            success=lambda email: self.to.text() or self.to.setText(email or ""),
        )
        if self.variant.count() == 0:
            self._show_notice("This campaign has no content yet: add a variant in Content.", "warn")
            self.send_button.setEnabled(False)
        else:
            self.render()

    # ------------------------------------------------------------------ preview

    def contact(self) -> dict[str, str]:
        fields = {"first_name": self.first_name.text().strip(), "email": self.email.text().strip()}
        return {k: v for k, v in fields.items() if v}

    def render(self) -> None:
        variant = self.variant.currentData()
        if variant is None:
            return
        contact = self.contact()
        self.ops.call(
            lambda: preview(
                self.ops.engine, self.campaign["id"], variant=variant, contact=contact or None
            ),
            success=lambda result: self._show(result, variant),
            failure=lambda exc: self._failed(exc, variant),
        )

    def _current(self, variant: str) -> bool:
        return self.variant.currentData() == variant

    def _show(self, result: dict[str, Any], variant: str) -> None:
        if not self._current(variant):
            return
        self.subject.setText(result["subject"] or "(no subject)")
        self.text.setPlainText(result["text"])
        self.html.setHtml(result["html"])
        self.notice.hide()
        self.rendered.emit()

    def _failed(self, exc: BaseException, variant: str) -> None:
        if not self._current(variant):
            return
        if isinstance(exc, UNREACHABLE):
            raw = next(
                (v for v in self.campaign.get("variants") or [] if v.get("id") == variant), {}
            )
            self.subject.setText(raw.get("subject") or "(no subject)")
            self.text.setPlainText(raw.get("body") or "")
            self.html.setHtml(raw.get("html") or "")
            self._show_notice(
                "Not rendered: the server fills in each contact's fields, as it does for real "
                f"sends, and it cannot be asked now ({describe(exc)}). This is the template as "
                "written.",
                "warn",
            )
        else:
            self._show_notice(f"The server could not render this email: {describe(exc)}", "danger")
        self.rendered.emit()

    def _show_notice(self, text: str, tone: str) -> None:
        self.notice.setText(text)
        self.notice.setStyleSheet(f"color: {theme.current().color(tone).name()};")
        self.notice.show()

    # ------------------------------------------------------------------ test send

    def send_test(self) -> None:
        variant = self.variant.currentData()
        to = self.to.text().strip()
        if variant is None or not self.send_button.isEnabled():
            return
        self.send_button.setEnabled(False)
        self.send_result.setStyleSheet("")
        self.send_result.setText(f"Sending to {to}…")
        contact = self.contact()

        def done(result: dict[str, Any]) -> None:
            self.send_button.setEnabled(True)
            self.send_result.setStyleSheet(f"color: {theme.current().color('ok').name()};")
            self.send_result.setText(
                f"Sent to {result['to']}: the mail server accepted it "
                f"({result.get('message_id') or 'no message id'})."
            )
            self.send_finished.emit(True)

        def failed(exc: BaseException) -> None:
            self.send_button.setEnabled(True)
            self.send_result.setStyleSheet(f"color: {theme.current().color('danger').name()};")
            self.send_result.setText(f"Not sent: {describe(exc)}")
            self.send_finished.emit(False)

        self.ops.call(
            lambda: send_test_email(
                self.ops.engine,
                self.campaign["id"],
                to=to,
                variant=variant,
                contact=contact or None,
            ),
            success=done,
            failure=failed,
        )
