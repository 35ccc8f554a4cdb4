"""Small line icons drawn with QPainter: crisp at any device pixel ratio, tinted to the palette.

No image files to ship: each icon is a few strokes on a 24-unit grid.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

Draw = Callable[[QPainter], None]


def _path(points: list[tuple[float, float]], closed: bool = False) -> QPainterPath:
    path = QPainterPath(QPointF(*points[0]))
    for x, y in points[1:]:
        path.lineTo(x, y)
    if closed:
        path.closeSubpath()
    return path


def _campaigns(p: QPainter) -> None:  # three connected nodes: a flow
    p.drawRoundedRect(QRectF(3, 3, 8, 6), 1.5, 1.5)
    p.drawRoundedRect(QRectF(13, 10, 8, 6), 1.5, 1.5)
    p.drawRoundedRect(QRectF(3, 17, 8, 5), 1.5, 1.5)
    p.drawPath(_path([(7, 9), (7, 13), (13, 13)]))
    p.drawPath(_path([(17, 16), (17, 19.5), (11, 19.5)]))


def _capture(p: QPainter) -> None:  # plus in a circle
    p.drawEllipse(QRectF(3, 3, 18, 18))
    p.drawLine(QPointF(12, 7.5), QPointF(12, 16.5))
    p.drawLine(QPointF(7.5, 12), QPointF(16.5, 12))


def _conflicts(p: QPainter) -> None:  # warning triangle
    p.drawPath(_path([(12, 3), (22, 20.5), (2, 20.5)], closed=True))
    p.drawLine(QPointF(12, 9), QPointF(12, 14))
    p.drawPoint(QPointF(12, 17.2))


def _sync(p: QPainter) -> None:  # two arcs with arrow heads
    p.drawArc(QRectF(4, 4, 16, 16), 30 * 16, 150 * 16)
    p.drawArc(QRectF(4, 4, 16, 16), 210 * 16, 150 * 16)
    p.drawPath(_path([(19.5, 3.5), (19, 8.2), (14.5, 7.5)]))
    p.drawPath(_path([(4.5, 20.5), (5, 15.8), (9.5, 16.5)]))


def _email(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(3, 5.5, 18, 13), 2, 2)
    p.drawPath(_path([(3.5, 7), (12, 13), (20.5, 7)]))


def _wait(p: QPainter) -> None:
    p.drawEllipse(QRectF(3, 3, 18, 18))
    p.drawPath(_path([(12, 7), (12, 12), (15.5, 14)]))


def _branch(p: QPainter) -> None:
    p.drawLine(QPointF(7, 3), QPointF(7, 21))
    path = QPainterPath(QPointF(7, 15))
    path.cubicTo(QPointF(7, 10), QPointF(17, 12), QPointF(17, 6))
    p.drawPath(path)
    p.drawPath(_path([(14, 8), (17, 4.5), (20, 8)]))


def _goal(p: QPainter) -> None:
    p.drawLine(QPointF(5, 21), QPointF(5, 3))
    p.drawPath(_path([(5, 4), (19, 4), (15.5, 8.5), (19, 13), (5, 13)]))


def _trigger(p: QPainter) -> None:  # lightning bolt
    p.drawPath(
        _path(
            [(13.5, 2.5), (5, 13.5), (11.5, 13.5), (10.5, 21.5), (19, 10.5), (12.5, 10.5)],
            closed=True,
        )
    )


def _undo(p: QPainter) -> None:
    path = QPainterPath(QPointF(5, 10))
    path.cubicTo(QPointF(9, 5), QPointF(20, 6), QPointF(19, 15))
    p.drawPath(path)
    p.drawPath(_path([(5, 4.5), (5, 10), (10.5, 10)]))


def _redo(p: QPainter) -> None:
    p.translate(24, 0)
    p.scale(-1, 1)
    _undo(p)


def _trash(p: QPainter) -> None:
    p.drawLine(QPointF(4, 6.5), QPointF(20, 6.5))
    p.drawPath(_path([(9, 6.5), (9.5, 3.5), (14.5, 3.5), (15, 6.5)]))
    p.drawPath(_path([(6, 6.5), (7, 21), (17, 21), (18, 6.5)]))


def _up(p: QPainter) -> None:
    p.drawLine(QPointF(12, 20), QPointF(12, 4))
    p.drawPath(_path([(6, 10), (12, 4), (18, 10)]))


def _down(p: QPainter) -> None:
    p.drawLine(QPointF(12, 4), QPointF(12, 20))
    p.drawPath(_path([(6, 14), (12, 20), (18, 14)]))


def _back(p: QPainter) -> None:
    p.drawPath(_path([(15, 5), (8, 12), (15, 19)]))


def _search(p: QPainter) -> None:
    p.drawEllipse(QRectF(4, 4, 12, 12))
    p.drawLine(QPointF(14.5, 14.5), QPointF(20, 20))


def _check(p: QPainter) -> None:
    p.drawPath(_path([(4.5, 12.5), (9.5, 17.5), (19.5, 6.5)]))


def _offline(p: QPainter) -> None:  # cloud with a slash
    path = QPainterPath(QPointF(7, 18))
    path.arcTo(QRectF(2, 10, 8, 8), 270, -180)
    path.arcTo(QRectF(6, 5, 11, 11), 160, -150)
    path.arcTo(QRectF(14, 10, 8, 8), 90, -180)
    path.closeSubpath()
    p.drawPath(path)
    p.drawLine(QPointF(4, 3.5), QPointF(20, 21))


def _plus(p: QPainter) -> None:
    p.drawLine(QPointF(12, 5), QPointF(12, 19))
    p.drawLine(QPointF(5, 12), QPointF(19, 12))


def _viral(p: QPainter) -> None:  # one person bringing two, each bringing more
    for x, y in ((12, 5), (6, 13), (18, 13), (3.5, 20), (9, 20), (20.5, 20)):
        p.drawEllipse(QPointF(x, y), 2, 2)
    p.drawLine(QPointF(11, 6.8), QPointF(7, 11.2))
    p.drawLine(QPointF(13, 6.8), QPointF(17, 11.2))
    p.drawLine(QPointF(5.2, 14.8), QPointF(4.2, 18.1))
    p.drawLine(QPointF(6.8, 14.8), QPointF(8.3, 18.1))
    p.drawLine(QPointF(18.8, 14.8), QPointF(19.8, 18.1))


def _flow(p: QPainter) -> None:  # paths joining into one conversion
    p.drawPath(_path([(3, 5), (9, 5), (15, 12), (21, 12)]))
    p.drawPath(_path([(3, 12), (21, 12)]))
    p.drawPath(_path([(3, 19), (9, 19), (15, 12)]))
    p.drawLine(QPointF(18, 9), QPointF(21, 12))
    p.drawLine(QPointF(18, 15), QPointF(21, 12))


def _chart(p: QPainter) -> None:
    p.drawPath(_path([(3, 3), (3, 21), (21, 21)]))
    p.drawPath(_path([(6.5, 16), (11, 11), (14, 14), (20, 7)]))


def _dashboard(p: QPainter) -> None:  # four tiles, one tall
    p.drawRoundedRect(QRectF(3, 3, 8, 11), 1.5, 1.5)
    p.drawRoundedRect(QRectF(13, 3, 8, 6), 1.5, 1.5)
    p.drawRoundedRect(QRectF(13, 11, 8, 10), 1.5, 1.5)
    p.drawRoundedRect(QRectF(3, 16, 8, 5), 1.5, 1.5)


SHAPES: dict[str, Draw] = {
    "campaigns": _campaigns,
    "capture": _capture,
    "conflicts": _conflicts,
    "sync": _sync,
    "send_email": _email,
    "wait": _wait,
    "branch": _branch,
    "goal": _goal,
    "trigger": _trigger,
    "undo": _undo,
    "redo": _redo,
    "delete": _trash,
    "up": _up,
    "down": _down,
    "back": _back,
    "search": _search,
    "check": _check,
    "offline": _offline,
    "plus": _plus,
    "chart": _chart,
    "viral": _viral,
    "flow": _flow,
    "dashboard": _dashboard,
}


def paint(painter: QPainter, name: str, rect: QRectF, color: QColor, width: float = 1.8) -> None:
    """Draw icon ``name`` into ``rect`` (square) with ``painter``."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate(rect.topLeft())
    painter.scale(rect.width() / 24, rect.height() / 24)
    pen = QPen(
        color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
    )
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    SHAPES[name](painter)
    painter.restore()


def icon(name: str, color: QColor | str, size: int = 24, ratio: float = 2.0) -> QIcon:
    """A QIcon of ``name`` rendered for high-DPI screens (``ratio`` device pixels per point)."""
    px = math.ceil(size * ratio)
    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    paint(painter, name, QRectF(0, 0, px, px), QColor(color), width=1.8)
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return QIcon(pixmap)
