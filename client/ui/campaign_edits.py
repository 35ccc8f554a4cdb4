"""Campaign document edits the builder needs beyond ``shared.protocol.campaign``: delete, move
and configure steps, connect a branch to its target, and edit content variants.

Pure functions over a pycrdt ``Doc``, run inside the caller's transaction, no Qt. Each returns the
guarded-edit record when it touches a guarded value (a variant's subject while the campaign is
active) so the server can tell concurrent edits from sequential ones.

No plain dict is ever written into the doc (Yrs encodes those in hash order, so two replicas with
the same content would encode to different bytes): a step's ``config`` is a nested ``pycrdt.Map``
edited key by key, so concurrent changes of different settings of one step both survive.

What a setting may be is decided by ``shared.protocol.campaign_rules``, the rules the server checks
too; a refused edit raises ``EditError`` with the rule's code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pycrdt

from shared.protocol import campaign as schema
from shared.protocol import campaign_rules as rules


class EditError(ValueError):
    """An edit the document cannot take (unknown step, bad configuration); ``code`` is the
    campaign rule's code when a rule refused it."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


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


def add_step(doc: pycrdt.Doc, kind: str, *, after: str | None = None, first: bool = False) -> str:
    """Add a step of ``kind`` with default settings: first, after ``after``, or at the end."""
    index = None
    if first:
        index = 0
    elif after is not None:
        index = _index(_steps(doc), after, "step") + 1
    return schema.add_step(doc, kind, dict(rules.STEP_DEFAULTS.get(kind, {})), index)


def delete_step(doc: pycrdt.Doc, step_id: str) -> None:
    """Remove a step; steps that jumped to it fall through to their next step instead."""
    steps = _steps(doc)
    del steps[_index(steps, step_id, "step")]
    for item in steps:
        config = _plain(_to_py(item.get("config")))
        jumps = {key: None for key in rules.TARGET_KEYS if config.get(key) == step_id}
        if jumps:
            _update_config(item, jumps)


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
    try:
        rules.check_step_config(
            item.get("kind"), config, step_ids=[s.get("id") for s in steps], own_id=step_id
        )
    except rules.CampaignRuleError as exc:
        raise EditError(exc.message, exc.code) from None
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


# ---------------------------------------------------------------------- variants


def add_variant(doc: pycrdt.Doc, *, subject: str = "", body: str = "") -> str:
    try:
        return schema.add_variant(doc, subject=subject, body=body)
    except ValueError as exc:
        raise EditError(str(exc), rules.BAD_VARIANT) from None


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
        if len(subject) > rules.MAX_SUBJECT:  # RFC 5322 line limit
            raise EditError(
                f"a subject line is at most {rules.MAX_SUBJECT} characters", rules.BAD_VARIANT
            )
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
