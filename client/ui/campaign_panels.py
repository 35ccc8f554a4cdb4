"""The builder's side panels: the selected step, the trigger, the audience, the content
variants, the schedule (dates, quiet hours, frequency cap, budget) and status (the Notes tab is
``campaign_notes``).

Each panel shows a campaign snapshot and turns what the user does into one document edit through
``apply(fn)`` (the builder runs ``fn`` on its working copy, undoably, and writes it through the
replica). ``show`` never overwrites a field the user is typing in: text fields are bound through
``TextBinding``, which commits pending typing before a remote change is shown and keeps the cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDateTime, QSignalBlocker, Qt, QTime, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTimeEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from shared.protocol import campaign as schema
from shared.protocol import campaign_rules

from . import campaign_edits as edits
from . import components, icons, theme
from .campaign_start import StartGuide
from .content_generator import VariantGenerator
from .flow_canvas import STEP_TITLES, TRIGGER

Apply = Callable[[Callable[[Any], Any]], bool]

RULE_FIELDS = (
    "channel",
    "wedding_date_days",
    "health_score",
    "last_open_days",
    "venue",
    "city",
    "tag",
    "supplier_type",
    "invites_accepted",
)
STATUS_ACTIONS = {
    "scheduled": "Schedule",
    "active": "Activate",
    "paused": "Pause",
    "archived": "Archive",
    "draft": "Back to draft",
}


# ---------------------------------------------------------------------- text binding


class TextBinding:
    """Binds a QLineEdit or QPlainTextEdit to a text value of the document.

    Typing commits after a short pause, on Enter / leaving the field, or when ``flush`` is
    called (before a remote change is merged, so character-level merging keeps both sides).
    """

    def __init__(
        self, widget: QLineEdit | QPlainTextEdit, commit: Callable[[str], None], delay_ms: int = 600
    ) -> None:
        self.widget = widget
        self._commit = commit
        self.dirty = False
        self._timer = QTimer(widget, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self.flush)
        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(self._edited)
            widget.editingFinished.connect(self.flush)
        else:
            widget.textChanged.connect(self._edited_plain)
        self._setting = False

    def _edited(self, *_: Any) -> None:
        self.dirty = True
        self._timer.start()

    def _edited_plain(self) -> None:
        if not self._setting:
            self._edited()

    def text(self) -> str:
        w = self.widget
        return w.text() if isinstance(w, QLineEdit) else w.toPlainText()

    def flush(self) -> None:
        self._timer.stop()
        if self.dirty:
            self.dirty = False
            self._commit(self.text())

    def show(self, value: str) -> None:
        """Show ``value``, keeping the cursor and selection where they were relative to the text."""
        if self.dirty or self.text() == value:
            return
        old = self.text()
        prefix = 0
        while prefix < min(len(old), len(value)) and old[prefix] == value[prefix]:
            prefix += 1
        delta = len(value) - len(old)

        def shift(pos: int) -> int:
            return pos if pos <= prefix else max(prefix, pos + delta)

        self._setting = True
        try:
            w = self.widget
            if isinstance(w, QLineEdit):
                cursor, start, length = w.cursorPosition(), w.selectionStart(), w.selectionLength()
                with QSignalBlocker(w):
                    w.setText(value)
                if start >= 0 and length:
                    w.setSelection(shift(start), shift(start + length) - shift(start))
                else:
                    w.setCursorPosition(shift(cursor))
            else:
                cur = w.textCursor()
                anchor, position = cur.anchor(), cur.position()
                scroll = w.verticalScrollBar().value()
                w.setPlainText(value)
                cur = w.textCursor()
                cur.setPosition(min(shift(anchor), len(value)))
                cur.setPosition(min(shift(position), len(value)), cur.MoveMode.KeepAnchor)
                w.setTextCursor(cur)
                w.verticalScrollBar().setValue(scroll)
        finally:
            self._setting = False


def _set_combo(combo: QComboBox, data: Any) -> None:
    index = combo.findData(data)
    if index >= 0 and index != combo.currentIndex():
        with QSignalBlocker(combo):
            combo.setCurrentIndex(index)


def _set_spin(spin: QSpinBox | QDoubleSpinBox, value: float) -> None:
    if not spin.hasFocus() and spin.value() != value:
        with QSignalBlocker(spin):
            spin.setValue(value)


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setVerticalSpacing(10)
    return form


def _hint(text: str) -> QLabel:
    lab = QLabel(text, objectName="Muted")
    lab.setWordWrap(True)
    return lab


class Panel(QWidget):
    def __init__(self, apply: Apply, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.apply = apply
        self.bindings: list[TextBinding] = []

    def show_snapshot(self, snap: dict[str, Any]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        for b in self.bindings:
            b.flush()


# ---------------------------------------------------------------------- rules


class RulesEditor(QWidget):
    """Rows of field / operator / value; emits the whole rule list when the user changes it."""

    changed = Signal(list)

    def __init__(self, add_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[QComboBox, QComboBox, QLineEdit, QWidget]] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self.empty = _hint("No rules yet.")
        self._layout.addWidget(self.empty)
        self.add_button = QPushButton(icons.icon("plus", theme.current().text, 16), add_label)
        self.add_button.clicked.connect(self._add_clicked)
        self._layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)

    def rules(self) -> list[dict[str, Any]]:
        out = []
        for field, op, value, _ in self._rows:
            name = field.currentText().strip()
            if name:
                code = op.currentData()
                out.append(
                    {
                        "field": name,
                        "op": code,
                        "value": campaign_rules.rule_value(code, value.text()),
                    }
                )
        return out

    def row_editors(self, index: int) -> tuple[QComboBox, QComboBox, QLineEdit]:
        """The field, operator and value editors of rule ``index``, as shown."""
        field, op, value, _ = self._rows[index]
        return field, op, value

    def set_rules(self, rules: list[dict[str, Any]]) -> None:
        if any(w.hasFocus() for row in self._rows for w in row[:3]) and rules == self.rules():
            return
        if rules == self.rules() and len(rules) == len(self._rows):
            return
        for row in self._rows:
            row[3].deleteLater()
        self._rows = []
        for rule in rules:
            self._add_row(rule)
        self.empty.setVisible(not self._rows)

    def _add_clicked(self) -> None:
        field = self._add_row({"field": RULE_FIELDS[0], "op": "is", "value": ""})
        self.empty.setVisible(False)
        field.setFocus()

    def _add_row(self, rule: dict[str, Any]) -> QComboBox:
        row = QWidget(self)
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        field = QComboBox(row, editable=True)
        field.addItems(RULE_FIELDS)
        field.setCurrentText(str(rule.get("field", "")))
        field.setAccessibleName("Rule field")
        op = QComboBox(row)
        for code, words in campaign_rules.RULE_OPS.items():
            op.addItem(words, code)
        _set_combo(op, rule.get("op", "eq"))
        value = QLineEdit(campaign_rules.rule_text(rule.get("value")), row, placeholderText="value")
        remove = QToolButton(row, toolTip="Remove this rule", autoRaise=True)
        remove.setIcon(icons.icon("delete", theme.current().muted, 16))
        h.addWidget(field, 3)
        h.addWidget(op, 2)
        h.addWidget(value, 3)
        h.addWidget(remove)
        self._layout.insertWidget(self._layout.count() - 1, row)
        entry = (field, op, value, row)
        self._rows.append(entry)
        field.lineEdit().editingFinished.connect(self._emit)
        field.activated.connect(self._emit)
        op.activated.connect(self._emit)
        value.editingFinished.connect(self._emit)
        remove.clicked.connect(lambda: self._remove(entry))
        return field

    def _remove(self, entry: tuple) -> None:
        self._rows.remove(entry)
        entry[3].deleteLater()
        self.empty.setVisible(not self._rows)
        self._emit()

    def _emit(self) -> None:
        self.changed.emit(self.rules())


class TriggerPanel(Panel):
    def __init__(self, apply: Apply, parent: QWidget | None = None) -> None:
        super().__init__(apply, parent)
        v = QVBoxLayout(self)
        v.addWidget(
            _hint(
                "The event that starts this flow for a contact, and the conditions "
                "the event must meet."
            )
        )
        form = _form()
        self.event = QComboBox()
        self.event.addItem("Not set", None)
        for kind in campaign_rules.TRIGGER_EVENTS:
            self.event.addItem(components.label(kind), kind)
        self.event.setAccessibleName("Trigger event")
        form.addRow("Starts on", self.event)
        v.addLayout(form)
        v.addWidget(QLabel("Conditions", objectName="CardTitle"))
        self.rules = RulesEditor("Add condition")
        v.addWidget(self.rules)
        v.addStretch(1)
        self.event.activated.connect(self._commit)
        self.rules.changed.connect(self._commit)

    def _commit(self, *_: Any) -> None:
        event = self.event.currentData()
        if event is None:
            return
        value = {"event": event, "conditions": self.rules.rules()}
        self.apply(lambda doc: schema.set_field(doc, "trigger", value))

    def show_snapshot(self, snap: dict[str, Any]) -> None:
        trigger = snap.get("trigger") if isinstance(snap.get("trigger"), dict) else {}
        _set_combo(self.event, trigger.get("event"))
        self.rules.set_rules(list(trigger.get("conditions") or []))


class AudiencePanel(Panel):
    def __init__(self, apply: Apply, parent: QWidget | None = None) -> None:
        super().__init__(apply, parent)
        v = QVBoxLayout(self)
        v.addWidget(_hint("Who may enter: contacts matching these behavioural rules."))
        form = _form()
        self.match = QComboBox()
        self.match.addItem("all rules", "all")
        self.match.addItem("any rule", "any")
        self.match.setAccessibleName("Match")
        form.addRow("Contacts matching", self.match)
        v.addLayout(form)
        self.rules = RulesEditor("Add rule")
        v.addWidget(self.rules)
        v.addStretch(1)
        self.match.activated.connect(self._commit)
        self.rules.changed.connect(self._commit)

    def _commit(self, *_: Any) -> None:
        value = {"match": self.match.currentData(), "rules": self.rules.rules()}
        self.apply(lambda doc: schema.set_field(doc, "audience_segment", value))

    def show_snapshot(self, snap: dict[str, Any]) -> None:
        seg = snap.get("audience_segment") if isinstance(snap.get("audience_segment"), dict) else {}
        _set_combo(self.match, seg.get("match", "all"))
        self.rules.set_rules(list(seg.get("rules") or []))


class ContentPanel(Panel):
    """The variants and their editor; "Generate subject lines" turns the tab to the generator
    (``content_generator``), whose "Use" fills the selected variant's subject (and its body
    when it has none) or a new variant."""

    def __init__(self, apply: Apply, parent: QWidget | None = None, *, ops: Any = None) -> None:
        super().__init__(apply, parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.pages = QStackedWidget()
        outer.addWidget(self.pages)
        editor = QWidget()
        self.pages.addWidget(editor)
        self.generator = VariantGenerator(ops)
        self.pages.addWidget(self.generator)
        v = QVBoxLayout(editor)
        v.addWidget(
            _hint(
                "Subject and body variants. Send-email steps use one, or the best "
                "performer when set to automatic."
            )
        )
        self.list = QListWidget()
        self.list.setAccessibleName("Variants")
        self.list.setMaximumHeight(120)
        v.addWidget(self.list)
        row = QHBoxLayout()
        self.add = QPushButton(icons.icon("plus", theme.current().text, 16), "Add variant")
        self.remove = QPushButton("Remove", objectName="Danger")
        self.generate = QPushButton("Generate subject lines")
        self.generate.setToolTip("Five subject lines with predicted click rates; works offline")
        self.generate.setEnabled(ops is not None)
        row.addWidget(self.add)
        row.addWidget(self.remove)
        row.addStretch(1)
        row.addWidget(self.generate)
        v.addLayout(row)
        form = _form()
        self.subject = QLineEdit(placeholderText="Subject line")
        self.body = QPlainTextEdit(placeholderText="Write the email…")
        self.body.setTabChangesFocus(True)
        form.addRow("Subject", self.subject)
        form.addRow("Body", self.body)
        v.addLayout(form, 1)
        self.bindings = [
            TextBinding(self.subject, lambda t: self._set(subject=t)),
            TextBinding(self.body, lambda t: self._set(body=t)),
        ]
        self.add.clicked.connect(self._add)
        self.remove.clicked.connect(self._remove)
        self.list.currentRowChanged.connect(self._selected)
        self.generate.clicked.connect(self.show_generator)
        self.generator.back.connect(lambda: self.pages.setCurrentIndex(0))
        self.generator.picked.connect(self.use_generated)
        self._variants: list[dict[str, Any]] = []

    def show_generator(self) -> None:
        self.flush()
        self.pages.setCurrentWidget(self.generator)
        self.generator.refresh_sources()
        if self.generator.result is None:
            self.generator.generate()

    def use_generated(self, item: dict[str, Any]) -> None:
        """Fill the selected variant's subject (and its empty body), or a new variant."""
        vid = self.current_id()
        current = next((v for v in self._variants if v.get("id") == vid), None)
        subject, body = item["subject"], item["body"]
        if current is None:
            made: list[str] = []
            if self.apply(
                lambda doc: made.append(edits.add_variant(doc, subject=subject, body=body))
            ):
                self._pending_select = made[-1]
        else:
            change = {"subject": subject}
            if not (current.get("body") or "").strip():
                change["body"] = body
            self.apply(lambda doc: edits.set_variant(doc, vid, **change))
        self.pages.setCurrentIndex(0)
        self.subject.setFocus()

    def current_id(self) -> str | None:
        row = self.list.currentRow()
        return self._variants[row]["id"] if 0 <= row < len(self._variants) else None

    def _add(self) -> None:
        self.flush()
        made: list[str] = []
        if self.apply(lambda doc: made.append(edits.add_variant(doc))):
            self._pending_select = made[-1]
            self.subject.setFocus()

    def _remove(self) -> None:
        vid = self.current_id()
        if vid:
            self.apply(lambda doc: edits.delete_variant(doc, vid))

    def _set(self, **change: str) -> None:
        vid = self.current_id()
        if vid:
            self.apply(lambda doc: edits.set_variant(doc, vid, **change))

    def _selected(self, row: int) -> None:
        self.flush()
        variant = self._variants[row] if 0 <= row < len(self._variants) else {}
        for b, key in zip(self.bindings, ("subject", "body"), strict=True):
            b.dirty = False
            b.show(str(variant.get(key, "")))
        for w in (self.subject, self.body, self.remove):
            w.setEnabled(bool(variant))

    def show_snapshot(self, snap: dict[str, Any]) -> None:
        self.generator.set_campaign(snap)
        keep = getattr(self, "_pending_select", None) or self.current_id()
        self._pending_select = None
        self._variants = list(snap.get("variants") or [])
        with QSignalBlocker(self.list):
            self.list.clear()
            for v in self._variants:
                QListWidgetItem(
                    f"{v.get('label', '?')} · {v.get('subject') or 'No subject yet'}", self.list
                )
            ids = [v["id"] for v in self._variants]
            self.list.setCurrentRow(ids.index(keep) if keep in ids else (0 if ids else -1))
        variant = self._variants[self.list.currentRow()] if self._variants else {}
        for b, key in zip(self.bindings, ("subject", "body"), strict=True):
            b.show(str(variant.get(key, "")))
        for w in (self.subject, self.body, self.remove):
            w.setEnabled(bool(variant))


