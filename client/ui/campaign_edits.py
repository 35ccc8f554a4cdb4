"""Campaign document edits the builder needs beyond ``shared.protocol.campaign``: delete, move
and configure steps, connect a branch to its target, and edit content variants.

Pure functions over a pycrdt ``Doc``, run inside the caller's transaction, no Qt. Each returns the
guarded-edit record when it touches a guarded value (a variant's subject while the campaign is
active) so the server can tell concurrent edits from sequential ones.

No plain dict is ever written into the doc (Yrs encodes those in hash order, so two replicas with
the same content would encode to different bytes): a step's ``config`` is a nested ``pycrdt.Map``
edited key by key, so concurrent changes of different settings of one step both survive.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pycrdt

from shared.protocol import campaign as schema
from shared.protocol.ids import new_id

#: Events a trigger can fire on, a branch can test, or a goal can wait for.
TRIGGER_EVENTS = (
    "lead",
    "touchpoint",
    "conversion",
    "open",
    "click",
    "invite_sent",
    "invite_accepted",
    "health_score",
    "milestone",
    "unsubscribe",
    "survey",
)
BRANCH_EVENTS = ("open", "click", "conversion", "invite_accepted", "unsubscribe")


class EditError(ValueError):
    """An edit the document cannot take (unknown step, bad configuration)."""


def _steps(doc: pycrdt.Doc) -> pycrdt.Array:
    return doc.get("steps", type=pycrdt.Array)


def _variants(doc: pycrdt.Doc) -> pycrdt.Array:
    return doc.get("variants", type=pycrdt.Array)


def _index(array: pycrdt.Array, item_id: str, what: str) -> int:
    for i, item in enumerate(array):
        if item.get("id") == item_id:
            return i
    raise EditError(f"no {what} {item_id} in this campaign (someone may have deleted it)")


def _plain(value: Any) -> Any:
    """pycrdt hands numbers back as floats: restore whole numbers to ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def step_config(doc: pycrdt.Doc, step_id: str) -> dict[str, Any]:
    steps = _steps(doc)
    return dict(_plain(_to_py(steps[_index(steps, step_id, "step")].get("config"))))


STEP_DEFAULTS: dict[str, dict[str, Any]] = {
    "send_email": {"variant": "auto"},
    "wait": {"days": 2, "hours": 0},
    "branch": {"event": "open", "within_days": 3, "then": None},
    "goal": {"event": "conversion"},
}


def add_step(doc: pycrdt.Doc, kind: str, *, after: str | None = None, first: bool = False) -> str:
    """Add a step of ``kind`` with default settings: first, after ``after``, or at the end."""
    index = None
    if first:
        index = 0
    elif after is not None:
        index = _index(_steps(doc), after, "step") + 1
    return schema.add_step(doc, kind, dict(STEP_DEFAULTS.get(kind, {})), index)


def delete_step(doc: pycrdt.Doc, step_id: str) -> None:
    """Remove a step; branches that jumped to it fall through to their next step instead."""
    steps = _steps(doc)
    del steps[_index(steps, step_id, "step")]
    for item in steps:
        if _plain(_to_py(item.get("config"))).get("then") == step_id:
            _update_config(item, {"then": None})


def move_step(doc: pycrdt.Doc, step_id: str, offset: int) -> int:
    """Move a step ``offset`` places (clamped); returns its new index. The step keeps its id."""
    steps = _steps(doc)
    old = _index(steps, step_id, "step")
    new = max(0, min(len(steps) - 1, old + offset))
    if new == old:
        return old
    item = steps[old]
    copy = pycrdt.Map(
        {
            "id": item.get("id"),
            "kind": item.get("kind"),
            "config": _config_map(_plain(_to_py(item.get("config")))),
        }
    )
    del steps[old]
    steps.insert(new, copy)
    return new


def set_step_config(doc: pycrdt.Doc, step_id: str, config: dict[str, Any]) -> None:
    steps = _steps(doc)
    item = steps[_index(steps, step_id, "step")]
    kind = item.get("kind")
    _check_config(kind, config, [s.get("id") for s in steps], step_id)
    current = _plain(_to_py(item.get("config")))
    changed = {k: v for k, v in config.items() if current.get(k, _MISSING) != v}
    _update_config(item, changed, removed=[k for k in current if k not in config])


_MISSING = object()


def _to_py(value: Any) -> dict[str, Any]:
    if isinstance(value, pycrdt.Map):
        return value.to_py() or {}
    return dict(value or {})


