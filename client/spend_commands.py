"""`wedsync client --profile P spend add|list`: money paid for a channel over a period (a
wedding-fair stand, a month of paid search), captured as a ``spend`` event offline and synced
like any event; the server's report prices the channel with it (``shared.protocol.spend``)."""

from __future__ import annotations

import argparse
from typing import Any

from shared.protocol.spend import SpendError, spend_fields, spend_period

from .human import money
from .store import InvalidInput, Replica


class BadSpend(InvalidInput):
    """Spend input refused before anything is written; ``code`` says which rule."""

    def __init__(self, error: SpendError) -> None:
        super().__init__(error.message)
        self.code = error.code
        self.message = error.message


def _entry(event: dict[str, Any], synced: bool | None = None) -> dict[str, Any]:
    days = int((event.get("payload") or {}).get("days") or 1)
    first, last = spend_period(event["occurred_at_ms"], days)
    out = {
        "id": event["id"],
        "channel": event["channel"],
        "campaign": event.get("campaign"),
        "amount_cents": event["value_cents"],
        "from": first,
        "to": last,
        "days": days,
        "note": (event.get("payload") or {}).get("note"),
    }
    if synced is not None:
        out["synced"] = synced
    return out


def add(args: argparse.Namespace) -> dict[str, Any]:
    """Validate, then capture one spend event in the profile's queue (nothing on refusal)."""
    try:
        fields = spend_fields(
            channel=args.channel,
            amount=args.amount,
            from_day=args.from_,
            to_day=args.to,
            note=args.note,
            campaign=args.campaign,
        )
    except SpendError as exc:
        raise BadSpend(exc) from None
    replica = Replica(args.profile)
    event = replica.capture(**fields).events[0]
    return _entry({**event.to_dict(), "occurred_at_ms": event.occurred_at_ms}, synced=False)


def _added_line(entry: dict[str, Any]) -> str:
    note = f" ({entry['note']})" if entry.get("note") else ""
    return (
        f"Recorded {money(entry['amount_cents'])} on {entry['channel']} from {entry['from']} "
        f"to {entry['to']} ({entry['days']} day{'s' if entry['days'] != 1 else ''}){note}; "
        "queued, it syncs with the next sync"
    )


add.human = _added_line  # type: ignore[attr-defined]


def list_entries(args: argparse.Namespace) -> dict[str, Any]:
    """The spend entries captured on this profile, newest first, and whether each is synced."""
    replica = Replica(args.profile)
    rows = [e for e in replica.recent_events(limit=args.limit) if e["kind"] == "spend"]
    return {"spend": [_entry(e, synced=e["synced"]) for e in rows]}


def _list_lines(result: dict[str, Any]) -> str:
    if not result["spend"]:
        return "No spend recorded on this profile."
    return "\n".join(
        f"{e['from']} to {e['to']}  {e['channel']:<16} {money(e['amount_cents']):>12}  "
        f"{'synced' if e['synced'] else 'queued'}" + (f"  {e['note']}" if e.get("note") else "")
        for e in result["spend"]
    )


list_entries.human = _list_lines  # type: ignore[attr-defined]
