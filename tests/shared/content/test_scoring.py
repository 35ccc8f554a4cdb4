"""The engagement model: the prior with no history, learning from an org's sends, the
recommendation and its reason, validation on held-out subjects."""

from __future__ import annotations

import pytest

from shared.content import (
    ContentError,
    SubjectOutcome,
    cold_start,
    fit,
    offline,
    outcome_from_dict,
    outcomes_from_events,
    parse_request,
    recommend,
    synthetic,
    validate,
)


@pytest.fixture(scope="module")
def history():
    return synthetic.history(0)


def test_with_no_history_the_model_is_the_prior():
    model = fit([])
    assert model.sends == 0 and (model.weights == cold_start().weights).all()
    assert 0.01 < model.rate("Time to book a visit", "nurture", "couples") < 0.05
    assert model.rate("FREE!! Book NOW", "nurture", "couples") < model.rate(
        "Time to book a visit", "nurture", "couples"
    )


def test_the_model_learns_what_the_org_s_sends_show():
    # this org's couples click far more on questions than the prior expects
    rows = []
    for i in range(30):
        rows.append(SubjectOutcome(f"Ready for day {i}?", "nurture", "couples", 2000, 0, 160))
        rows.append(SubjectOutcome(f"Your plans for day {i}", "nurture", "couples", 2000, 0, 40))
    model = fit(rows)
    q = model.rate("Ready for the fair?", "nurture", "couples")
    plain = model.rate("Your plans for the fair", "nurture", "couples")
    assert q > 2.5 * plain and model.sends == 120_000 and model.subjects == 60


def test_recommendation_names_its_reason_and_basis(history):
    request = parse_request("nurture", {"venue": "Hollow Barn", "days_to_wedding": 60})
    cold = offline(request)
    assert cold.reason.startswith("Highest predicted click rate")
    assert "no sends yet" in cold.reason
    assert cold.rates[cold.recommended] == max(cold.rates)
    warm = offline(request, history=history)
    assert "learned from" in warm.reason and "sends of" in warm.reason
    assert warm.variants[warm.recommended].approach == "personal"  # the truth favours names


def test_recommend_refuses_nothing():
    with pytest.raises(ContentError):
        recommend([], "nurture", "couples", cold_start())


def test_held_out_rank_correlation_beats_the_prior(history):
    results = [validate(history, seed=s) for s in range(3)]
    for v in results:
        assert v.test_subjects > 50 and v.p_value < 1e-6
        assert 0.6 < v.rho < 1.0  # hidden per-subject effects keep it short of perfect
        assert v.rho > v.rho_prior
    with pytest.raises(ContentError):
        validate(history[:4])


def test_history_from_events_counts_each_outcome_once_and_skips_proxies():
    campaigns = {"c1": ("nurture", "couples")}
    ev = [
        {
            "id": "1",
            "kind": "send",
            "occurred_at_ms": 1,
            "contact": "a",
            "campaign": "c1",
            "payload": {"subject": "Hi A"},
        },
        {
            "id": "2",
            "kind": "open",
            "occurred_at_ms": 2,
            "contact": "a",
            "campaign": "c1",
            "payload": {"non_engagement": "privacy_proxy"},
        },
        {"id": "3", "kind": "click", "occurred_at_ms": 3, "contact": "a", "campaign": "c1"},
        {"id": "4", "kind": "click", "occurred_at_ms": 4, "contact": "a", "campaign": "c1"},
        ("5", "send", 5, "b", "c1", None, None, {"subject": "Hi A"}),
        ("6", "click", 6, "b", "c1", None, None, {"non_engagement": "scanner"}),
        ("7", "conversion", 7, "b", "c1", None, 9000, {}),
        {
            "id": "8",
            "kind": "send",
            "occurred_at_ms": 8,
            "contact": "a",
            "campaign": "zz",
            "payload": {"subject": "Other"},
        },
    ]
    (only,) = outcomes_from_events(ev, campaigns)
    assert only == SubjectOutcome("Hi A", "nurture", "couples", 2, 0, 1, 1)


def test_history_records_are_checked():
    assert outcome_from_dict({"subject": "x", "sends": 3, "clicks": 1}).clicks == 1
    for bad in ({"sends": 3}, {"subject": "x", "sends": 2, "clicks": 5}):
        with pytest.raises(ContentError) as info:
            outcome_from_dict(bad)
        assert info.value.code == "history_invalid"
