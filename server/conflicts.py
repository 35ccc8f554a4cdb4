"""Campaign conflicts: what a merge must not decide silently.

The CRDT merges every edit, and for a guarded field it picks a provisional winner that is the same
on every replica. This module flags what needs a person's judgement:

* ``concurrent_edit``: two or more edits of one guarded field by replicas that had not seen each
  other's edit (``status_race`` when one launches and another archives);
* ``archived_edit``: an edit to an archived campaign;
* ``audience_overlap``: two active campaigns whose audiences share contacts while both have a
  frequency cap.

A conflict is one record holding every candidate (value, author, device, hybrid-clock time). The
server also writes it into the campaign's doc (``conflicts`` map), so every replica learns of it
through ordinary sync. Resolving applies the chosen value as an ordinary campaign update authored
by the admin, based on every head, so it supersedes all candidates, then closes the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pycrdt

from shared.protocol import campaign as schema
from shared.protocol.ids import is_id, new_id

from . import audit
from .audience import overlap
from .auth import Principal
from .campaigns import CampaignDocs
from .commits import Changes, Notice, Outcome, campaign_changes
from .errors import BadRequest, Forbidden, NotFoundError
from .storage import ConflictStore, Storage

ADMINS = ("admin",)


def _value_of(snapshot: dict[str, Any], key: str) -> Any:
    if key.startswith("variants."):
        _, variant_id, name = key.split(".", 2)
        for variant in snapshot.get("variants") or []:
            if variant.get("id") == variant_id:
                return variant.get(name)
        return None
    return snapshot.get(key)


def _candidate(edit: dict[str, Any] | None, edit_id: str) -> dict[str, Any]:
    edit = edit or {"edit": edit_id}
    keys = ("edit", "value", "author", "device", "device_name", "hlc", "at_ms")
    return {k: edit.get(k) for k in keys}


class ConflictDetector:
    """A ``CampaignDocs`` hook: runs in the writer's transaction after each merged update."""

    def __call__(
        self,
        storage: Storage,
        principal: Principal,
        campaign_id: str,
        doc: pycrdt.Doc,
        before: dict[str, Any],
        revs_before: dict[str, dict],
        meta: dict[str, Any],
        now: int,
    ) -> list[dict[str, Any]]:
        after = schema.snapshot(doc)
        revs_after = schema.revisions(doc)
        declared = {g.get("edit"): g for g in meta.get("guards") or [] if isinstance(g, dict)}
        known = dict(revs_before)
        raised: list[dict[str, Any]] = []
        flagged_keys: set[str] = set()
        for edit_id in sorted(e for e in revs_after if e not in revs_before):
            rev = revs_after[edit_id]
            key, bases = rev.get("f"), list(rev.get("b") or [])
            if not isinstance(key, str):
                continue
            heads_before = schema.heads(doc, key, known)
            known[edit_id] = rev
            seen = schema.ancestors(known, bases)
            value = declared.get(edit_id, {}).get("value", _value_of(after, key))
            storage.record_guarded_edit(
                {
                    "edit": edit_id,
                    "org_id": principal.org_id,
                    "campaign_id": campaign_id,
                    "field": key,
                    "bases": bases,
                    "value": value,
                    "user_id": principal.user_id,
                    "author": principal.email,
                    "device": principal.device_id,
                    "hlc": meta.get("hlc"),
                    "at_ms": now,
                }
            )
            concurrent = [h for h in heads_before if h not in seen]
            if concurrent:
                flagged_keys.add(key)
                raised.append(
                    self._concurrent(
                        storage,
                        principal.org_id,
                        campaign_id,
                        key,
                        concurrent + [edit_id],
                        _value_of(after, key),
                        now,
                    )
                )
        resolving = "by_server_for" in meta  # an admin's decision is never itself a conflict
        if (
            before.get("status") == "archived"
            and not flagged_keys
            and not resolving
            and self._changed(before, after)
        ):
            raised.append(self._archived(storage, principal, campaign_id, before, now))
        raised.extend(self._overlaps(storage, principal.org_id, campaign_id, before, after, now))
        raised = [c for c in raised if c is not None]
        if raised:
            with doc.transaction(origin="server"):
                for c in raised:
                    schema.mark_conflict(doc, c["id"], c["field"], c["kind"])
        return [{"kind": "conflict", "roles": list(ADMINS), "conflict": c} for c in raised]

    @staticmethod
    def _changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
        ignore = {"open_conflicts"}
        return {k: v for k, v in before.items() if k not in ignore} != {
            k: v for k, v in after.items() if k not in ignore
        }

    def _concurrent(self, storage, org_id, campaign_id, key, edit_ids, provisional, now):
        kind = "concurrent_edit"
        record = storage.open_conflict(
            campaign_id, key, kind, org_id=org_id
        ) or storage.open_conflict(campaign_id, key, "status_race", org_id=org_id)
        have = {c["edit"] for c in record["candidates"]} if record else set()
        edits = storage.guarded_edits([e for e in edit_ids if e not in have], org_id=org_id)
        candidates = (record["candidates"] if record else []) + [
            _candidate(edits.get(e), e) for e in sorted(edit_ids) if e not in have
        ]
        values = {str(c.get("value")) for c in candidates}
        if key == "status" and {"active", "archived"} <= values:
            kind = "status_race"
        conflict = record or {
            "id": new_id(),
            "org_id": org_id,
            "campaign_id": campaign_id,
            "field": key,
            "status": "open",
            "created_at_ms": now,
        }
        conflict.update(
            kind=kind, candidates=candidates, provisional=provisional, updated_at_ms=now
        )
        storage.save_conflict(conflict)
        return None if record and len(candidates) == len(record["candidates"]) else conflict

    def _archived(self, storage, principal, campaign_id, before, now):
        if storage.open_conflict(campaign_id, "status", "archived_edit", org_id=principal.org_id):
            return None
        conflict = {
            "id": new_id(),
            "org_id": principal.org_id,
            "campaign_id": campaign_id,
            "field": "status",
            "kind": "archived_edit",
            "status": "open",
            "candidates": [
                {
                    "edit": None,
                    "value": "archived",
                    "label": "keep it archived",
                    "author": None,
                    "device": None,
                    "hlc": None,
                    "at_ms": None,
                },
                {
                    "edit": None,
                    "value": "paused",
                    "label": "reopen it, paused",
                    "author": principal.email,
                    "device": principal.device_id,
                    "hlc": None,
                    "at_ms": now,
                },
            ],
            "provisional": "archived",
            "created_at_ms": now,
            "updated_at_ms": now,
        }
        storage.save_conflict(conflict)
        return conflict

    def _overlaps(self, storage, org_id, campaign_id, before, after, now):
        watched = ("status", "audience_segment", "frequency_cap", "schedule_start", "schedule_end")
        if after.get("status") != "active" or not after.get("frequency_cap"):
            return []
        if all(before.get(k) == after.get(k) for k in watched):
            return []
        contacts = storage.contacts_of(org_id)
        raised = []
        for other in storage.campaigns(org_id):
            snap = other.snapshot
            if other.id == campaign_id or snap.get("status") != "active":
                continue
            if not snap.get("frequency_cap") or not _windows_overlap(after, snap):
                continue
            shared = overlap(after.get("audience_segment"), snap.get("audience_segment"), contacts)
            if not shared:
                continue
            pair = ":".join(sorted((campaign_id, other.id)))
            if storage.open_conflict(campaign_id, pair, "audience_overlap", org_id=org_id):
                continue
            conflict = {
                "id": new_id(),
                "org_id": org_id,
                "campaign_id": campaign_id,
                "field": pair,
                "kind": "audience_overlap",
                "status": "open",
                "candidates": [
                    {
                        "edit": None,
                        "value": cid,
                        "label": f"keep {name!r} active, pause the other",
                        "author": None,
                        "device": None,
                        "hlc": None,
                        "at_ms": now,
                    }
                    for cid, name in (
                        (campaign_id, after.get("name")),
                        (other.id, snap.get("name")),
                    )
                ],
                "provisional": None,
                "created_at_ms": now,
                "updated_at_ms": now,
            }
            storage.save_conflict(conflict)
            raised.append(conflict)
        return raised


