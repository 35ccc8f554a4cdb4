"""The Content tab's generator: five subject lines for the open campaign, each with its
predicted click rate and the source that wrote it, the recommended one marked with its reason;
"Use" puts a variant's subject (and its body, when the variant has none yet) into the campaign.

Generation runs off the GUI thread: the profile's endpoint, its key and the local send
history are read on the replica worker, the chat-completions call is a coroutine on the loop
and the offline generator and the model fit run in a thread (``client.content``). It works with
no network: the offline generator needs none, and an endpoint that fails falls back to it,
which the page says.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from client.content import (
    LlmEndpoint,
    audience_of,
    generate_variants,
    load_endpoint,
    profile_history,
)
from client.credentials import KeyringTokens
from client.monitoring import GenerationReporter
from shared.content import Generation, GenerationRecorder, parse_request

from . import components
from .ops import Ops, describe

SOURCE_NAMES = {"offline": "offline generator", "llm": "LLM endpoint"}


def _muted(text: str = "") -> QLabel:
    label = QLabel(text, objectName="Muted")
    label.setWordWrap(True)
    return label


class VariantRow(QFrame):
    """One generated variant: approach, subject, preheader, score and source, warnings, Use.
    ``index`` is the variant's place in the generation (approach order)."""

    use = Signal(int)

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="Card")
        self.index = index
        v = QVBoxLayout(self)
        v.setContentsMargins(12, 8, 12, 10)
        v.setSpacing(4)
        top = QHBoxLayout()
        self.approach = QLabel(objectName="CardTitle")
        self.recommended = components.Pill("Recommended", "ok")
        self.score = QLabel()
        self.score.setWordWrap(True)
        self.score.setAccessibleName("Predicted click rate and source")
        self.button = QPushButton("Use")
        self.button.setToolTip("Put this subject line into the selected variant")
        top.addWidget(self.approach)
        top.addWidget(self.recommended)
        top.addStretch(1)
        top.addWidget(self.button)
        v.addLayout(top)
        self.subject = QLabel()
        self.subject.setWordWrap(True)
        self.subject.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subject.setStyleSheet("font-weight: 600;")
        v.addWidget(self.subject)
        self.preheader = _muted()
        v.addWidget(self.preheader)
        v.addWidget(self.score)
        self.notes = _muted()
        v.addWidget(self.notes)
        self.button.clicked.connect(lambda: self.use.emit(self.index))

    def show_variant(self, item: dict[str, Any], source: str) -> None:
        self.approach.setText(item["label"])
        self.recommended.setVisible(item["recommended"])
        rate = item["predicted_rate"] * 100
        self.score.setText(f"<b>{rate:.1f} % predicted clicks</b> · written by the {source}")
        self.subject.setText(item["subject_preview"])
        self.subject.setToolTip(item["subject"])
        self.preheader.setText(item["preheader"])
        notes = [i["message"][0].upper() + i["message"][1:] for i in item["issues"]]
        self.notes.setText(" · ".join(notes))
        self.notes.setVisible(bool(notes))


