"""Features of a subject line and its audience, for the engagement model.

Text features are read from what a contact sees (``checks.preview``), plus whether the subject
carries a personalisation field. Audience features are the campaign type and whether the
audience is suppliers, with two interactions (a first name and a deadline read differently to a
business). Every feature is 0/1 or a small number, so the model's weights compare directly
and its cold-start prior can be written by hand.
"""

from __future__ import annotations

import re

from shared.protocol.campaign import CAMPAIGN_TYPES

from . import checks

_URGENCY = re.compile(
    r"\b(days?|weeks?|to go|soon|last|this week|today|tonight|before|ends?|deadline|"
    r"fill(?:s|ing)? up|while there is room|don't miss)\b",
    re.IGNORECASE,
)
_CURIOSITY = re.compile(
    r"\b(what|how|why|guess|secret|one thing|surprise|wish|question|have you seen|inside)\b",
    re.IGNORECASE,
)
_SOCIAL = re.compile(r"\b(other|others|join|everyone|couples at|couples in|who)\b", re.IGNORECASE)

TEXT_FEATURES = (
    "over_mobile",  # characters beyond what a phone shows, per 10
    "length",  # (characters - 40) / 20
    "question",
    "number",
    "personalised",
    "urgency",
    "curiosity",
    "social",
    "exclamation",
    "spam",
    "caps",
)
AUDIENCE_FEATURES = (
    "suppliers",
    "personalised_x_suppliers",
    "urgency_x_suppliers",
    *(f"type_{t}" for t in CAMPAIGN_TYPES[1:]),  # nurture is the baseline
)
FEATURES = TEXT_FEATURES + AUDIENCE_FEATURES

#: how each feature reads in a recommendation's reason (when it counts in the subject's favour)
FOR = {
    "over_mobile": "fits a phone screen",
    "length": "is short",
    "question": "asks a question",
    "number": "has a number in it",
    "personalised": "uses the reader's name",
    "urgency": "gives a reason to act now",
    "curiosity": "makes the reader curious",
    "social": "shows what others do",
    "exclamation": "no exclamation marks",
    "spam": "no spam-trigger words",
    "caps": "no shouting",
    "personalised_x_suppliers": "uses the business's name",
    "urgency_x_suppliers": "gives a business a reason to act now",
}


def subject_features(subject: str, campaign_type: str, audience: str) -> list[float]:
    """The feature vector, in ``FEATURES`` order."""
    seen = checks.preview(subject)
    n = len(checks.longest_preview(subject))
    personalised = 1.0 if checks.MERGE.search(subject) else 0.0
    urgency = 1.0 if _URGENCY.search(seen) else 0.0
    suppliers = 1.0 if audience == "suppliers" else 0.0
    text = {
        "over_mobile": max(0, n - checks.MOBILE_SUBJECT_CHARS) / 10,
        "length": (n - 40) / 20,
        "question": 1.0 if "?" in seen else 0.0,
        "number": 1.0 if re.search(r"\d", seen) else 0.0,
        "personalised": personalised,
        "urgency": urgency,
        "curiosity": 1.0 if _CURIOSITY.search(seen) else 0.0,
        "social": 1.0 if _SOCIAL.search(seen) else 0.0,
        "exclamation": float(min(seen.count("!"), 3)),
        "spam": float(min(len(checks.spam_phrases(seen)), 3)),
        "caps": float(min(len(checks.shouted_words(subject)), 3)),
    }
    aud = {
        "suppliers": suppliers,
        "personalised_x_suppliers": personalised * suppliers,
        "urgency_x_suppliers": urgency * suppliers,
        **{f"type_{t}": 1.0 if campaign_type == t else 0.0 for t in CAMPAIGN_TYPES[1:]},
    }
    return [text[f] for f in TEXT_FEATURES] + [aud[f] for f in AUDIENCE_FEATURES]
