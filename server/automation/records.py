"""The events the automation writes itself: enrolments, sends, opens, clicks, bounces and
unsubscribes, as wire arrays stored through the writer like any capture (``docs/automation.md``,
*Interface*).

They carry the server's own device id (``server_device_id``, made once per store) and the
marketing class, so reports, dashboards and devices read them like events captured anywhere.

Ids are ULIDs drawn from what the event records, not from chance: the time part from a stable
moment of its send or enrolment, the rest from a digest of its key (``send:<idempotency key>``,
``open:<send id>:<human|proxy>`` …). Writing the same fact twice therefore stores it once
(events are kept once per id): a replayed pixel fetch, an engine round replayed after a crash.
"""

from __future__ import annotations

import hashlib
from typing import Any

from shared.protocol.hlc import COUNTER_BITS
from shared.protocol.ids import new_id

from ..storage import AutomationStore

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SERVER_DEVICE_KEY = "server_device_id"


def stable_id(at_ms: int, key: str) -> str:
    """A ULID whose time part is ``at_ms`` and whose 80 random bits are a digest of ``key``."""
    digest = hashlib.sha256(key.encode()).digest()[:10]
    value = (max(at_ms, 0) & ((1 << 48) - 1)) << 80 | int.from_bytes(digest, "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def server_device_id(storage: AutomationStore) -> str:
    """The server's own device id (made on first use, then kept in the store). Writer thread."""
    found = storage.automation_meta(SERVER_DEVICE_KEY)
    if found is None:
        found = new_id()
        storage.set_automation_meta(SERVER_DEVICE_KEY, found)
    return found


def event(
    *,
    kind: str,
    key: str,
    id_ms: int,
    at_ms: int,
    contact: str,
    campaign: str | None,
    payload: dict[str, Any],
    channel: str | None = "email",
) -> list[Any]:
    """One event as a wire array (``shared.protocol.events.WIRE_FIELDS`` order)."""
    return [
        stable_id(id_ms, f"{kind}:{key}"),
        kind,
        at_ms,
        at_ms << COUNTER_BITS,
        contact,
        campaign,
        channel,
        None,
        payload or None,
    ]


def enrolment_event(
    *, enrolment_id: str, campaign_id: str, contact: str, held_out: bool, at_ms: int
) -> list[Any]:
    return event(
        kind="enrolment",
        key=enrolment_id,
        id_ms=at_ms,
        at_ms=at_ms,
        contact=contact,
        campaign=campaign_id,
        payload={"enrolment": enrolment_id, "holdout": held_out, "step": 0},
        channel=None,
    )


def send_event(
    *,
    send_key: str,
    send_id: str,
    campaign_id: str,
    contact: str,
    step: int,
    variant: str | None,
    message_id: str,
    created_ms: int,
    at_ms: int,
) -> list[Any]:
    return event(
        kind="send",
        key=send_key,
        id_ms=created_ms,
        at_ms=at_ms,
        contact=contact,
        campaign=campaign_id,
        payload={"step": step, "variant": variant, "message_id": message_id, "send_id": send_id},
    )


def bounce_event(
    *,
    send_id: str,
    campaign_id: str,
    contact: str,
    hard: bool,
    code: int | None,
    created_ms: int,
    at_ms: int,
) -> list[Any]:
    payload: dict[str, Any] = {"kind": "hard" if hard else "soft", "send_id": send_id}
    if code is not None:
        payload["code"] = code
    return event(
        kind="bounce",
        key=send_id,
        id_ms=created_ms,
        at_ms=at_ms,
        contact=contact,
        campaign=campaign_id,
        payload=payload,
    )


def tracked_event(
    *,
    kind: str,
    send_id: str,
    campaign_id: str,
    contact: str,
    created_ms: int,
    at_ms: int,
    link: int | None = None,
    flag: str | None = None,
) -> list[Any]:
    """An ``open``, ``click`` or ``unsubscribe`` of a send. One per send (and link) and per
    kind of fetcher: the first human open and the first proxy open are both kept, later ones
    are the same event again."""
    payload: dict[str, Any] = {"send_id": send_id}
    if link is not None:
        payload["url"] = link
    if flag is not None:
        payload["non_engagement"] = True
        payload["reason"] = flag
    key = f"{send_id}:{'' if link is None else link}:{flag or 'human'}"
    return event(
        kind=kind,
        key=key,
        id_ms=created_ms,
        at_ms=at_ms,
        contact=contact,
        campaign=campaign_id,
        payload=payload,
    )
