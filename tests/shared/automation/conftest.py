"""Builders for journeys and enrolments in tests."""

from __future__ import annotations

from typing import Any

NOW = 1_780_000_000_000  # 2026-05-28T20:26:40Z
DAY_S = 86_400
DAY_MS = DAY_S * 1000
CAMPAIGN = "01J0CAMPA1GN0000000000000A"


def step(step_id: str, kind: str, **config: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": kind, "config": config}


def campaign(*steps: dict[str, Any], **fields: Any) -> dict[str, Any]:
    data = {
        "id": CAMPAIGN,
        "status": "active",
        "steps": list(steps),
        "variants": [
            {"id": "A", "subject": "a", "body": "a"},
            {"id": "B", "subject": "b", "body": "b"},
        ],
    }
    data.update(fields)
    return data


def event(kind: str, at_ms: int, contact: str = "ana@example.com", **extra: Any) -> dict[str, Any]:
    return {
        "id": extra.pop("id", f"{kind}-{at_ms}"),
        "kind": kind,
        "occurred_at_ms": at_ms,
        "hlc": at_ms << 16,
        "contact": contact,
        "campaign": extra.pop("campaign", CAMPAIGN),
        **extra,
    }
