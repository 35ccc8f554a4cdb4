"""The offline generator: five approaches, context used when given and never shown when
missing, tone and length honoured, every combination clean and fast."""

from __future__ import annotations

import itertools
import time
from datetime import date

import pytest

from shared.content import APPROACHES, ContentError, generate, parse_request, preview, unfilled
from shared.content.checks import MOBILE_SUBJECT_CHARS, check_subject, longest_preview
from shared.content.context import AUDIENCES, LENGTHS, TONES
from shared.content.generator import SUBJECT_CHARS
from shared.protocol.campaign import CAMPAIGN_TYPES

FULL = {
    "venue": "Hollow Barn",
    "region": "Cotswolds",
    "days_to_wedding": 40,
    "supplier_kind": "photographer",
    "season": "summer",
    "sender": "Hollow Barn",
    "milestone": "one_month",
    "offer": "£50 off",
    "health_band": "critical",
}


@pytest.mark.parametrize(
    ("kind", "audience", "tone", "length", "context"),
    [
        (k, a, t, n, c)
        for k, a, t, n in itertools.product(CAMPAIGN_TYPES, AUDIENCES, TONES, LENGTHS)
        for c in ("none", "full")
    ],
)
def test_every_combination_gives_five_clean_variants(kind, audience, tone, length, context):
    ctx = {"audience": audience, "tone": tone, "length": length}
    if context == "full":
        ctx.update(FULL)
    variants = generate(parse_request(kind, ctx))
    assert [v.approach for v in variants] == list(APPROACHES)
    assert len({v.subject for v in variants}) == 5
    for v in variants:
        assert unfilled(v.subject) == unfilled(v.preheader) == unfilled(v.body) == []
        codes = {i.code for i in v.issues}
        # only a long subject may run past a phone's width; nothing else is ever raised
        assert codes <= ({"mobile_length"} if length == "long" else set()), (v.subject, codes)
        assert len(longest_preview(v.subject)) <= SUBJECT_CHARS[length]
        assert "{" not in preview(v.body) and "None" not in preview(v.body)


def test_missing_context_never_shows_and_given_context_is_used():
    bare = generate(parse_request("nurture", {}))
    for v in bare:
        text = preview(v.subject + v.preheader + v.body)
        assert "  " not in text and " ," not in text and ": ." not in text
    rich = generate(
        parse_request(
            "nurture",
            {"venue": "Hollow Barn", "region": "Cotswolds", "wedding_date": "2026-09-12"},
            today=date(2026, 6, 14),
        )
    )
    text = " ".join(v.subject + " " + v.preheader + " " + v.body for v in rich)
    assert "Hollow Barn" in text and "Cotswolds" in text
    assert "90 days to go" in text or "13 weeks to go" in text  # 90 days before the date
    request = parse_request("nurture", {"wedding_date": "2026-09-12"}, today=date(2026, 6, 14))
    assert (request.season, request.days_to_wedding) == ("autumn", 90)


def test_the_five_variants_differ_in_approach_not_just_wording():
    variants = {v.approach: v for v in generate(parse_request("nurture", FULL))}
    words = {a: set(preview(v.subject).lower().split()) for a, v in variants.items()}
    for a, b in itertools.combinations(APPROACHES, 2):
        overlap = len(words[a] & words[b]) / len(words[a] | words[b])
        assert overlap < 0.5, (variants[a].subject, variants[b].subject)
    assert "?" in preview(variants["curiosity"].subject)
    assert "first_name" in variants["personal"].subject
    assert "to go" in variants["urgency"].subject


def test_personalisation_falls_back_cleanly():
    personal = generate(parse_request("win_back", {}))[APPROACHES.index("personal")]
    assert preview(personal.subject).startswith(("Hello, ", "Hi, "))
    assert preview(personal.subject, {"first_name": "Ella"}).startswith("Ella, ")
    assert preview(personal.subject, {"first_name": "   "}) == preview(personal.subject)
    assert preview(personal.body).startswith("Hi there,")


def test_tone_and_length_change_the_text():
    warm = generate(parse_request("nurture", {"tone": "warm"}))[0].body
    formal = generate(parse_request("nurture", {"tone": "professional"}))[0].body
    assert preview(warm).startswith("Hi there") and preview(formal).startswith("Dear customer")
    assert "regards" in formal
    short = generate(parse_request("nurture", {**FULL, "length": "short"}))
    long = generate(parse_request("nurture", {**FULL, "length": "long"}))
    assert all(len(s.body) < len(b.body) for s, b in zip(short, long, strict=True))
    assert all(len(longest_preview(v.subject)) <= 40 for v in short)


def test_the_same_seed_repeats_and_another_seed_regenerates():
    request = parse_request("premium", FULL)
    assert generate(request, seed=3) == generate(request, seed=3)
    first, again = generate(request, seed=0), generate(request, seed=1)
    assert sum(a.subject != b.subject for a, b in zip(first, again, strict=True)) >= 3


def test_health_band_and_audience_shape_the_words():
    critical = generate(
        parse_request("churn_prevention", {"audience": "suppliers", "health_band": "critical"})
    )
    assert critical[APPROACHES.index("urgency")].subject == (
        "Your listing needs attention this week"
    )
    florists = generate(
        parse_request("nurture", {"audience": "suppliers", "supplier_kind": "florist"})
    )
    assert any("florists" in v.subject.lower() for v in florists)


def test_generation_is_well_under_200_ms():
    request = parse_request("milestone", FULL)
    generate(request)  # warm
    times = []
    for seed in range(50):
        t = time.perf_counter()
        generate(request, seed=seed)
        times.append(time.perf_counter() - t)
    assert sorted(times)[-1] < 0.2


@pytest.mark.parametrize(
    ("kind", "context", "message"),
    [
        ("newsletter", {}, "type must be one of"),
        ("nurture", {"audience": "guests"}, "audience must be one of"),
        ("nurture", {"colour": "blue"}, "unknown context key"),
        ("nurture", {"venue": "{venue}"}, "without brackets"),
        ("nurture", {"wedding_date": "next June"}, "wedding_date"),
        ("nurture", {"days_to_wedding": "soon"}, "whole number"),
    ],
)
def test_bad_requests_are_refused_with_a_code(kind, context, message):
    with pytest.raises(ContentError) as info:
        parse_request(kind, context)
    assert info.value.code == "content_request_invalid" and message in info.value.message


def test_a_subject_longer_than_a_phone_shows_is_flagged():
    assert MOBILE_SUBJECT_CHARS == 45
    issues = check_subject("A" + "b" * 50)
    assert [i.code for i in issues] == ["mobile_length"]
