"""Campaign documents on the server: merge updates from devices, keep them, serve pulls.

Runs on the writer thread (``apply``) and the reader thread (``pull_changes``). The writer keeps
recently used pycrdt docs in memory; a doc whose update failed to apply is dropped from the cache
and reloaded from the last committed state, so a bad update can never leak into a later commit.

Every merged doc is checked against the campaign rules (``shared.protocol.campaign_rules``).
A device's update is never refused for breaking them: the device already shows its edit, and a
refused CRDT update would leave that device's replica apart from everyone else's for good. So the
edit merges, and when it leaves a campaign ``active`` or ``scheduled`` that breaks a rule, the
server itself sets the status back to ``draft`` and records why in the doc's ``hold`` map. That
correction is an ordinary update, stored, logged and fanned out with the device's, so every
replica ends with the same doc. The device (every device of the org) gets a ``campaign_invalid``
notice naming the rules broken; so does an edit that brings a malformed value into any campaign.
Invariant: no campaign is stored ``active`` or ``scheduled`` while it breaks a rule.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pycrdt

from shared.protocol import campaign as schema
from shared.protocol import campaign_limits as limits
from shared.protocol import campaign_rules as rules

from .auth import Principal
from .errors import BadUpdate, NotFoundError, TooLarge
from .storage import Storage

EMPTY_UPDATE = b"\x00\x00"


@dataclass(frozen=True)
class AppliedUpdate:
    campaign_id: str
    org_id: str
    update: bytes
    changed: bool
    notices: list[dict[str, Any]] = field(default_factory=list)


class CampaignDocs:
    """The writer-side cache and merge of campaign docs (writer thread only)."""

    def __init__(self, capacity: int = 2_000) -> None:
        # keyed by (org, campaign id): a campaign id is a key within its org only
        self._docs: OrderedDict[tuple[str, str], pycrdt.Doc] = OrderedDict()
        self._capacity = capacity
        self.hooks: list = []  # callables(storage, principal, campaign_id, doc, before, meta) -> notices

    def _load(self, key: tuple[str, str], state: bytes | None) -> pycrdt.Doc:
        doc = self._docs.get(key)
        if doc is None:
            doc = schema.doc_from_state(state)
            self._docs[key] = doc
            if len(self._docs) > self._capacity:
                self._docs.popitem(last=False)
        else:
            self._docs.move_to_end(key)
        return doc

    def clear(self) -> None:
        self._docs.clear()

    def evict(self, campaign_id: str, org_id: str | None = None) -> None:
        """Drop a cached doc (of ``org_id``; None: of every org)."""
        for key in [k for k in self._docs if k[1] == campaign_id and org_id in (None, k[0])]:
            del self._docs[key]

    def apply(
        self,
        storage: Storage,
        principal: Principal,
        campaign_id: str,
        update: bytes,
        meta: dict[str, Any],
    ) -> AppliedUpdate:
        """Merge one update from a device; call inside the writer's transaction."""
        principal.require("edit_campaigns")
        org_id = principal.org_id
        row = storage.campaign(campaign_id, org_id=org_id)
        doc = self._load((org_id, campaign_id), row.state if row else None)
        before_state = doc.get_state()
        before_bytes = doc.get_update()
        before = schema.snapshot(doc) if row else {}
        revs_before = schema.revisions(doc)
        try:
            doc.apply_update(update)
        except BaseException as exc:  # ValueError, or a pyo3 panic on a hostile update
            self.evict(campaign_id, org_id)
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise BadUpdate(f"campaign {campaign_id}: update cannot be applied ({exc})") from None
        # A deletion does not move the state vector: compare the encoded docs (deterministic).
        after_bytes = doc.get_update()
        if after_bytes == before_bytes:
            return AppliedUpdate(campaign_id, principal.org_id, update, changed=False)
        if len(after_bytes) > len(before_bytes):  # it grew: within the hard limits?
            problem = limits.oversized(schema.snapshot(doc), len(after_bytes))
            if problem is not None:
                self.evict(campaign_id, org_id)
                raise TooLarge(f"campaign {campaign_id}: {problem}")
        return self._commit(
            storage, principal, campaign_id, doc, before_state, before, revs_before, meta, update
        )

    def edit(
        self,
        storage: Storage,
        principal: Principal,
        campaign_id: str,
        change: Callable[[pycrdt.Doc], Any],
    ) -> AppliedUpdate:
        """A change made by the server on a user's behalf (an admin's resolution): an ordinary
        campaign update, stored, logged and fanned out like any device's."""
        row = storage.campaign(campaign_id, org_id=principal.org_id)
        if row is None:
            raise NotFoundError(f"no campaign {campaign_id}")
        doc = self._load((principal.org_id, campaign_id), row.state)
        before_state, before_bytes = doc.get_state(), doc.get_update()
        before, revs_before = schema.snapshot(doc), schema.revisions(doc)
        try:
            with doc.transaction(origin="server"):
                change(doc)
        except BaseException:
            self.evict(campaign_id, principal.org_id)
            raise
        if doc.get_update() == before_bytes:
            return AppliedUpdate(campaign_id, principal.org_id, b"", changed=False)
        update = doc.get_update(before_state)
        meta = {"author": principal.email, "by_server_for": principal.user_id}
        return self._commit(
            storage, principal, campaign_id, doc, before_state, before, revs_before, meta, update
        )

    def _commit(
        self, storage, principal, campaign_id, doc, before_state, before, revs_before, meta, update
    ) -> AppliedUpdate:
        now = time.time_ns() // 1_000_000
        notices: list[dict[str, Any]] = []
        try:
            # Before the hooks: they see the campaign as it is stored (an invalid one as a draft,
            # so it can never overlap another active campaign's audience).
            notices.extend(keep_rules(campaign_id, doc, before))
            for hook in self.hooks:
                notices.extend(
                    hook(storage, principal, campaign_id, doc, before, revs_before, meta, now) or []
                )
            storage.save_campaign(
                campaign_id=campaign_id,
                org_id=principal.org_id,
                state=schema.canonical_state(doc),
                snapshot=schema.snapshot(doc),
                at_ms=now,
            )
            # What others lack: the device's update plus whatever the hooks added (conflict
            # marks). The log keeps this, not the device's update alone, so that a pull by change
            # cursor carries every change the server made to the doc.
            change = doc.get_update(before_state)
            storage.log_update(
                campaign_id=campaign_id,
                org_id=principal.org_id,
                device_id=principal.device_id,
                user_id=principal.user_id,
                update=change,
                meta=meta,
                at_ms=now,
            )
        except BaseException:
            # the transaction rolls back: so must the cached doc
            self.evict(campaign_id, principal.org_id)
            raise
        return AppliedUpdate(campaign_id, principal.org_id, change, changed=True, notices=notices)


