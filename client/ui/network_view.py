"""The tester's network control: online, offline or flaky (loss and latency).

It drives the sync engine's ``NetworkConditions`` (``client.network_control``): offline refuses
new connections and cuts the open one at once; flaky delays and drops frames both ways. Unlike
Work offline, it leaves the profile's setting alone and simulates the network itself going bad,
so a tester can watch the app cope (queues grow, syncs retry with backoff, nothing is lost).
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from client.network_control import NetworkConditions, NetworkMode, NetworkState

from . import components

MODES = (
    ("Online", NetworkMode.ONLINE),
    ("Offline", NetworkMode.OFFLINE),
    ("Flaky", NetworkMode.FLAKY),
)


class NetworkControl(components.Card):
    def __init__(self, network: NetworkConditions, parent: QWidget | None = None) -> None:
        super().__init__("Network (tester)", parent)
        self.network = network
        row = QHBoxLayout()
        self.mode = QComboBox(accessibleName="Network mode")
        for label, mode in MODES:
            self.mode.addItem(label, str(mode))
        self.loss = QDoubleSpinBox(accessibleName="Frame loss", suffix=" % loss", decimals=0)
        self.loss.setRange(0, 100)
        self.latency = QSpinBox(accessibleName="Latency", suffix=" ms latency")
        self.latency.setRange(0, 60_000)
        self.latency.setSingleStep(50)
        for widget in (QLabel("Network"), self.mode, self.loss, self.latency):
            row.addWidget(widget)
        row.addStretch(1)
        self.body.addLayout(row)
        self.note = QLabel(objectName="Muted", wordWrap=True)
        self.body.addWidget(self.note)
        self._show(network.state)
        self.mode.currentIndexChanged.connect(self._apply)
        self.loss.editingFinished.connect(self._apply)
        self.latency.editingFinished.connect(self._apply)
        self._unsubscribe = network.subscribe(self._changed_elsewhere)
        self.destroyed.connect(lambda *_: self._unsubscribe())

    def _apply(self) -> None:
        state = self.network.set(
            self.mode.currentData(), loss=self.loss.value() / 100, latency_ms=self.latency.value()
        )
        self._show(state)

    def _changed_elsewhere(self, state: NetworkState) -> None:
        if state != self._shown:
            self._show(state)

    def _show(self, state: NetworkState) -> None:
        self._shown = state
        for widget in (self.mode, self.loss, self.latency):
            widget.blockSignals(True)
        self.mode.setCurrentIndex([str(m) for _, m in MODES].index(str(state.mode)))
        self.loss.setValue(round(state.loss * 100))
        self.latency.setValue(int(state.latency_ms))
        for widget in (self.mode, self.loss, self.latency):
            widget.blockSignals(False)
        flaky = state.mode == NetworkMode.FLAKY
        self.loss.setEnabled(flaky)
        self.latency.setEnabled(flaky)
        self.note.setText(
            {
                NetworkMode.ONLINE: "The network behaves normally.",
                NetworkMode.OFFLINE: "The network is down: connections are refused and cut; "
                "everything stays queued.",
                NetworkMode.FLAKY: f"Each frame is lost with probability {state.loss:.0%} and "
                f"delayed by up to {state.latency_ms:,.0f} ms, both ways.",
            }[state.mode]
        )
