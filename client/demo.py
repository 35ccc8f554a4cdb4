"""`wedsync demo`: the main job on the embedded default.

Starts a local server (SQLite) in a temporary or given data directory, creates a demo org and
users, seeds campaigns and engagement on two laptops that then go offline, edit the same campaign
and capture events, reconnects them, and prints what synced and that every replica converged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from shared.protocol.kinds import EVENT_CLASSES

from .credentials import MemoryTokens
from .store import Replica
from .sync import SyncEngine

DEMO_PASSWORD = "wedsync-demo"
CHANNELS = ("wedding_fair", "venue_visit", "instagram", "email", "referral", "paid_search")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("demo", parents=[common], help="run the whole product on a local server")
    p.add_argument("--data-dir", type=Path, help="keep the demo server and profiles here")
    p.add_argument("--events", type=int, default=5_000, help="events each laptop captures offline")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--headless", action="store_true", help="do not open the desktop app")
    p.set_defaults(handler=run_demo)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_demo(args: argparse.Namespace) -> dict[str, Any]:
    if args.events < 0 or args.events > 1_000_000:
        raise ValueError("--events must be between 0 and 1,000,000")
    if args.data_dir is None:
        base = Path(tempfile.mkdtemp(prefix="wedsync-demo-"))
    else:
        base = args.data_dir
        base.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_demo(base, args.events, args.seed))


def _capture_offline(replica: Replica, rng: random.Random, count: int, campaign_id: str) -> None:
    kinds = [k for k in EVENT_CLASSES if k != "contact"]
    now = int(time.time() * 1000)
    events = []
    for _ in range(count):
        kind = rng.choice(kinds)
        contact = f"couple{rng.randrange(400)}@example.com"
        events.append(
            replica.make_event(
                kind=kind, contact=contact,
                campaign=campaign_id if kind in ("send", "open", "click") else None,
                channel=rng.choice(CHANNELS) if kind in ("touchpoint", "lead") else None,
                value_cents=rng.randrange(50_000, 500_000) if kind == "conversion" else None,
                occurred_at_ms=now - rng.randrange(30 * 86_400_000),
                payload={"score": rng.randrange(100)} if kind == "health_score" else None,
            )
        )
    replica.capture_many(events)


async def _demo(base: Path, events: int, seed: int) -> dict[str, Any]:
    from server import admin
    from server.app import create_app
    from server.config import ServerConfig

    rng = random.Random(seed)
    data_dir = base / "server"
    users = {"admin": "admin@demo.wedsync", "anna": "anna@demo.wedsync", "ben": "ben@demo.wedsync"}
    for name, email in users.items():
        try:
            admin.create_user(data_dir, email=email, password=DEMO_PASSWORD,
                              role="admin" if name == "admin" else "marketer", org="Demo Weddings")
        except Exception as exc:  # a kept --data-dir already has them
            if getattr(exc, "code", None) != "conflict":
                raise
    port = _free_port()
    runner = web.AppRunner(create_app(ServerConfig(data_dir=data_dir, port=port)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    tokens = MemoryTokens()  # throwaway devices: their tokens live only as long as the demo
    laptops = {name: Replica(base / f"laptop-{name}") for name in ("anna", "ben")}
    engines = {name: SyncEngine(r, tokens=tokens) for name, r in laptops.items()}
    try:
        for name, engine in engines.items():
            await engine.login(url, users[name], DEMO_PASSWORD, f"{name}'s laptop")
        anna, ben = laptops["anna"], laptops["ben"]
        spring, _ = anna.create_campaign(name="Spring open day", campaign_type="nurture",
                                         fields={"budget_cents": 50_000,
                                                 "description": "Invite couples to the barn."})
        anna.create_campaign(name="Refer a couple", campaign_type="viral_referral")
        await engines["anna"].sync_once()
        await engines["ben"].sync_once()

        for replica in laptops.values():
            replica.set_offline(True)
        anna.set_campaign_field(spring, "description", "Invite couples to the barn in May.")
        anna.set_campaign_field(spring, "quiet_hours", "21:00-08:00")
        ben.set_campaign_field(spring, "description", "Warmly invite couples to the barn.")
        ben.set_campaign_field(spring, "notes", "Ask the florist for a stand.")
        _capture_offline(anna, rng, events, spring)
        _capture_offline(ben, rng, events, spring)
        queued = {name: r.queue_depths() for name, r in laptops.items()}

        synced = {}
        for name in ("anna", "ben", "anna"):
            laptops[name].set_offline(False)
            synced.setdefault(name, []).append((await engines[name].sync_once()).to_dict())
        same = anna.campaign_state(spring) and json.dumps(anna.campaign(spring)["description"]) == \
            json.dumps(ben.campaign(spring)["description"])
        stats = admin.stats(data_dir)
        return {
            "server": url,
            "data_dir": str(base),
            "queued_offline": {n: {str(k): v for k, v in q.items()} for n, q in queued.items()},
            "syncs": synced,
            "campaign_after_merge": {k: anna.campaign(spring)[k] for k in ("name", "description", "notes", "quiet_hours", "budget_cents")},
            "replicas_identical": bool(same) and anna.campaign(spring) | {"updated_at_ms": 0}
            == ben.campaign(spring) | {"updated_at_ms": 0},
            "server_stats": stats,
        }
    finally:
        for engine in engines.values():
            await engine.close()
        for replica in laptops.values():
            replica.close()
        await runner.cleanup()