def _crdt_value(value: Any) -> Any:
    """A config value as the doc stores it: scalars as they are, objects as canonical JSON."""
    if isinstance(value, dict):
        return schema.canonical_json(value)
    if isinstance(value, list):
        return [_crdt_value(v) for v in value]
    return value


def _config_map(config: dict[str, Any]) -> pycrdt.Map:
    return pycrdt.Map({k: _crdt_value(v) for k, v in sorted(config.items())})


def _update_config(item: pycrdt.Map, changed: dict[str, Any], removed: Iterable[str] = ()) -> None:
    """Set only the changed keys of a step's config map (a plain-dict config from an older
    version of the app is replaced by a map once)."""
    config = item.get("config")
    if not isinstance(config, pycrdt.Map):
        gone = set(removed)
        merged = {k: v for k, v in _plain(_to_py(config)).items() if k not in gone}
        merged.update(changed)
        item["config"] = _config_map(merged)
        return
    for key in removed:
        if key in config:
            del config[key]
    for key, value in sorted(changed.items()):
        config[key] = _crdt_value(value)


def connect(doc: pycrdt.Doc, branch_id: str, target_id: str | None) -> None:
    """Point a branch's "yes" path at ``target_id`` (None: continue with the next step)."""
    config = step_config(doc, branch_id)
    config["then"] = target_id
    set_step_config(doc, branch_id, config)


def _check_config(kind: str, config: dict[str, Any], step_ids: list[str], own_id: str) -> None:
    def whole(key: str, low: int, high: int) -> None:
        value = config.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise EditError(f"{key.replace('_', ' ')} must be a whole number from {low} to {high}")

    if kind == "wait":
        whole("days", 0, 365)
        whole("hours", 0, 23)
    elif kind == "branch":
        if config.get("event") not in BRANCH_EVENTS:
            raise EditError(f"a branch tests one of {', '.join(BRANCH_EVENTS)}")
        whole("within_days", 1, 365)
        target = config.get("then")
        if target is not None and (target == own_id or target not in step_ids):
            raise EditError("a branch must lead to another step of this campaign")
    elif kind == "goal":
        if config.get("event") not in TRIGGER_EVENTS:
            raise EditError(f"a goal waits for one of {', '.join(TRIGGER_EVENTS)}")


# ---------------------------------------------------------------------- variants


def add_variant(doc: pycrdt.Doc, *, subject: str = "", body: str = "") -> str:
    variants = _variants(doc)
    taken = {v.get("label") for v in variants}
    label = next(chr(c) for c in range(ord("A"), ord("Z") + 1) if chr(c) not in taken)
    variant_id = new_id()
    variants.append(
        pycrdt.Map({"id": variant_id, "label": label, "subject": subject, "body": body})
    )
    return variant_id


def set_variant(
    doc: pycrdt.Doc, variant_id: str, *, subject: str | None = None, body: str | None = None
) -> schema.GuardedEdit | None:
    """Change a variant's subject or body; a live campaign's subject is a guarded field."""
    variants = _variants(doc)
    item = variants[_index(variants, variant_id, "variant")]
    guarded = None
    if body is not None and item.get("body") != body:
        item["body"] = body
    if subject is not None and item.get("subject") != subject:
        if len(subject) > 998:  # RFC 5322 line limit
            raise EditError("a subject line is at most 998 characters")
        item["subject"] = subject
        if doc.get("fields", type=pycrdt.Map).get("status") == "active":
            guarded = schema.record_guarded_edit(doc, subject_key(variant_id), subject)
    return guarded


def subject_key(variant_id: str) -> str:
    """The guarded key of a variant's subject line."""
    return f"variants.{variant_id}.{schema.GUARDED_VARIANT_FIELD}"


def delete_variant(doc: pycrdt.Doc, variant_id: str) -> None:
    variants = _variants(doc)
    del variants[_index(variants, variant_id, "variant")]
    for item in _steps(doc):
        if _plain(_to_py(item.get("config"))).get("variant") == variant_id:
            _update_config(item, {"variant": "auto"})


def set_status(doc: pycrdt.Doc, status: str) -> schema.GuardedEdit | None:
    """Move the campaign to ``status`` if the transition is allowed from where it is now."""
    current = doc.get("fields", type=pycrdt.Map).get("status") or "draft"
    if status != current and status not in schema.TRANSITIONS.get(current, ()):
        raise EditError(f"a {current} campaign cannot become {status}")
    if current == "archived":
        raise EditError("an archived campaign cannot change")
    return schema.set_field(doc, "status", status)
