"""One open campaign in the builder: a working copy of its CRDT document with undo and redo.

The builder edits the working copy (origin ``"ui"``, which the ``pycrdt.UndoManager`` tracks) and
hands the resulting update to the replica, which stores and queues it. Remote changes merge into the
working copy untracked, so Ctrl+Z only ever undoes this user's own edits and never someone else's.

Invariant: the working copy never holds a local change that was not handed out as a ``LocalEdit``;
the caller writes every ``LocalEdit`` to the replica in order. No Qt here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pycrdt

from shared.protocol import campaign as schema
from shared.protocol.ids import new_id

ORIGIN = "ui"
_GUARD_ORIGIN = "ui-guard"  # rev bookkeeping after an undo: not itself undoable


@dataclass(frozen=True)
class LocalEdit:
    """An update made on the working copy, to be written through the replica."""

    update: bytes
    guards: tuple[schema.GuardedEdit, ...]

    def apply_to(self, doc: pycrdt.Doc) -> list[schema.GuardedEdit]:
        """The replica-side edit: merge the update into the replica's doc."""
        doc.apply_update(self.update)
        return list(self.guards)


def _roots(doc: pycrdt.Doc) -> list[Any]:
    roots: list[Any] = [doc.get(name, type=pycrdt.Text) for name in schema.TEXT_FIELDS]
    roots += [doc.get(name, type=pycrdt.Map) for name in ("fields", "revs")]
    roots += [doc.get(name, type=pycrdt.Array) for name in ("steps", "variants")]
    return roots


class CampaignSession:
    def __init__(self, campaign_id: str, state: bytes) -> None:
        self.campaign_id = campaign_id
        self.doc = schema.doc_from_state(state)
        self._undo = pycrdt.UndoManager(scopes=_roots(self.doc), capture_timeout_millis=0)
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
        revs_before = dict(self.doc.get("revs", type=pycrdt.Map).to_py() or {})
        action()
        guards = self._reissue_guards(revs_before)
        return self._edit_since(before, tuple(guards))

    def _reissue_guards(self, revs_before: dict[str, str]) -> list[schema.GuardedEdit]:
        """Undoing a guarded edit puts back the old revision id too; the server would read that
        as an edit based on a stale revision. Record the undo as a new edit on the current head."""
        revs = self.doc.get("revs", type=pycrdt.Map)
        fields = self.doc.get("fields", type=pycrdt.Map)
        changed = [
            k for k in set(revs_before) | set(revs.keys()) if revs.get(k) != revs_before.get(k)
        ]
        guards = []
        with self.doc.transaction(origin=_GUARD_ORIGIN):
            for key in sorted(changed):
                value = fields.get(key) if "." not in key else self._variant_value(key)
                edit = schema.GuardedEdit(
                    field=key, edit=new_id(), base=revs_before.get(key), value=_plain(value)
                )
                revs[key] = edit.edit
                guards.append(edit)
        return guards

    def _variant_value(self, key: str) -> Any:
        _, variant_id, name = key.split(".", 2)
        for item in self.doc.get("variants", type=pycrdt.Array):
            if item.get("id") == variant_id:
                return item.get(name)
        return None

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
