"""The offline generator: five subject lines (with preheader and body) for a campaign type, an
audience and a wedding context, one per approach (benefit, urgency, curiosity, social proof,
personal), with no network and in a few milliseconds.

Deterministic: the same request and ``seed`` give the same five variants; another seed
(the app's "Regenerate") picks other templates where more than one fits. Every variant is
checked (``checks``) and never offered with a blocking issue; the template chosen for each
approach is the one that uses the most of the request's context, fits the length asked for,
and raises no warning, when one does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import checks
from .checks import Issue
from .context import ContentRequest
from .phrases import (
    APPROACHES,
    BANK,
    CLOSINGS,
    CONTEXT_LINES,
    GREETINGS,
    MILESTONE_PHRASES,
    OPENINGS,
    PREHEADERS,
    SUBJECTS,
    SUPPLIER_PLURALS,
    Template,
)

#: the longest subject (as a contact with a long name reads it) each length setting aims for
SUBJECT_CHARS = {"short": 40, "medium": checks.MOBILE_SUBJECT_CHARS, "long": 60}
CONTEXT_SENTENCES = {"short": 0, "medium": 1, "long": 2}
CONTEXT_SLOTS = frozenset(
    {"venue", "region", "season", "countdown", "sender", "offer", "milestone", "kind"}
)
SOURCE_OFFLINE = "offline"
SOURCE_LLM = "llm"
_SLOT = re.compile(r"\{([a-z_]+)(?:\|([^{}]*))?\}")


@dataclass(frozen=True, slots=True)
class Variant:
    approach: str
    subject: str
    preheader: str
    body: str
    source: str = SOURCE_OFFLINE
    issues: tuple[Issue, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "approach": self.approach,
            "subject": self.subject,
            "preheader": self.preheader,
            "body": self.body,
            "source": self.source,
            "issues": [i.to_dict() for i in self.issues],
        }


def countdown(days: int | None) -> str | None:
    """ "12 weeks to go", "9 days to go"; nothing once the day has passed."""
    if days is None or days <= 0:
        return None
    if days == 1:
        return "one day to go"
    if days > 70:
        return f"{round(days / 7)} weeks to go"
    return f"{days} days to go"


def slots_for(request: ContentRequest) -> dict[str, str]:
    """Every slot this request can fill, with capitalised ``*_cap`` forms."""
    words = BANK[(request.campaign_type, request.audience)]
    if request.audience == "suppliers":
        crowd = SUPPLIER_PLURALS.get(request.supplier_kind or "", "suppliers")
    else:
        crowd = "couples"
    values: dict[str, str | None] = {
        "topic": words.topic,
        "thing": words.thing,
        "gain": words.gain,
        "act": words.act,
        "proof": words.proof,
        "crowd": crowd,
        "venue": request.venue,
        "region": request.region,
        "season": request.season,
        "countdown": countdown(request.days_to_wedding),
        "sender": request.sender,
        "offer": request.offer,
        "milestone": MILESTONE_PHRASES.get(request.milestone or ""),
        "kind": request.supplier_kind,
    }
    out = {k: v for k, v in values.items() if v}
    out.update({f"{k}_cap": v[0].upper() + v[1:] for k, v in list(out.items())})
    return out


def fill(text: str, slots: dict[str, str]) -> str | None:
    """The template filled, or None when it needs a slot the request has no value for."""
    missing = False

    def one(m: re.Match[str]) -> str:
        nonlocal missing
        name, default = m.group(1), m.group(2)
        if name in checks.MERGE_FIELDS:
            return "{{ " + name + '|default("' + (default or "") + '") }}'
        if name not in slots:
            missing = True
            return ""
        return slots[name]

    out = _SLOT.sub(one, text)
    return None if missing else out


def _fits(template: Template, request: ContentRequest) -> bool:
    return (
        (not template.tones or request.tone in template.tones)
        and (not template.types or request.campaign_type in template.types)
        and (template.audience is None or template.audience == request.audience)
        and (not template.bands or (request.health_band or "healthy") in template.bands)
    )


def _richness(template: Template) -> int:
    """How much of the request a template speaks to: context slots, plus one when it was
    written for this campaign type or health band."""
    specific = 1 if template.types or template.bands else 0
    return specific + sum(
        1 for m in _SLOT.finditer(template.text) if m.group(1).removesuffix("_cap") in CONTEXT_SLOTS
    )


def _candidates(
    templates: tuple[Template, ...], request: ContentRequest, slots: dict[str, str]
) -> list[tuple[int, str]]:
    """(richness, filled text) of every template that fits and can be filled, richest first."""
    found = []
    for t in templates:
        if _fits(t, request):
            text = fill(t.text, slots)
            if text is not None:
                found.append((_richness(t), text))
    return sorted(found, key=lambda c: (-c[0], c[1]))


def _pick(options: list[tuple[int, str]], seed: int) -> str:
    """The seed-th option, counting from the richest (seed 0: the richest)."""
    return options[seed % len(options)][1]


def _subject(approach: str, request: ContentRequest, slots: dict[str, str], seed: int) -> str:
    options = _candidates(SUBJECTS[approach], request, slots)
    limit = SUBJECT_CHARS[request.length]
    clean = [
        o
        for o in options
        if len(checks.longest_preview(o[1])) <= limit
        and all(
            i.code == "mobile_length" and request.length == "long"
            for i in checks.check_subject(o[1])
        )
    ]
    if clean:
        return _pick(clean, seed)
    # nothing fits the length asked for: the shortest that can be offered at all
    usable = [o for o in options if not checks.blocking(checks.check_subject(o[1]))]
    return min(usable, key=lambda o: len(checks.longest_preview(o[1])))[1]


def _body(
    approach: str, request: ContentRequest, slots: dict[str, str], seed: int, subject: str
) -> str:
    opening = _pick(_candidates(OPENINGS[approach], request, slots), seed)
    lines = [GREETINGS[request.tone], "", opening]
    extra = [t for _, t in _candidates(CONTEXT_LINES, request, slots)]
    lines += extra[: CONTEXT_SENTENCES[request.length]]
    lines.append(f"Just reply to this email to {slots['act']}: we'll take it from there.")
    if request.length == "long":
        lines.append(
            "If now is not the right time, that is fine: you can choose which emails you get "
            "at any time."
        )
    closing = CLOSINGS[request.tone][seed % 2]
    lines += ["", closing, request.sender or "The WedSync team"]
    # the opening is a paragraph of its own sentences; context lines join it
    head, rest = lines[:2], lines[2:]
    paragraph = " ".join(rest[: rest.index("")])
    return "\n".join([*head, paragraph, *rest[rest.index("") :]])


def generate(request: ContentRequest, *, seed: int = 0) -> list[Variant]:
    """Five variants, one per approach, in ``APPROACHES`` order."""
    slots = slots_for(request)
    out = []
    for approach in APPROACHES:
        subject = _subject(approach, request, slots, seed)
        preheader = _pick(_candidates(PREHEADERS[approach], request, slots), seed)
        body = _body(approach, request, slots, seed, subject)
        issues = (
            *checks.check_subject(subject),
            *checks.check_text(preheader, "preheader", checks.MAX_PREHEADER_CHARS),
            *checks.check_text(body, "body", checks.MAX_BODY_CHARS),
        )
        out.append(Variant(approach, subject, preheader, body, SOURCE_OFFLINE, tuple(issues)))
    return out
