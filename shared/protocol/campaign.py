"""The campaign schema and its pycrdt document layout.

One pycrdt ``Doc`` per campaign:

* ``fields`` (Map): scalar and structured fields (type, status, budget_cents, schedule, …);
* ``name``, ``description`` (Text): free text, merged by character, never flagged;
* ``note_entries`` (Array): the team's notes, one record per note,
  ``[note id, author, at_ms, text]``, only ever appended: two people adding a note at the same
  time, offline, get two notes, never one text spliced from both. ``notes`` (Text) is where
  earlier versions kept notes as one text; ``snapshot`` shows it as the first entry;
* ``steps`` (Array of Map): the flow (send_email, wait, wait_for, branch, split, goal; their
  settings and the rules over them are in ``campaign_rules``);
* ``variants`` (Array of Map): content variants (subject, body);
* ``revs`` (Map): one entry per guarded edit, ``edit id -> [field key, [base ids]]``;
* ``conflicts`` (Map): open conflicts, ``conflict id -> [field, kind]``, written by the server
  so that every replica, offline ones included, learns of them through ordinary sync;
* ``hold`` (Map): written by the server when it kept a campaign in draft because it broke the
  campaign rules: ``status`` (the status refused) and ``problems`` (``[code, field, message]``
  lists). Empty when nothing is held.

A guarded edit records every edit of its field that the replica had seen and not yet seen
superseded (the field's *heads*) as its bases. Edits form a DAG per field: two edits are
concurrent iff neither is an ancestor of the other, so the server can tell a sequential edit
from a concurrent one exactly (see ``GuardedEdit``, ``heads``, ``ancestors``).

pycrdt returns numbers as floats: ``snapshot`` turns integer fields back into ints. No value in
the doc is a plain dict (Yrs encodes those in hash order): structured fields are canonical JSON
strings and records are lists, so replicas with the same content encode to the same bytes.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

import pycrdt

from .errors import ErrorCode, ProtocolError
from .events import MAX_VALUE_CENTS
from .ids import new_id

CAMPAIGN_TYPES = (
    "nurture",
    "viral_referral",
    "super_connector",
    "churn_prevention",
    "milestone",
    "win_back",
    "premium",
)
STATUSES = ("draft", "scheduled", "active", "paused", "archived")
#: Allowed status transitions (draft -> scheduled -> active <-> paused -> archived).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("scheduled", "active", "archived"),
    "scheduled": ("draft", "active", "archived"),
    "active": ("paused", "archived"),
    "paused": ("active", "archived"),
    "archived": (),
}
STEP_KINDS = ("send_email", "wait", "wait_for", "branch", "split", "goal")
TEXT_FIELDS = ("name", "description")
NOTES_ROOT = "note_entries"
LEGACY_NOTES = "notes"  # a Text root in documents written before notes were entries
MAX_NOTE_CHARS = 10_000


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # "text" | "enum" | "int" | "str" | "json"
    guarded: bool = False
    choices: tuple[str, ...] = ()


FIELDS: dict[str, FieldSpec] = {
    "name": FieldSpec("text"),
    "description": FieldSpec("text"),
    "type": FieldSpec("enum", choices=CAMPAIGN_TYPES),
    "status": FieldSpec("enum", guarded=True, choices=STATUSES),
    "budget_cents": FieldSpec("int", guarded=True),
    "schedule_start": FieldSpec("str", guarded=True),
    "schedule_end": FieldSpec("str", guarded=True),
    "audience_segment": FieldSpec("json", guarded=True),
    "trigger": FieldSpec("json", guarded=True),
    "frequency_cap": FieldSpec("json", guarded=True),
    "quiet_hours": FieldSpec("str"),
    "owner": FieldSpec("str"),
    # automation settings (``shared.automation.steps``): re-entry and the control group's share
    "reentry": FieldSpec("json"),
    "holdout_pct": FieldSpec("json"),
}
GUARDED_FIELDS: frozenset[str] = frozenset(n for n, s in FIELDS.items() if s.guarded)
#: A variant's subject is guarded while the campaign is active ("variants.<id>.subject").
GUARDED_VARIANT_FIELD = "subject"


@dataclass(frozen=True)
class GuardedEdit:
    """What a replica knew when it edited a guarded field."""

    field: str  # a guarded field, or "variants.<id>.subject"
    edit: str  # id of this edit
    base: list[str]  # the field's heads this replica had seen (empty: never set before)
    value: Any

    def to_meta(self) -> dict[str, Any]:
        return {"field": self.field, "edit": self.edit, "base": self.base, "value": self.value}


def _bad(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_REQUEST, message)


def parse_value(field: str, raw: Any) -> Any:
    """Validate a value for ``field``; strings from a CLI are converted to the field's type."""
    spec = FIELDS.get(field)
    if field == LEGACY_NOTES:
        raise _bad("notes are separate entries, one per note: add one (add_note), not set them")
    if spec is None:
        raise _bad(f"unknown campaign field {field!r}; fields: {', '.join(FIELDS)}")
    if spec.kind == "text" or spec.kind == "str":
        if not isinstance(raw, str):
            raise _bad(f"{field} must be text")
        if len(raw) > 100_000:
            raise _bad(f"{field} is longer than 100,000 characters")
        return raw
    if spec.kind == "enum":
        if raw not in spec.choices:
            raise _bad(f"{field} must be one of {', '.join(spec.choices)}; got {raw!r}")
        return raw
    if spec.kind == "int":
        if isinstance(raw, str):
            try:
                raw = int(raw.strip())
            except ValueError:
                raise _bad(f"{field} must be a whole number of cents; got {raw!r}") from None
        if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= MAX_VALUE_CENTS:
            raise _bad(f"{field} must be a whole number of cents between 0 and 10^13")
        return raw
    # json: structured rules (audience segment, trigger, frequency cap)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _bad(f"{field} must be JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(raw, dict | list | int | float | str) or isinstance(raw, bool):
        raise _bad(f"{field} must be a JSON object, list or number")
    return raw


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def new_doc(*, client_id: int | None = None) -> pycrdt.Doc:
    doc = pycrdt.Doc(client_id=client_id) if client_id is not None else pycrdt.Doc()
    _roots(doc)
    return doc