class SchedulePanel(Panel):
    def __init__(self, apply: Apply, parent: QWidget | None = None) -> None:
        super().__init__(apply, parent)
        v = QVBoxLayout(self)
        form = _form()
        self.start_on, self.start = self._date_row(form, "Starts", "schedule_start")
        self.end_on, self.end = self._date_row(form, "Ends", "schedule_end")
        quiet = QHBoxLayout()
        self.quiet_on = QCheckBox("From")
        self.quiet_from = QTimeEdit(displayFormat="HH:mm")
        self.quiet_to = QTimeEdit(displayFormat="HH:mm")
        quiet.addWidget(self.quiet_on)
        quiet.addWidget(self.quiet_from)
        quiet.addWidget(QLabel("to"))
        quiet.addWidget(self.quiet_to)
        form.addRow("Quiet hours", quiet)
        cap = QHBoxLayout()
        self.cap_max = QSpinBox(minimum=0, maximum=100, specialValueText="No cap")
        self.cap_days = QSpinBox(minimum=1, maximum=90, suffix=" days")
        cap.addWidget(self.cap_max)
        cap.addWidget(QLabel("emails per"))
        cap.addWidget(self.cap_days)
        form.addRow("Frequency cap", cap)
        self.budget = QDoubleSpinBox(
            prefix="£ ", maximum=10**9, decimals=2, singleStep=50, groupSeparatorShown=True
        )
        form.addRow("Budget", self.budget)
        v.addLayout(form)
        v.addWidget(
            _hint(
                "Quiet hours hold sends until the window ends. The cap counts every "
                "campaign's emails to the same contact."
            )
        )
        v.addStretch(1)
        self.quiet_on.toggled.connect(self._commit_quiet)
        for w in (self.quiet_from, self.quiet_to):
            w.editingFinished.connect(self._commit_quiet)
        for w in (self.cap_max, self.cap_days):
            w.editingFinished.connect(self._commit_cap)
        self.budget.editingFinished.connect(self._commit_budget)

    def _date_row(
        self, form: QFormLayout, label: str, field: str
    ) -> tuple[QCheckBox, QDateTimeEdit]:
        row = QHBoxLayout()
        on = QCheckBox()
        on.setAccessibleName(f"{label} on a date")
        edit = QDateTimeEdit(calendarPopup=True, displayFormat="dd MMM yyyy HH:mm")
        edit.setDateTime(QDateTime.currentDateTime())
        edit.setEnabled(False)
        row.addWidget(on)
        row.addWidget(edit, 1)
        form.addRow(label, row)

        def commit(*_: Any) -> None:
            edit.setEnabled(on.isChecked())
            value = edit.dateTime().toString("yyyy-MM-ddTHH:mm") if on.isChecked() else ""
            self.apply(lambda doc: schema.set_field(doc, field, value))

        on.toggled.connect(commit)
        edit.editingFinished.connect(commit)
        return on, edit

    def _commit_quiet(self, *_: Any) -> None:
        on = self.quiet_on.isChecked()
        value = (
            f"{self.quiet_from.time().toString('HH:mm')}-{self.quiet_to.time().toString('HH:mm')}"
        )
        self.apply(lambda doc: schema.set_field(doc, "quiet_hours", value if on else ""))

    def _commit_cap(self) -> None:
        value = {"max_sends": self.cap_max.value(), "per_days": self.cap_days.value()}
        self.apply(lambda doc: schema.set_field(doc, "frequency_cap", value))

    def _commit_budget(self) -> None:
        cents = round(self.budget.value() * 100)
        self.apply(lambda doc: schema.set_field(doc, "budget_cents", cents))

    def show_snapshot(self, snap: dict[str, Any]) -> None:
        for on, edit, key in (
            (self.start_on, self.start, "schedule_start"),
            (self.end_on, self.end, "schedule_end"),
        ):
            text = snap.get(key) or ""
            with QSignalBlocker(on):
                on.setChecked(bool(text))
            edit.setEnabled(bool(text))
            if text and not edit.hasFocus():
                with QSignalBlocker(edit):
                    edit.setDateTime(QDateTime.fromString(text, "yyyy-MM-ddTHH:mm"))
        quiet = snap.get("quiet_hours") or ""
        with QSignalBlocker(self.quiet_on):
            self.quiet_on.setChecked(bool(quiet))
        if "-" in quiet:
            a, b = quiet.split("-", 1)
            for w, t in ((self.quiet_from, a), (self.quiet_to, b)):
                if not w.hasFocus():
                    with QSignalBlocker(w):
                        w.setTime(QTime.fromString(t.strip(), "HH:mm"))
        cap = snap.get("frequency_cap") if isinstance(snap.get("frequency_cap"), dict) else {}
        _set_spin(self.cap_max, int(cap.get("max_sends", 0)))
        _set_spin(self.cap_days, int(cap.get("per_days", 7)))
        _set_spin(self.budget, (snap.get("budget_cents") or 0) / 100)