def keep_rules(campaign_id: str, doc: pycrdt.Doc, before: dict[str, Any]) -> list[dict[str, Any]]:
    """Check a merged doc against the campaign rules (inside the writer's transaction): hold a
    running campaign that breaks one as a draft, keep or clear the hold's reasons, and return the
    ``campaign_invalid`` notices to send."""
    after = schema.snapshot(doc)
    status, hold = after.get("status"), after.get("hold")
    found = rules.problems(after)
    running = status in rules.RUNNING_STATUSES or status not in (None, *schema.STATUSES)
    if found and running:
        reasons = [p.to_dict() for p in found]
        _change_as_server(doc, lambda d: _hold(d, str(status), reasons))
        return [_notice(campaign_id, after, found, held=str(status))]
    if hold is not None:
        # what still stands in the way of the status refused (any running one, if it was bogus)
        wanted = hold["status"] if hold["status"] in rules.RUNNING_STATUSES else "active"
        pending = [] if status != "draft" else rules.problems({**after, "status": wanted})
        if not pending:
            _change_as_server(doc, schema.clear_hold)
        elif [p.to_dict() for p in pending] != hold["problems"]:
            reasons = [p.to_dict() for p in pending]
            _change_as_server(doc, lambda d: schema.set_hold(d, hold["status"], reasons))
    malformed = rules.shape_problems(after)
    if malformed:
        known = set(rules.shape_problems(before)) if before else set()
        fresh = [p for p in malformed if p not in known]
        if fresh:
            return [_notice(campaign_id, after, fresh, held=None)]
    return []


