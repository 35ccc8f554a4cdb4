"""What a simulation run records of itself: the guarded edits each replica made (with what it
had seen), errors and priority violations. The checkers read it; nothing here runs anything."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.protocol import campaign as schema
from shared.protocol.kinds import EVENT_CLASSES, RULED_KINDS

#: the kinds devices capture at random (kinds with rules of their own, spend, are not random)
KINDS = tuple(sorted(set(EVENT_CLASSES) - RULED_KINDS))
GUARDED = tuple(sorted(schema.GUARDED_FIELDS))


@dataclass(frozen=True)
class GuardedRecord:
    campaign: str
    field: str
    edit: str
    device: str
    step: int
    bases: tuple[str, ...]  # the edits of the field this replica had seen when it made this one


@dataclass
class History:
    captured: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (device, kind)
    guarded: list[GuardedRecord] = field(default_factory=list)
    priority_violations: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # unexplained
    explained_errors: Counter[str] = field(default_factory=Counter)
    step_failures: list[dict[str, Any]] = field(default_factory=list)


def concurrent_pairs(edits: list[GuardedRecord]) -> list[tuple[str, str]]:
    """Pairs of guarded edits of one campaign field of which neither had seen the other, from
    the simulation's own record of what each replica had seen (its bases), transitively."""
    by_field: dict[tuple[str, str], list[GuardedRecord]] = {}
    for g in edits:
        by_field.setdefault((g.campaign, g.field), []).append(g)
    pairs = []
    for group in by_field.values():
        parents = {g.edit: g.bases for g in group}
        seen = {g.edit: _ancestors(parents, g.bases) for g in group}
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a.edit not in seen[b.edit] and b.edit not in seen[a.edit]:
                    pairs.append((a.edit, b.edit))
    return pairs


def _ancestors(parents: dict[str, tuple[str, ...]], start: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    stack = list(start)
    while stack:
        edit = stack.pop()
        if edit not in found:
            found.add(edit)
            stack.extend(parents.get(edit, ()))
    return found