class StatusPanel(Panel):
    def __init__(self, apply: Apply, parent: QWidget | None = None) -> None:
        super().__init__(apply, parent)
        v = QVBoxLayout(self)
        self.pill = components.Pill()
        v.addWidget(self.pill, 0, Qt.AlignmentFlag.AlignLeft)
        self.held = QLabel(wordWrap=True)
        self.held.setAccessibleName("Why the campaign is held")
        self.held.setStyleSheet(f"color: {theme.current().color('danger').name()};")
        self.held.hide()
        v.addWidget(self.held)
        self.explain = _hint("")
        v.addWidget(self.explain)
        self.buttons = QVBoxLayout()
        v.addLayout(self.buttons)
        v.addWidget(
            _hint(
                "Draft → scheduled → active ⇄ paused → archived. Status is guarded: "
                "if two people change it offline, an admin decides."
            )
        )
        v.addStretch(1)
        self._status = ""

    def show_snapshot(self, snap: dict[str, Any]) -> None:
        self._show_hold(snap.get("hold"))
        status = snap.get("status") or "draft"
        if status == self._status:
            return
        self._status = status
        self.pill.set(components.label(status), components.STATUS_COLORS.get(status, "muted"))
        allowed = schema.TRANSITIONS.get(status, ())
        self.explain.setText(
            "Archived campaigns are read-only." if not allowed else "Move this campaign to:"
        )
        while self.buttons.count():
            item = self.buttons.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for target in allowed:
            button = QPushButton(STATUS_ACTIONS.get(target, target))
            button.setObjectName("Primary" if target == "active" else "")
            button.clicked.connect(
                lambda _=False, t=target: self.apply(lambda doc: edits.set_status(doc, t))
            )
            self.buttons.addWidget(button)

    def _show_hold(self, hold: dict[str, Any] | None) -> None:
        """Why the server kept the campaign a draft (the campaign rules it broke), if it did."""
        self.held.setVisible(bool(hold))
        if not hold:
            return
        reasons = "\n".join(f"• {p['message']}" for p in hold.get("problems") or [])
        refused = components.label(hold.get("status")).lower()
        self.held.setText(f"Kept as a draft, not {refused}, until it is fixed:\n{reasons}")