def _windows_overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Schedules overlap unless one ends before the other starts (ISO strings compare in order)."""
    a_start, a_end = a.get("schedule_start") or "", a.get("schedule_end") or "\uffff"
    b_start, b_end = b.get("schedule_start") or "", b.get("schedule_end") or "\uffff"
    return a_start <= b_end and b_start <= a_end


def conflict_for(storage: ConflictStore, principal: Principal, conflict_id: str) -> dict[str, Any]:
    """The conflict if it is the caller's org's. Another org's is not found, as one that does
    not exist: the answer never tells that an id exists elsewhere."""
    conflict = storage.conflict(conflict_id)
    if conflict is None or conflict["org_id"] != principal.org_id:
        raise NotFoundError(f"no conflict {conflict_id}")
    return conflict


@dataclass(frozen=True)
class Resolution:
    """What an attempt to resolve came to: the closed record, or the refusal (audited)."""

    record: dict[str, Any] | None
    refused: Forbidden | None = None


class ResolveConflict:
    """The writer job of an admin's decision on a conflict.

    Checks the role, then that the conflict is the caller's org's, then the decision; applies
    it as campaign updates authored by the admin and closes the record; and writes the audit
    entry of the attempt in the same transaction: a resolution is never committed without its
    entry, and a refused attempt is recorded (the job then returns the refusal instead of
    raising, so its entry is not rolled back). A bad request rolls back and records nothing.
    """

    ACTION = "resolve_conflicts"  # the refused attempt's action, as for every refusal by role

    def __init__(
        self,
        docs: CampaignDocs,
        principal: Principal,
        conflict_id: str,
        *,
        candidate: Any,
        value: Any,
        comment: Any,
        now_ms: int,
    ) -> None:
        self.docs = docs
        self.principal = principal
        self.conflict_id = conflict_id
        self.candidate = candidate
        self.value = value
        self.comment = comment
        self.now_ms = now_ms

    def __call__(self, storage: Storage, seq: int) -> Outcome[Resolution]:
        p, conflict_id = self.principal, self.conflict_id
        try:
            p.require(self.ACTION)
            if not is_id(conflict_id):
                raise BadRequest(f"{conflict_id!r} is not a conflict id")
            conflict = conflict_for(storage, p, conflict_id)
        except Forbidden as exc:
            audit.record_refusal(
                storage, p, exc, action=self.ACTION, target=conflict_id, at_ms=self.now_ms
            )
            return Outcome(Resolution(None, exc), Changes(p.org_id))
        comment, candidate = self.comment, self.candidate
        if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
            raise BadRequest("'comment' must be text of at most 2000 characters")
        if candidate is not None and (
            not isinstance(candidate, int) or isinstance(candidate, bool)
        ):
            raise BadRequest("'candidate' must be an integer index")
        try:
            record, applied = _resolve(
                storage,
                self.docs,
                p,
                conflict,
                candidate=candidate,
                value=self.value,
                comment=comment,
                now=self.now_ms,
            )
            audit.record(
                storage,
                p,
                action="resolve_conflict",
                target=conflict_id,
                outcome="ok",
                detail={
                    "campaign": record["campaign_id"],
                    "field": record["field"],
                    "resolution": record["resolution"],
                    "comment": comment,
                },
                at_ms=self.now_ms,
            )
        except BaseException:
            # the job's savepoint rolls back: so must the docs it changed in the writer's cache
            for campaign_id in _campaigns_of(conflict):
                self.docs.evict(campaign_id, p.org_id)
            raise
        resolved = Notice("conflict_resolved", {"conflict": record}, roles=ADMINS)
        changes = campaign_changes(p.org_id, applied, device_id=None)  # every device lacks it
        return Outcome(Resolution(record), changes + Changes(p.org_id, notices=(resolved,)))


def _campaigns_of(conflict: dict[str, Any]) -> set[str]:
    """The campaigns a resolution may change: the conflict's, and both of an overlap's pair."""
    campaigns = {conflict["campaign_id"]}
    if conflict["kind"] == "audience_overlap":
        campaigns.update(conflict["field"].split(":"))
    return campaigns


def _resolve(
    storage: Storage,
    docs: CampaignDocs,
    principal: Principal,
    conflict: dict[str, Any],
    *,
    candidate: int | None,
    value: Any,
    comment: str | None,
    now: int,
) -> tuple[dict[str, Any], list]:
    """Apply the decision as a campaign update authored by the admin; close the record.
    Returns (record, applied updates that changed a doc)."""
    conflict_id = conflict["id"]
    if conflict["status"] != "open":
        raise BadRequest(f"conflict {conflict_id} is already {conflict['status']}")
    if (candidate is None) == (value is None):
        raise BadRequest("give exactly one of 'candidate' (an index) or 'value'")
    if candidate is not None:
        if not isinstance(candidate, int) or not 0 <= candidate < len(conflict["candidates"]):
            raise BadRequest(f"'candidate' must be 0..{len(conflict['candidates']) - 1}")
        chosen = conflict["candidates"][candidate]["value"]
    else:
        chosen = value
    applied = []
    key = conflict["field"]
    if conflict["kind"] == "audience_overlap":
        keep = chosen
        pair = key.split(":")
        if keep not in pair:
            raise BadRequest("the value must be the id of one of the two campaigns")
        for cid in pair:
            if cid != keep:
                applied.append(docs.edit(storage, principal, cid, _setter("status", "paused")))
    else:
        if not key.startswith("variants."):
            try:
                chosen = schema.parse_value(key, chosen)
            except Exception as exc:  # ProtocolError with the field's own message
                raise BadRequest(getattr(exc, "message", str(exc))) from None
        applied.append(docs.edit(storage, principal, conflict["campaign_id"], _setter(key, chosen)))
    applied.append(docs.edit(storage, principal, conflict["campaign_id"], _closer(conflict_id)))
    conflict.update(
        status="resolved",
        resolved_by=principal.email,
        resolved_at_ms=now,
        resolution={"value": chosen, "candidate": candidate},
        comment=comment,
        updated_at_ms=now,
    )
    storage.save_conflict(conflict)
    return conflict, [a for a in applied if a.changed]


def _setter(key: str, value: Any):
    def edit(doc: pycrdt.Doc) -> None:
        if key.startswith("variants."):
            _, variant_id, name = key.split(".", 2)
            for variant in doc.get("variants", type=pycrdt.Array):
                if variant.get("id") == variant_id:
                    variant[name] = value
            schema.record_guarded_edit(doc, key, value)
        else:
            schema.set_field(doc, key, value)

    return edit


def _closer(conflict_id: str):
    return lambda doc: schema.clear_conflict(doc, conflict_id)
