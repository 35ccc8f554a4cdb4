"""The campaign index: by trigger kind, then by an equality rule every firing must meet; only
certain misses are left out (the full trigger is still matched)."""

from __future__ import annotations

from server.automation.index import KindIndex, load_campaign


def campaign(campaign_id: str, conditions) -> object:  # noqa: ANN001
    return load_campaign(
        campaign_id,
        {
            "status": "active",
            "trigger": {"event": "lead", "conditions": conditions},
            "steps": [{"id": "s", "kind": "send_email", "config": {}}],
            "variants": [{"id": "v", "subject": "s", "body": "b"}],
        },
    )


def test_equality_rules_are_looked_up_and_the_rest_scanned():
    index = KindIndex()
    fair = campaign("fair", [{"field": "source", "op": "eq", "value": "fair"}])
    web = campaign("web", [{"field": "source", "op": "eq", "value": "web"}])
    numeric = campaign("num", [{"field": "source", "op": "eq", "value": "7"}])  # "7" == 7
    either = campaign(
        "any",
        {"match": "any", "rules": [{"field": "source", "op": "eq", "value": "fair"},
                                   {"field": "channel", "op": "eq", "value": "email"}]},
    )  # fmt: skip
    open_ = campaign("all", [])
    for c in (fair, web, numeric, either, open_):
        index.add(c)
    assert len(index) == 5 and {c.id for c in index.scan} == {"num", "any", "all"}
    found = {c.id for c in index.candidates(lambda path: {"source": "fair"}.get(path))}
    assert found == {"fair", "num", "any", "all"}
    assert {c.id for c in index.candidates(lambda path: 7)} == {"num", "any", "all"}
    assert {c.id for c in index} == {"fair", "web", "num", "any", "all"}
