"""The rule language that trigger conditions and ``branch`` steps share.

A condition set is ``{"match": "all" | "any", "rules": [rule, ...]}`` or a bare list of rules
(all must hold); a rule is ``{"field": path, "op": op, "value": want}``. What a path names is up
to the caller (an event field, its payload, the contact, a count of events): this module only
compares. Operators: ``eq``, ``ne``, ``lt``, ``lte``, ``gt``, ``gte``, ``in``, ``not_in``,
``contains``, ``exists``; the builder's words ``is``, ``is not``, ``at least``, ``at most`` are
read as ``eq``, ``ne``, ``gte``, ``lte``.

Rules of comparison (so that no value typed by a person crashes the engine):

* A missing field (absent or null) satisfies only ``exists: false``, ``ne`` and ``not_in``.
* A number and a numeric string compare as numbers (the builder stores what the user typed as
  text: ``"50"``). Booleans are not numbers. Other values of different types are never equal
  and never ordered: the rule is false, never an error.
* Strings order as strings, which orders ISO dates correctly.
* ``in``: the field is one of ``want`` (a list); ``contains``: the field (a list or a string)
  contains ``want``. ``exists`` takes true (default) or false.
* An empty condition set matches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import AutomationCode, AutomationError

OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "exists")
ALIASES = {"is": "eq", "is not": "ne", "at least": "gte", "at most": "lte", "==": "eq", "!=": "ne"}
MAX_RULES = 50


class _Missing:
    """A field that is absent or null."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class Rule:
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Conditions:
    rules: tuple[Rule, ...] = ()
    match: str = "all"  # "all" | "any"

    def test(self, resolve: Callable[[str], Any]) -> bool:
        """Whether the rules hold; ``resolve(path)`` returns a field's value or ``MISSING``."""
        if not self.rules:
            return True
        results = (compare(r.op, resolve(r.field), r.value) for r in self.rules)
        return any(results) if self.match == "any" else all(results)


def parse_conditions(raw: Any, *, code: AutomationCode, where: str) -> Conditions:
    """Validate a condition set; AutomationError(``code``) names what is wrong and ``where``."""
    if raw is None:
        return Conditions()
    match = "all"
    rules_raw = raw
    if isinstance(raw, dict):
        match = raw.get("match", "all")
        rules_raw = raw.get("rules") or []
        if match not in ("all", "any"):
            raise AutomationError(code, f"{where}: match must be 'all' or 'any', not {match!r}")
    if not isinstance(rules_raw, list | tuple):
        raise AutomationError(code, f"{where}: conditions must be a list of rules")
    if len(rules_raw) > MAX_RULES:
        raise AutomationError(code, f"{where}: at most {MAX_RULES} rules")
    rules = []
    for i, item in enumerate(rules_raw):
        if not isinstance(item, dict):
            raise AutomationError(code, f"{where}: rule {i} must be an object")
        field = item.get("field")
        if not isinstance(field, str) or not field.strip():
            raise AutomationError(code, f"{where}: rule {i} needs a field")
        op = item.get("op", "eq")
        op = ALIASES.get(op, op) if isinstance(op, str) else op
        if op not in OPS:
            raise AutomationError(
                code,
                f"{where}: rule {i} op must be one of {', '.join(OPS)}; got {item.get('op')!r}",
            )
        value = item.get("value")
        if op in ("in", "not_in") and not isinstance(value, list | tuple):
            raise AutomationError(code, f"{where}: rule {i} op {op} needs a list value")
        if op == "exists" and value is not None and not isinstance(value, bool):
            raise AutomationError(code, f"{where}: rule {i} op exists takes true or false")
        rules.append(Rule(field.strip(), op, tuple(value) if isinstance(value, list) else value))
    return Conditions(tuple(rules), match)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _equal(actual: Any, want: Any) -> bool:
    if isinstance(actual, bool) or isinstance(want, bool):
        return type(actual) is type(want) and actual == want
    if isinstance(actual, int | float) or isinstance(want, int | float):
        a, w = _number(actual), _number(want)
        return a is not None and a == w
    return actual == want


def _order(actual: Any, want: Any) -> int | None:
    """-1, 0 or 1 when the two are comparable, else None."""
    a, w = _number(actual), _number(want)
    if (
        a is not None
        and w is not None
        and (isinstance(actual, int | float) or isinstance(want, int | float))
    ):
        return (a > w) - (a < w)
    if isinstance(actual, str) and isinstance(want, str):
        return (actual > want) - (actual < want)
    return None


def compare(op: str, actual: Any, want: Any) -> bool:
    """One rule's verdict (see the module rules)."""
    op = ALIASES.get(op, op)
    missing = actual is MISSING or actual is None
    if op == "exists":
        return missing != (want if want is not None else True)
    if missing:
        return op in ("ne", "not_in")
    if op == "eq":
        return _equal(actual, want)
    if op == "ne":
        return not _equal(actual, want)
    if op == "in":
        return any(_equal(actual, w) for w in want or ())
    if op == "not_in":
        return not any(_equal(actual, w) for w in want or ())
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(want, str) and want in actual
        if isinstance(actual, list | tuple | set | frozenset):
            return any(_equal(item, want) for item in actual)
        return False
    if op in ("lt", "lte", "gt", "gte"):
        order = _order(actual, want)
        if order is None:
            return False
        return {"lt": order < 0, "lte": order <= 0, "gt": order > 0, "gte": order >= 0}[op]
    return False


def lookup(data: Any, dotted: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``; MISSING when any part is absent or null."""
    value = data
    for part in dotted.split("."):
        if not hasattr(value, "get"):
            return MISSING
        value = value.get(part, MISSING)
        if value is None or value is MISSING:
            return MISSING
    return value
