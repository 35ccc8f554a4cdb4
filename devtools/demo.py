"""`wedsync demo`: the main job on the embedded default.

Starts a local server (SQLite) in a temporary or given data directory, creates a demo org and
users, seeds campaigns and engagement on two laptops that then go offline, edit the same campaign
and capture events, reconnects them, and prints what synced and that every replica converged.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine
from shared.protocol.kinds import EVENT_CLASSES, RULED_KINDS

from .demo_summary import human, summary_for_machines, top_campaigns

DEMO_PASSWORD = "wedsync-demo"
DEMO_ORG = "Demo Weddings"
RESOLUTION_COMMENT = "meet in the middle"
CHANNELS = ("wedding_fair", "venue_visit", "instagram", "email", "referral", "paid_search")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _why_no_window() -> str | None:
    """Why the demo cannot open the app here (None: it can)."""
    from client.app_main import display_problem, xcb_plugin

    if os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal"):
        return f"QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']} shows no window (--headless)"
    if importlib.util.find_spec("PySide6") is None:
        return "PySide6 is not installed: pip install 'wedsync-marketing[app]'"
    problem = display_problem(qt_plugin=xcb_plugin())
    return None if problem is None else problem.message


def run_demo(args: argparse.Namespace) -> dict[str, Any] | int:
    if args.events < 0 or args.events > 1_000_000:
        raise ValueError("--events must be between 0 and 1,000,000")
    if args.data_dir is None:
        base = Path(tempfile.mkdtemp(prefix="wedsync-demo-"))
    else:
        base = args.data_dir
        base.mkdir(parents=True, exist_ok=True)
    try:
        return _run_demo(args, base)
    finally:
        if args.data_dir is None:  # a throwaway demo leaves nothing behind; --data-dir keeps it
            shutil.rmtree(base, ignore_errors=True)


def _run_demo(args: argparse.Namespace, base: Path) -> dict[str, Any] | int:
    why_no_window = None if args.headless else _why_no_window()
    if why_no_window is not None:
        print(f"wedsync demo: not opening the desktop app: {why_no_window}", file=sys.stderr)
    if args.headless or why_no_window is not None:
        summary = asyncio.run(_demo(base, args.events, args.seed))
        if args.data_dir is None:
            summary["data_dir"] = "(removed after the demo; --data-dir DIR keeps it)"
        return summary
    # The app and the demo's server share the app's event loop; the window opens on Anna's laptop.
    from client.app_main import open_app

    tokens = MemoryTokens()

    async def setup() -> None:
        summary = await _demo(base, args.events, args.seed, tokens=tokens, keep_server=True)
        print(
            json.dumps(summary, indent=2, sort_keys=True, default=str)
            if args.json
            else human(summary) + "\n\nOpening the desktop app on Anna's laptop.",
            flush=True,
        )

    return open_app(base / "laptop-anna", tokens=tokens, setup=setup)


def _capture_offline(replica: Replica, rng: random.Random, count: int, campaign_id: str) -> None:
    kinds = [k for k in EVENT_CLASSES if k != "contact" and k not in RULED_KINDS]
    now = int(time.time() * 1000)
    events = []
    for _ in range(count):
        kind = rng.choice(kinds)
        contact = f"couple{rng.randrange(400)}@example.com"
        events.append(
            replica.make_event(
                kind=kind,
                contact=contact,
                campaign=campaign_id if kind in ("send", "open", "click") else None,
                channel=rng.choice(CHANNELS) if kind in ("touchpoint", "lead") else None,
                value_cents=rng.randrange(50_000, 500_000) if kind == "conversion" else None,
                occurred_at_ms=now - rng.randrange(30 * 86_400_000),
                payload={"score": rng.randrange(100)} if kind == "health_score" else None,
            )
        )
    replica.capture_many(events)


async def _demo(
    base: Path,
    events: int,
    seed: int,
    *,
    tokens: MemoryTokens | None = None,
    keep_server: bool = False,
) -> dict[str, Any]:
    """Run the scenario; with ``keep_server`` the server keeps running in this loop (for the app)."""
    from server import admin
    from server.app import create_app
    from server.config import ServerConfig

    from .seed import seed_demo

    rng = random.Random(seed)
    data_dir = base / "server"
    users = {"admin": "admin@demo.wedsync", "anna": "anna@demo.wedsync", "ben": "ben@demo.wedsync"}
    for name, email in users.items():
        try:
            admin.create_user(
                data_dir,
                email=email,
                password=DEMO_PASSWORD,
                role="admin" if name == "admin" else "marketer",
                org=DEMO_ORG,
            )
        except Exception as exc:  # a kept --data-dir already has them
            if getattr(exc, "code", None) != "conflict":
                raise
    # six months of history (suppliers, couples, campaigns, journeys) for the reports
    history = seed_demo(
        data_dir, org=DEMO_ORG, seed=seed, suppliers=120, couples=1200, campaigns=8, days=120
    )
    port = _free_port()
    runner = web.AppRunner(create_app(ServerConfig(data_dir=data_dir, port=port)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    tokens = tokens or MemoryTokens()  # throwaway devices: tokens live only as long as the demo
    laptops = {name: Replica(base / f"laptop-{name}") for name in ("anna", "ben", "admin")}
    engines = {name: SyncEngine(r, tokens=tokens) for name, r in laptops.items()}
    try:
        for name, engine in engines.items():
            await engine.login(url, users[name], DEMO_PASSWORD, f"{name}'s laptop")
        anna, ben = laptops["anna"], laptops["ben"]
        spring, _ = anna.create_campaign(
            name="Spring open day",
            campaign_type="nurture",
            fields={"budget_cents": 50_000, "description": "Invite couples to the barn."},
        )
        anna.create_campaign(name="Refer a couple", campaign_type="viral_referral")
        for name in ("anna", "ben", "admin"):
            await engines[name].sync_once()

        # Both laptops go offline at the venue and work on the same campaign.
        for name in ("anna", "ben"):
            laptops[name].set_offline(True)
        anna.set_campaign_field(spring, "description", "Invite couples to the barn in May.")
        anna.set_campaign_field(spring, "quiet_hours", "21:00-08:00")
        anna.set_campaign_field(spring, "budget_cents", 80_000)
        ben.set_campaign_field(spring, "description", "Warmly invite couples to the barn.")
        anna.add_campaign_note(spring, "Book stand 14 at the fair.")
        ben.add_campaign_note(spring, "Ask the florist for a stand.")
        ben.set_campaign_field(spring, "budget_cents", 60_000)
        _capture_offline(anna, rng, events, spring)
        _capture_offline(ben, rng, events, spring)
        queued = {name: laptops[name].queue_depths() for name in ("anna", "ben")}

        # Back online: attribution data first, then engagement and campaign edits, then bulk.
        synced: list[dict[str, Any]] = []  # in the order they ran
        for name in ("anna", "ben", "anna"):
            laptops[name].set_offline(False)
            synced.append({"laptop": name, **(await engines[name].sync_once()).to_dict()})

        # The two budgets were set without either laptop seeing the other: the admin decides.
        boss = engines["admin"]
        conflicts = (await boss.api("GET", "/api/v1/conflicts?status=open"))["conflicts"]
        resolutions = []
        for conflict in conflicts:
            resolutions.append(
                await boss.api(
                    "POST",
                    f"/api/v1/conflicts/{conflict['id']}/resolve",
                    {"value": 70_000, "comment": RESOLUTION_COMMENT},
                )
            )
        for name in ("admin", "anna", "ben"):
            await engines[name].sync_once()
        states = {laptops[n].campaign_state(spring) for n in laptops}
        report = await boss.api("GET", "/api/v1/reports/roi")
        names = {c["id"]: c["name"] for c in anna.campaigns()}
        merged = anna.campaign(spring)
        return {
            "server": url,
            "data_dir": str(base),
            "history_seeded": {
                "events": history["events"],
                "campaigns": history["campaigns"],
                "from_ms": history["from"],
                "to_ms": history["to"],
            },
            "queued_offline": {n: {str(k): v for k, v in q.items()} for n, q in queued.items()},
            "syncs": synced,
            "conflicts_flagged": [
                {
                    "campaign": c.get("campaign_name")
                    or names.get(c["campaign_id"], c["campaign_id"]),
                    "field": c["field"],
                    "kind": c["kind"],
                    "candidates": [
                        {"value": x["value"], "author": x["author"]} for x in c["candidates"]
                    ],
                    "provisional": c["provisional"],
                }
                for c in conflicts
            ],
            "conflicts_resolved": [
                {
                    "field": r["field"],
                    "value": r["resolution"]["value"],
                    "by": r["resolved_by"],
                    "comment": RESOLUTION_COMMENT,
                }
                for r in resolutions
            ],
            "campaign_after_merge": {
                k: merged[k]
                for k in ("name", "description", "notes", "quiet_hours", "budget_cents")
            },
            "replicas_identical": len(states) == 1,
            "report_summary": summary_for_machines(report["summary"]),
            "top_campaigns": top_campaigns(report),
            "server_stats": admin.stats(data_dir),
        }
    finally:
        for engine in engines.values():
            await engine.close()
        for replica in laptops.values():
            replica.close()
        if not keep_server:
            await runner.cleanup()


run_demo.human = human  # type: ignore[attr-defined]
