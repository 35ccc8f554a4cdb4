"""The campaign flow drawn as nodes on a canvas: the trigger, then each step, then the exit.

Straight arrows join consecutive steps; a branch's "yes" path is drawn as a curved arrow to the
step it connects to. The canvas is keyboard-first: Up/Down select, Alt+Up/Down move the selected
step, Delete removes it, Enter opens its settings. It never edits the document itself: it emits
requests that the builder turns into CRDT edits, and it keeps the selection (by step id) across
redraws, so a remote edit never takes the user's place away.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QResizeEvent,
    QTransform,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView, QWidget

from . import components, icons, theme

NODE_W, NODE_H, GAP = 320.0, 66.0, 38.0
MIN_SCALE = 0.6  # the smallest zoom at which a step's text stays readable
TRIGGER = "trigger"
END = "end"

#: Single keys that add a step after the selection while the canvas has focus.
ADD_KEYS = {
    Qt.Key.Key_E: "send_email",
    Qt.Key.Key_W: "wait",
    Qt.Key.Key_B: "branch",
    Qt.Key.Key_G: "goal",
}
STEP_TITLES = {
    "send_email": "Send email",
    "wait": "Wait",
    "wait_for": "Wait for event",
    "branch": "Branch",
    "split": "A/B split",
    "goal": "Goal",
}
#: The icon of each step kind that has none of its own.
ICON_OF = {"wait_for": "wait", "split": "branch"}
#: The label on a jump's arrow, by the setting that holds it.
JUMP_LABELS = {"then": "yes", "on_timeout": "timeout"}


def describe_step(
    step: dict[str, Any], steps: list[dict[str, Any]], variants: list[dict[str, Any]]
) -> str:
    """One line saying what a step does, in the user's words."""
    config = step.get("config") or {}
    kind = step.get("kind")
    if kind == "send_email":
        variant = config.get("variant", "auto")
        for v in variants:
            if v.get("id") == variant:
                subject = v.get("subject") or "no subject yet"
                return f"Variant {v.get('label', '?')}: {subject}"
        return "Best variant (chosen by live results)" if variants else "Add content in Content"
    if kind == "wait":
        days, hours = int(config.get("days", 0)), int(config.get("hours", 0))
        parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
        if hours:
            parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
        return " ".join(parts) or "No delay"
    if kind == "branch":
        event = components.label(config.get("event", "open")).lower()
        within = int(config.get("within_days", 3))
        target = config.get("then")
        where = "continue"
        for i, s in enumerate(steps):
            if s.get("id") == target:
                where = f"go to step {i + 1}"
        return f"If {event} within {within} d → {where}; else next"
    if kind == "wait_for":
        event = components.label(config.get("event", "click")).lower()
        timeout = int(config.get("timeout_days", 7))
        where = _where(config.get("on_timeout"), steps, "continue")
        return f"Until {event}, at most {timeout} d; on timeout {where}"
    if kind == "split":
        percent = int(config.get("percent", 50))
        where = _where(config.get("then"), steps, "continue")
        return f"{percent}% at random → {where}; others next"
    if kind == "goal":
        return f"Exit when {components.label(config.get('event', 'conversion')).lower()}"
    return ""


def _where(target: Any, steps: list[dict[str, Any]], otherwise: str) -> str:
    for i, s in enumerate(steps):
        if s.get("id") == target:
            return f"go to step {i + 1}"
    return otherwise


def describe_trigger(trigger: Any) -> str:
    if not isinstance(trigger, dict) or not trigger.get("event"):
        return "Not set: choose an event in Trigger"
    conditions = trigger.get("conditions") or []
    text = f"On {components.label(trigger['event']).lower()}"
    if conditions:
        text += f" · {len(conditions)} condition{'s' if len(conditions) != 1 else ''}"
    return text


