"""The Attribution visualiser page: the top conversion paths drawn as flows, the seven models'
credit per channel side by side with where they disagree, one contact's journey on a timeline,
and the revenue each channel and campaign is credited with.

The figures are the report's ``attribution`` and ``channels`` sections for the chosen period;
a contact's journey is the server's ``GET /api/v1/contacts/journey`` (their events in the order
they happened, so a touch captured offline at a fair sits on the day of the fair).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from client.sync import RemoteError, ServerUnreachable, SyncEngine, WorkingOffline
from shared.protocol.kinds import TOUCH_KINDS

from . import components, theme
from .insights_parts import Column, ReportPage, TableCard, day, number, pounds, share
from .ops import Ops, describe
from .path_flow import PALETTE, PathFlow

MODELS = (
    ("first_touch", "First"),
    ("last_touch", "Last"),
    ("linear", "Linear"),
    ("time_decay", "Time decay"),
    ("position_based", "Position"),
    ("markov", "Markov"),
    ("shapley", "Shapley"),
)
MODEL_NAMES = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "time_decay": "Time decay",
    "position_based": "Position-based",
    "markov": "Markov chain",
    "shapley": "Shapley value",
}
NO_CAMPAIGN = "(no campaign)"
CONVERSION_KINDS = ("conversion",)
#: what the timeline places: the touches attribution counts, and conversions
TIMELINE_KINDS = (*TOUCH_KINDS, *CONVERSION_KINDS)


def model_shares(channels: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per model, each channel's share of the conversions the model credits."""
    out: dict[str, dict[str, float | None]] = {}
    for model, _ in MODELS:
        total = sum((c.get(model) or {}).get("conversions", 0.0) for c in channels)
        out[model] = {
            c["channel"]: ((c.get(model) or {}).get("conversions", 0.0) / total if total else None)
            for c in channels
        }
    return out


