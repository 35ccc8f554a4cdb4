"""The server's health checks and alert history for admins (``wedsync client ... health`` and
``... alerts``, and the app's Health page), and the report of this device's content
generations to the server's monitor.

No Qt here. Figures are the server's (``GET /api/v1/monitor/health``, ``/alerts``); this
module only puts them in words.
"""

from __future__ import annotations

import argparse
from collections import deque
from typing import Any

from .human import local_time

ARROWS = {"up": "↑", "down": "↓", "flat": "→"}
MAX_REPORTED = 500  # the server takes at most this many generations per request


def health(args: argparse.Namespace) -> dict[str, Any]:
    from .commands import _api

    return _api(args, "GET", "/api/v1/monitor/health" + ("?refresh=1" if args.refresh else ""))


def alerts(args: argparse.Namespace) -> dict[str, Any]:
    from .commands import _api

    return _api(args, "GET", f"/api/v1/monitor/alerts?limit={args.limit}")


def figure_text(value: float | None, unit: str) -> str:
    """A check's figure in its unit: ``3.1 %``, ``1.4 s``, ``12 min``, ``2.0 GiB``, ``1.08``."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    if unit == "s":
        if value < 120:
            return f"{value:.3g} s"
        if value < 7_200:
            return f"{value / 60:.0f} min"
        return f"{value / 3_600:.1f} h" if value < 172_800 else f"{value / 86_400:.1f} days"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "bytes":
        for size, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(value) >= size:
                return f"{value / size:.1f} {name}"
        return f"{value:.0f} B"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.3g}"


def trend_text(trend: dict[str, Any] | None) -> str:
    """``↓ worse`` / ``↑ better`` / ``→`` (or nothing without a trend)."""
    if not trend:
        return ""
    arrow = ARROWS.get(trend.get("direction", ""), "")
    better = trend.get("improving")
    return f"{arrow} {'better' if better else 'worse'}" if better is not None else arrow


def health_lines(body: dict[str, Any]) -> str:
    overall = body.get("overall") or {}
    lines = [
        f"Overall: {str(overall.get('status', 'unknown')).upper()}"
        f" (as of {local_time(body.get('as_of_ms'))})"
    ]
    lines += [f"  - {reason}" for reason in overall.get("reasons", [])]
    group = None
    for check in body.get("checks", []):
        if check["group"] != group:
            group = check["group"]
            lines.append(f"\n{group.capitalize()}")
        trend = trend_text(check.get("trend"))
        lines.append(
            f"  {check['status']:<8}  {check['message']}" + (f"  {trend}" if trend else "")
        )
    return "\n".join(lines)


health.human = health_lines  # type: ignore[attr-defined]


def alert_lines(body: dict[str, Any]) -> str:
    found = body.get("alerts", [])
    if not found:
        return "No alerts."
    lines = []
    for alert in found:
        where = alert.get("org_name") or "server"
        head = "SUPPRESSED" if alert.get("suppressed") else alert["kind"].upper()
        lines.append(f"{local_time(alert['at_ms'])}  {head:<10} {where}: {alert['message']}")
        channels = alert.get("channels") or {}
        if channels:
            lines.append("    " + "; ".join(f"{k}: {v}" for k, v in sorted(channels.items())))
    return "\n".join(lines)


alerts.human = alert_lines  # type: ignore[attr-defined]


def generation_reports(records: list[Any]) -> list[dict[str, Any]]:
    """``GenerationRecord`` values as the server takes them (the newest ``MAX_REPORTED``)."""
    return [
        {
            "requested": r.requested,
            "source": r.source,
            "ok": r.ok,
            "latency_ms": round(r.latency_ms, 1),
            "fallback": r.fallback,
            **({"at_ms": r.at_ms} if r.at_ms is not None else {}),
        }
        for r in records[-MAX_REPORTED:]
    ]


class GenerationReporter:
    """Reports this device's content generations to the server's monitor (their success and
    latency are the Health page's content checks). A report that cannot go now (offline, the
    server out of reach, signed out) waits, with the newest ``MAX_REPORTED``, for the next one;
    reports the server refuses (an older server, a viewer's profile) are dropped: resending
    them would be refused again."""

    def __init__(self) -> None:
        self.pending: deque[Any] = deque(maxlen=MAX_REPORTED)
        self.sent = 0

    async def report(self, engine: Any, record: Any) -> bool:
        """Queue ``record`` and send everything queued; whether it went."""
        from .sync import OfflineError, RemoteError, ServerUnreachable, SyncError

        self.pending.append(record)
        body = {"generations": generation_reports(list(self.pending))}
        try:
            await engine.api("POST", "/api/v1/monitor/generations", body)
        except RemoteError:
            self.pending.clear()
            return False
        except (OfflineError, ServerUnreachable, SyncError):
            return False  # kept for the next report
        self.sent += len(self.pending)
        self.pending.clear()
        return True