class NodeItem(QGraphicsItem):
    def __init__(self, key: str, kind: str, title: str, subtitle: str, number: int | None) -> None:
        super().__init__()
        self.key, self.kind, self.title, self.subtitle, self.number = (
            key,
            kind,
            title,
            subtitle,
            number,
        )
        self.selected = False
        self.setAcceptHoverEvents(True)
        self.hover = False

    def boundingRect(self) -> QRectF:
        return QRectF(-4, -4, NODE_W + 8, NODE_H + 8)

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: ANN001 - Qt's
        t = theme.current()
        accent = QColor(t.node.get(self.kind, t.accent))
        rect = QRectF(0, 0, NODE_W, NODE_H)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        border = (
            QColor(t.accent) if self.selected else QColor(t.border if not self.hover else t.muted)
        )
        painter.setPen(QPen(border, 2.2 if self.selected else 1.0))
        painter.setBrush(QBrush(QColor(t.surface)))
        painter.drawRoundedRect(rect, 10, 10)
        badge = QRectF(12, 15, 36, 36)
        tint = QColor(accent)
        tint.setAlpha(40 if not t.dark else 70)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(tint)
        painter.drawRoundedRect(badge, 9, 9)
        icons.paint(
            painter,
            ICON_OF.get(self.kind, self.kind),
            badge.adjusted(7, 7, -7, -7),
            accent,
            width=2.0,
        )
        title_font = QFont(painter.font())
        title_font.setPointSizeF(10.5)
        title_font.setBold(True)
        painter.setFont(title_font)
        painter.setPen(QColor(t.text))
        title = self.title if self.number is None else f"{self.number}. {self.title}"
        painter.drawText(QRectF(60, 11, NODE_W - 72, 22), Qt.AlignmentFlag.AlignVCenter, title)
        sub_font = QFont(painter.font())
        sub_font.setPointSizeF(9.0)
        sub_font.setBold(False)
        painter.setFont(sub_font)
        painter.setPen(QColor(t.muted))
        metrics = painter.fontMetrics()
        text = metrics.elidedText(self.subtitle, Qt.TextElideMode.ElideRight, int(NODE_W - 72))
        painter.drawText(QRectF(60, 34, NODE_W - 72, 20), Qt.AlignmentFlag.AlignVCenter, text)

    def hoverEnterEvent(self, event) -> None:  # noqa: ANN001
        self.hover = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:  # noqa: ANN001
        self.hover = False
        self.update()


class EdgeItem(QGraphicsItem):
    """An arrow from one node to the next, or a curved "yes" jump from a branch."""

    def __init__(
        self, start: QPointF, end: QPointF, *, jump: bool = False, label: str = ""
    ) -> None:
        super().__init__()
        self.start, self.end, self.jump, self.label = start, end, jump, label
        self.setZValue(-1)

    def _path(self) -> QPainterPath:
        path = QPainterPath(self.start)
        if self.jump:
            reach = 70 + abs(self.end.y() - self.start.y()) * 0.08
            path.cubicTo(self.start + QPointF(reach, 0), self.end + QPointF(reach, 0), self.end)
        else:
            path.lineTo(self.end)
        return path

    def boundingRect(self) -> QRectF:
        return self._path().boundingRect().adjusted(-30, -12, 40, 12)

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: ANN001
        t = theme.current()
        color = QColor(t.node["branch"] if self.jump else t.muted)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(color, 1.6)
        if self.jump:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path())
        tip = self.end
        if self.jump:
            head = QPolygonF([tip, tip + QPointF(9, -5), tip + QPointF(9, 5)])
        else:
            head = QPolygonF([tip, tip + QPointF(-5, -9), tip + QPointF(5, -9)])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPolygon(head)
        if self.label:
            painter.setPen(color)
            mid = self._path().pointAtPercent(0.5)
            painter.drawText(
                QRectF(mid.x() + 6, mid.y() - 10, 40, 20), Qt.AlignmentFlag.AlignVCenter, self.label
            )


