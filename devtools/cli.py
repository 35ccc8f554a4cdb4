"""The dev tools' commands as the console script sees them: ``demo``, ``simulate``,
``chaos-proxy`` and ``seed-demo``. Arguments only; handlers are imported when they run."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("demo", parents=[common], help="run the whole product on a local server")
    p.add_argument("--data-dir", type=Path, help="keep the demo server and profiles here")
    p.add_argument("--events", type=int, default=5_000, help="events each laptop captures offline")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--headless", action="store_true", help="do not open the desktop app")
    p.set_defaults(handler="devtools.demo:run_demo")

    p = sub.add_parser(
        "simulate",
        parents=[common],
        help="simulate devices and a server under network faults, crashes and restarts",
    )
    p.add_argument("--seed", type=int, required=True, help="the same seed replays the same run")
    p.add_argument("--devices", type=int, default=3)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument(
        "--check-every-step",
        action="store_true",
        help="also check safety (nothing twice, nothing invented) after every step",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        help="keep the SQLite files of the server and devices here (must be empty)",
    )
    p.add_argument(
        "--real",
        action="store_true",
        help="real processes: the server and clients via the CLI, the chaos proxy "
        "between them, SIGKILL at seeded random points",
    )
    p.set_defaults(handler="devtools.simulate.cli:run")

    p = sub.add_parser(
        "chaos-proxy",
        parents=[common],
        help="relay TCP/websocket traffic to a server with latency, loss, duplicates and cuts",
    )
    p.add_argument("--listen", required=True, help="HOST:PORT to accept devices on")
    p.add_argument("--target", required=True, help="HOST:PORT of the server")
    p.add_argument("--latency", type=float, default=0.0, help="ms added to each frame")
    p.add_argument("--jitter", type=float, default=0.0, help="± ms of random extra latency")
    p.add_argument("--loss", type=float, default=0.0, help="probability a data frame is dropped")
    p.add_argument("--duplicate", type=float, default=0.0, help="probability a frame is sent twice")
    p.add_argument("--reorder", type=float, default=0.0, help="probability a frame is held back")
    p.add_argument("--cut-every", type=int, help="cut the connection mid-frame every N frames")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler="devtools.chaos_proxy:run_proxy")

    p = sub.add_parser(
        "seed-demo",
        parents=[common],
        help="write synthetic suppliers, couples, campaigns and journeys",
    )
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--org", default="Demo Weddings")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--suppliers", type=int, default=300)
    p.add_argument("--couples", type=int, default=3000)
    p.add_argument("--campaigns", type=int, default=12)
    p.add_argument("--days", type=int, default=180, help="days of history")
    p.add_argument(
        "--until",
        metavar="ISO",
        help="when the history ends (default: the start of today, UTC)",
    )
    p.set_defaults(handler="devtools.seed:seed_demo_command")
