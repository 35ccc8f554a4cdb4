"""Render the app's icon (the sync glyph of ``client.ui.icons`` on the theme's accent) as PNG
files for the desktop bundle and its ``.desktop`` entry.

    QT_QPA_PLATFORM=offscreen python packaging/make_icon.py OUT_DIR

writes ``OUT_DIR/wedsync.png`` (256 px) and ``OUT_DIR/hicolor/<N>x<N>/apps/wedsync.png`` for
the sizes of the freedesktop icon theme.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 32, 48, 64, 128, 256)


def render(size: int, path: Path) -> None:
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QImage, QPainter

    from client.ui import icons, theme

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(theme.LIGHT.accent))
    margin = size * 0.04
    painter.drawRoundedRect(
        QRectF(margin, margin, size - 2 * margin, size - 2 * margin), size * 0.22, size * 0.22
    )
    inset = size * 0.2
    icons.paint(
        painter,
        "sync",
        QRectF(inset, inset, size - 2 * inset, size - 2 * inset),
        QColor(theme.LIGHT.accent_text),
        width=2.2,
    )
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path), "PNG"):
        raise OSError(f"cannot write {path}")


def main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    out = Path(argv[0]) if argv else Path("build/icons")
    _app = QGuiApplication.instance() or QGuiApplication([])
    render(256, out / "wedsync.png")
    for size in SIZES:
        render(size, out / "hicolor" / f"{size}x{size}" / "apps" / "wedsync.png")
    print(out / "wedsync.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
