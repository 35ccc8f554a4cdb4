"""Guards across campaigns, checked at the moment of a send: suppression, quiet hours and the
frequency cap.

Rules (the journey interpreter applies them in this order at every ``send_email`` step):

1. **Suppression** ends the enrolment: a contact that unsubscribed, hard-bounced, complained or
   is marked do-not-contact receives nothing more from any campaign. The reasons come from the
   contact's fields (``unsubscribed``, ``bounced``, ``complained``, ``do_not_contact`` truthy) and
   from the suppression list the caller passes (reason strings).
2. **Quiet hours** hold the send: inside the window (in the contact's time zone, ``"21:00-08:00"``
   may wrap midnight) the step waits until the window closes, then sends. The window is
   half-open: a send at 08:00 sharp is allowed. Equal start and end mean no quiet hours.
3. **Frequency cap** skips the send, and the contact moves on with the journey (as in Braze): no
   more than ``max_sends`` sends per channel in any ``per_s`` window, counted across all
   campaigns. A send at ``now`` is allowed when fewer than ``max_sends`` sends fall in
   ``(now - per_s, now]``; so every window of that length holds at most ``max_sends``. The count
   is only as good as the list of sends passed in: the engine advances one contact's enrolments
   one at a time and includes the sends it just made.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .errors import AutomationCode, AutomationError
from .localtime import local_datetime, local_to_ms, parse_hhmm

SUPPRESSION_REASONS = ("unsubscribed", "bounced", "complained", "do_not_contact")
MAX_CAP_WINDOW_S = 365 * 86_400

_INVALID = AutomationCode.GUARD_INVALID


def suppression_reason(
    contact: Mapping[str, Any] | None, suppressions: Collection[str] = ()
) -> str | None:
    """Why the contact must not be sent to (the first reason in ``SUPPRESSION_REASONS`` order),
    or None. An unknown reason in ``suppressions`` still suppresses, under its own name."""
    fields = contact or {}
    for reason in SUPPRESSION_REASONS:
        if reason in suppressions or fields.get(reason) is True:
            return reason
    return min(suppressions) if suppressions else None


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    max_sends: int
    per_s: int
    channel: str = "email"


FREQUENCY_CAP_SETTINGS = ("max_sends", "per_days", "per_s", "channel")


def parse_frequency_cap(raw: Any) -> FrequencyCap | None:
    """``{"max_sends": N, "per_days": D}`` (the builder's form; D a whole number 1-365) or
    ``{"max_sends": N, "per_s": S}``; ``max_sends`` 0 or an empty value means no cap. The one
    place that decides what a cap may be (the campaign rules call it)."""
    if raw in (None, "", {}):
        return None
    if not isinstance(raw, Mapping):
        raise AutomationError(_INVALID, "the frequency cap must be a JSON object", None)
    for key in raw:
        if key not in FREQUENCY_CAP_SETTINGS:
            raise AutomationError(
                _INVALID,
                f"the frequency cap has no setting {key!r} "
                f"(settings: {', '.join(FREQUENCY_CAP_SETTINGS)})",
                None,
            )
    max_sends = raw.get("max_sends", 0)
    if isinstance(max_sends, float) and max_sends.is_integer():
        max_sends = int(max_sends)
    if not isinstance(max_sends, int) or isinstance(max_sends, bool) or not 0 <= max_sends <= 1000:
        raise AutomationError(
            _INVALID,
            "the frequency cap's max_sends must be a whole number from 0 to 1000",
            "max_sends",
        )
    if "per_s" in raw and "per_days" in raw:
        raise AutomationError(_INVALID, "give per_days or per_s, not both", "per_s")
    if "per_s" in raw:
        per_s, key = raw["per_s"], "per_s"
    else:
        days, key = raw.get("per_days", 7), "per_days"
        if isinstance(days, float) and days.is_integer():
            days = int(days)
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
            raise AutomationError(
                _INVALID,
                "the frequency cap's per_days must be a whole number from 1 to 365",
                "per_days",
            )
        per_s = days * 86_400
    if isinstance(per_s, float) and per_s.is_integer():
        per_s = int(per_s)
    if not isinstance(per_s, int) or isinstance(per_s, bool) or not 1 <= per_s <= MAX_CAP_WINDOW_S:
        raise AutomationError(_INVALID, "frequency_cap window must be from 1 s to 365 days", key)
    channel = raw.get("channel", "email")
    if not isinstance(channel, str) or not channel or len(channel) > 64:
        raise AutomationError(_INVALID, "frequency_cap.channel must be a channel name", "channel")
    return FrequencyCap(max_sends, per_s, channel) if max_sends else None


def capped_by(
    caps: Iterable[FrequencyCap],
    sent_at_ms: Sequence[int],
    *,
    now_ms: int,
    channel: str = "email",
) -> FrequencyCap | None:
    """The first cap on ``channel`` that a send at ``now_ms`` would break, or None.
    ``sent_at_ms`` are the contact's earlier sends on that channel, across all campaigns."""
    ordered = sorted(sent_at_ms)
    upto = bisect.bisect_right(ordered, now_ms)
    for cap in caps:
        if cap.channel != channel:
            continue
        since = bisect.bisect_right(ordered, now_ms - cap.per_s * 1000)
        if upto - since >= cap.max_sends:
            return cap
    return None


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time

    def covers(self, local: time) -> bool:
        """Whether a local wall time falls in the window ``[start, end)``."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def parse_quiet_hours(raw: Any) -> QuietHours | None:
    """``"21:00-08:00"`` (the builder's form) or ``{"start": "21:00", "end": "08:00"}``; an
    empty value means none. A window that starts and ends at the same time is refused: it says
    nothing a person meant (none? all day?)."""
    if raw in (None, "", {}):
        return None
    try:
        if isinstance(raw, str):
            start_text, sep, end_text = raw.partition("-")
            if not sep:
                raise ValueError(f"quiet hours look like 21:00-08:00; got {raw!r}")
            start, end = parse_hhmm(start_text), parse_hhmm(end_text)
        elif isinstance(raw, Mapping):
            start, end = parse_hhmm(raw.get("start")), parse_hhmm(raw.get("end"))
        else:
            raise ValueError("quiet hours must be text like 21:00-08:00")
    except ValueError as exc:
        raise AutomationError(_INVALID, f"quiet hours: {exc}", None) from None
    if start == end:
        raise AutomationError(_INVALID, "quiet hours must start and end at different times", None)
    return QuietHours(start, end)


def _wall(at_ms: int, tz: ZoneInfo) -> time:
    moment = local_datetime(at_ms, tz)
    return time(moment.hour, moment.minute, moment.second, moment.microsecond)


def in_quiet_hours(quiet: QuietHours | None, tz: ZoneInfo, at_ms: int) -> bool:
    return quiet is not None and quiet.covers(_wall(at_ms, tz))


def next_allowed_ms(quiet: QuietHours | None, tz: ZoneInfo, now_ms: int) -> int:
    """``now_ms`` when a send is allowed now, else the moment the quiet window closes (the
    first moment after ``now_ms`` outside it, in the contact's zone)."""
    if not in_quiet_hours(quiet, tz, now_ms):
        return now_ms
    assert quiet is not None
    today = local_datetime(now_ms, tz).date()
    # The window's end is today or tomorrow (a wrapping window); a clock change can push it a
    # further day, and the end's wall time may happen twice (fold) or not at all.
    for offset in range(3):
        for fold in (0, 1):
            candidate = local_to_ms(today + timedelta(days=offset), quiet.end, tz, fold=fold)
            if candidate > now_ms and not in_quiet_hours(quiet, tz, candidate):
                return candidate
    # Unreachable for real zones; stepping by minutes keeps the guarantee regardless.
    at = now_ms - now_ms % 60_000 + 60_000  # pragma: no cover
    while in_quiet_hours(quiet, tz, at):  # pragma: no cover
        at += 60_000
    return at  # pragma: no cover
