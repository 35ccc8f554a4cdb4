"""The Viral tracker page: the viral coefficient K over time against its target of 1.2 (healthy
at 1.2 or more, warning from 1.0, critical below), the cycle time, invites sent and accepted,
marketing-assisted invites, the super-connectors (their invitees and their invitees' invitees,
with the revenue of both generations), a chosen contact's invite tree, and the campaigns ranked
by the invites they helped bring.

The figures are the report's ``viral`` section for the chosen period; the invite tree is the
server's ``GET /api/v1/viral/tree``. Nothing is computed here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolTip,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from client.sync import SyncEngine

from . import components, theme
from .insights_parts import (
    K_TARGET,
    K_WARNING,
    Column,
    ReportPage,
    Tile,
    day,
    k_status,
    k_tone,
    number,
    pounds,
    share,
)
from .ops import Ops, describe

TREE_DEPTH = 2
MAX_TREE_DEPTH = 4


def _k(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


class KChart(QWidget):
    """Cycle K per weekly joining cohort (the report's ``viral.trend``), with the target and
    the warning line. A cohort still inside its observation is drawn hollow."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buckets: list[dict[str, Any]] = []
        self.setMinimumHeight(170)
        self.setMouseTracking(True)
        self.setAccessibleName("Viral coefficient K per week")

    def sizeHint(self) -> QSize:
        return QSize(600, 200)

    def set_buckets(self, buckets: list[dict[str, Any]]) -> None:
        self.buckets = list(buckets)
        self.update()

    def _frame(self) -> QRectF:
        return QRectF(self.rect()).adjusted(40, 10, -70, -24)

    def top_k(self) -> float:
        ks = [b["k"] for b in self.buckets if b.get("k") is not None]
        return max([K_TARGET * 1.25, *ks]) * 1.08

    def points(self) -> list[tuple[QPointF, dict[str, Any]]]:
        """Where each bucket with a K is drawn."""
        area, top = self._frame(), self.top_k()
        n = len(self.buckets)
        out = []
        for i, bucket in enumerate(self.buckets):
            if bucket.get("k") is None:
                continue
            x = area.left() + (area.width() * (i + 0.5) / n if n else 0)
            y = area.bottom() - area.height() * bucket["k"] / top
            out.append((QPointF(x, y), bucket))
        return out

    def paintEvent(self, event: QPaintEvent) -> None:
        t = theme.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        area, top = self._frame(), self.top_k()
        p.setPen(QPen(t.color("border"), 1))
        p.drawLine(area.bottomLeft(), area.bottomRight())
        p.setPen(t.color("muted"))
        p.drawText(QRectF(0, area.bottom() - 8, 34, 16), Qt.AlignmentFlag.AlignRight, "0")
        for value, tone, text in ((K_TARGET, "ok", "target"), (K_WARNING, "warn", "warning")):
            y = area.bottom() - area.height() * value / top
            pen = QPen(t.color(tone), 1, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            p.drawText(
                QRectF(area.right() + 4, y - 8, 66, 16),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
            p.setPen(t.color("muted"))
            p.drawText(QRectF(0, y - 8, 34, 16), Qt.AlignmentFlag.AlignRight, f"{value:.1f}")
        points = self.points()
        if not points:
            p.setPen(t.color("muted"))
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, "No cohort joined in this period")
            p.end()
            return
        line = QPainterPath(points[0][0])
        for point, _ in points[1:]:
            line.lineTo(point)
        p.setPen(QPen(t.color("accent"), 2))
        p.drawPath(line)
        for point, bucket in points:
            color = t.color(k_tone(bucket["k"]))
            p.setPen(QPen(color, 2))
            p.setBrush(color if bucket.get("complete") else QColor(t.surface))
            p.drawEllipse(point, 4, 4)
        p.setPen(t.color("muted"))
        first, last = self.buckets[0], self.buckets[-1]
        p.drawText(
            QRectF(area.left(), area.bottom() + 4, 140, 18),
            Qt.AlignmentFlag.AlignLeft,
            day(first["from_ms"]),
        )
        p.drawText(
            QRectF(area.right() - 140, area.bottom() + 4, 140, 18),
            Qt.AlignmentFlag.AlignRight,
            day(last["from_ms"]),
        )
        p.end()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        near = [
            (abs(point.x() - event.position().x()), point, b)
            for point, b in self.points()
            if abs(point.x() - event.position().x()) < 12
        ]
        if not near:
            QToolTip.hideText()
            return
        _, point, b = min(near, key=lambda n: n[0])
        state = "" if b.get("complete") else " (still being observed)"
        QToolTip.showText(
            event.globalPosition().toPoint(),
            f"Week of {day(b['from_ms'])}{state}\nK {_k(b['k'])}: {k_status(b['k'])}\n"
            f"{b['joined']} joined · {b['invites']} invites · {b['accepted']} accepted",
            self,
        )


def _who(node: dict[str, Any]) -> str:
    name = node.get("name")
    return f"{name} ({node['contact']})" if name else node["contact"]


class InviteTree(QWidget):
    """A contact's invite tree, read from the server: who they invited, down the generations."""

    loaded = Signal()

    def __init__(self, ops: Ops, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ops = ops
        self.body: dict[str, Any] | None = None
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.contact = QLineEdit(placeholderText="A contact's email, or pick a super-connector")
        self.contact.setAccessibleName("Contact")
        self.depth = QSpinBox(minimum=1, maximum=MAX_TREE_DEPTH, value=TREE_DEPTH)
        self.depth.setPrefix("Generations: ")
        self.depth.setAccessibleName("Generations")
        self.show_button = QPushButton("Show tree")
        row = QHBoxLayout()
        row.addWidget(self.contact, 1)
        row.addWidget(self.depth)
        row.addWidget(self.show_button)
        layout.addLayout(row, 0, 0)
        self.summary = QLabel("", objectName="Muted", wordWrap=True)
        layout.addWidget(self.summary, 1, 0)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Person", "Invited", "Accepted", "Revenue", "Invites"])
        self.tree.setAccessibleName("Invite tree")
        self.tree.setMinimumHeight(200)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        head = self.tree.header()
        head.setStretchLastSection(False)
        head.setSectionResizeMode(0, head.ResizeMode.Stretch)
        for c in range(1, 5):
            head.setSectionResizeMode(c, head.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree, 2, 0)
        self.show_button.clicked.connect(self.load)
        self.contact.returnPressed.connect(self.load)

    def show_contact(self, contact: str) -> None:
        self.contact.setText(contact)
        self.load()

    def load(self) -> None:
        contact = self.contact.text().strip()
        if not contact:
            self.summary.setText("Type a contact's email, or pick a super-connector above.")
            return
        query = urlencode({"contact": contact, "depth": self.depth.value()})
        engine = self.ops.engine
        self.summary.setText(f"Reading the invite tree of {contact}…")
        self.ops.call(
            lambda: engine.api("GET", f"/api/v1/viral/tree?{query}"),
            success=self.set_tree,
            failure=lambda exc: self._failed(contact, exc),
        )

    def _failed(self, contact: str, exc: BaseException) -> None:
        self.body = None
        self.tree.clear()
        code = getattr(exc, "code", "")
        if code == "not_found":
            self.summary.setText(f"No one called {contact} has an event in your organisation.")
        else:
            self.summary.setText(f"Could not read the invite tree: {describe(exc)}")
        self.loaded.emit()

    def set_tree(self, body: dict[str, Any]) -> None:
        self.body = body
        self.tree.clear()
        root = body["root"]

        def add(parent: QTreeWidgetItem | QTreeWidget, node: dict[str, Any]) -> None:
            accepted = node.get("accepted_at_ms")
            item = QTreeWidgetItem(
                [
                    _who(node),
                    day(node.get("invited_at_ms")) if node.get("invited_at_ms") else "",
                    day(accepted) if accepted else ("not yet" if node is not root else ""),
                    pounds(node.get("revenue")),
                    f"{node['invites_accepted']} of {node['invites_sent']}",
                ]
            )
            for c in (3, 4):
                item.setTextAlignment(
                    c, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
            if node is not root and not accepted:
                item.setForeground(2, theme.current().color("muted"))
            item.setToolTip(
                0,
                f"{_who(node)}: {node['invites_accepted']} of {node['invites_sent']} invites "
                f"accepted; {pounds(node.get('revenue'))} of bookings",
            )
            if isinstance(parent, QTreeWidget):
                parent.addTopLevelItem(item)
            else:
                parent.addChild(item)
            for child in node["children"]:
                add(item, child)

        add(self.tree, root)
        self.tree.expandAll()
        by = ", ".join(_who(p) for p in body.get("invited_by") or [])
        cut = " Only the first people are shown." if body.get("truncated") else ""
        self.summary.setText(
            f"{body['nodes'] - 1} people in {body['depth']} generation"
            f"{'s' if body['depth'] != 1 else ''} below {_who(root)}"
            + (f"; invited by {by}." if by else "; not invited by anyone we know of.")
            + cut
        )
        self.loaded.emit()


class ViralPage(ReportPage):
    def __init__(self, ops: Ops | SyncEngine, parent: QWidget | None = None) -> None:
        super().__init__(
            ops,
            "Viral tracker",
            "How referrals grow the venue: K against its 1.2 target, who brings others in, "
            "and which campaigns help.",
            parent,
        )
        tiles = QGridLayout()
        tiles.setSpacing(10)
        self.k_tile = Tile("Viral coefficient K")
        self.window_k_tile = Tile("Invites accepted per inviter")
        self.cycle_tile = Tile("Cycle time")
        self.sent_tile = Tile("Invites sent")
        self.accepted_tile = Tile("Invites accepted")
        self.assisted_tile = Tile("Marketing-assisted invites")
        for i, tile in enumerate(
            (
                self.k_tile,
                self.window_k_tile,
                self.cycle_tile,
                self.sent_tile,
                self.accepted_tile,
                self.assisted_tile,
            )
        ):
            tiles.addWidget(tile, i // 3, i % 3)
        self.body.addLayout(tiles)

        chart_card = components.Card("K per weekly joining cohort")
        self.chart = KChart()
        chart_card.body.addWidget(self.chart)
        self.chart_note = QLabel("", objectName="Muted", wordWrap=True)
        chart_card.body.addWidget(self.chart_note)
        self.body.addWidget(chart_card)

        self.connectors = self.table(
            "Super-connectors",
            [
                Column("Person", lambda r: r["contact"]),
                Column("Accepted", lambda r: number(r["accepted_invites"]), numeric=True),
                Column(
                    "2nd gen.",
                    lambda r: number(r["second_generation_invites"]),
                    numeric=True,
                    tip=lambda r: "Accepted invites of the people they brought in",
                ),
                Column("Downstream", lambda r: number(r["downstream_invites"]), numeric=True),
                Column(
                    "Revenue",
                    lambda r: pounds(r["downstream_revenue"]),
                    value=lambda r: r["downstream_revenue"],
                    numeric=True,
                    tip=lambda r: "Bookings of both generations",
                ),
                Column(
                    "2nd gen. revenue",
                    lambda r: pounds(r.get("second_generation_revenue")),
                    value=lambda r: r.get("second_generation_revenue"),
                    numeric=True,
                ),
            ],
            "super-connectors",
        )
        self.body.addWidget(self.connectors)

        tree_card = components.Card("Invite tree")
        self.tree = InviteTree(self.ops)
        tree_card.body.addWidget(self.tree)
        self.body.addWidget(tree_card)

        self.campaigns = self.table(
            "Campaigns by viral effect",
            [
                Column("Campaign", lambda r: r.get("name") or "Unnamed campaign"),
                Column(
                    "Invites helped",
                    lambda r: number(r["assisted_invites"]),
                    numeric=True,
                    tip=lambda r: (
                        "Invites whose invitee got this campaign's email from 7 days "
                        "before to 30 days after"
                    ),
                ),
                Column("Accepted", lambda r: number(r["assisted_accepted_invites"]), numeric=True),
            ],
            "campaigns-by-viral-effect",
        )
        self.body.addWidget(self.campaigns)
        self.body.addStretch(1)
        self.connectors.view.selectionModel().currentRowChanged.connect(self._pick_connector)

    def _pick_connector(self, current, _previous) -> None:  # noqa: ANN001
        if current.isValid():
            self.tree.show_contact(self.connectors.model.rows[current.row()]["contact"])

    def show_report(self, report: dict[str, Any]) -> None:
        v = report.get("viral") or {}
        cycle = v.get("cycle") or {}
        k = cycle.get("k")
        self.k_tile.set(
            _k(k),
            f"{k_status(k).capitalize()} · target {K_TARGET:.1f}"
            if k is not None
            else (cycle.get("reason") or "No cohort to measure"),
            k_tone(k),
            f"New users each joining user brings in within {cycle.get('cycle_days')} days "
            f"({cycle.get('cohorts', 0)} weekly cohorts, {number(cycle.get('joined'))} people). "
            f"Healthy at {K_TARGET:.1f} or more, warning from {K_WARNING:.1f}, critical below.",
        )
        self.window_k_tile.set(
            _k(v.get("viral_coefficient")),
            f"{number(v.get('inviting_users'))} people sent invites",
            None,
            "Accepted invites ÷ people who invited, in this period (it grows with the period, "
            "so compare the cycle K instead)",
        )
        ct = v.get("cycle_time_days") or {}
        self.cycle_tile.set(
            "—" if ct.get("median") is None else f"{ct['median']:.1f} days",
            "" if ct.get("mean") is None else f"median; mean {ct['mean']:.1f} days",
            None,
            "From an invite to its acceptance",
        )
        self.sent_tile.set(
            number(v.get("invites_sent")),
            f"{number(v.get('invites_per_inviter'), 1)} per inviter",
        )
        self.accepted_tile.set(
            number(v.get("invites_accepted")), f"{share(v.get('acceptance_rate'))} accepted"
        )
        self.assisted_tile.set(
            number(v.get("marketing_assisted_invites")),
            f"{share(v.get('marketing_assisted_share'))} of invites had a campaign's email",
        )
        trend = v.get("trend") or {}
        self.chart.set_buckets(trend.get("buckets") or [])
        slope = trend.get("slope_per_week")
        direction = (
            "" if slope is None else f" K moves by {slope:+.3f} a week over the complete cohorts."
        )
        self.chart_note.setText(
            "Each point: the people who joined that week and the invites they got accepted "
            f"within {cycle.get('cycle_days')} days. Hollow: still being observed.{direction}"
        )
        self.connectors.set_rows(
            v.get("super_connectors") or [], "No one's invite was accepted in this period."
        )
        self.campaigns.set_rows(
            v.get("campaigns_by_viral_effect") or [],
            "No invitee had a campaign's email around their invite in this period.",
        )
        if not self.tree.contact.text() and v.get("super_connectors"):
            self.tree.show_contact(v["super_connectors"][0]["contact"])
