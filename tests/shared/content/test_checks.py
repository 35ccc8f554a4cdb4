"""What a subject must pass: spam words, shouting, punctuation, length, unfilled fields."""

from __future__ import annotations

from shared.content.checks import check_subject, check_text, preview, unfilled


def codes(subject: str) -> set[str]:
    return {i.code for i in check_subject(subject)}


def test_spam_words_match_whole_words_only():
    assert codes("Free tasting for you") == {"spam_words"}
    assert codes("A carefree afternoon at the barn") == set()
    assert codes("Act now: dates are going") == {"spam_words"}


def test_shouting_but_not_acronyms():
    assert codes("BOOK your tour today") == {"all_caps"}
    assert codes("Please RSVP by June") == set()


def test_excessive_punctuation():
    assert codes("Your date is here!!") == {"punctuation"}
    assert codes("Really?!") == {"punctuation"}
    assert codes("One! Two!") == {"punctuation"}
    assert codes("Ready for the day?") == set()


def test_length_blocks_past_78_and_warns_past_a_phone():
    assert codes("x" * 46) == {"mobile_length"}
    assert [i.severity for i in check_subject("x" * 80)] == ["block"]
    assert [i.code for i in check_subject("  ")] == ["empty"]


def test_unfilled_fields_block():
    for text in (
        "Hi {name}, see you",
        "Dear [First Name]",
        "Hi <first name>",
        "Hello {{ venue }}",
        "Hi {{ first_name }}",  # a known field, but no words for a contact without one
        "Party on TBD",
        "Hi %(name)s",
    ):
        assert unfilled(text), text
        assert "unfilled" in codes(text), text
    ok = 'Hi {{ first_name|default("there") }}, {{ partner_name|default("and you") }}'
    assert unfilled(ok) == []
    assert preview(ok) == "Hi there, and you"
    assert preview(ok, {"first_name": "Ella", "partner_name": "Sam"}) == "Hi Ella, Sam"


def test_a_body_has_a_length_limit():
    assert [i.code for i in check_text("x" * 5000, "body", 4000)] == ["too_long"]
