"""`wedsync seed-demo`: synthetic business data written into a server's store.

Suppliers, couples, campaigns (real campaign documents with a trigger, an audience, steps and
content per campaign type, see ``demo_campaigns``), journeys with known channel effects,
invites, health scores and conversions from ``shared.analytics.generate``. Events go through the
same validation and insert path as synced events, in one transaction per priority class.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from server.storage import open_storage
from shared.analytics import generate
from shared.protocol import campaign as schema
from shared.protocol.events import WIRE_CONTACT, WIRE_HLC, WIRE_PAYLOAD, validate_batch
from shared.protocol.kinds import CONTACTS, EVENT_CLASSES

from .demo_campaigns import build_campaign

CHUNK = 50_000
DAY_MS = 86_400_000


def seed_demo(
    data_dir: Path,
    *,
    org: str,
    seed: int,
    suppliers: int,
    couples: int,
    campaigns: int,
    days: int,
    until_ms: int | None = None,
) -> dict[str, Any]:
    """Seed ``days`` of history ending at ``until_ms`` (default: the start of today, UTC, so
    that the reports, predictions and forecasts of a demo run on recent data, and seeding again
    the same day with the same seed stores nothing new)."""
    for name, value in (
        ("suppliers", suppliers),
        ("couples", couples),
        ("campaigns", campaigns),
        ("days", days),
    ):
        if value < 1:
            raise ValueError(f"--{name} must be at least 1")
    started = time.perf_counter()
    if until_ms is None:
        until_ms = time.time_ns() // 1_000_000 // DAY_MS * DAY_MS
    data = generate(
        seed=seed,
        suppliers=suppliers,
        couples=couples,
        campaigns=campaigns,
        days=days,
        start_ms=until_ms - days * DAY_MS,
        events=False,
    )
    storage = open_storage(data_dir)
    try:
        org_id = storage.ensure_org(org)
        now = time.time_ns() // 1_000_000
        by_class: dict[int, list[list[Any]]] = {}
        for ev_id, kind, t, contact, campaign, channel, value, payload in data.rows:
            by_class.setdefault(EVENT_CLASSES[kind], []).append(
                [ev_id, kind, t, t << 16, contact, campaign, channel, value, payload or None]
            )
        stored = duplicates = 0
        with storage.transaction():
            # numbered after every commit, servers sharing the store held off until this ends
            seq = storage.begin_commit()
            for item in data.campaigns:
                doc = build_campaign(item)  # complete: what an active campaign must be
                state = doc.get_update()
                storage.save_campaign(
                    campaign_id=item["id"],
                    org_id=org_id,
                    state=state,
                    snapshot=schema.snapshot(doc),
                    at_ms=now,
                )
                # logged like any change, so devices pulling by change cursor receive it
                storage.log_update(
                    campaign_id=item["id"],
                    org_id=org_id,
                    device_id=None,
                    user_id="seed-demo",
                    update=state,
                    meta={"author": "seed-demo"},
                    at_ms=now,
                )
            for priority in sorted(by_class):
                rows = by_class[priority]
                for i in range(0, len(rows), CHUNK):
                    chunk = validate_batch(rows[i : i + CHUNK], priority)
                    new, dup = storage.insert_events(
                        org_id=org_id,
                        device_id="seed-demo",
                        events=chunk,
                        priority=priority,
                        commit_seq=seq,
                    )
                    stored += new
                    duplicates += dup
            for row in by_class.get(CONTACTS, []):
                fields = (row[WIRE_PAYLOAD] or {}).get("fields")
                if row[WIRE_CONTACT] and isinstance(fields, dict):
                    storage.merge_contact(
                        org_id=org_id,
                        email=row[WIRE_CONTACT],
                        fields=fields,
                        hlc=row[WIRE_HLC],
                        device_id="seed-demo",
                    )
            storage.record_commit(seq=seq, priority=0, items=stored, at_ms=now)
    finally:
        storage.close()
    return {
        "org": org,
        "events": stored,
        "already_present": duplicates,
        "campaigns": len(data.campaigns),
        "from": data.start_ms,
        "to": data.end_ms,
        "truth": data.truth,
        "seconds": round(time.perf_counter() - started, 2),
    }


def seed_demo_command(args: argparse.Namespace) -> dict[str, Any]:
    from shared.protocol.events import ms_from_iso

    return seed_demo(
        args.data_dir,
        org=args.org,
        seed=args.seed,
        suppliers=args.suppliers,
        couples=args.couples,
        campaigns=args.campaigns,
        days=args.days,
        until_ms=ms_from_iso(args.until) if args.until else None,
    )


def _seeded_lines(result: dict[str, Any]) -> str:
    from client.human import local_time

    return "\n".join(
        [
            f"Seeded {result['org']}: {result['events']:,} events "
            f"({result['already_present']:,} already present), {result['campaigns']} campaigns",
            f"History from {local_time(result['from'])} to {local_time(result['to'])}",
            f"Took {result['seconds']} s (--json adds the ground truth of the channel effects)",
        ]
    )


seed_demo_command.human = _seeded_lines  # type: ignore[attr-defined]