def _roots(doc: pycrdt.Doc) -> dict[str, Any]:
    roots: dict[str, Any] = {name: doc.get(name, type=pycrdt.Text) for name in TEXT_FIELDS}
    roots["fields"] = doc.get("fields", type=pycrdt.Map)
    roots["steps"] = doc.get("steps", type=pycrdt.Array)
    roots["variants"] = doc.get("variants", type=pycrdt.Array)
    roots["revs"] = doc.get("revs", type=pycrdt.Map)
    roots["conflicts"] = doc.get("conflicts", type=pycrdt.Map)
    roots["hold"] = doc.get("hold", type=pycrdt.Map)
    roots[NOTES_ROOT] = doc.get(NOTES_ROOT, type=pycrdt.Array)
    roots[LEGACY_NOTES] = doc.get(LEGACY_NOTES, type=pycrdt.Text)
    return roots


def doc_from_state(state: bytes | None, *, client_id: int | None = None) -> pycrdt.Doc:
    doc = new_doc(client_id=client_id)
    if state:
        doc.apply_update(bytes(state))
    return doc


def canonical_state(doc: pycrdt.Doc) -> bytes:
    """The doc's full state encoded through a fresh doc.

    Yrs keeps an edit made inside a concurrently deleted map either as a deleted item or as a GC
    block, depending on the order the updates arrived; re-encoding settles both the same way, so
    replicas with the same content store the same bytes."""
    return doc_from_state(doc.get_update()).get_update()


def replace_text(text: pycrdt.Text, new: str) -> None:
    """Turn ``text`` into ``new`` with the fewest character edits, so concurrent edits of other
    parts of the same text survive the merge."""
    old = str(text)
    if old == new:
        return
    ops = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in reversed(ops):  # right to left keeps earlier offsets valid
        if tag in ("replace", "delete"):
            del text[i1:i2]
        if tag in ("replace", "insert"):
            text.insert(i1, new[j1:j2])


