"""An org's send history per subject line: what the engagement model learns from.

``SubjectOutcome`` aggregates the sends of one subject (in one campaign type, to one audience)
and how many of them were opened, clicked and converted. ``outcomes_from_events`` builds them
from committed events: a ``send`` event's payload carries the ``subject`` it went out with;
an ``open``, ``click`` or ``conversion`` of the same campaign and contact counts for the latest
send before it, each at most once per send. Events flagged ``non_engagement`` (privacy-proxy
opens, scanner clicks) never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ContentCode, ContentError

OUTCOMES = ("open", "click", "conversion")
_ROW = ("id", "kind", "occurred_at_ms", "contact", "campaign", "channel", "value_cents", "payload")


@dataclass(frozen=True, slots=True)
class SubjectOutcome:
    subject: str
    campaign_type: str
    audience: str
    sends: int
    opens: int = 0
    clicks: int = 0
    conversions: int = 0

    def count(self, metric: str) -> int:
        return {"open": self.opens, "click": self.clicks, "conversion": self.conversions}[metric]

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "campaign_type": self.campaign_type,
            "audience": self.audience,
            "sends": self.sends,
            "opens": self.opens,
            "clicks": self.clicks,
            "conversions": self.conversions,
        }


def outcome_from_dict(data: Mapping[str, Any]) -> SubjectOutcome:
    """One record of a history file (the shape ``to_dict`` writes)."""
    try:
        out = SubjectOutcome(
            subject=str(data["subject"]),
            campaign_type=str(data.get("campaign_type", "nurture")),
            audience=str(data.get("audience", "couples")),
            sends=int(data["sends"]),
            opens=int(data.get("opens", 0)),
            clicks=int(data.get("clicks", 0)),
            conversions=int(data.get("conversions", 0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ContentError(
            ContentCode.HISTORY_INVALID, f"a history record needs subject and sends ({exc})"
        ) from None
    if out.sends < 0 or not 0 <= out.clicks <= out.sends or not 0 <= out.conversions:
        raise ContentError(
            ContentCode.HISTORY_INVALID, "counts must be whole numbers with clicks <= sends"
        )
    return out


def _as_dict(event: Any) -> dict[str, Any]:
    if isinstance(event, Mapping):
        return dict(event)
    if isinstance(event, tuple | list):
        return dict(zip(_ROW, event, strict=False))
    return {k: getattr(event, k, None) for k in _ROW}


def outcomes_from_events(
    events: Iterable[Any], campaigns: Mapping[str, tuple[str, str]]
) -> list[SubjectOutcome]:
    """Per-subject outcomes from events (dicts, the replica's row tuples or Event values).

    ``campaigns`` maps a campaign id to its (type, audience); sends of other campaigns are
    left out."""
    rows = sorted(
        (_as_dict(e) for e in events), key=lambda e: (e.get("occurred_at_ms") or 0, e.get("id"))
    )
    tallies: dict[tuple[str, str, str], list[int]] = {}
    latest: dict[tuple[str, str], tuple[tuple[str, str, str], set[str]]] = {}
    for e in rows:
        kind, campaign, contact = e.get("kind"), e.get("campaign"), e.get("contact")
        payload = e.get("payload") or {}
        if not campaign or not contact or campaign not in campaigns:
            continue
        if kind == "send":
            subject = payload.get("subject")
            if not isinstance(subject, str) or not subject:
                continue
            key = (subject, *campaigns[campaign])
            tallies.setdefault(key, [0, 0, 0, 0])[0] += 1
            latest[(campaign, contact)] = (key, set())
        elif kind in OUTCOMES and not payload.get("non_engagement"):
            sent = latest.get((campaign, contact))
            if sent is None or kind in sent[1]:
                continue
            sent[1].add(kind)
            tallies[sent[0]][1 + OUTCOMES.index(kind)] += 1
    return [SubjectOutcome(s, t, a, *counts) for (s, t, a), counts in sorted(tallies.items())]
