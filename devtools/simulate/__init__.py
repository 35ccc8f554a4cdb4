"""Deterministic simulation of devices and a server under a hostile network, with checkers.

``simulate(seed=..., devices=..., steps=...)`` runs the real store and sync code on virtual time
over a simulated network, injects faults (offline, slow, lossy, duplicating, reordering, cut
mid-frame, device crashes, server restarts) and returns a JSON-ready report of fault counts and
checker results. The same seed gives the same report.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from .network import LinkConditions, SimNetwork
from .world import FAULT_KINDS, SimConfig, Simulation


def simulate(
    *,
    seed: int,
    devices: int = 3,
    steps: int = 200,
    check_every_step: bool = False,
    workdir: Path | None = None,
    **parts: Any,
) -> dict[str, Any]:
    """Run one simulation in ``workdir`` (a fresh temporary directory by default)."""
    config = SimConfig(
        seed=seed, devices=devices, steps=steps, check_every_step=check_every_step, **parts
    )
    if workdir is not None:
        return Simulation(config, workdir).run()
    with tempfile.TemporaryDirectory(prefix="wedsync-sim-") as tmp:
        return Simulation(config, Path(tmp)).run()


__all__ = ["FAULT_KINDS", "LinkConditions", "SimConfig", "SimNetwork", "Simulation", "simulate"]
