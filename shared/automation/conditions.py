"""The rule language that trigger conditions and ``branch`` steps share.

A condition set is ``{"match": "all" | "any", "rules": [rule, ...]}`` or a bare list of rules
(all must hold); a rule is ``{"field": path, "op": op, "value": want}``. What a path names is up
to the caller (an event field, its payload, the contact, a count of events): this module only
compares. Operators: ``eq``, ``ne``, ``lt``, ``lte``, ``gt``, ``gte``, ``in``, ``not_in``,
``contains``, ``exists``; the builder's words ``is``, ``is not``, ``at least``, ``at most`` are
read as ``eq``, ``ne``, ``gte``, ``lte``.

What a rule may be is decided here and nowhere else (``parse_conditions``): the campaign rules
(``shared.protocol.campaign_rules``) check trigger conditions and audiences by calling it. A rule
has only ``field`` (1-100 characters: letters, digits, ``_ . -`` and spaces), ``op`` and
``value``; ``in``/``not_in`` take a list of at most 1,000 plain values, ``exists`` true or false,
the orderings a number or a text (a date), the others one plain value; at most 50 rules.

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
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import AutomationCode, AutomationError

OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "exists")
ALIASES = {"is": "eq", "is not": "ne", "at least": "gte", "at most": "lte", "==": "eq", "!=": "ne"}
MAX_RULES = 50
MAX_LIST = 1_000  # values of an ``in`` / ``not_in`` rule
MAX_NAME = 100  # a rule's field name
MAX_VALUE_CHARS = 100_000
#: what a field name (a path) may look like: letters, digits, ``_ . -`` and spaces
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\- ]*$")


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


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def parse_conditions(
    raw: Any,
    *,
    code: AutomationCode,
    where: str,
    what: str = "a condition",
    field: str = "conditions",
) -> Conditions:
    """Validate a condition set; AutomationError(``code``) says what is wrong, ``where`` (for
    the message) and in which ``field`` (``conditions[2]``: the rule at fault)."""
    if raw is None:
        return Conditions()
    match = "all"
    rules_raw = raw
    if isinstance(raw, dict):
        for key in raw:
            if key not in ("match", "rules"):
                raise AutomationError(
                    code, f"{where}: has no setting {key!r} (settings: match, rules)", field
                )
        match = raw.get("match", "all")
        rules_raw = raw.get("rules") or []
        if match not in ("all", "any"):
            raise AutomationError(
                code, f"{where}: match must be 'all' or 'any' of its rules, not {match!r}", field
            )
    if not isinstance(rules_raw, list | tuple):
        raise AutomationError(code, f"{where}: conditions must be a list of rules", field)
    if len(rules_raw) > MAX_RULES:
        raise AutomationError(code, f"{where}: at most {MAX_RULES} rules", field)
    return Conditions(
        tuple(_parse_rule(item, code, what, f"{field}[{i}]") for i, item in enumerate(rules_raw)),
        match,
    )


def _parse_rule(item: Any, code: AutomationCode, what: str, field: str) -> Rule:
    """One rule ``{"field", "op", "value"}`` (see the module rules for what each op takes)."""
    if not isinstance(item, dict):
        raise AutomationError(code, f"{what} must be a JSON object", field)
    for key in item:
        if key not in ("field", "op", "value"):
            raise AutomationError(
                code, f"{what} has no setting {key!r} (settings: field, op, value)", field
            )
    name = item.get("field")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise AutomationError(
            code, f"{what} needs a field name of 1 to {MAX_NAME} characters", field
        )
    if not FIELD_NAME.match(name.strip()):
        raise AutomationError(code, f"{what}'s field {name!r} has characters a field cannot", field)
    raw_op = item.get("op", "eq")
    op = ALIASES.get(raw_op, raw_op) if isinstance(raw_op, str) else raw_op
    if op not in OPS:
        raise AutomationError(
            code, f"{what}'s op must be one of {', '.join(OPS)}; got {raw_op!r}", field
        )
    value = item.get("value")
    if op in ("in", "not_in"):
        if not isinstance(value, list | tuple) or len(value) > MAX_LIST:
            raise AutomationError(
                code, f"'{op}' needs a list value of at most {MAX_LIST:,} plain values", field
            )
        if not all(_plain(v) for v in value):
            raise AutomationError(code, f"'{op}' needs a list value of plain values", field)
    elif op == "exists":
        if value is not None and not isinstance(value, bool):
            raise AutomationError(code, "'exists' takes true or false (or nothing)", field)
    elif op in ("lt", "lte", "gt", "gte"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise AutomationError(code, f"'{op}' compares with a number or a date", field)
    elif not _plain(value):
        raise AutomationError(code, f"'{op}' compares with one plain value", field)
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        raise AutomationError(code, f"{what}'s value is too long", field)
    return Rule(name.strip(), op, tuple(value) if isinstance(value, list) else value)


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
