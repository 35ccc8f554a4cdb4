"""`wedsync simulate --real`: the scenario with real processes, the chaos proxy and SIGKILL.

The server runs as ``python -m wedsync server`` and each device syncs with
``python -m wedsync client --profile ... sync`` through a ``ChaosProxy`` on 127.0.0.1. This
process plays the users: it captures events and edits campaigns in the profiles' SQLite files
(as the desktop app would, beside a running sync), changes the proxy's faults, and kills sync
processes and the server with SIGKILL at points drawn from the seed. At the end it heals the
network, syncs every device to quiescence and runs the checkers over the server's and the
profiles' SQLite files.

The seed fixes the plan (actions, faults, kill delays); real processes interleave by real
timing, so a failing plan is replayed by its seed but may need a few runs to fail again.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import random
import signal
import socket
import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pycrdt

from client.store import Replica
from devtools.chaos_proxy import ChaosProxy, Faults
from shared.protocol import campaign as schema

from . import checkers
from .history import GUARDED, KINDS, GuardedRecord

PASSWORD = "simulated-password"
PROCESS_TIMEOUT_S = 120.0


class RealModeError(RuntimeError):
    code = "real_mode"


def run_real(*, seed: int, devices: int, steps: int, workdir: Path | None) -> dict[str, Any]:
    if importlib.util.find_spec("keyrings.alt") is None:
        raise RealModeError(
            "--real needs keyrings.alt (the dev extra): the device processes keep their tokens "
            "in a throwaway file keyring, never the user's"
        )
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        return asyncio.run(RealRun(seed, devices, steps, workdir).run())
    with tempfile.TemporaryDirectory(prefix="wedsync-real-") as tmp:
        return asyncio.run(RealRun(seed, devices, steps, Path(tmp)).run())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealRun:
    def __init__(self, seed: int, devices: int, steps: int, base: Path) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.devices = [f"device-{i}" for i in range(devices)]
        self.steps = steps
        self.base = base
        self.data_dir = base / "server"
        self.env = dict(os.environ)
        self.env["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
        self.env["XDG_DATA_HOME"] = str(base / "xdg")
        self.port = _free_port()
        self.server: asyncio.subprocess.Process | None = None
        self.proxy: ChaosProxy | None = None
        self.syncs: dict[str, asyncio.subprocess.Process] = {}
        self.faults: Counter[str] = Counter()
        self.captured: dict[str, tuple[str, str]] = {}
        self.guarded: list[GuardedRecord] = []
        self.campaigns: list[str] = []
        self.errors: list[dict[str, Any]] = []
        self.step = 0

    def profile(self, device: str) -> Path:
        return self.base / "profiles" / device

    # ------------------------------------------------------------------ processes

    async def _cli(self, *args: str, **kwargs: Any) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wedsync", *args, env=self.env, **kwargs
        )

    async def _start_server(self) -> None:
        log = open(self.base / "server.log", "ab")  # noqa: SIM115 - the process owns it
        self.server = await self._cli(
            "server",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
        log.close()
        line = await asyncio.wait_for(self.server.stdout.readline(), 60)
        if b"listening" not in line:
            raise RealModeError(f"the server did not start (see {self.base / 'server.log'})")

    async def _kill_server(self) -> None:
        self.server.send_signal(signal.SIGKILL)
        await self.server.wait()
        self.faults["sigkill_server"] += 1

    async def _run_cli(self, *args: str) -> tuple[int, str]:
        proc = await self._cli(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), PROCESS_TIMEOUT_S)
        return proc.returncode, (out + err).decode(errors="replace")

    async def _start_sync(self, device: str) -> None:
        if device in self.syncs and self.syncs[device].returncode is None:
            return
        self.syncs[device] = await self._cli(
            "client",
            "--profile",
            str(self.profile(device)),
            "sync",
            "--batch-size",
            "20",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def _kill_later(self, proc: asyncio.subprocess.Process, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
            self.faults["sigkill_client"] += 1

    # ------------------------------------------------------------------ run

    async def run(self) -> dict[str, Any]:
        from server import admin

        for device in self.devices:
            admin.create_user(
                self.data_dir,
                email=f"{device}@sim.test",
                password=PASSWORD,
                role="marketer",
                org="Simulated Weddings",
            )
        await self._start_server()
        self.proxy = ChaosProxy(target=("127.0.0.1", self.port), seed=self.rng.getrandbits(32))
        host, port = await self.proxy.start()
        killers: list[asyncio.Task] = []
        try:
            for device in self.devices:
                code, out = await self._run_cli(
                    "client",
                    "--profile",
                    str(self.profile(device)),
                    "login",
                    "--server",
                    f"http://{host}:{port}",
                    "--email",
                    f"{device}@sim.test",
                    "--password",
                    PASSWORD,
                    "--device-name",
                    device,
                )
                if code != 0:
                    raise RealModeError(f"{device} could not log in: {out.strip()}")
            for step in range(1, self.steps + 1):
                self.step = step
                killers.extend(await self._one_step())
            await asyncio.gather(*killers, return_exceptions=True)
            await self._heal()
            return self._report(self._check())
        finally:
            for proc in self.syncs.values():
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            if self.proxy is not None:
                await self.proxy.close()
            if self.server is not None and self.server.returncode is None:
                self.server.send_signal(signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.server.wait(), 30)
                if self.server.returncode is None:
                    self.server.kill()
                    await self.server.wait()

    async def _one_step(self) -> list[asyncio.Task]:
        rng = self.rng
        device = rng.choice(self.devices)
        roll = rng.random()
        killers = []
        if roll < 0.30:
            self._capture(device)
        elif roll < 0.36 and len(self.campaigns) < 2 + self.step // 10:
            self._create_campaign(device)
        elif roll < 0.48:
            self._edit_guarded(device)
        elif roll < 0.90:  # frames flow under the faults just set
            if rng.random() < 0.8:
                self._set_faults()
            await self._start_sync(device)
            if rng.random() < 0.4:
                delay_s = rng.uniform(0.05, 1.5)
                killers.append(asyncio.create_task(self._kill_later(self.syncs[device], delay_s)))
        elif roll < 0.95:
            await self._kill_server()
            await asyncio.sleep(rng.uniform(0.0, 1.0))
            await self._start_server()
        await asyncio.sleep(rng.uniform(0.0, 0.4))
        return killers

    # ------------------------------------------------------------------ the users' actions

    def _capture(self, device: str) -> None:
        rng = self.rng
        replica = Replica(self.profile(device))
        try:
            kinds = [KINDS[rng.randrange(len(KINDS))] for _ in range(rng.randint(1, 4))]
            events = [
                replica.make_event(
                    kind=kind,
                    contact=f"couple{rng.randrange(40)}@example.com",
                    channel="wedding_fair" if kind in ("touchpoint", "lead") else None,
                    value_cents=rng.randrange(10_000, 500_000) if kind == "conversion" else None,
                    payload={"fields": {"stage": "lead"}} if kind == "contact" else None,
                )
                for kind in kinds
                for _ in range(rng.randint(1, 30))
            ]
            for event in replica.capture_many(events).events:
                self.captured[event.id] = (device, event.kind)
        finally:
            replica.close()

    def _create_campaign(self, device: str) -> None:
        replica = Replica(self.profile(device))
        try:
            campaign_id, _ = replica.create_campaign(name=f"Campaign {len(self.campaigns) + 1}")
            self.campaigns.append(campaign_id)
            revs = schema.revisions(replica.campaign_doc(campaign_id))
            for edit, rev in sorted(revs.items()):
                self.guarded.append(
                    GuardedRecord(
                        campaign=campaign_id,
                        field=rev["f"],
                        edit=edit,
                        device=device,
                        step=self.step,
                        bases=tuple(rev["b"]),
                    )
                )
        finally:
            replica.close()

    def _edit_guarded(self, device: str) -> None:
        rng = self.rng
        replica = Replica(self.profile(device))
        try:
            known = sorted(c["id"] for c in replica.campaigns())
            if not known:
                return
            campaign_id = rng.choice(known)
            name = rng.choice(GUARDED)
            value = {
                "status": rng.choice(schema.STATUSES),
                "budget_cents": rng.randrange(0, 1_000_000, 100),
            }.get(name, f"2025-0{rng.randint(6, 9)}-1{rng.randint(0, 9)}")
            if name in ("audience_segment", "trigger", "frequency_cap"):
                value = {"v": rng.randint(1, 9)}
            made: list[schema.GuardedEdit] = []

            def edit(doc: pycrdt.Doc) -> list[schema.GuardedEdit | None]:
                made.append(schema.set_field(doc, name, value))
                return made

            replica.edit_campaign(campaign_id, edit)
            for g in made:
                bases = (
                    tuple(g.base)
                    if isinstance(g.base, list | tuple)
                    else ((g.base,) if g.base else ())
                )
                self.guarded.append(
                    GuardedRecord(
                        campaign=campaign_id,
                        field=g.field,
                        edit=g.edit,
                        device=device,
                        step=self.step,
                        bases=bases,
                    )
                )
        finally:
            replica.close()

    def _set_faults(self) -> None:
        rng = self.rng
        choice = rng.choice(("perfect", "slow", "loss", "duplicate", "reorder", "cut", "offline"))
        faults = {
            "perfect": Faults(),
            "slow": Faults(latency_ms=rng.uniform(50, 400), jitter_ms=20),
            "loss": Faults(loss=rng.uniform(0.05, 0.3), latency_ms=2),
            "duplicate": Faults(duplicate=rng.uniform(0.1, 0.5)),
            "reorder": Faults(reorder=rng.uniform(0.1, 0.5), latency_ms=5, jitter_ms=4),
            "cut": Faults(cut_every=rng.randint(3, 20)),
            "offline": Faults(offline=True),
        }[choice]
        if choice in ("slow", "offline"):
            self.faults[choice] += 1
        self.proxy.set_faults(faults)

    # ------------------------------------------------------------------ end

    async def _heal(self) -> None:
        self.proxy.set_faults(Faults())
        for proc in self.syncs.values():  # one stuck behind a lost frame would wait its timeout
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                self.faults["sigkill_client"] += 1
        if self.server.returncode is not None:
            await self._start_server()
        for round_no in range(2):
            for device in self.devices:
                code, out = await self._run_cli(
                    "client", "--profile", str(self.profile(device)), "sync"
                )
                if code != 0:
                    self.errors.append(
                        {
                            "source": "client",
                            "message": f"{device}: final sync round {round_no}: {out.strip()}",
                        }
                    )

    def _check(self) -> list[dict[str, Any]]:
        conn = sqlite3.connect(self.data_dir / "server.sqlite")
        try:
            names = dict(conn.execute("SELECT id, name FROM devices"))
            rows = [
                (r[0], names.get(r[1], r[1]), r[2], r[3])
                for r in conn.execute(
                    "SELECT id, device_id, kind, count(*) FROM events GROUP BY id"
                )
            ]
            server_campaigns = {
                r[0]: json.loads(r[1]) for r in conn.execute("SELECT id, snapshot FROM campaigns")
            }
            has_conflicts = bool(
                conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'conflicts'").fetchone()
            )
        finally:
            conn.close()
        depths, replicas, rejected = {}, {}, {}
        for device in self.devices:
            replica = Replica(self.profile(device))
            try:
                depths[device] = replica.queue_depths()
                replicas[device] = replica.campaigns()
                rejected[device] = replica.rejected_count()
            finally:
                replica.close()
        results = [
            checkers.check_exactly_once(self.captured, rows, depths),
            checkers.check_convergence(server_campaigns, replicas),
        ]
        if has_conflicts:
            from server.storage import open_storage

            storage = open_storage(self.data_dir)
            try:
                org_id = storage.org_id("Simulated Weddings")
                conflicts = storage.conflicts(org_id) if org_id is not None else []
                results.append(checkers.check_conflicts(self.guarded, conflicts))
            finally:
                storage.close()
        else:
            results.append(checkers.skipped("conflicts", "conflicts not available"))
        results.append(
            checkers.skipped(
                "priority", "not observable across processes; checked by the in-process simulation"
            )
        )
        failures = list(self.errors)
        failures += [
            {"device": d, "problem": f"{n} items rejected"} for d, n in rejected.items() if n
        ]
        log = (self.base / "server.log").read_text(errors="replace")
        failures += [
            {"source": "server", "message": line}
            for line in log.splitlines()
            if " ERROR " in line or line.startswith("Traceback")
        ]
        results.append(
            checkers._result(
                "no_unexpected_errors",
                failures,
                checked=len(failures),
                detail="final syncs, rejections and the server's log",
            )
        )
        return results

    def _report(self, results: list[dict[str, Any]]) -> dict[str, Any]:
        counts = self.proxy.counts
        faults = {
            "offline": self.faults["offline"],
            "slow": self.faults["slow"],
            "loss": counts["loss"],
            "duplicate": counts["duplicate"],
            "reorder": counts["reorder"],
            "cut_mid_frame": counts["cut_mid_frame"],
            "sigkill_client": self.faults["sigkill_client"],
            "sigkill_server": self.faults["sigkill_server"],
        }
        return {
            "mode": "real",
            "seed": self.seed,
            "devices": len(self.devices),
            "steps": self.steps,
            "faults": faults,
            "proxy": dict(sorted(counts.items())),
            "events_captured": len(self.captured),
            "campaigns": len(self.campaigns),
            "guarded_edits": len(self.guarded),
            "checkers": results,
            "ok": all(r["status"] != "fail" for r in results),
        }
