"""One open campaign in the builder: a working copy of its CRDT document with undo and redo.

The builder edits the working copy (origin ``"ui"``, which the ``pycrdt.UndoManager`` tracks) and
hands the resulting update to the replica, which stores and queues it. Remote changes merge into the
working copy untracked, so Ctrl+Z only ever undoes this user's own edits and never someone else's.

Invariant: the working copy never holds a local change that was not handed out as a ``LocalEdit``;
the caller writes every ``LocalEdit`` to the replica in order. No Qt here.

The guarded-edit history (``revs``) and the server's conflict marks are outside the undo scope:
both only ever grow, and undoing an edit must not erase it from the history other replicas may
already have built on. Undoing or redoing a change of a guarded value is itself recorded as a new
guarded edit based on the field's current heads, so the server reads it as sequential.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pycrdt

from shared.protocol import campaign as schema

ORIGIN = "ui"
_GUARD_ORIGIN = "ui-guard"  # guarded-edit bookkeeping after an undo: not itself undoable


@dataclass(frozen=True)
class LocalEdit:
    """An update made on the working copy, to be written with ``Replica.apply_local_update``."""

    update: bytes
    guards: tuple[schema.GuardedEdit, ...]


def _undoable_roots(doc: pycrdt.Doc) -> list[Any]:
    roots: list[Any] = [doc.get(name, type=pycrdt.Text) for name in schema.TEXT_FIELDS]
    roots.append(doc.get("fields", type=pycrdt.Map))
    roots += [doc.get(name, type=pycrdt.Array) for name in ("steps", "variants")]
    return roots


def guarded_values(doc: pycrdt.Doc) -> dict[str, Any]:
    """``guarded key -> value`` as the doc has them now: the guarded fields, and the variants'
    subjects while the campaign is active (compare before/after an undo)."""
    fields = doc.get("fields", type=pycrdt.Map)
    values = {key: _plain(fields.get(key)) for key in schema.GUARDED_FIELDS if key in fields}
    if fields.get("status") == "active":
        for item in doc.get("variants", type=pycrdt.Array):
            key = f"variants.{item.get('id')}.{schema.GUARDED_VARIANT_FIELD}"
            values[key] = item.get(schema.GUARDED_VARIANT_FIELD)
    return values


class CampaignSession:
    def __init__(self, campaign_id: str, state: bytes) -> None:
        self.campaign_id = campaign_id
        self.doc = schema.doc_from_state(state)
        self._undo = pycrdt.UndoManager(scopes=_undoable_roots(self.doc), capture_timeout_millis=0)
        self._undo.include_origin(ORIGIN)

    # ------------------------------------------------------------------ reading

    def snapshot(self) -> dict[str, Any]:
        return schema.snapshot(self.doc)

    @property
    def can_undo(self) -> bool:
        return self._undo.can_undo()

    @property
    def can_redo(self) -> bool:
        return self._undo.can_redo()

    # ------------------------------------------------------------------ writing

    def edit(self, fn: Callable[[pycrdt.Doc], Any]) -> LocalEdit | None:
        """Run ``fn`` on the working copy as one undoable step. ``fn`` may return a guarded edit,
        a list of them, or anything else (ignored). Exceptions leave the copy unchanged."""
        before = self.doc.get_state()
        probe = schema.doc_from_state(self.doc.get_update())
        fn(probe)  # validate on a scratch copy first: a failing edit must not half-apply
        with self.doc.transaction(origin=ORIGIN):
            result = fn(self.doc)
        if isinstance(result, schema.GuardedEdit):
            guards: tuple = (result,)
        elif isinstance(result, list | tuple):
            guards = tuple(g for g in result if isinstance(g, schema.GuardedEdit))
        else:
            guards = ()
        return self._edit_since(before, guards)

    def undo(self) -> LocalEdit | None:
        return self._replay(self._undo.undo) if self.can_undo else None

    def redo(self) -> LocalEdit | None:
        return self._replay(self._undo.redo) if self.can_redo else None

    def _replay(self, action: Callable[[], Any]) -> LocalEdit | None:
        before = self.doc.get_state()
        values_before = guarded_values(self.doc)
        action()
        guards = self._reissue_guards(values_before)
        return self._edit_since(before, tuple(guards))

    def _reissue_guards(self, values_before: dict[str, Any]) -> list[schema.GuardedEdit]:
        """Record every guarded value the undo or redo changed as a new guarded edit on the
        field's current heads (the undone edit included: the undo comes after it)."""
        values = guarded_values(self.doc)
        changed = sorted(
            k for k in set(values) | set(values_before) if values.get(k) != values_before.get(k)
        )
        if not changed:
            return []
        with self.doc.transaction(origin=_GUARD_ORIGIN):
            return [
                schema.record_guarded_edit(self.doc, key, _json_value(key, values.get(key)))
                for key in changed
            ]

    def _edit_since(self, before: bytes, guards: tuple) -> LocalEdit | None:
        update = self.doc.get_update(before)
        if update == b"\x00\x00":
            return None
        return LocalEdit(update=update, guards=guards)

    # ------------------------------------------------------------------ remote

    def merge(self, state: bytes) -> bool:
        """Bring in what the replica has and the working copy lacks (remote edits); untracked by
        undo. True if anything changed."""
        missing = pycrdt.get_update(bytes(state), self.doc.get_state())
        if missing == b"\x00\x00":
            return False
        before = self.doc.get_state()
        self.doc.apply_update(missing)
        return self.doc.get_state() != before


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _json_value(key: str, value: Any) -> Any:
    """The value as a guarded edit reports it: structured fields decoded from canonical JSON."""
    spec = schema.FIELDS.get(key)
    if spec is not None and spec.kind == "json" and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
