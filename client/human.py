"""Plain words for people reading a terminal: local date-times, money with its currency, rates
as percentages, priority classes by name, and the profile's status.

``--json`` output never goes through here: it keeps integers in cents and epoch milliseconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.protocol.kinds import PriorityClass

#: money is kept in integer minor units ("cents") of the organisation's currency, pounds sterling
CURRENCY_SYMBOL = "£"


def money(cents: float | None) -> str:
    """``123456`` -> ``£1,234.56``; None -> ``—``."""
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    return f"{sign}{CURRENCY_SYMBOL}{abs(cents) / 100:,.2f}"


def pounds(amount: float | None) -> str:
    """An amount already in pounds (the reports' revenue figures)."""
    return "—" if amount is None else money(round(amount * 100))


def local_time(ms: int | None) -> str:
    """Epoch milliseconds as a local date-time with its zone, e.g. ``2025-06-01 10:02 BST``."""
    if not ms:
        return "never"
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def percent(fraction: float | None, places: int = 1) -> str:
    """``0.3990`` -> ``39.9 %``."""
    return "—" if fraction is None else f"{fraction * 100:,.{places}f} %"


def class_name(priority: int | str) -> str:
    """``0`` -> ``attribution`` (the priority classes: attribution, marketing, contacts, bulk)."""
    return PriorityClass(int(priority)).name.lower()


def by_class(counts: dict[Any, int]) -> str:
    """``{"0": 2, "1": 10}`` -> ``attribution 2, marketing 10, contacts 0, bulk 0``."""
    values = {int(k): int(v) for k, v in counts.items()}
    return ", ".join(f"{class_name(c)} {values.get(int(c), 0):,}" for c in PriorityClass)


def status_lines(status: dict[str, Any]) -> str:
    """``Replica.status()`` for people: above all, whether the server could be reached."""
    rows: list[tuple[str, str]] = []
    if status.get("server"):
        who = status.get("user") or "nobody (logged out)"
        role = f" ({status['role']})" if status.get("role") else ""
        rows.append(("Server", f"{status['server']} as {who}{role}"))
    else:
        rows.append(("Server", "none: this profile is not logged in"))
    rows.append(
        (
            "Work offline",
            "yes: everything stays queued (`offline off` to sync)"
            if status.get("work_offline")
            else "no",
        )
    )
    reachable = status.get("server_reachable")
    attempt = local_time(status.get("last_attempt_ms"))
    if reachable is None:
        rows.append(("Reachable", "not tried yet"))
    elif reachable and not status.get("last_error"):
        rows.append(("Reachable", f"yes, at the last attempt ({attempt})"))
    elif reachable:
        rows.append(("Reachable", f"yes, but the last sync failed ({attempt})"))
    else:
        rows.append(("Reachable", f"no, at the last attempt ({attempt})"))
    if status.get("last_error"):
        rows.append(("Failed", status["last_error"]))
    if reachable is not None:
        rows.append(("Last reached", local_time(status.get("last_reached_ms"))))
    rows.append(("Last sync", local_time(status.get("last_sync_ms"))))
    queue = status.get("queue") or {}
    total = sum(int(v) for v in queue.values())
    rows.append(("Queue", f"{total:,} waiting: {by_class(queue)}"))
    if status.get("rejected"):
        rows.append(("Refused", f"{status['rejected']:,} item(s) kept aside"))
    rows.append(("Device", status.get("device_id") or "—"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def note_lines(notes: list[dict[str, Any]]) -> str:
    """A campaign's notes, oldest first: ``2025-06-01 10:02 BST  anna@…  text``."""
    if not notes:
        return "no notes"
    lines = []
    for note in notes:
        when = local_time(note.get("at_ms")) if note.get("at_ms") else "earlier"
        lines.append(f"{when}  {note.get('author') or 'unknown author'}  {note['text']}")
    return "\n".join(lines)


def sync_line(report: dict[str, Any]) -> str:
    """One sync (``SyncReport.to_dict()``) in words: what each class sent and when it was done."""
    pushed = report.get("pushed") or {}
    done = report.get("class_done_ms") or {}
    classes = ", ".join(
        f"{class_name(c)} {int(n):,} (done at {done.get(c, 0):,.0f} ms)" for c, n in pushed.items()
    )
    total = sum(int(n) for n in pushed.values())
    pulled = report.get("pulled") or 0
    sent = f"sent {total:,}: {classes}" if total else "nothing to send"
    extra = f"; {report['duplicates']:,} already there" if report.get("duplicates") else ""
    if report.get("rejected"):
        extra += f"; {report['rejected']:,} refused by the server and kept aside"
    if report.get("held"):
        extra += (
            f"; {report['held']:,} kept queued until the server is upgraded "
            "(it does not take them yet)"
        )
    return (
        f"{sent}; received {pulled} campaign update"
        f"{'s' if pulled != 1 else ''}{extra}; {report.get('duration_ms', 0):,.0f} ms in all"
    )


def event_line(event: dict[str, Any]) -> str:
    """A captured event (``Event.to_dict()``) in one sentence: what, who, through what, when."""
    from shared.protocol.events import ms_from_iso

    words = [f"Captured {event['kind']}"]
    if event.get("contact"):
        words.append(f"for {event['contact']}")
    if event.get("channel"):
        words.append(f"via {event['channel']}")
    if event.get("value_cents") is not None:
        words.append(f"worth {money(event['value_cents'])}")
    if event.get("campaign_name"):
        words.append(f"in the campaign {event['campaign_name']}")
    words.append(f"at {local_time(ms_from_iso(event['occurred_at']))}")
    return " ".join(words) + "; queued for the next sync"
