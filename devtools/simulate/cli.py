"""`wedsync simulate`: run the deterministic simulation (or, with --real, real processes) and
print fault counts and checker results; the exit code is 1 when any checker fails."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

MAX_DEVICES = 64
MAX_STEPS = 1_000_000


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.devices <= MAX_DEVICES:
        raise ValueError(f"--devices must be between 1 and {MAX_DEVICES}")
    if not 1 <= args.steps <= MAX_STEPS:
        raise ValueError(f"--steps must be between 1 and {MAX_STEPS:,}")
    if args.workdir is not None and args.workdir.exists() and any(args.workdir.iterdir()):
        raise ValueError(f"--workdir {args.workdir} is not empty")
    started = time.perf_counter()
    if args.real:
        from .real import run_real

        report = run_real(
            seed=args.seed, devices=args.devices, steps=args.steps, workdir=args.workdir
        )
    else:
        from . import simulate

        report = simulate(
            seed=args.seed,
            devices=args.devices,
            steps=args.steps,
            check_every_step=args.check_every_step,
            workdir=args.workdir,
        )
    wall_s = time.perf_counter() - started
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(human(report))
    # Wall time varies run to run, so it stays out of the (reproducible) report.
    print(f"wedsync simulate: wall time {wall_s:.1f} s", file=sys.stderr)
    return 0 if report["ok"] else 1


def human(report: dict[str, Any]) -> str:
    where = (
        f"{report['virtual_time_s']:.0f} s of virtual time"
        if "virtual_time_s" in report
        else "real processes"
    )
    lines = [
        f"seed {report['seed']}: {report['devices']} devices, {report['steps']} steps, {where}",
        "faults injected: " + ", ".join(f"{k} {v}" for k, v in report["faults"].items()),
        f"events captured {report['events_captured']}, campaigns {report['campaigns']}, "
        f"guarded edits {report.get('guarded_edits', 0)} "
        f"({report.get('concurrent_guarded_pairs', 0)} concurrent pairs)",
    ]
    for checker in report["checkers"]:
        lines.append(f"  {checker['status'].upper():7} {checker['name']}: {checker['detail']}")
        for example in checker["counterexample"]:
            lines.append(f"          e.g. {json.dumps(example, sort_keys=True)}")
    lines.append(
        "OK"
        if report["ok"]
        else f"FAILED: replay with `wedsync simulate --seed {report['seed']} "
        f"--devices {report['devices']} --steps {report['steps']}`"
    )
    return "\n".join(lines)
