"""`wedsync server` and `wedsync admin`: argparse wiring for the server side."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

from . import admin
from .app import serve
from .config import ServerConfig
from .seed import seed_demo


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("server", parents=[common], help="run the sync server")
    p.add_argument("--data-dir", type=Path, required=True, help="where the server keeps its data")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.set_defaults(handler=run_server)

    a = sub.add_parser("admin", help="administer a server's data directory")
    a.add_argument("--data-dir", type=Path, required=True)
    asub = a.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    cu = asub.add_parser("create-user", parents=[common], help="create a user (and its org)")
    cu.add_argument("--email", required=True)
    cu.add_argument("--password", required=True)
    cu.add_argument("--role", required=True, choices=("admin", "marketer", "viewer"))
    cu.add_argument("--org", default=None, help="organisation name (created if new)")
    cu.set_defaults(
        handler=lambda args: admin.create_user(
            args.data_dir, email=args.email, password=args.password, role=args.role, org=args.org
        )
    )
    st = asub.add_parser("stats", parents=[common], help="what the server holds")
    st.set_defaults(handler=lambda args: admin.stats(args.data_dir))

    sd = sub.add_parser(
        "seed-demo",
        parents=[common],
        help="write synthetic suppliers, couples, campaigns and journeys",
    )
    sd.add_argument("--data-dir", type=Path, required=True)
    sd.add_argument("--org", default="Demo Weddings")
    sd.add_argument("--seed", type=int, default=42)
    sd.add_argument("--suppliers", type=int, default=300)
    sd.add_argument("--couples", type=int, default=3000)
    sd.add_argument("--campaigns", type=int, default=12)
    sd.add_argument("--days", type=int, default=180)
    sd.set_defaults(
        handler=lambda a: seed_demo(
            a.data_dir,
            org=a.org,
            seed=a.seed,
            suppliers=a.suppliers,
            couples=a.couples,
            campaigns=a.campaigns,
            days=a.days,
        )
    )


def run_server(args: argparse.Namespace) -> dict[str, Any] | None:
    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port} is not a TCP port")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = ServerConfig(data_dir=args.data_dir, host=args.host, port=args.port)
    ready = asyncio.Event()

    async def main() -> None:
        task = asyncio.create_task(serve(config, ready=ready))
        await ready.wait()
        print(f"wedsync server listening on http://{args.host}:{args.port}", flush=True)
        await task

    asyncio.run(main())
    return None