class JourneyTimeline(QWidget):
    """A contact's events along a time axis: touches as dots coloured by channel (in rows by
    channel), conversions as green diamonds on their own row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.events: list[dict[str, Any]] = []
        self.lanes: list[str] = []
        self.setMinimumHeight(150)
        self.setMouseTracking(True)
        self.setAccessibleName("Journey timeline")

    def sizeHint(self) -> QSize:
        return QSize(700, 170)

    def set_events(self, events: list[dict[str, Any]]) -> None:
        self.events = [e for e in events if e["kind"] in TIMELINE_KINDS]
        touch_lanes = []
        for e in self.events:
            lane = self.lane_of(e)
            if lane != "Conversion" and lane not in touch_lanes:
                touch_lanes.append(lane)
        self.lanes = touch_lanes + (
            ["Conversion"] if any(e["kind"] in CONVERSION_KINDS for e in self.events) else []
        )
        self.setMinimumHeight(max(150, 34 + 22 * len(self.lanes)))
        self.update()

    @staticmethod
    def lane_of(event: dict[str, Any]) -> str:
        if event["kind"] in CONVERSION_KINDS:
            return "Conversion"
        return components.label(event.get("channel") or event["kind"])

    def _area(self) -> QRectF:
        return QRectF(self.rect()).adjusted(112, 8, -14, -24)

    def placed(self) -> list[tuple[QPointF, dict[str, Any]]]:
        """Where each event is drawn: x by when it happened, y by its lane."""
        if not self.events:
            return []
        area = self._area()
        times = [e["occurred_at_ms"] for e in self.events]
        lo, hi = min(times), max(times)
        span = max(hi - lo, 1)
        step = area.height() / max(len(self.lanes), 1)
        out = []
        for e in self.events:
            x = area.left() + area.width() * ((e["occurred_at_ms"] - lo) / span if hi > lo else 0.5)
            y = area.top() + step * (self.lanes.index(self.lane_of(e)) + 0.5)
            out.append((QPointF(x, y), e))
        return out

    def paintEvent(self, event: QPaintEvent) -> None:
        t = theme.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = self._area()
        if not self.events:
            p.setPen(t.color("muted"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No journey shown")
            p.end()
            return
        step = area.height() / max(len(self.lanes), 1)
        for i, lane in enumerate(self.lanes):
            y = area.top() + step * (i + 0.5)
            p.setPen(QPen(t.color("border"), 1, Qt.PenStyle.DotLine))
            p.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            p.setPen(t.color("muted"))
            p.drawText(
                QRectF(0, y - 9, 104, 18),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                lane,
            )
        colors = {lane: QColor(PALETTE[i % len(PALETTE)]) for i, lane in enumerate(self.lanes)}
        for point, e in self.placed():
            lane = self.lane_of(e)
            if lane == "Conversion":
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(t.color("ok"))
                r = 6
                p.drawPolygon(
                    QPolygonF(
                        [
                            QPointF(point.x(), point.y() - r),
                            QPointF(point.x() + r, point.y()),
                            QPointF(point.x(), point.y() + r),
                            QPointF(point.x() - r, point.y()),
                        ]
                    )
                )
            elif e.get("pending"):  # captured here, not on the server yet
                p.setPen(QPen(colors[lane], 2))
                p.setBrush(QColor(t.surface))
                p.drawEllipse(point, 5, 5)
            else:
                p.setPen(QPen(QColor(t.surface), 1))
                p.setBrush(colors[lane])
                p.drawEllipse(point, 4.5, 4.5)
        times = [e["occurred_at_ms"] for e in self.events]
        p.setPen(t.color("muted"))
        p.drawText(
            QRectF(area.left(), area.bottom() + 4, 160, 18),
            Qt.AlignmentFlag.AlignLeft,
            day(min(times)),
        )
        p.drawText(
            QRectF(area.right() - 160, area.bottom() + 4, 160, 18),
            Qt.AlignmentFlag.AlignRight,
            day(max(times)),
        )
        p.end()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        near = [
            (QPointF(point - event.position()).manhattanLength(), e)
            for point, e in self.placed()
            if QPointF(point - event.position()).manhattanLength() < 10
        ]
        if not near:
            QToolTip.hideText()
            return
        e = min(near, key=lambda n: n[0])[1]
        QToolTip.showText(event.globalPosition().toPoint(), describe_event(e), self)


def describe_event(e: dict[str, Any]) -> str:
    what = components.label(e["kind"])
    parts = [f"{components.clock(e['occurred_at_ms'])} · {what}"]
    if e.get("channel"):
        parts.append(f"by {components.label(e['channel'])}")
    if e.get("campaign"):
        parts.append(f"from “{e.get('campaign_name') or 'an unnamed campaign'}”")
    if e.get("value") is not None:
        parts.append(pounds(e["value"]))
    if e.get("pending"):
        parts.append("· captured here, waiting to sync")
    return " ".join(parts)


class Journey(QWidget):
    """Look up one contact's journey and show it on the timeline and in a table."""

    loaded = Signal()

    def __init__(self, page: ReportPage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = page.ops
        self.page = page
        self.body: dict[str, Any] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.contact = QLineEdit(placeholderText="A contact's email")
        self.contact.setAccessibleName("Contact")
        self.show_button = QPushButton("Show journey")
        row.addWidget(self.contact, 1)
        row.addWidget(self.show_button)
        layout.addLayout(row)
        self.summary = QLabel("", objectName="Muted", wordWrap=True)
        layout.addWidget(self.summary)
        self.timeline = JourneyTimeline()
        layout.addWidget(self.timeline)
        self.events = page.table(
            "Events",
            [
                Column(
                    "When",
                    lambda r: components.clock(r["occurred_at_ms"]),
                    value=lambda r: r["occurred_at_ms"],
                ),
                Column(
                    "What",
                    lambda r: (
                        components.label(r["kind"]) + (f" · {r['other']}" if r.get("other") else "")
                    ),
                ),
                Column("Channel", lambda r: components.label(r.get("channel")) or "—"),
                Column(
                    "Campaign",
                    lambda r: (
                        (r.get("campaign_name") or "Unnamed campaign") if r.get("campaign") else "—"
                    ),
                ),
                Column(
                    "Sync",
                    lambda r: "waiting" if r.get("pending") else "on server",
                    tone=lambda r: "warn" if r.get("pending") else None,
                ),
                Column(
                    "Value",
                    lambda r: pounds(r.get("value")),
                    value=lambda r: r.get("value"),
                    numeric=True,
                ),
            ],
            "journey",
            rows=5,
        )
        head = self.events.view.horizontalHeader()
        head.setSectionResizeMode(0, head.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(3, head.ResizeMode.Stretch)
        layout.addWidget(self.events)
        self.show_button.clicked.connect(self.load)
        self.contact.returnPressed.connect(self.load)

    def show_contact(self, contact: str) -> None:
        self.contact.setText(contact)
        self.load()

    def load(self) -> None:
        contact = self.contact.text().strip()
        if not contact:
            self.summary.setText("Type a contact's email to see their journey.")
            return
        self.summary.setText(f"Reading the journey of {contact}…")
        self.ops.call(
            lambda: self._fetch(contact),
            success=self.set_journey,
            failure=lambda exc: self._failed(contact, exc),
        )

    async def _fetch(self, contact: str) -> dict[str, Any]:
        """The server's journey with this device's captures of the contact that have not
        reached it yet (``pending``); offline, the captures alone."""
        engine = self.ops.engine
        local = await engine.run_db(engine.replica.contact_events, contact)
        names = {
            c["campaign"]: c.get("name") for c in (self.page.report or {}).get("campaigns") or []
        }
        pending = [
            {
                **e,
                "value": None if e["value_cents"] is None else e["value_cents"] / 100,
                "campaign_name": names.get(e["campaign"]),
                "pending": True,
            }
            for e in local
            if not e["synced"]
        ]
        try:
            body = await engine.api(
                "GET", f"/api/v1/contacts/journey?{urlencode({'contact': contact})}"
            )
        except RemoteError as exc:
            if exc.code != "not_found" or not pending:
                raise
            body = {"contact": contact, "name": None, "events": [], "total": 0, "conversions": 0}
        except (ServerUnreachable, WorkingOffline):
            if not local:
                raise
            mine = [{**e, "pending": not e["synced"]} for e in local]
            for e in mine:
                e["value"] = None if e["value_cents"] is None else e["value_cents"] / 100
                e["campaign_name"] = names.get(e["campaign"])
            return {
                "contact": contact,
                "name": None,
                "events": mine,
                "total": len(mine),
                "conversions": sum(1 for e in mine if e["kind"] in CONVERSION_KINDS),
                "local_only": True,
            }
        known = {e["id"] for e in body["events"]}
        extra = [e for e in pending if e["id"] not in known]
        if extra:
            body["events"] = sorted(
                body["events"] + extra, key=lambda e: (e["occurred_at_ms"], e["id"])
            )
            body["total"] += len(extra)
            body["conversions"] += sum(1 for e in extra if e["kind"] in CONVERSION_KINDS)
        body["pending"] = len(extra)
        return body

    def _failed(self, contact: str, exc: BaseException) -> None:
        self.body = None
        self.timeline.set_events([])
        self.events.set_rows([])
        if getattr(exc, "code", "") == "not_found":
            self.summary.setText(f"No one called {contact} has an event in your organisation.")
        else:
            self.summary.setText(f"Could not read the journey: {describe(exc)}")
        self.loaded.emit()

    def set_journey(self, body: dict[str, Any]) -> None:
        self.body = body
        events = body["events"]
        self.timeline.set_events(events)
        self.events.set_rows(list(reversed(events)), "No event.")
        who = f"{body['name']} ({body['contact']})" if body.get("name") else body["contact"]
        span = f" from {day(events[0]['occurred_at_ms'])} to {day(events[-1]['occurred_at_ms'])}"
        more = f" (the latest {len(events)} of {body['total']})" if body.get("truncated") else ""
        waiting = sum(1 for e in events if e.get("pending"))
        if body.get("local_only"):
            where = " Only what this computer captured: the server cannot be reached."
        elif waiting:
            where = f" {waiting} captured here and waiting to sync are drawn hollow."
        else:
            where = ""
        self.summary.setText(
            f"{who}: {len(events)} events{more}{span if events else ''}, "
            f"{body['conversions']} conversion{'s' if body['conversions'] != 1 else ''}. "
            "Placed by when they happened, captures made offline included." + where
        )
        self.loaded.emit()


class AttributionPage(ReportPage):
    def __init__(self, ops: Ops | SyncEngine, parent: QWidget | None = None) -> None:
        super().__init__(
            ops,
            "Attribution",
            "Which channels and campaigns lead to bookings: the paths couples take, and how "
            "seven models share out the credit.",
            parent,
        )
        flow_card = components.Card("Conversion paths")
        self.flow = PathFlow()
        flow_card.body.addWidget(self.flow)
        self.flow_note = QLabel("", objectName="Muted", wordWrap=True)
        flow_card.body.addWidget(self.flow_note)
        self.body.addWidget(flow_card)

        columns = [Column("Channel", lambda r: components.label(r["channel"]))]
        for key, title in MODELS:
            columns.append(
                Column(
                    title,
                    lambda r, key=key: share(r["shares"].get(key), 1),
                    value=lambda r, key=key: r["shares"].get(key),
                    numeric=True,
                    tone=lambda r, key=key: (
                        "ok"
                        if r["max_model"] == key
                        else "danger"
                        if r["min_model"] == key
                        else None
                    ),
                    bold=lambda r, key=key: key in (r["max_model"], r["min_model"]),
                    tip=lambda r, key=key: (
                        f"{MODEL_NAMES[key]}: "
                        f"{number((r['row'].get(key) or {}).get('conversions'), 1)} conversions, "
                        f"{pounds((r['row'].get(key) or {}).get('revenue'))}"
                    ),
                )
            )
        columns.append(
            Column(
                "Spread",
                lambda r: "—" if r["spread"] is None else f"{r['spread'] * 100:.1f} pt",
                value=lambda r: r["spread"],
                numeric=True,
                tip=lambda r: "Highest share minus lowest: how much the models disagree",
            )
        )
        self.models = self.table(
            "Models side by side: share of conversions", columns, "attribution-models", 8
        )
        self.models_note = QLabel("", objectName="Muted", wordWrap=True)
        self.models.body.addWidget(self.models_note)
        self.body.addWidget(self.models)

        journey_card = components.Card("A contact's journey")
        self.journey = Journey(self)
        journey_card.body.addWidget(self.journey)
        self.body.addWidget(journey_card)

        pick = QHBoxLayout()
        pick.addWidget(QLabel("Revenue credited by"))
        self.model_pick = QComboBox()
        self.model_pick.setAccessibleName("Credit model")
        for key, _ in MODELS:
            self.model_pick.addItem(MODEL_NAMES[key], key)
        pick.addWidget(self.model_pick)
        pick.addStretch(1)
        self.body.addLayout(pick)
        self.channel_revenue = self.table(
            "Attributed revenue per channel",
            [
                Column("Channel", lambda r: components.label(r["channel"])),
                Column(
                    "Conversions",
                    lambda r: number(r["conversions"], 1),
                    value=lambda r: r["conversions"],
                    numeric=True,
                ),
                Column(
                    "Revenue",
                    lambda r: pounds(r["revenue"]),
                    value=lambda r: r["revenue"],
                    numeric=True,
                ),
                Column(
                    "Cost",
                    lambda r: pounds(r["cost"]) if r["priced"] else "not recorded",
                    value=lambda r: r["cost"],
                    numeric=True,
                ),
            ],
            "revenue-per-channel",
        )
        self.body.addWidget(self.channel_revenue)
        self.campaign_revenue = self.table(
            "Attributed revenue per campaign",
            [
                Column("Campaign", lambda r: r["name"]),
                Column(
                    "Conversions",
                    lambda r: number(r["conversions"], 1),
                    value=lambda r: r["conversions"],
                    numeric=True,
                ),
                Column(
                    "Revenue",
                    lambda r: pounds(r["value"]),
                    value=lambda r: r["value"],
                    numeric=True,
                ),
            ],
            "revenue-per-campaign",
        )
        self.body.addWidget(self.campaign_revenue)
        self.body.addStretch(1)
        self.model_pick.currentIndexChanged.connect(lambda _: self._show_revenue())

    @property
    def tables(self) -> list[TableCard]:
        return [self.models, self.journey.events, self.channel_revenue, self.campaign_revenue]

    def show_report(self, report: dict[str, Any]) -> None:
        a = report.get("attribution") or {}
        paths = a.get("paths") or {}
        top = paths.get("top") or []
        self.flow.set_paths(top)
        shown = sum(p["conversions"] for p in top)
        credited = sum(
            c["conversions"]
            for c in ((a.get("channels") or {}).get("linear") or {}).get("credit", {}).values()
        )
        self.flow_note.setText(
            f"The {len(top)} most common paths, {number(shown)} of {number(credited)} conversions "
            f"with a touch before them ({number(paths.get('converting'))} converting and "
            f"{number(paths.get('non_converting'))} non-converting paths in all). Band thickness: "
            "conversions. Hover a band to see its paths."
            if top
            else "No conversion with a touch before it in this period."
        )
        channels = report.get("channels") or []
        shares = model_shares(channels)
        spread = ((a.get("disagreement") or {}).get("channels")) or {}
        rows = []
        for c in channels:
            d = spread.get(c["channel"]) or {}
            rows.append(
                {
                    "channel": c["channel"],
                    "row": c,
                    "shares": {m: shares[m].get(c["channel"]) for m, _ in MODELS},
                    "max_model": d.get("max_model"),
                    "min_model": d.get("min_model"),
                    "spread": d.get("spread"),
                }
            )
        rows.sort(key=lambda r: -(r["spread"] or 0))
        self.models.set_rows(rows, "No channel was credited in this period.")
        dis = a.get("disagreement") or {}
        pair = dis.get("most_different_models") or []
        self.models_note.setText(
            "Green: the model that gives the channel most; red: least. Channels that differ "
            "most come first."
            + (
                f" {MODEL_NAMES.get(pair[0], pair[0])} and {MODEL_NAMES.get(pair[1], pair[1])} "
                f"disagree most: {share(dis.get('max_pairwise_total_variation'))} of the credit "
                "goes elsewhere."
                if len(pair) == 2
                else ""
            )
            + (f" {a['caveat']}" if a.get("caveat") else "")
        )
        roi_model = a.get("roi_model")
        if (
            roi_model
            and self.model_pick.findData(roi_model) >= 0
            and not getattr(self, "_picked", False)
        ):
            self.model_pick.blockSignals(True)
            self.model_pick.setCurrentIndex(self.model_pick.findData(roi_model))
            self.model_pick.blockSignals(False)
            self._picked = True
        self._show_revenue()
        if not self.journey.contact.text():
            first = next(
                (s["contact"] for s in (report.get("viral") or {}).get("super_connectors") or []),
                None,
            )
            if first:
                self.journey.show_contact(first)

    def _show_revenue(self) -> None:
        report = self.report or {}
        model = self.model_pick.currentData()
        a = report.get("attribution") or {}
        rows = [
            {
                "channel": c["channel"],
                "conversions": (c.get(model) or {}).get("conversions", 0.0),
                "revenue": (c.get(model) or {}).get("revenue", 0.0),
                "cost": c.get("cost"),
                "priced": c.get("priced"),
            }
            for c in report.get("channels") or []
        ]
        rows.sort(key=lambda r: -r["revenue"])
        self.channel_revenue.set_rows(rows)
        names = {c["campaign"]: c.get("name") for c in report.get("campaigns") or []}
        credit = ((a.get("campaigns") or {}).get(model) or {}).get("credit") or {}
        campaign_rows = [
            {
                "campaign": cid,
                "name": "Not from a campaign"
                if cid == NO_CAMPAIGN
                else (names.get(cid) or "Unnamed campaign"),
                "conversions": figures.get("conversions", 0.0),
                "value": figures.get("value", 0.0),
            }
            for cid, figures in credit.items()
        ]
        campaign_rows.sort(key=lambda r: (r["campaign"] == NO_CAMPAIGN, -r["value"]))
        self.campaign_revenue.set_rows(campaign_rows)
