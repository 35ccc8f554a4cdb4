"""Campaign documents in the replica: pycrdt state per campaign plus a JSON snapshot for lists.

Invariant: a local edit writes the new state and the update for the outbox in one transaction,
so the server eventually receives every edit that the replica shows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pycrdt

from shared.protocol import campaign as schema

from .db import Database
from .errors import NotFound


def load_doc(db: Database, campaign_id: str, *, client_id: int | None = None) -> pycrdt.Doc:
    row = db.execute("SELECT state FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
    if row is None:
        raise NotFound(f"no campaign {campaign_id} in this profile")
    return schema.doc_from_state(row[0], client_id=client_id)


def save_doc(db: Database, campaign_id: str, doc: pycrdt.Doc) -> dict[str, Any]:
    snap = schema.snapshot(doc)
    db.execute(
        "INSERT INTO campaigns (id, state, snapshot, updated_at_ms) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET state = excluded.state, snapshot = excluded.snapshot, "
        "updated_at_ms = excluded.updated_at_ms",
        (
            campaign_id,
            schema.canonical_state(doc),
            json.dumps(snap, sort_keys=True),
            int(time.time() * 1000),
        ),
    )
    return snap


def edit_doc(
    doc: pycrdt.Doc, edit: Callable[[pycrdt.Doc], list[schema.GuardedEdit | None] | None]
) -> tuple[bytes, list[schema.GuardedEdit]]:
    """Run ``edit`` in one pycrdt transaction; returns the update it made and its guarded edits."""
    before = doc.get_state()
    with doc.transaction(origin="local"):
        result = edit(doc) or []
    guarded = [g for g in result if g is not None]
    return doc.get_update(before), guarded


def apply_update(db: Database, campaign_id: str, update: bytes) -> bool:
    """Merge a remote update; True if the campaign changed."""
    row = db.execute("SELECT state FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
    doc = schema.doc_from_state(row[0] if row else None)
    before = doc.get_update()
    doc.apply_update(update)
    # a deletion does not move the state vector: compare the encoded docs (deterministic)
    if row is not None and doc.get_update() == before:
        return False
    save_doc(db, campaign_id, doc)
    return True


def state_vectors(db: Database) -> dict[str, bytes]:
    vectors = {}
    for campaign_id, state in db.execute("SELECT id, state FROM campaigns"):
        vectors[campaign_id] = pycrdt.get_state(bytes(state))
    return vectors


def snapshots(db: Database) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT id, snapshot, updated_at_ms FROM campaigns ORDER BY updated_at_ms DESC"
    )
    return [{"id": r[0], **json.loads(r[1]), "updated_at_ms": r[2]} for r in rows]
