"""Audience segments: behavioural rules over contact fields, and their overlap.

A segment is JSON: ``{"match": "all"|"any", "rules": [{"field", "op", "value"}, ...]}`` with ops
``eq``, ``ne``, ``in``, ``not_in``, ``contains``, ``gte``, ``lte``, ``exists``. A bare string is a
named segment: a contact is in it when its ``segments`` field lists that name.
"""

from __future__ import annotations

from typing import Any

OPS = ("eq", "ne", "in", "not_in", "contains", "gte", "lte", "exists")


def _rule(fields: dict[str, Any], rule: dict[str, Any]) -> bool:
    value = fields.get(rule.get("field", ""))
    op, want = rule.get("op", "eq"), rule.get("value")
    try:
        if op == "eq":
            return value == want
        if op == "ne":
            return value != want
        if op == "in":
            return value in (want or [])
        if op == "not_in":
            return value not in (want or [])
        if op == "contains":
            return want in (value or [])
        if op == "gte":
            return value is not None and value >= want
        if op == "lte":
            return value is not None and value <= want
        if op == "exists":
            return (value is not None) == bool(want if want is not None else True)
    except TypeError:  # comparing values of different types: not a match
        return False
    return False


def matches(segment: Any, fields: dict[str, Any]) -> bool:
    if segment is None:
        return False
    if isinstance(segment, str):
        return segment in (fields.get("segments") or [])
    if not isinstance(segment, dict):
        return False
    rules = [r for r in segment.get("rules") or [] if isinstance(r, dict)]
    if not rules:
        return True  # an empty rule set is everyone
    results = (_rule(fields, r) for r in rules)
    return any(results) if segment.get("match") == "any" else all(results)


def overlap(a: Any, b: Any, contacts: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Contacts in both segments (when no contacts are known, identical segments overlap)."""
    if not contacts:
        return ["*"] if a is not None and a == b else []
    return [email for email, fields in contacts if matches(a, fields) and matches(b, fields)]