class VariantGenerator(QWidget):
    """The generator page. ``picked`` carries the chosen variant's dict (``Generation.to_dict``
    form); ``generated`` the ``Generation`` shown (or the failure message)."""

    picked = Signal(dict)
    generated = Signal(object)
    back = Signal()

    def __init__(self, ops: Ops | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.recorder = GenerationRecorder()
        #: tells the server's health monitor how each generation went
        self.reporter = GenerationReporter()
        self.campaign_type = "nurture"
        self.result: dict[str, Any] | None = None
        self.running = False
        self._seed = 0
        self._endpoint: LlmEndpoint | None = None

        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        self.back_button = QPushButton("Back to the variants")
        head.addWidget(self.back_button)
        head.addStretch(1)
        outer.addLayout(head)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.audience = QComboBox()
        for value, text in (("couples", "Couples"), ("suppliers", "Suppliers")):
            self.audience.addItem(text, value)
        self.tone = QComboBox()
        for value in ("warm", "playful", "professional"):
            self.tone.addItem(value.capitalize(), value)
        self.length = QComboBox()
        for value in ("short", "medium", "long"):
            self.length.addItem(value.capitalize(), value)
        self.length.setCurrentIndex(1)  # medium: what a phone shows
        style = QHBoxLayout()
        style.addWidget(self.audience, 1)
        style.addWidget(self.tone, 1)
        style.addWidget(self.length, 1)
        form.addRow("Write for", style)
        self.venue = QLineEdit(placeholderText="e.g. Hollow Barn (optional)")
        self.region = QLineEdit(placeholderText="e.g. Cotswolds (optional)")
        form.addRow("Venue", self.venue)
        form.addRow("Region", self.region)
        self.source = QComboBox()
        self.source.setAccessibleName("Source")
        self.source.addItem("Offline generator", "offline")
        form.addRow("Source", self.source)
        outer.addLayout(form)
        row = QHBoxLayout()
        self.generate_button = QPushButton("Generate", objectName="Primary")
        row.addWidget(self.generate_button)
        self.status = _muted()
        row.addWidget(self.status, 1)
        outer.addLayout(row)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setAccessibleName("Why this one is recommended")
        outer.addWidget(self.reason)

        self.rows = [VariantRow(i) for i in range(5)]
        holder = QWidget()
        lv = QVBoxLayout(holder)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.setSpacing(8)
        self.empty = _muted(
            "Five subject lines, one per approach (benefit, urgency, curiosity, social proof, "
            "personal), each with its predicted click rate. Works offline."
        )
        lv.addWidget(self.empty)
        for r in self.rows:
            r.hide()
            r.use.connect(self._use)
            lv.addWidget(r)
        lv.addStretch(1)
        self.scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        # the cards follow the tab's width and wrap their text; they never scroll sideways
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(holder)
        outer.addWidget(scroll, 1)

        self.generate_button.clicked.connect(self.generate)
        self.back_button.clicked.connect(self.back.emit)

    # ------------------------------------------------------------------ inputs

    def set_campaign(self, snap: dict[str, Any]) -> None:
        """Defaults from the open campaign: its type and audience."""
        self.campaign_type = snap.get("type") or "nurture"
        index = self.audience.findData(audience_of(snap))
        if self.result is None and index >= 0:
            self.audience.setCurrentIndex(index)

    def refresh_sources(self) -> None:
        """Offer the profile's LLM endpoint, if one is set up (read off the GUI thread)."""
        if self.ops is None:
            return
        replica = self.ops.replica

        def shown(endpoint: LlmEndpoint | None) -> None:
            self._endpoint = endpoint
            while self.source.count() > 1:
                self.source.removeItem(1)
            if endpoint is not None:
                self.source.addItem(f"LLM: {endpoint.model}", "llm")

        self.ops.read(lambda: load_endpoint(replica, KeyringTokens()), success=shown)

    def request_context(self) -> dict[str, Any]:
        context: dict[str, Any] = {
            "audience": self.audience.currentData(),
            "tone": self.tone.currentData(),
            "length": self.length.currentData(),
        }
        for key, edit in (("venue", self.venue), ("region", self.region)):
            if edit.text().strip():
                context[key] = edit.text().strip()
        return context

    # ------------------------------------------------------------------ generating

    def generate(self) -> None:
        if self.ops is None or self.running:
            return
        try:
            request = parse_request(self.campaign_type, self.request_context())
        except ValueError as exc:
            self.status.setText(describe(exc))
            return
        source = self.source.currentData()
        endpoint = self._endpoint
        seed = self._seed
        self._seed += 1  # the next click regenerates with other wording
        replica = self.ops.replica
        self.running = True
        self.generate_button.setEnabled(False)
        self.status.setText("Generating…")

        async def run() -> Generation:
            history = await self.ops.engine.run_db(profile_history, replica)
            return await generate_variants(
                request,
                source=source,
                endpoint=endpoint,
                history=history,
                recorder=self.recorder,
                seed=seed,
            )

        self.ops.call(run, success=self._show, failure=self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self.generate_button.setEnabled(True)
        self.status.setText(f"Could not generate: {describe(exc)}")
        self.generated.emit(exc)

    def _show(self, generation: Generation) -> None:
        self.running = False
        self.generate_button.setEnabled(True)
        self.generate_button.setText("Regenerate")
        self.result = generation.to_dict()
        source = generation.source
        if source == "llm" and self._endpoint is not None:
            source_text = f"LLM endpoint ({self._endpoint.model})"
        else:
            source_text = SOURCE_NAMES[source]
        if generation.fallback:
            self.status.setText(
                f"{describe_fallback(generation)} Used the offline generator "
                f"({generation.latency_ms:.0f} ms)."
            )
        else:
            self.status.setText(f"By the {source_text} in {generation.latency_ms:.0f} ms.")
        best = self.result["variants"][generation.recommended]
        self.reason.setText(f"<b>Recommended: {best['label']}.</b> {generation.reason}")
        self.empty.hide()
        # the best predicted first, so the recommended one is in view without scrolling
        order = sorted(range(5), key=lambda i: -generation.rates[i])
        for row, index in zip(self.rows, order, strict=True):
            row.index = index
            row.show_variant(self.result["variants"][index], source_text)
            row.show()
        self.scroll.verticalScrollBar().setValue(0)
        self.generated.emit(generation)
        if self.ops is not None:
            engine, record = self.ops.engine, generation.record
            self.ops.call(lambda: self.reporter.report(engine, record))

    def _use(self, index: int) -> None:
        if self.result is not None:
            self.picked.emit(self.result["variants"][index])


def describe_fallback(generation: Generation) -> str:
    message = generation.fallback_message or generation.fallback or ""
    return (message[0].upper() + message[1:]).rstrip(".") + "."