def _hold(doc: pycrdt.Doc, refused: str, reasons: list[dict[str, str]]) -> None:
    # A correction, not a decision: written straight into the map, not as a guarded edit, so a
    # device's next status edit based on its own last one is not taken for a concurrent edit.
    doc.get("fields", type=pycrdt.Map)["status"] = "draft"
    schema.set_hold(doc, refused, reasons)


def _change_as_server(doc: pycrdt.Doc, change: Callable[[pycrdt.Doc], Any]) -> None:
    """Make ``change`` to ``doc`` as the server, under a pycrdt client id drawn from the doc's
    content: the same doc always gets the same correction (replays and simulations repeat, two
    server processes correcting one state write one identical change), and a later state, being
    different content, never reuses an id with a clock already spent."""
    state = schema.canonical_state(doc)
    digest = hashlib.blake2b(state, digest_size=8, person=b"wedsync-hold").digest()
    client_id = (int.from_bytes(digest, "big") >> 12) or 1  # 52 bits, like a device's
    scratch = schema.doc_from_state(state, client_id=client_id)
    vector = scratch.get_state()
    with scratch.transaction(origin="server"):
        change(scratch)
    doc.apply_update(scratch.get_update(vector))


def _notice(
    campaign_id: str,
    campaign: dict[str, Any],
    found: list[rules.CampaignRuleError],
    *,
    held: str | None,
) -> dict[str, Any]:
    if held:
        message = f"kept as a draft, not {held}: {rules.summary(found)}"
    else:
        message = rules.summary(found)
    return {
        "kind": rules.CAMPAIGN_INVALID,
        "code": rules.CAMPAIGN_INVALID,
        "campaign": campaign_id,
        "name": campaign.get("name") or "",
        "held": held,
        "message": message,
        "problems": [p.to_dict() for p in found],
    }


@dataclass(frozen=True)
class PullAnswer:
    updates: list[tuple[str, bytes]]
    cursor: int  # the seq of the newest logged update the answer covers
    by_cursor: bool  # False: the state-vector path (no cursor, or one this server cannot honour)


def pull_changes(
    storage: Storage, org_id: str, vectors: dict[str, bytes], cursor: int | None
) -> PullAnswer:
    """What a device lacks (reader thread). With a cursor this server issued, the updates logged
    after it, merged per campaign: the cost follows what changed, not how many campaigns there
    are. Without one (none, 0, or a seq beyond this server's log: another server or data dir),
    the state-vector path over every campaign of the org."""
    if cursor:
        rows = storage.updates_after(org_id, cursor)
        if rows or cursor <= storage.last_update_seq(org_id):
            by_campaign: dict[str, list[bytes]] = {}
            for _seq, campaign_id, update in rows:
                by_campaign.setdefault(campaign_id, []).append(update)
            updates = [
                (c, u[0] if len(u) == 1 else pycrdt.merge_updates(*u))
                for c, u in by_campaign.items()
            ]
            return PullAnswer(updates, rows[-1][0] if rows else cursor, by_cursor=True)
    # The newest seq first, then the states: a change committed in between is in both the states
    # and the next pull's log (applied twice: harmless), never in neither.
    latest = storage.last_update_seq(org_id)
    return PullAnswer(updates_for(storage, org_id, vectors), latest, by_cursor=False)


def updates_for(
    storage: Storage, org_id: str, vectors: dict[str, bytes]
) -> list[tuple[str, bytes]]:
    """What a device lacks of every campaign of its org, given its state vectors (reader thread)."""
    out = []
    for row in storage.campaigns(org_id):
        vector = vectors.get(row.id)
        if vector is None:
            out.append((row.id, row.state))
            continue
        try:
            missing = pycrdt.get_update(row.state, vector)
        except ValueError:  # a state vector we cannot read: send the whole doc
            missing = row.state
        if missing != EMPTY_UPDATE:
            out.append((row.id, missing))
    return out
