"""The LLM answer is accepted only whole: five variants, one per approach, lengths kept, no
field left unfilled."""

from __future__ import annotations

import json

import pytest

from shared.content import APPROACHES, ContentError, chat_request, parse_answer, parse_request

REQUEST = parse_request("nurture", {"venue": "Hollow Barn", "days_to_wedding": 60})


def answer(variants, fence=False):
    text = json.dumps({"variants": variants})
    if fence:
        text = "```json\n" + text + "\n```"
    return {"choices": [{"message": {"role": "assistant", "content": text}}]}


def good():
    return [
        {
            "approach": a,
            "subject": f"{a.replace('_', ' ').capitalize()} at Hollow Barn",
            "preheader": "A line under the subject.",
            "body": 'Hi {{ first_name|default("there") }},\n\nSee you soon.\n\nThe team',
        }
        for a in reversed(APPROACHES)
    ]


def test_the_request_carries_the_context_and_the_rules():
    body = chat_request(REQUEST, model="llama3.2")
    assert body["model"] == "llama3.2" and body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert "benefit, urgency, curiosity, social_proof, personal" in system["content"]
    assert '{{ first_name|default("Hello") }}' in system["content"]
    assert json.loads(user["content"])["venue"] == "Hollow Barn"


def test_a_good_answer_comes_back_in_approach_order_marked_llm():
    for fence in (False, True):
        variants = parse_answer(answer(good(), fence), REQUEST)
        assert [v.approach for v in variants] == list(APPROACHES)
        assert {v.source for v in variants} == {"llm"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda v: v[:4], "expected 5 variants, got 4"),
        (lambda v: [*v[:4], dict(v[0])], "repeated"),
        (lambda v: [{**v[0], "subject": "x" * 90}, *v[1:]], "over"),
        (lambda v: [{**v[0], "subject": "Hi {name}"}, *v[1:]], "unfilled"),
        (lambda v: [{**v[0], "body": "Dear [First Name],"}, *v[1:]], "unfilled"),
        (lambda v: [{**v[0], "subject": "Hi {{ first_name }}"}, *v[1:]], "unfilled"),
        (lambda v: [{**v[0], "preheader": None}, *v[1:]], "must be text"),
        (lambda v: [{**v[0], "approach": "humour"}, *v[1:]], "unknown"),
    ],
)
def test_a_bad_answer_is_refused_whole(mutate, message):
    with pytest.raises(ContentError) as info:
        parse_answer(answer(mutate(good())), REQUEST)
    assert info.value.code == "llm_answer_invalid" and message in info.value.message


@pytest.mark.parametrize(
    "raw",
    [
        {"choices": []},
        {"error": "overloaded"},
        {"choices": [{"message": {"content": "Sure! Here are five subject lines:"}}]},
        {"choices": [{"message": {"content": None}}]},
        "not even a dict",
    ],
)
def test_malformed_answers_are_refused(raw):
    with pytest.raises(ContentError) as info:
        parse_answer(raw, REQUEST)
    assert info.value.code == "llm_answer_invalid"


def test_spam_words_are_warnings_not_refusals():
    variants = good()
    variants[0]["subject"] = "Free tour at Hollow Barn"
    parsed = parse_answer(answer(variants), REQUEST)
    assert [i.code for i in parsed[APPROACHES.index("personal")].issues] == ["spam_words"]
