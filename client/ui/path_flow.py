"""Conversion paths drawn as flows (a Sankey diagram): one column per touch of a path (first
touch, second, …), then the conversion; a node per channel in each column; a band from one
touch to the next as thick as the conversions of the paths that go that way.

``flow_layout`` computes the diagram (nodes, bands, their places and thicknesses) from the
report's top paths (``attribution.paths.top``: a list of ``{"path": [channel, …],
"conversions", "value"}``) for a given size; ``PathFlow`` paints it. Paths longer than
``max_steps`` touches keep their first touches and run through a "later touches" column
holding their last touch, so every band ends in the conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent
from PySide6.QtWidgets import QToolTip, QWidget

from . import components, theme

CONVERSION = "Conversion"
NODE_WIDTH = 12.0
NODE_GAP = 8.0
PALETTE = (
    "#5b8def",
    "#e8833a",
    "#3bb273",
    "#d64f8a",
    "#8d6cd9",
    "#c9a227",
    "#2fb5c4",
    "#b0564a",
    "#6f8f3a",
    "#7a7f8c",
)


@dataclass
class Node:
    column: int
    label: str
    value: float = 0.0
    x: float = 0.0
    y: float = 0.0
    height: float = 0.0


@dataclass
class Band:
    source: Node
    target: Node
    value: float
    thickness: float = 0.0
    y0: float = 0.0  # top of the band where it leaves the source
    y1: float = 0.0  # top of the band where it enters the target
    paths: list[str] = field(default_factory=list)


@dataclass
class FlowLayout:
    columns: list[str]
    nodes: list[Node]
    bands: list[Band]
    scale: float  # pixels per conversion
    total: float


def column_titles(steps: int, later: bool) -> list[str]:
    names = ["1st touch", "2nd touch", "3rd touch"] + [f"{n}th touch" for n in range(4, 10)]
    titles = names[:steps]
    if later:
        titles[-1] = "Last touch"
    return [*titles, CONVERSION]


def _steps(path: list[str], max_steps: int) -> list[str]:
    if len(path) <= max_steps:
        return list(path)
    return [*path[: max_steps - 1], path[-1]]


def flow_layout(
    paths: list[dict[str, Any]], width: float, height: float, *, max_steps: int = 5
) -> FlowLayout:
    """Place the nodes and bands of ``paths`` in a ``width`` × ``height`` area."""
    rows = [(_steps(p["path"], max_steps), float(p["conversions"])) for p in paths]
    rows = [(steps, n) for steps, n in rows if steps and n > 0]
    steps = max((len(s) for s, _ in rows), default=0)
    later = any(len(p["path"]) > max_steps for p in paths)
    columns = column_titles(steps, later) if steps else []
    total = sum(n for _, n in rows)
    nodes: dict[tuple[int, str], Node] = {}
    bands: dict[tuple[tuple[int, str], tuple[int, str]], Band] = {}

    def node(column: int, label: str) -> Node:
        key = (column, label)
        if key not in nodes:
            nodes[key] = Node(column, label)
        return nodes[key]

    for path, n in rows:
        keys = [(i, label) for i, label in enumerate(path)] + [(steps, CONVERSION)]
        for key in keys:
            node(*key).value += n
        for a, b in zip(keys, keys[1:], strict=False):
            band = bands.get((a, b))
            if band is None:
                band = bands[(a, b)] = Band(nodes[a], nodes[b], 0.0)
            band.value += n
            band.paths.append(" → ".join(path))
    by_column: list[list[Node]] = [[] for _ in columns]
    for n in nodes.values():
        by_column[n.column].append(n)
    for col in by_column:
        col.sort(key=lambda n: (-n.value, n.label))
    # the scale that fits the fullest column (values plus gaps) in the height
    fits = [
        (height - NODE_GAP * (len(col) - 1)) / sum(n.value for n in col) for col in by_column if col
    ]
    scale = max(0.0, min(fits)) if fits else 0.0
    gaps = len(columns) - 1
    for c, col in enumerate(by_column):
        x = 0.0 if gaps <= 0 else (width - NODE_WIDTH) * c / gaps
        used = sum(n.value for n in col) * scale + NODE_GAP * (len(col) - 1)
        y = (height - used) / 2
        for n in col:
            n.x, n.y, n.height = x, y, n.value * scale
            y += n.height + NODE_GAP
    # bands leave and enter their nodes stacked in the order of the nodes at the other end
    out_at = {id(n): n.y for n in nodes.values()}
    in_at = {id(n): n.y for n in nodes.values()}
    ordered = sorted(bands.values(), key=lambda b: (b.source.column, b.source.y, b.target.y))
    for band in ordered:
        band.thickness = band.value * scale
        band.y0 = out_at[id(band.source)]
        out_at[id(band.source)] += band.thickness
    for band in sorted(bands.values(), key=lambda b: (b.target.column, b.target.y, b.source.y)):
        band.y1 = in_at[id(band.target)]
        in_at[id(band.target)] += band.thickness
    return FlowLayout(columns, list(nodes.values()), ordered, scale, total)


class PathFlow(QWidget):
    """The top conversion paths as a Sankey diagram; hover a band for its paths."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paths: list[dict[str, Any]] = []
        self.layout_: FlowLayout | None = None
        self.colors: dict[str, QColor] = {}
        self.setMinimumHeight(260)
        self.setMouseTracking(True)
        self.setAccessibleName("Conversion paths")

    def sizeHint(self) -> QSize:
        return QSize(700, 300)

    def set_paths(self, paths: list[dict[str, Any]]) -> None:
        self.paths = list(paths)
        channels = sorted({c for p in self.paths for c in p["path"]})
        self.colors = {c: QColor(PALETTE[i % len(PALETTE)]) for i, c in enumerate(channels)}
        self.layout_ = None
        self.update()

    def _area(self) -> QRectF:
        return QRectF(self.rect()).adjusted(8, 24, -124, -6)

    def current_layout(self) -> FlowLayout:
        area = self._area()
        if self.layout_ is None or getattr(self, "_laid_for", None) != (
            area.width(),
            area.height(),
        ):
            self.layout_ = flow_layout(self.paths, area.width(), area.height())
            self._laid_for = (area.width(), area.height())
        return self.layout_

    def _color(self, label: str) -> QColor:
        return self.colors.get(label, theme.current().color("ok"))

    def _band_path(self, band: Band) -> QPainterPath:
        area = self._area()
        x0 = area.left() + band.source.x + NODE_WIDTH
        x1 = area.left() + band.target.x
        top0, top1 = area.top() + band.y0, area.top() + band.y1
        mid = (x0 + x1) / 2
        path = QPainterPath(QPointF(x0, top0))
        path.cubicTo(QPointF(mid, top0), QPointF(mid, top1), QPointF(x1, top1))
        path.lineTo(QPointF(x1, top1 + band.thickness))
        path.cubicTo(
            QPointF(mid, top1 + band.thickness),
            QPointF(mid, top0 + band.thickness),
            QPointF(x0, top0 + band.thickness),
        )
        path.closeSubpath()
        return path

    def paintEvent(self, event: QPaintEvent) -> None:
        t = theme.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        layout, area = self.current_layout(), self._area()
        if not layout.nodes:
            p.setPen(t.color("muted"))
            p.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, "No converting path in this period"
            )
            p.end()
            return
        gaps = max(1, len(layout.columns) - 1)
        p.setPen(t.color("muted"))
        for c, title in enumerate(layout.columns):
            x = area.left() + (area.width() - NODE_WIDTH) * c / gaps
            p.drawText(QRectF(x - 4, 2, 110, 18), Qt.AlignmentFlag.AlignLeft, title)
        p.setPen(Qt.PenStyle.NoPen)
        for band in layout.bands:
            color = QColor(self._color(band.source.label))
            color.setAlpha(110 if not t.dark else 140)
            p.setBrush(color)
            p.drawPath(self._band_path(band))
        for n in layout.nodes:
            rect = QRectF(area.left() + n.x, area.top() + n.y, NODE_WIDTH, max(n.height, 1.0))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self._color(n.label) if n.label != CONVERSION else t.color("ok"))
            p.drawRect(rect)
            if n.height >= 11:
                p.setPen(t.color("text"))
                text = f"{components.label(n.label)} {n.value:g}"
                p.drawText(
                    QRectF(rect.right() + 4, rect.center().y() - 9, 118, 18),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                    text,
                )
        p.end()

    def band_at(self, point: QPointF) -> Band | None:
        for band in reversed(self.current_layout().bands):
            if self._band_path(band).contains(point):
                return band
        return None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        band = self.band_at(event.position())
        if band is None:
            QToolTip.hideText()
            return
        shown = band.paths[:6]
        more = f"\n… and {len(band.paths) - 6} more paths" if len(band.paths) > 6 else ""
        QToolTip.showText(
            event.globalPosition().toPoint(),
            f"{components.label(band.source.label)} → {components.label(band.target.label)}: "
            f"{band.value:g} conversions\n" + "\n".join(shown) + more,
            self,
        )
