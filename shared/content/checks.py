"""Checks a subject line (and a body) must pass before it is offered: spam-trigger words,
capitals, punctuation, length on a phone, and no field left unfilled.

Generated text may carry personalisation fields in the delivery templates' own form,
``{{ first_name|default("Hello") }}``: the field, and the words to use when a contact has no
such value (the delivery renderer treats a blank field as missing, so the default is what a
contact without a first name reads). Only ``MERGE_FIELDS`` may appear, each with its default;
anything else that looks like a placeholder (``{name}``, ``[Venue]``, ``{{ venue }}``, ``TBD``)
is an unfilled field.

Issues have a severity: ``block`` (never offered: unfilled fields, empty or over-long text) or
``warn`` (shown beside the variant: a spam word, shouting, ``!!``, cut on a phone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: personalisation fields a subject or body may carry, with the words used when one is missing
MERGE_FIELDS = ("first_name", "partner_name", "business_name")
SAMPLE_VALUES = {"first_name": "Alexandra", "partner_name": "Sebastian", "business_name": "Bloom"}
MOBILE_SUBJECT_CHARS = 45  # what a phone's inbox shows of a subject in portrait, roughly
MAX_SUBJECT_CHARS = 78  # longer than a header line should be (RFC 5322's recommendation)
MAX_PREHEADER_CHARS = 110
MAX_BODY_CHARS = 4000  # what a generator may write; the campaign itself allows far more

#: words and phrases that mail filters and readers take for spam (lower case; whole words)
SPAM_PHRASES = (
    "free",
    "100%",
    "act now",
    "amazing deal",
    "as seen on",
    "bargain",
    "best price",
    "buy now",
    "cash",
    "cheap",
    "click here",
    "congratulations you",
    "don't delete",
    "double your",
    "earn money",
    "exclusive deal",
    "guarantee",
    "guaranteed",
    "increase sales",
    "limited time",
    "lowest price",
    "miracle",
    "no catch",
    "no obligation",
    "once in a lifetime",
    "order now",
    "prize",
    "risk-free",
    "risk free",
    "save big",
    "special promotion",
    "this won't last",
    "urgent",
    "winner",
    "you have been selected",
    "$$$",
    "£££",
)
#: capitalised words that are not shouting
ACRONYMS = frozenset({"RSVP", "FAQ", "UK", "USA", "DJ", "VIP", "PS", "BBQ", "LGBTQ", "LGBTQ+"})

MERGE = re.compile(
    r"\{\{\s*(?P<field>[a-z_]+)\s*(?:\|\s*default\(\s*\"(?P<default>[^\"{}]*)\"\s*\)\s*)?\}\}"
)
_PLACEHOLDERS = (
    re.compile(r"\{\{.*?\}\}"),  # a template field that MERGE did not accept
    re.compile(r"\{[^{}]*\}"),  # {name}
    re.compile(r"\[[^\[\]]*\]"),  # [Name], [venue]
    re.compile(r"<[^<>]*>"),  # <first name>
    re.compile(r"%\(?[a-z_]+\)?s|%[A-Z_]+%"),  # %(name)s, %NAME%
    re.compile(r"\b(?:TBD|TODO|XXX|lorem ipsum)\b", re.IGNORECASE),
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'+]*")


@dataclass(frozen=True, slots=True)
class Issue:
    code: str  # spam_words | all_caps | punctuation | mobile_length | too_long | unfilled | empty
    message: str
    severity: str  # block | warn

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "severity": self.severity}


def preview(text: str, values: dict[str, str] | None = None) -> str:
    """``text`` as a contact reads it: each field's value, or its default when it has none."""
    values = values or {}

    def fill(m: re.Match[str]) -> str:
        value = (values.get(m.group("field")) or "").strip()
        return value or (m.group("default") or "")

    return MERGE.sub(fill, text)


def longest_preview(text: str) -> str:
    """The longer of the fallback reading and one with long sample names (for length checks)."""
    return max(preview(text), preview(text, SAMPLE_VALUES), key=len)


def unfilled(text: str) -> list[str]:
    """Placeholders left in ``text`` (merge fields of ``MERGE_FIELDS`` excepted)."""
    found = []
    rest = text
    for m in MERGE.finditer(text):
        # a field without a default would read "Hi ," to a contact without that value
        if m.group("field") not in MERGE_FIELDS or m.group("default") is None:
            found.append(m.group(0))
    rest = MERGE.sub(" ", rest)
    for pattern in _PLACEHOLDERS:
        found += pattern.findall(rest)
        rest = pattern.sub(" ", rest)
    return found


def spam_phrases(text: str) -> list[str]:
    low = " " + re.sub(r"\s+", " ", text.lower()) + " "
    hits = []
    for phrase in SPAM_PHRASES:
        if phrase[0].isalnum() and phrase[-1].isalnum():
            if re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", low):
                hits.append(phrase)
        elif phrase in low:
            hits.append(phrase)
    return hits


def shouted_words(text: str) -> list[str]:
    return [
        w for w in _WORD.findall(preview(text)) if len(w) >= 3 and w.isupper() and w not in ACRONYMS
    ]


def punctuation_problems(text: str) -> list[str]:
    problems = []
    seen = preview(text)
    if re.search(r"[!?]{2,}", seen):
        problems.append("repeated ! or ?")
    if seen.count("!") > 1:
        problems.append("more than one !")
    if re.search(r"\.{4,}|[*#~^]{2,}|[$£€]{2,}", seen):
        problems.append("runs of symbols")
    return problems


def check_subject(subject: str) -> list[Issue]:
    issues = _common(subject, "subject")
    if not subject.strip():
        return [Issue("empty", "the subject is empty", "block")]
    seen = longest_preview(subject)
    if len(seen) > MAX_SUBJECT_CHARS:
        issues.append(Issue("too_long", f"the subject runs to {len(seen)} characters", "block"))
    elif len(seen) > MOBILE_SUBJECT_CHARS:
        issues.append(
            Issue(
                "mobile_length",
                f"{len(seen)} characters: a phone shows about {MOBILE_SUBJECT_CHARS}",
                "warn",
            )
        )
    if "\n" in subject or "\r" in subject:
        issues.append(Issue("too_long", "a subject is one line", "block"))
    return issues


def check_text(text: str, what: str, max_chars: int) -> list[Issue]:
    """A preheader or body: unfilled fields, length, spam words and shouting."""
    issues = _common(text, what)
    if len(preview(text)) > max_chars:
        issues.append(Issue("too_long", f"the {what} is over {max_chars} characters", "block"))
    return issues


def _common(text: str, what: str) -> list[Issue]:
    issues = []
    left = unfilled(text)
    if left:
        issues.append(
            Issue("unfilled", f"the {what} has unfilled fields: {', '.join(left[:3])}", "block")
        )
    spam = spam_phrases(preview(text))
    if spam:
        issues.append(
            Issue("spam_words", f"words spam filters dislike: {', '.join(spam[:3])}", "warn")
        )
    loud = shouted_words(text)
    if loud:
        issues.append(
            Issue("all_caps", f"capitals read as shouting: {', '.join(loud[:3])}", "warn")
        )
    if what == "subject":
        for problem in punctuation_problems(text):
            issues.append(Issue("punctuation", f"excessive punctuation: {problem}", "warn"))
    return issues


def blocking(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "block"]
