"""The builder's banner for a campaign that is not running although someone asked it to: the
server kept it a draft (its ``hold``, docs/campaigns.md) and says why, or, before the change has
reached the server, what the campaign rules say it will refuse.

It reads the campaign snapshot only; the reasons are the server's words (or the shared rules'),
never rephrased here, so the banner, the CLI and the Status tab say the same thing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from shared.protocol import campaign_rules as rules

from . import components, theme


def hold_text(snap: dict[str, Any]) -> tuple[str, str] | None:
    """``(tone, text)`` for the banner, or None when nothing stands in the way."""
    hold = snap.get("hold")
    status = snap.get("status") or "draft"
    if hold and status != hold.get("status"):
        asked = components.label(hold.get("status")).lower()
        reasons = "\n".join(f"• {p['message']}" for p in hold.get("problems") or [])
        return (
            "danger",
            f"Not {asked}: the server kept this campaign a {status} because it is not ready. "
            f"Fix these, then make it {asked} again:\n{reasons}",
        )
    if status in rules.RUNNING_STATUSES:
        found = rules.problems(snap)
        if found:
            reasons = "\n".join(f"• {p.message}" for p in found)
            return (
                "warn",
                f"Marked {status} here, but the server will keep it a draft when this reaches "
                f"it, because:\n{reasons}",
            )
    return None


class HoldBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="HoldBanner")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        self.text = QLabel(wordWrap=True)
        self.text.setAccessibleName("Why the campaign is not running")
        layout.addWidget(self.text)
        self.tone = ""
        self.hide()

    def show_snapshot(self, snap: dict[str, Any]) -> None:
        found = hold_text(snap)
        if found is None:
            self.tone = ""
            self.hide()
            return
        self.tone, text = found
        t = theme.current()
        color = t.color(self.tone)
        background = color.lighter(185) if not t.dark else color.darker(260)
        self.setStyleSheet(
            f"#HoldBanner {{ background: {background.name()}; border: 1px solid {color.name()};"
            f" border-radius: 8px; }} #HoldBanner QLabel {{ color: {t.text}; }}"
        )
        self.text.setText(text)
        self.show()