class FlowCanvas(QGraphicsView):
    selection_changed = Signal(str)  # step id, "trigger", or "" for nothing
    move_requested = Signal(str, int)
    delete_requested = Signal(str)
    activated = Signal(str)
    add_requested = Signal(str)  # step kind, added after the selection

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setAccessibleName("Campaign flow")
        self._nodes: list[NodeItem] = []
        self._selected = TRIGGER

    # -------------------------------------------------------------- content

    @property
    def selected(self) -> str:
        return self._selected

    def order(self) -> list[str]:
        return [n.key for n in self._nodes]

    def set_flow(self, snapshot: dict[str, Any]) -> None:
        steps = snapshot.get("steps") or []
        variants = snapshot.get("variants") or []
        scene = self.scene()
        scene.clear()
        self._nodes = []
        entries = [(TRIGGER, "trigger", "Trigger", describe_trigger(snapshot.get("trigger")), None)]
        for i, step in enumerate(steps):
            kind = step.get("kind", "")
            entries.append(
                (
                    step["id"],
                    kind,
                    STEP_TITLES.get(kind, kind),
                    describe_step(step, steps, variants),
                    i + 1,
                )
            )
        y = 0.0
        positions: dict[str, float] = {}
        for key, kind, title, subtitle, number in entries:
            node = NodeItem(key, kind, title, subtitle, number)
            node.setPos(0, y)
            scene.addItem(node)
            self._nodes.append(node)
            positions[key] = y
            y += NODE_H + GAP
        for a, b in zip(self._nodes, self._nodes[1:], strict=False):
            scene.addItem(EdgeItem(QPointF(NODE_W / 2, a.y() + NODE_H), QPointF(NODE_W / 2, b.y())))
        end_y = y
        last = self._nodes[-1]
        scene.addItem(EdgeItem(QPointF(NODE_W / 2, last.y() + NODE_H), QPointF(NODE_W / 2, end_y)))
        end = scene.addEllipse(
            QRectF(NODE_W / 2 - 28, end_y, 56, 26),
            QPen(theme.current().color("border")),
            QBrush(theme.current().color("sunken")),
        )
        end_label = scene.addText("Exit")
        end_label.setDefaultTextColor(theme.current().color("muted"))
        end_label.setPos(
            NODE_W / 2 - end_label.boundingRect().width() / 2,
            end_y + 13 - end_label.boundingRect().height() / 2,
        )
        end.setZValue(-1)
        for step in steps:
            config = step.get("config") or {}
            for key, label in JUMP_LABELS.items():
                target = config.get(key)
                if target in positions and target != step["id"]:
                    start = QPointF(NODE_W, positions[step["id"]] + NODE_H / 2)
                    finish = QPointF(NODE_W, positions[target] + NODE_H / 2)
                    split = step.get("kind") == "split"
                    text = f"{config.get('percent', 50)}%" if split else label
                    scene.addItem(EdgeItem(start, finish, jump=True, label=text))
        # jump edges and their labels are inside the items' bounds: a small margin is enough
        scene.setSceneRect(scene.itemsBoundingRect().adjusted(-24, -24, 24, 40))
        self._fit_width()
        if self._selected not in positions:
            self._selected = TRIGGER if not steps else self._selected
            if self._selected not in positions:
                self._selected = TRIGGER
        self._paint_selection()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_width()

    def _fit_width(self) -> None:
        """Zoom out (down to ``MIN_SCALE``) when the flow is wider than the view, so a narrow
        window shows whole steps with no horizontal scroll bar; never zoom in."""
        width = self.sceneRect().width()
        if width <= 0:
            return
        room = self.width() - 2 * self.frameWidth() - self.verticalScrollBar().sizeHint().width()
        scale = max(MIN_SCALE, min(1.0, room / width))
        if abs(self.transform().m11() - scale) > 1e-3:
            self.setTransform(QTransform.fromScale(scale, scale))

    def select(self, key: str, *, notify: bool = True) -> None:
        if key not in self.order():
            return
        changed = key != self._selected
        self._selected = key
        self._paint_selection()
        if changed and notify:
            self.selection_changed.emit(key)

    def _paint_selection(self) -> None:
        for node in self._nodes:
            node.selected = node.key == self._selected
            node.update()
            if node.selected:
                self.ensureVisible(node, 20, 20)

    # -------------------------------------------------------------- input

    def keyPressEvent(self, event: QKeyEvent) -> None:
        keys = self.order()
        pos = keys.index(self._selected) if self._selected in keys else 0
        key, mods = event.key(), event.modifiers()
        alt = bool(mods & Qt.KeyboardModifier.AltModifier)
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            step = -1 if key == Qt.Key.Key_Up else 1
            if alt:
                if self._selected != TRIGGER:
                    self.move_requested.emit(self._selected, step)
            else:
                self.select(keys[max(0, min(len(keys) - 1, pos + step))])
            event.accept()
        elif key in (Qt.Key.Key_Home, Qt.Key.Key_End):
            self.select(keys[0] if key == Qt.Key.Key_Home else keys[-1])
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self._selected != TRIGGER:
            self.delete_requested.emit(self._selected)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F2):
            self.activated.emit(self._selected)
        elif key in ADD_KEYS and not mods & ~Qt.KeyboardModifier.KeypadModifier:
            self.add_requested.emit(ADD_KEYS[key])
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: ANN001
        item = self.itemAt(event.position().toPoint())
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        if isinstance(item, NodeItem):
            self.select(item.key)
        self.setFocus()
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: ANN001
        self.activated.emit(self._selected)