def set_field(doc: pycrdt.Doc, field: str, raw: Any) -> GuardedEdit | None:
    """Set one field inside the caller's transaction; returns the guarded-edit record or None."""
    value = parse_value(field, raw)
    roots = _roots(doc)
    if FIELDS[field].kind == "text":
        replace_text(roots[field], value)
        return None
    roots["fields"][field] = canonical_json(value) if FIELDS[field].kind == "json" else value
    if field not in GUARDED_FIELDS:
        return None
    return record_guarded_edit(doc, field, value)


def record_guarded_edit(doc: pycrdt.Doc, key: str, value: Any) -> GuardedEdit:
    """Record that this replica set guarded ``key`` (inside the caller's transaction)."""
    bases = heads(doc, key)
    edit = GuardedEdit(field=key, edit=new_id(), base=bases, value=value)
    _roots(doc)["revs"][edit.edit] = [key, bases]
    return edit


def revisions(doc: pycrdt.Doc) -> dict[str, dict[str, Any]]:
    """Every guarded edit in the doc: ``edit id -> {"f": key, "b": [bases]}``."""
    return {
        k: {"f": v[0], "b": list(v[1] or [])}
        for k, v in (_roots(doc)["revs"].to_py() or {}).items()
        if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str)
    }


def heads(doc: pycrdt.Doc, key: str, revs: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """The edits of ``key`` that no other edit in the doc is based on, sorted."""
    revs = revisions(doc) if revs is None else revs
    edits = {e for e, r in revs.items() if r.get("f") == key}
    superseded = {b for e in edits for b in revs[e].get("b") or ()}
    return sorted(edits - superseded)


def ancestors(revs: dict[str, dict[str, Any]], edits: list[str] | set[str]) -> set[str]:
    """``edits`` and everything they are (transitively) based on."""
    seen: set[str] = set()
    stack = list(edits)
    while stack:
        edit = stack.pop()
        if edit in seen:
            continue
        seen.add(edit)
        stack.extend((revs.get(edit) or {}).get("b") or ())
    return seen


def guard_heads(doc: pycrdt.Doc) -> dict[str, list[str]]:
    """``key -> heads`` for every guarded key with edits (compare before/after an undo)."""
    revs = revisions(doc)
    return {key: heads(doc, key, revs) for key in {r.get("f") for r in revs.values()} if key}


def open_conflicts(doc: pycrdt.Doc) -> dict[str, dict[str, Any]]:
    """``conflict id -> {"field", "kind"}`` for the conflicts the server flagged and not closed."""
    return {
        k: {"field": v[0], "kind": v[1]}
        for k, v in (_roots(doc)["conflicts"].to_py() or {}).items()
        if isinstance(v, list) and len(v) == 2
    }


def mark_conflict(doc: pycrdt.Doc, conflict_id: str, field: str, kind: str) -> None:
    _roots(doc)["conflicts"][conflict_id] = [field, kind]


def clear_conflict(doc: pycrdt.Doc, conflict_id: str) -> None:
    conflicts = _roots(doc)["conflicts"]
    if conflict_id in conflicts:
        del conflicts[conflict_id]


def hold_of(doc: pycrdt.Doc) -> dict[str, Any] | None:
    """What the server held the campaign for: ``{"status", "problems": [{code, field,
    message}]}``, or None."""
    raw = _roots(doc)["hold"].to_py() or {}
    if not isinstance(raw.get("status"), str):
        return None
    problems = [
        {"code": p[0], "field": p[1], "message": p[2]}
        for p in raw.get("problems") or []
        if isinstance(p, list) and len(p) == 3
    ]
    return {"status": raw["status"], "problems": problems}


def set_hold(doc: pycrdt.Doc, status: str, problems: list[dict[str, str]]) -> None:
    """Record (inside the caller's transaction) that ``status`` was refused for ``problems``."""
    hold = _roots(doc)["hold"]
    hold["status"] = status
    hold["problems"] = [[p["code"], p["field"], p["message"]] for p in problems]


def clear_hold(doc: pycrdt.Doc) -> None:
    hold = _roots(doc)["hold"]
    for key in list(hold.keys()):
        del hold[key]


def add_note(
    doc: pycrdt.Doc, *, text: str, author: str | None, at_ms: int, note_id: str | None = None
) -> str:
    """Append a note (inside the caller's transaction); returns its id. Notes are never edited
    in place: concurrent additions on other replicas stay separate entries."""
    if not isinstance(text, str) or not text.strip():
        raise _bad("a note needs some text")
    if len(text) > MAX_NOTE_CHARS:
        raise _bad(f"a note is at most {MAX_NOTE_CHARS:,} characters")
    if not isinstance(at_ms, int) or isinstance(at_ms, bool) or at_ms < 0:
        raise _bad("a note's time is epoch milliseconds")
    note_id = note_id or new_id()
    _roots(doc)[NOTES_ROOT].append([note_id, author or "", at_ms, text.strip()])
    return note_id


def notes_of(doc: pycrdt.Doc) -> list[dict[str, Any]]:
    """The notes, oldest first (by time, then id, the same on every replica), as
    ``{"id", "author", "at_ms", "text"}``; a document's earlier single-text notes come first as
    one entry with no author or time (``id`` ``"legacy"``)."""
    roots = _roots(doc)
    entries = []
    for item in roots[NOTES_ROOT].to_py() or []:
        if isinstance(item, list) and len(item) == 4 and isinstance(item[3], str):
            note_id, author, at_ms, text = item
            entries.append(
                {
                    "id": str(note_id),
                    "author": author or None,
                    "at_ms": int(at_ms) if isinstance(at_ms, int | float) else None,
                    "text": text,
                }
            )
    entries.sort(key=lambda e: (e["at_ms"] or 0, e["id"]))
    legacy = str(roots[LEGACY_NOTES]).strip()
    if legacy:
        entries.insert(0, {"id": "legacy", "author": None, "at_ms": None, "text": legacy})
    return entries


def add_step(
    doc: pycrdt.Doc, kind: str, config: dict[str, Any] | None = None, index: int | None = None
) -> str:
    if kind not in STEP_KINDS:
        raise _bad(f"step kind must be one of {', '.join(STEP_KINDS)}; got {kind!r}")
    steps = _roots(doc)["steps"]
    step_id = new_id()
    item = pycrdt.Map({"id": step_id, "kind": kind, "config": pycrdt.Map(dict(config or {}))})
    if index is None or index >= len(steps):
        steps.append(item)
    else:
        steps.insert(max(index, 0), item)
    return step_id


def add_variant(doc: pycrdt.Doc, *, subject: str = "", body: str = "") -> str:
    """Add a content variant labelled with the first free letter; returns its id."""
    variants = _roots(doc)["variants"]
    taken = {v.get("label") for v in variants}
    free = [chr(c) for c in range(ord("A"), ord("Z") + 1) if chr(c) not in taken]
    if not free:
        raise ValueError("a campaign has at most 26 variants (A to Z)")
    variant_id = new_id()
    variants.append(
        pycrdt.Map({"id": variant_id, "label": free[0], "subject": subject, "body": body})
    )
    return variant_id


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def snapshot(doc: pycrdt.Doc) -> dict[str, Any]:
    """The campaign as plain, JSON-ready data with integers restored."""
    roots = _roots(doc)
    data: dict[str, Any] = {name: str(roots[name]) for name in TEXT_FIELDS}
    fields = _normalise(roots["fields"].to_py() or {})
    for name, value in fields.items():
        if name in FIELDS and FIELDS[name].kind == "json" and isinstance(value, str):
            try:
                fields[name] = json.loads(value)
            except json.JSONDecodeError:
                pass  # written by hand elsewhere: show it as it is
    data.update(fields)
    data["steps"] = _normalise(roots["steps"].to_py() or [])
    data["variants"] = _normalise(roots["variants"].to_py() or [])
    data["notes"] = notes_of(doc)
    data["open_conflicts"] = open_conflicts(doc)
    data["hold"] = hold_of(doc)
    return data
