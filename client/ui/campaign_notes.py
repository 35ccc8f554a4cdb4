"""The builder's Notes tab: the campaign's description (free text, merged by character) and the
team's notes, one entry per note (author, time, text), with a box to add one.

A note is appended to the document, never edited in place: two planners adding notes offline
get two entries, not one text spliced from both (``shared.protocol.campaign.add_note``).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from shared.protocol import campaign as schema

from .campaign_panels import Apply, Panel, TextBinding


def note_heading(note: dict[str, Any], me: str | None) -> str:
    """``Anna (anna@…) · 12 Jun 10:02``, ``You · …``; earlier single-text notes: ``Earlier notes``."""
    if note.get("at_ms") is None:
        return "Earlier notes"
    author = note.get("author")
    who = "You" if author is None or author == me else author
    when = datetime.fromtimestamp(note["at_ms"] / 1000)
    stamp = when.strftime("%H:%M") if when.date() == datetime.now().date() else ""
    stamp = stamp or when.strftime("%d %b %Y %H:%M")
    return f"{who} · {stamp}"


def _hint(text: str) -> QLabel:
    return QLabel(text, objectName="Muted", wordWrap=True)


class DetailsPanel(Panel):
    def __init__(self, apply: Apply, parent: QWidget | None = None) -> None:
        super().__init__(apply, parent)
        #: the signed-in user, who authors the notes added here (the builder sets it)
        self.author: str | None = None
        v = QVBoxLayout(self)
        v.addWidget(QLabel("Description", objectName="CardTitle"))
        self.description = QPlainTextEdit(placeholderText="What this campaign is for")
        self.description.setTabChangesFocus(True)
        self.description.setAccessibleName("Description")
        self.description.setMaximumHeight(96)
        v.addWidget(self.description)
        v.addWidget(_hint("Merges character by character with edits made on other devices."))
        self.bindings = [
            TextBinding(
                self.description,
                lambda t: self.apply(lambda d: schema.set_field(d, "description", t)),
            )
        ]

        v.addWidget(QLabel("Notes", objectName="CardTitle"))
        self.notes = QListWidget()
        self.notes.setAccessibleName("Notes")
        self.notes.setWordWrap(True)
        self.notes.setSpacing(2)
        self.notes.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.notes.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        v.addWidget(self.notes, 1)
        self.empty = _hint("No notes yet. Add the first one below: each note is kept as it is.")
        v.addWidget(self.empty, 1, Qt.AlignmentFlag.AlignTop)  # takes the list's room

        row = QHBoxLayout()
        self.new_note = QPlainTextEdit(placeholderText="Add a note for the team")
        self.new_note.setAccessibleName("New note")
        self.new_note.setTabChangesFocus(True)
        self.new_note.setMaximumHeight(64)
        self.add_button = QPushButton("Add note", objectName="Primary")
        self.add_button.setToolTip("Ctrl+Enter")
        self.add_button.setEnabled(False)
        row.addWidget(self.new_note, 1)
        row.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignBottom)
        v.addLayout(row)
        self.new_note.textChanged.connect(
            lambda: self.add_button.setEnabled(bool(self.new_note.toPlainText().strip()))
        )
        self.add_button.clicked.connect(self.add_note)
        QShortcut(
            QKeySequence("Ctrl+Return"),
            self.new_note,
            context=Qt.ShortcutContext.WidgetShortcut,
        ).activated.connect(self.add_note)
        self._shown: list[dict[str, Any]] | None = None

    def add_note(self) -> None:
        text = self.new_note.toPlainText().strip()
        if not text:
            return
        at_ms = time.time_ns() // 1_000_000
        author = self.author
        if self.apply(lambda d: schema.add_note(d, text=text, author=author, at_ms=at_ms)):
            self.new_note.clear()
            self.notes.scrollToBottom()

    def show_snapshot(self, snap: dict[str, Any]) -> None:
        self.bindings[0].show(snap.get("description") or "")
        notes = snap.get("notes") if isinstance(snap.get("notes"), list) else []
        if notes == self._shown:
            return
        self._shown = notes
        self.notes.clear()
        for note in notes:
            item = QListWidgetItem(f"{note_heading(note, self.author)}\n{note['text']}")
            item.setToolTip(note.get("author") or "")
            self.notes.addItem(item)
        self.notes.setVisible(bool(notes))
        self.empty.setVisible(not notes)
        self.notes.scrollToBottom()
