"""`wedsync admin spend add`: the operator records money paid for a channel over a period
straight into a server's store (no server running is needed; a running one sees the commit as
another process's and its reports read it). The entry is a ``spend`` event made with the same
rules (``shared.protocol.spend``) and the same validation and insert path as a device's
synced events, numbered as a commit of its own."""

from __future__ import annotations

import argparse
import time
from typing import Any

from shared.protocol.events import event_from_wire, validate_batch
from shared.protocol.hlc import COUNTER_BITS
from shared.protocol.ids import is_id, new_id
from shared.protocol.kinds import EVENT_CLASSES
from shared.protocol.spend import SpendError, spend_fields, spend_period

from .admin import _only_org
from .cli import store_location
from .errors import BadRequest, NotFoundError
from .storage import Location, open_storage

#: the device id the operator's entries are stored under
OPERATOR_DEVICE = "admin-cli"


class BadSpend(BadRequest):
    """Spend input refused before anything is written; ``code`` says which rule."""

    def __init__(self, error: SpendError) -> None:
        super().__init__(error.message)
        self.code = error.code  # type: ignore[assignment]


def add_spend(
    location: Location,
    *,
    org: str | None,
    channel: str,
    amount: str,
    from_day: str,
    to_day: str,
    note: str | None = None,
    campaign: str | None = None,
) -> dict[str, Any]:
    """Validate, then store one spend event for ``org`` (the only org when None) in one
    transaction; nothing is written on a refusal."""
    try:
        fields = spend_fields(
            channel=channel,
            amount=amount,
            from_day=from_day,
            to_day=to_day,
            note=note,
            campaign=campaign,
        )
    except SpendError as exc:
        raise BadSpend(exc) from None
    if campaign is not None and not is_id(campaign):
        raise BadRequest(f"campaign {campaign!r} is not a campaign id")
    now = time.time_ns() // 1_000_000
    wire = [
        new_id(),
        "spend",
        fields["occurred_at_ms"],
        now << COUNTER_BITS,
        None,
        fields["campaign"],
        fields["channel"],
        fields["value_cents"],
        fields["payload"],
    ]
    event = event_from_wire(wire)  # the rules a device's event meets on the wire
    priority = EVENT_CLASSES["spend"]
    storage = open_storage(location)
    try:
        name = org or _only_org(storage.org_names())
        org_id = storage.org_id(name)
        if org_id is None:
            raise NotFoundError(f"no organisation {name!r} in this store")
        with storage.transaction():
            seq = storage.begin_commit()
            stored, _ = storage.insert_events(
                org_id=org_id,
                device_id=OPERATOR_DEVICE,
                events=validate_batch([wire], priority),
                priority=priority,
                commit_seq=seq,
            )
            storage.record_commit(seq=seq, priority=priority, items=stored, at_ms=now)
    finally:
        storage.close()
    first, last = spend_period(event.occurred_at_ms, fields["payload"]["days"])
    return {
        "id": event.id,
        "org": name,
        "channel": event.channel,
        "campaign": event.campaign,
        "amount_cents": event.value_cents,
        "from": first,
        "to": last,
        "days": fields["payload"]["days"],
        "note": fields["payload"].get("note"),
        "stored": bool(stored),
    }


def add_command(args: argparse.Namespace) -> dict[str, Any]:
    return add_spend(
        store_location(args),
        org=args.org,
        channel=args.channel,
        amount=args.amount,
        from_day=args.from_,
        to_day=args.to,
        note=args.note,
        campaign=args.campaign,
    )
