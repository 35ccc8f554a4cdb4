"""Spend entries: money paid for a channel over a period (a wedding-fair stand, a month of paid
search), recorded as ``spend`` events so that the report's cost ledger prices the channel
(``shared.analytics.costs``).

A spend event has ``channel`` (required), ``value_cents`` (the amount, positive, in minor units
of the organisation's one currency, as every amount is: there is no currency field),
``occurred_at`` (the start of the period), an optional ``campaign``, no contact, and a payload
of ``days`` (the period is ``[occurred_at, occurred_at + days)``, 1 to ``MAX_DAYS``) and an
optional ``note`` (text of at most ``MAX_NOTE`` characters); other payload keys are kept but not
read. ``spend_problem`` is the rule on the wire (devices and server alike); ``spend_fields``
turns what a person typed (an amount, two dates, inclusive) into those fields, refusing bad input
with one of the codes below.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .kinds import NAME_PATTERN

MAX_DAYS = 366
MAX_NOTE = 500
#: the largest amount in cents (as ``events.MAX_VALUE_CENTS``)
MAX_AMOUNT_CENTS = 10**13
DAY_MS = 86_400_000
_EARLIEST, _LATEST = date(2000, 1, 1), date(2099, 12, 31)

# error codes of spend input
BAD_AMOUNT = "bad_amount"  # not a positive amount with at most two decimals
BAD_CHANNEL = "bad_channel"  # missing, or not a lowercase name like wedding_fair
BAD_DATE = "bad_date"  # not a YYYY-MM-DD date, outside 2000..2099, or after today
BAD_PERIOD = "bad_period"  # ends before it starts, or longer than MAX_DAYS
BAD_NOTE = "bad_note"  # not text, or longer than MAX_NOTE
BAD_SPEND = "bad_spend"  # anything else a spend event may not hold (a contact)

_NAME = re.compile(NAME_PATTERN)
_AMOUNT = re.compile(r"\d{1,11}(\.\d{1,2})?")


class SpendError(ValueError):
    """Bad spend input; ``code`` is one of the codes above."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def spend_problem(
    contact: Any, channel: Any, value_cents: Any, payload: dict[str, Any]
) -> tuple[str, str] | None:
    """What makes a ``spend`` event's fields wrong, as ``(code, words)``; None when right."""
    if not isinstance(channel, str) or not _NAME.fullmatch(channel):
        return BAD_CHANNEL, "a spend needs a channel, a lowercase name like 'wedding_fair'"
    if not _is_int(value_cents) or not 0 < value_cents <= MAX_AMOUNT_CENTS:
        return BAD_AMOUNT, "a spend's value_cents must be a positive amount of at most 10^13"
    if contact is not None:
        return BAD_SPEND, "a spend is money paid for a channel: it names no contact"
    days = payload.get("days")
    if not _is_int(days) or not 1 <= days <= MAX_DAYS:
        return BAD_PERIOD, f"a spend's payload 'days' must be a whole number from 1 to {MAX_DAYS}"
    note = payload.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        return BAD_NOTE, f"a spend's note must be text of at most {MAX_NOTE} characters"
    return None


def parse_amount(text: str) -> int:
    """Cents from an amount as typed: ``1200`` or ``1200.50``, positive."""
    raw = str(text).strip()
    if not _AMOUNT.fullmatch(raw):
        raise SpendError(
            BAD_AMOUNT, f"amount {text!r} must be a number like 1200 or 1200.50 (no sign, no unit)"
        )
    cents = int(Decimal(raw) * 100)
    if not 0 < cents <= MAX_AMOUNT_CENTS:
        raise SpendError(BAD_AMOUNT, f"amount {text!r} must be more than 0")
    return cents


def parse_day(text: str, what: str) -> date:
    """A calendar date ``YYYY-MM-DD`` between 2000 and 2099."""
    try:
        day = date.fromisoformat(str(text).strip())
    except ValueError:
        raise SpendError(BAD_DATE, f"{what} {text!r} is not a date like 2026-05-01") from None
    if not _EARLIEST <= day <= _LATEST:
        raise SpendError(BAD_DATE, f"{what} {text!r} is not a date between 2000 and 2099")
    return day


def spend_fields(
    *,
    channel: str,
    amount: str,
    from_day: str,
    to_day: str,
    note: str | None = None,
    campaign: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """The fields of a ``spend`` event for ``amount`` paid for ``channel`` from ``from_day`` to
    ``to_day`` (both included, UTC days). A period that starts after ``today`` (default: today,
    UTC) is refused: spend is recorded once its period has begun."""
    if not isinstance(channel, str) or not _NAME.fullmatch(channel):
        raise SpendError(
            BAD_CHANNEL,
            f"channel {channel!r} must be a lowercase name like wedding_fair or paid_search",
        )
    cents = parse_amount(amount)
    first, last = parse_day(from_day, "--from"), parse_day(to_day, "--to")
    if last < first:
        raise SpendError(BAD_PERIOD, f"the period ends ({last}) before it starts ({first})")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise SpendError(
            BAD_PERIOD,
            f"the period is {days} days; at most {MAX_DAYS} (record a longer one year by year)",
        )
    today = today or datetime.now(UTC).date()
    if first > today:
        raise SpendError(
            BAD_DATE, f"the period starts on {first}, after today ({today}): record it once begun"
        )
    if note is not None and len(note) > MAX_NOTE:
        raise SpendError(BAD_NOTE, f"the note is {len(note)} characters; at most {MAX_NOTE}")
    payload: dict[str, Any] = {"days": days}
    if note:
        payload["note"] = note
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    return {
        "kind": "spend",
        "channel": channel,
        "campaign": campaign,
        "value_cents": cents,
        "occurred_at_ms": int(start.timestamp() * 1000),
        "payload": payload,
    }


def spend_period(occurred_at_ms: int, days: int) -> tuple[str, str]:
    """The first and last day (both included) of a spend's period, as ``YYYY-MM-DD``."""
    first = datetime.fromtimestamp(occurred_at_ms / 1000, tz=UTC).date()
    return first.isoformat(), (first + timedelta(days=days - 1)).isoformat()
