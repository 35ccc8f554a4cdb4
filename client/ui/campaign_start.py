"""What the builder's Step tab shows when no step is selected: how to start, as a short list of
what the campaign still needs (its trigger, a first step, content, a schedule and status), each
with the button that does it, and the keys that do the same from the canvas."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from . import icons, theme
from .flow_canvas import describe_trigger

#: (step kind, button text) offered for the first step
FIRST_STEPS = (("send_email", "Email"), ("wait", "Wait"), ("branch", "Branch"), ("goal", "Goal"))


def _muted(text: str = "") -> QLabel:
    return QLabel(text, objectName="Muted", wordWrap=True)


class StartGuide(QWidget):
    """The campaign's next steps, with a button for each."""

    add_requested = Signal(str)  # a step kind, added first
    tab_requested = Signal(str)  # the builder tab to show: "Trigger", "Content", "Status"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 4, 0, 0)
        v.setSpacing(12)
        self.intro = _muted()
        v.addWidget(self.intro)
        self.marks: list[QLabel] = []
        self.states: list[QLabel] = []
        self.step_buttons: dict[str, QPushButton] = {}
        rows = (
            ("What starts it", "Set the trigger", "Trigger"),
            ("The first step", None, None),
            ("What it sends", "Write the content", "Content"),
            ("When it runs", "Schedule or activate", "Status"),
        )
        for title, action, tab in rows:
            row = QHBoxLayout()
            row.setSpacing(10)
            mark = QLabel(objectName="CardTitle")
            mark.setFixedWidth(16)
            self.marks.append(mark)
            row.addWidget(mark, 0, Qt.AlignmentFlag.AlignTop)
            text = QVBoxLayout()
            text.setSpacing(2)
            text.addWidget(QLabel(title, objectName="CardTitle"))
            state = _muted()
            self.states.append(state)
            text.addWidget(state)
            if action is None:
                text.addLayout(self._first_step_buttons())
            row.addLayout(text, 1)
            if action is not None:
                button = QPushButton(action)
                button.clicked.connect(lambda _=False, t=tab: self.tab_requested.emit(t))
                row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
            v.addLayout(row)
        v.addWidget(
            _muted(
                "On the canvas: ↑/↓ select a step, Enter opens its settings, and E, W, B, G add "
                "an email, a wait, a branch or a goal after the selected step."
            )
        )
        v.addStretch(1)

    def _first_step_buttons(self) -> QHBoxLayout:
        steps = QHBoxLayout()
        steps.setSpacing(6)
        t = theme.current()
        for kind, text in FIRST_STEPS:
            button = QPushButton(icons.icon(kind, t.node[kind], 16), text)
            button.setToolTip(f"Add a {text.lower()} step at the start")
            button.clicked.connect(lambda _=False, k=kind: self.add_requested.emit(k))
            steps.addWidget(button)
            self.step_buttons[kind] = button
        steps.addStretch(1)
        return steps

    def show_snapshot(self, snap: dict[str, Any]) -> None:
        steps = snap.get("steps") or []
        variants = snap.get("variants") or []
        trigger = snap.get("trigger")
        status = snap.get("status") or "draft"
        done = [
            bool(trigger),
            bool(steps),
            any(v.get("subject") and v.get("body") for v in variants),
            status not in ("draft",),
        ]
        self.intro.setText(
            "Start here: a campaign needs what starts it, its steps and what it sends."
            if not steps
            else "Select a step on the canvas to change its settings, or go on from here."
        )
        self.states[0].setText(describe_trigger(trigger) if trigger else "Not set yet")
        self.states[1].setText(
            f"{len(steps)} step{'s' if len(steps) != 1 else ''}: add more after the selected one"
            if steps
            else "Add one:"
        )
        self.states[2].setText(
            f"{len(variants)} variant{'s' if len(variants) != 1 else ''}"
            if variants
            else "No email content yet"
        )
        self.states[3].setText(f"{status.capitalize()}")
        for mark, ok in zip(self.marks, done, strict=True):
            mark.setText("✓" if ok else "○")
            mark.setToolTip("Done" if ok else "To do")
