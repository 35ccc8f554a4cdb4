"""Wall-clock time in a contact's time zone: the one place automation turns local times into
epoch milliseconds.

Rules (shared by date-relative triggers, ``wait`` steps and quiet hours):

* A contact's zone is its ``time_zone`` (or ``timezone``, ``tz``) field, an IANA name; a missing
  or unknown name falls back to the caller's default (the org's zone, else UTC). Contact data is
  typed by people, so a bad zone never stops a journey.
* A local time that does not exist (the hour skipped when clocks go forward) is read with the
  offset in force before the change, i.e. it lands as far after the jump as it was after the
  last valid minute (02:30 on a spring-forward night becomes 03:30). A local time that happens
  twice (clocks go back) means its first occurrence.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ZONE_FIELDS = ("time_zone", "timezone", "tz")
_HHMM = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The zone called ``name``; ZoneInfoNotFoundError (a KeyError) or ValueError if unknown."""
    return ZoneInfo(name)


def contact_zone(contact: Any, default: str = "UTC") -> ZoneInfo:
    """The contact's time zone, or ``default`` when the contact names none or a bad one."""
    if hasattr(contact, "get"):
        for key in ZONE_FIELDS:
            name = contact.get(key)
            if isinstance(name, str) and name.strip():
                try:
                    return zone(name.strip())
                except (ZoneInfoNotFoundError, ValueError):
                    break
    return zone(default)


def parse_hhmm(text: Any) -> time:
    """``"09:00"`` -> ``time(9, 0)``; ValueError for anything else."""
    match = _HHMM.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a time of day like 09:00")
    return time(int(match.group(1)), int(match.group(2)))


def local_datetime(at_ms: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).astimezone(tz)


def local_to_ms(day: date, at: time, tz: ZoneInfo, *, fold: int = 0) -> int:
    """Epoch ms of wall time ``at`` on ``day`` in ``tz`` (see the module rules for DST)."""
    moment = datetime.combine(day, at, tzinfo=tz).replace(fold=fold)
    return int(moment.timestamp() * 1000)


def next_local_time_ms(at: time, tz: ZoneInfo, from_ms: int) -> int:
    """The first moment at or after ``from_ms`` whose local wall time is ``at``."""
    today = local_datetime(from_ms, tz).date()
    for offset in range(3):  # today, tomorrow, and one more day for a skipped wall time
        day = today + timedelta(days=offset)
        for fold in (0, 1):
            candidate = local_to_ms(day, at, tz, fold=fold)
            if candidate >= from_ms:
                return candidate
    raise AssertionError("unreachable: a wall time recurs within three days")  # pragma: no cover


def parse_date(value: Any, tz: ZoneInfo) -> date | None:
    """A date field as the contact's local calendar date: ``YYYY-MM-DD``, or an ISO datetime
    (with an offset it is first moved into ``tz``); None when the value is not a date."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.date()
