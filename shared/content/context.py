"""What a generation is asked for: the campaign type, the audience and the wedding context.

``ContentRequest`` is a frozen value read from plain data (the CLI's ``--context JSON``, the
builder's form) by ``parse_request``, which refuses unknown keys and values with
``content_request_invalid``. Nothing here reads a clock: the caller passes ``today``, from which
the days to the wedding and the season are derived when the context gives a wedding date.

Missing context is normal (a campaign for every couple has no one venue): every generator
template names the context it needs, and a template whose context is missing is not used.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from shared.protocol.campaign import CAMPAIGN_TYPES

from .errors import ContentCode, ContentError

AUDIENCES = ("couples", "suppliers")
SUPPLIER_KINDS = (
    "photographer",
    "venue",
    "florist",
    "planner",
    "caterer",
    "musician",
    "videographer",
    "stylist",
)
TONES = ("warm", "playful", "professional")
LENGTHS = ("short", "medium", "long")
SEASONS = ("spring", "summer", "autumn", "winter")
HEALTH_BANDS = ("healthy", "at_risk", "critical")
MILESTONES = ("booked", "six_months", "one_month", "one_week", "married", "anniversary")
MAX_TEXT = 60  # a venue, region or business name longer than this is not a name

# months of the (northern-hemisphere, UK) wedding seasons
_SEASON_OF_MONTH = {
    12: "winter",
    1: "winter",
    2: "winter",
    3: "spring",
    4: "spring",
    5: "spring",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "autumn",
    10: "autumn",
    11: "autumn",
}


@dataclass(frozen=True, slots=True)
class ContentRequest:
    campaign_type: str
    audience: str = "couples"
    supplier_kind: str | None = None  # suppliers only: which kind of business
    tone: str = "warm"
    length: str = "medium"
    season: str | None = None
    wedding_date: date | None = None
    days_to_wedding: int | None = None
    venue: str | None = None
    region: str | None = None
    milestone: str | None = None
    health_band: str | None = None
    sender: str | None = None  # the business the email comes from
    offer: str | None = None  # a short offer in the marketer's words ("£50 off")

    def known(self) -> dict[str, Any]:
        """The context slots that have a value (what templates may use)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def season_of(day: date) -> str:
    return _SEASON_OF_MONTH[day.month]


def _choice(value: Any, choices: tuple[str, ...], key: str) -> str:
    if value not in choices:
        raise ContentError(
            ContentCode.REQUEST_INVALID, f"{key} must be one of {', '.join(choices)}, not {value!r}"
        )
    return value


def _text(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ContentError(ContentCode.REQUEST_INVALID, f"{key} must be text")
    value = " ".join(value.split())
    if len(value) > MAX_TEXT or any(c in value for c in "{}<>[]"):
        raise ContentError(
            ContentCode.REQUEST_INVALID,
            f"{key} must be a name of at most {MAX_TEXT} characters without brackets",
        )
    return value or None


_CONTEXT_KEYS = (
    "audience",
    "supplier_kind",
    "tone",
    "length",
    "season",
    "wedding_date",
    "days_to_wedding",
    "venue",
    "region",
    "milestone",
    "health_band",
    "sender",
    "offer",
)


def parse_request(
    campaign_type: str, context: dict[str, Any] | None = None, *, today: date | None = None
) -> ContentRequest:
    """A request from plain data; ``today`` (the caller's clock) derives days and season."""
    context = dict(context or {})
    if not isinstance(campaign_type, str) or campaign_type not in CAMPAIGN_TYPES:
        raise ContentError(
            ContentCode.REQUEST_INVALID,
            f"type must be one of {', '.join(CAMPAIGN_TYPES)}, not {campaign_type!r}",
        )
    unknown = sorted(set(context) - set(_CONTEXT_KEYS))
    if unknown:
        raise ContentError(
            ContentCode.REQUEST_INVALID,
            f"unknown context key(s) {', '.join(unknown)} (known: {', '.join(_CONTEXT_KEYS)})",
        )
    request = ContentRequest(
        campaign_type=campaign_type,
        audience=_choice(context.get("audience", "couples"), AUDIENCES, "audience"),
        tone=_choice(context.get("tone", "warm"), TONES, "tone"),
        length=_choice(context.get("length", "medium"), LENGTHS, "length"),
    )
    changes: dict[str, Any] = {}
    if context.get("supplier_kind") is not None:
        changes["supplier_kind"] = _choice(
            context["supplier_kind"], SUPPLIER_KINDS, "supplier_kind"
        )
    if context.get("season") is not None:
        changes["season"] = _choice(context["season"], SEASONS, "season")
    if context.get("milestone") is not None:
        changes["milestone"] = _choice(context["milestone"], MILESTONES, "milestone")
    if context.get("health_band") is not None:
        changes["health_band"] = _choice(context["health_band"], HEALTH_BANDS, "health_band")
    for key in ("venue", "region", "sender", "offer"):
        changes[key] = _text(context.get(key), key)
    if context.get("wedding_date") is not None:
        try:
            wedding = date.fromisoformat(str(context["wedding_date"]))
        except ValueError:
            raise ContentError(
                ContentCode.REQUEST_INVALID, "wedding_date must be a date like 2026-06-20"
            ) from None
        changes["wedding_date"] = wedding
        changes.setdefault("season", None)
        if not changes["season"]:
            changes["season"] = season_of(wedding)
        if today is not None and context.get("days_to_wedding") is None:
            changes["days_to_wedding"] = (wedding - today).days
    if context.get("days_to_wedding") is not None:
        days = context["days_to_wedding"]
        if isinstance(days, bool) or not isinstance(days, int) or not -3660 <= days <= 3660:
            raise ContentError(
                ContentCode.REQUEST_INVALID, "days_to_wedding must be a whole number of days"
            )
        changes["days_to_wedding"] = days
    return replace(request, **changes)


def request_dict(request: ContentRequest) -> dict[str, Any]:
    """The request as JSON-ready data (what the CLI and the LLM prompt show)."""
    out: dict[str, Any] = {}
    for f in fields(request):
        value = getattr(request, f.name)
        if value is not None:
            out[f.name] = value.isoformat() if isinstance(value, date) else value
    return out
