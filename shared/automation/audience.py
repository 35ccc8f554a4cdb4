"""Audiences: which contacts a campaign is for, the one reading both sides share.

A campaign's ``audience_segment`` is one of:

* ``None`` (nobody chosen): every contact; the trigger alone decides;
* a named segment (text, 1-100 characters): the contacts whose ``segments`` field lists it;
* ``{"match": "all" | "any", "rules": [RULE, ...]}`` over the contact's fields (no rules:
  everyone), in the rule language of ``conditions`` (a rule's field is a contact field; dots go
  deeper; ``contact.`` in front is allowed).

The campaign rules validate audiences by calling ``parse_audience``; the engine matches contacts
with ``Audience.matches`` at enrolment and, for ``exit_on_audience_exit``, before each step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .conditions import MAX_NAME, Conditions, lookup, parse_conditions
from .errors import AutomationCode, AutomationError

_INVALID = AutomationCode.AUDIENCE_INVALID


@dataclass(frozen=True, slots=True)
class Audience:
    segment: str | None = None  # a named segment
    conditions: Conditions | None = None  # rules over contact fields

    def matches(self, contact: Mapping[str, Any] | None) -> bool:
        fields = contact or {}
        if self.segment is not None:
            listed = fields.get("segments")
            if isinstance(listed, str):
                return self.segment in (part.strip() for part in listed.split(","))
            return isinstance(listed, list | tuple) and self.segment in listed
        if self.conditions is None:
            return True
        return self.conditions.test(lambda path: lookup(fields, path.removeprefix("contact.")))


EVERYONE = Audience()


def parse_audience(raw: Any) -> Audience:
    """Validate an audience; AutomationError(AUDIENCE_INVALID) says what is wrong and where
    (``field``: ``rules[2]`` and so on)."""
    if raw is None:
        return EVERYONE
    if isinstance(raw, str):
        name = raw.strip()
        if not name or len(raw) > MAX_NAME:
            raise AutomationError(_INVALID, f"a named segment has 1 to {MAX_NAME} characters", None)
        return Audience(segment=name)
    if not isinstance(raw, Mapping):
        raise AutomationError(_INVALID, "the audience must be a JSON object", None)
    for key in raw:
        if key not in ("match", "rules"):
            raise AutomationError(
                _INVALID, f"the audience has no setting {key!r} (settings: match, rules)", None
            )
    if raw.get("match", "all") not in ("all", "any"):
        raise AutomationError(_INVALID, "the audience matches 'all' or 'any' of its rules", None)
    if not isinstance(raw.get("rules", []), list | tuple):
        raise AutomationError(_INVALID, "the audience's rules must be a list of rules", "rules")
    conditions = parse_conditions(
        dict(raw), code=_INVALID, where="the audience", what="a rule", field="rules"
    )
    return Audience(conditions=conditions)