class StepPanel(Panel):
    """Settings of the step selected on the canvas."""

    def __init__(self, apply: Apply, parent: QWidget | None = None) -> None:
        super().__init__(apply, parent)
        v = QVBoxLayout(self)
        self.title = QLabel(objectName="EmptyTitle")
        v.addWidget(self.title)
        self.stack = QStackedWidget()
        v.addWidget(self.stack)
        v.addStretch(1)
        self.step_id: str | None = None
        self._snap: dict[str, Any] = {}

        self.none = StartGuide()  # how to start, while no step is selected
        self.stack.addWidget(self.none)

        email = QWidget()
        f = _form()
        email.setLayout(f)
        self.variant = QComboBox()
        self.variant.setAccessibleName("Email variant")
        f.addRow("Content", self.variant)
        self.stack.addWidget(email)
        self.variant.activated.connect(
            lambda *_: self._commit({"variant": self.variant.currentData()})
        )

        wait = QWidget()
        f = _form()
        wait.setLayout(f)
        self.days = QSpinBox(maximum=365, suffix=" days")
        self.hours = QSpinBox(maximum=23, suffix=" hours")
        f.addRow("Wait for", self.days)
        f.addRow("and", self.hours)
        self.stack.addWidget(wait)
        for w in (self.days, self.hours):
            w.editingFinished.connect(
                lambda: self._commit({"days": self.days.value(), "hours": self.hours.value()})
            )

        branch = QWidget()
        f = _form()
        branch.setLayout(f)
        self.branch_event = QComboBox()
        for kind in campaign_rules.BRANCH_EVENTS:
            self.branch_event.addItem(components.label(kind), kind)
        self.within = QSpinBox(minimum=1, maximum=365, suffix=" days")
        self.target = QComboBox()
        self.target.setAccessibleName("If yes, go to")
        f.addRow("If the contact", self.branch_event)
        f.addRow("within", self.within)
        f.addRow("then go to", self.target)
        f.addRow("", _hint("Otherwise the flow continues with the next step."))
        self.stack.addWidget(branch)
        self.branch_event.activated.connect(lambda *_: self._commit_branch())
        self.within.editingFinished.connect(self._commit_branch)
        self.target.activated.connect(lambda *_: self._commit_branch())

        goal = QWidget()
        f = _form()
        goal.setLayout(f)
        self.goal_event = QComboBox()
        for kind in campaign_rules.TRIGGER_EVENTS:
            self.goal_event.addItem(components.label(kind), kind)
        f.addRow("Exit when", self.goal_event)
        self.stack.addWidget(goal)
        self.goal_event.activated.connect(
            lambda *_: self._commit({"event": self.goal_event.currentData()})
        )

        wait_for = QWidget()
        f = _form()
        wait_for.setLayout(f)
        self.wait_event = QComboBox()
        for kind in campaign_rules.TRIGGER_EVENTS:
            self.wait_event.addItem(components.label(kind), kind)
        self.timeout = QSpinBox(minimum=1, maximum=365, suffix=" days")
        self.on_timeout = QComboBox()
        self.on_timeout.setAccessibleName("On timeout, go to")
        f.addRow("Until the contact", self.wait_event)
        f.addRow("for at most", self.timeout)
        f.addRow("then go to", self.on_timeout)
        f.addRow("", _hint("When it happens, the flow continues with the next step."))
        self.stack.addWidget(wait_for)
        self.wait_event.activated.connect(lambda *_: self._commit_wait_for())
        self.timeout.editingFinished.connect(self._commit_wait_for)
        self.on_timeout.activated.connect(lambda *_: self._commit_wait_for())

        split = QWidget()
        f = _form()
        split.setLayout(f)
        self.percent = QSpinBox(minimum=1, maximum=99, suffix=" %")
        self.split_target = QComboBox()
        self.split_target.setAccessibleName("Split: the share goes to")
        f.addRow("At random", self.percent)
        f.addRow("go to", self.split_target)
        f.addRow("", _hint("The others continue with the next step."))
        self.stack.addWidget(split)
        self.percent.editingFinished.connect(self._commit_split)
        self.split_target.activated.connect(lambda *_: self._commit_split())
        self._pages = {
            "send_email": 1,
            "wait": 2,
            "branch": 3,
            "goal": 4,
            "wait_for": 5,
            "split": 6,
        }

    def _commit(self, change: dict[str, Any]) -> None:
        step_id = self.step_id
        if not step_id:
            return

        def edit(doc: Any) -> None:
            config = edits.step_config(doc, step_id)
            config.update(change)
            edits.set_step_config(doc, step_id, config)

        self.apply(edit)

    def _commit_branch(self) -> None:
        self._commit(
            {
                "event": self.branch_event.currentData(),
                "within_days": self.within.value(),
                "then": self.target.currentData(),
            }
        )

    def _commit_wait_for(self) -> None:
        self._commit(
            {
                "event": self.wait_event.currentData(),
                "timeout_days": self.timeout.value(),
                "on_timeout": self.on_timeout.currentData(),
            }
        )

    def _commit_split(self) -> None:
        self._commit({"percent": self.percent.value(), "then": self.split_target.currentData()})

    def _fill_targets(self, combo: QComboBox, steps: list[dict[str, Any]], own: str) -> None:
        """The steps a jump may lead to: the ones after ``own`` (jumps go forward)."""
        with QSignalBlocker(combo):
            combo.clear()
            combo.addItem("Continue with the next step", None)
            after = [s.get("id") for s in steps].index(own) + 1
            for i, s in enumerate(steps[after:], after):
                combo.addItem(f"Step {i + 1}: {STEP_TITLES.get(s.get('kind'), '')}", s.get("id"))

    def select(self, step_id: str | None) -> None:
        self.step_id = step_id if step_id and step_id != TRIGGER else None
        self.show_snapshot(self._snap)

    def show_snapshot(self, snap: dict[str, Any]) -> None:
        self._snap = snap
        steps = snap.get("steps") or []
        step = next((s for s in steps if s.get("id") == self.step_id), None)
        if step is None:
            self.step_id = None
            self.title.setText("No step selected" if steps else "Start this campaign")
            self.none.show_snapshot(snap)
            self.stack.setCurrentIndex(0)
            return
        kind = step.get("kind")
        number = steps.index(step) + 1
        self.title.setText(f"Step {number} · {STEP_TITLES.get(kind, kind)}")
        self.stack.setCurrentIndex(self._pages.get(kind, 0))
        config = step.get("config") or {}
        if kind == "send_email":
            with QSignalBlocker(self.variant):
                self.variant.clear()
                self.variant.addItem("Best variant (automatic)", "auto")
                for v in snap.get("variants") or []:
                    self.variant.addItem(
                        f"{v.get('label')}: {v.get('subject') or 'no subject'}", v.get("id")
                    )
            _set_combo(self.variant, config.get("variant", "auto"))
        elif kind == "wait":
            _set_spin(self.days, int(config.get("days", 0)))
            _set_spin(self.hours, int(config.get("hours", 0)))
        elif kind == "branch":
            _set_combo(self.branch_event, config.get("event", "open"))
            _set_spin(self.within, int(config.get("within_days", 3)))
            with QSignalBlocker(self.target):
                self.target.clear()
                self.target.addItem("Continue with the next step", None)
                for i, s in enumerate(steps):
                    if s.get("id") != step["id"]:
                        self.target.addItem(
                            f"Step {i + 1}: {STEP_TITLES.get(s.get('kind'), '')}", s.get("id")
                        )
            _set_combo(self.target, config.get("then"))
        elif kind == "goal":
            _set_combo(self.goal_event, config.get("event", "conversion"))
        elif kind == "wait_for":
            _set_combo(self.wait_event, config.get("event", "click"))
            _set_spin(self.timeout, int(config.get("timeout_days", 7)))
            self._fill_targets(self.on_timeout, steps, step["id"])
            _set_combo(self.on_timeout, config.get("on_timeout"))
        elif kind == "split":
            _set_spin(self.percent, int(config.get("percent", 50)))
            self._fill_targets(self.split_target, steps, step["id"])
            _set_combo(self.split_target, config.get("then"))
