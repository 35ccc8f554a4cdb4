"""The simulated world: one server and N devices running the real store and sync code.

The server is the real ``ServerContext`` (SQLite storage, priority writer, campaign merge, conflict
detection when available) serving each simulated connection with the real ``serve_connection``;
each device is a real ``Replica`` on its own SQLite file with a real ``SyncEngine`` in
``run_forever``. Only three things are swapped: the websocket for ``SimNetwork`` channels, the
worker threads for ``InlineExecutor``, and wall time for the loop's virtual clock.

A device crash closes its SQLite file and drops its tasks with no further write (a committed
transaction survives, nothing else does); a server restart cuts every connection, drops every
task of the server and reopens the context on the same data directory.

``History`` is what the simulation itself saw happen (captures, guarded edits and what each
replica had seen when it made them, frames, errors), independent of the server's records: the
checkers compare the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import pycrdt

from client.credentials import MemoryTokens, account_for
from client.store import Replica
from client.store.outbox import last_seq
from client.sync import SyncEngine
from shared.protocol import campaign as schema
from shared.protocol import messages as m
from shared.protocol.hlc import HybridClock
from shared.protocol.kinds import EVENT_CLASSES, KNOWN_CHANNELS

from .history import GUARDED, KINDS, GuardedRecord, History, concurrent_pairs
from .mail import SimMail
from .network import DOWN, UP, LinkConditions, SimEnd, SimNetwork
from .vtime import InlineExecutor, VirtualTimeLoop

log = logging.getLogger(__name__)

SERVER_URL = "http://server.sim"
ORG = "Simulated Weddings"
TEXTS = schema.TEXT_FIELDS
WORDS = ("barn", "fair", "May", "roses", "couples", "venue", "open day", "offer", "RSVP", "menu")


class _ErrorLog(logging.Handler):
    """Collects warnings and errors logged by the server and the sync engine during a run."""

    def __init__(self, sim: Simulation) -> None:
        super().__init__(logging.WARNING)
        self.sim = sim

    def emit(self, record: logging.LogRecord) -> None:
        self.sim.on_log(record)


class SimServer:
    def __init__(
        self,
        data_dir: Path,
        writer_factory: Callable | None,
        now_ms: Callable[[], int],
        mail: SimMail,
        secret: bytes,
    ) -> None:
        from server.writer import PriorityWriter  # the client imports the server only here

        self.data_dir = data_dir
        self.now_ms = now_ms
        self.writer_factory = writer_factory or PriorityWriter
        self.ctx = None
        self.tasks: dict[asyncio.Task, None] = {}
        self.conflicts_available = False
        self.mail = mail
        self.secret = secret
        self.engine = None

    def open(self) -> None:
        from server.campaigns import CampaignDocs
        from server.config import ServerConfig
        from server.context import ServerContext
        from server.fanout import LiveFanout
        from server.hub import Hub
        from server.storage import open_storage

        storage = open_storage(self.data_dir)
        docs = CampaignDocs()
        detector = _conflict_detector()
        self.conflicts_available = detector is not None and hasattr(storage, "conflicts")
        if detector is not None:
            docs.hooks.append(detector)
        writer = self.writer_factory(
            storage, max_items=20_000, on_rollback=docs.clear, executor=InlineExecutor()
        )
        hub = Hub()
        writer.add_listener(LiveFanout(hub))
        self.ctx = ServerContext(
            config=ServerConfig(data_dir=self.data_dir),
            storage=storage,
            reader=storage.reader(),
            reader_executor=InlineExecutor(),
            writer=writer,
            docs=docs,
            hub=hub,
            now_ms=self.now_ms,
        )
        writer.start()
        self.engine = self._engine(writer)
        task = asyncio.get_running_loop().create_task(self.engine.start())
        self.tasks[task] = None
        task.add_done_callback(lambda t: self.tasks.pop(t, None))

    def accept(self, end: SimEnd) -> None:
        from server.sync_ws import serve_connection

        task = asyncio.get_running_loop().create_task(serve_connection(self.ctx, end))
        self.tasks[task] = None
        task.add_done_callback(lambda t: self.tasks.pop(t, None))

    def _engine(self, writer: Any) -> Any:
        """The real automation engine on the virtual clock, sending through ``SimMail``."""
        from server.automation import AutomationEngine, EngineConfig, SecretBox
        from server.delivery.smtp import RetryPolicy

        engine = AutomationEngine(
            writer=writer,
            box=SecretBox(self.secret),
            config=EngineConfig(
                public_url="https://mail.server.sim",
                smtp_rate_per_s=None,  # a token bucket reads the wall clock
                retry=RetryPolicy(attempts=2, base_delay_s=1.0),
            ),
            now_ms=self.now_ms,
            sender_factory=self.mail.sender,
            render_executor=InlineExecutor(),
        )
        writer.add_listener(engine)
        return engine

    async def crash(self) -> None:
        """Drop every task of the server and close its files (the network was cut first)."""
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(BaseException):
                await task
        if self.engine is not None:  # its lanes die wherever they are, a send in flight too
            await self.engine.stop()
            self.engine = None
        ctx, self.ctx = self.ctx, None
        await ctx.writer.stop()
        ctx.reader.close()
        ctx.storage.close()


def _conflict_detector() -> Any:
    try:
        from server.conflicts import ConflictDetector
    except ImportError:
        return None
    return ConflictDetector()


class SimDevice:
    def __init__(self, sim: Simulation, name: str) -> None:
        self.sim = sim
        self.name = name
        self.profile = sim.workdir / "devices" / name
        self.replica: Replica | None = None
        self.engine: SyncEngine | None = None
        self.task: asyncio.Task | None = None
        self.stop: asyncio.Event | None = None
        self.down_until_step = -1
        self.class0_mark: int | None = None
        self.class0_queued_at_mark = False
        self.device_id = ""

    @property
    def alive(self) -> bool:
        return self.replica is not None

    def start(self) -> None:
        sim = self.sim
        replica = Replica(self.profile)
        # What would be random per process is drawn from the run's seed.
        replica._client_id = sim.rng.getrandbits(52)
        replica.clock = HybridClock(int(replica.get_setting("hlc") or 0), now_ms=sim.loop.now_ms)
        self.device_id = replica.device_id
        if replica.get_setting("server_url") is None:
            sim.register_device(self, replica)
        self.replica = replica
        self.engine = SyncEngine(
            replica,
            tokens=sim.tokens,
            batch_size=sim.batch_size,
            window=4,
            timeout_s=20.0,
            connector=sim.net.connector(self.name),
            executor=InlineExecutor(),
            rng=random.Random(sim.rng.getrandbits(64)),
        )
        self._observe(self.engine)
        self.stop = asyncio.Event()
        self.task = sim.loop.create_task(self._run(self.engine, self.stop))

    async def _run(self, engine: SyncEngine, stop: asyncio.Event) -> None:
        try:
            await engine.run_forever(stop, poll_s=1.0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the live sync loop must never die on its own
            if engine is not self.engine:  # the process was killed: its last gasp is not a bug
                return
            self.sim.unexplained(
                "client", f"{self.name}: run_forever ended with {type(exc).__name__}: {exc}"
            )

    def _observe(self, engine: SyncEngine) -> None:
        """At the start of each push pass, mark the last outbox row: every class-0 row up to the
        mark must be acked before the pass sends any class-3 batch."""
        push = engine.push

        async def observed_push(session: Any, report: Any, started: float) -> None:
            db = engine.replica.db
            self.class0_mark = last_seq(db)
            self.class0_queued_at_mark = bool(
                db.execute("SELECT 1 FROM outbox WHERE priority = 0 LIMIT 1").fetchone()
            )
            try:
                await push(session, report, started)
            finally:
                self.class0_mark = None

        engine.push = observed_push

    def check_class3_send(self, frame: dict[str, Any]) -> None:
        if self.replica is None or self.class0_mark is None:
            return
        self.sim.priority_checks["class3_batches"] += 1
        if self.class0_queued_at_mark:
            self.sim.priority_checks["with_class0_queued_at_pass_start"] += 1
        waiting = [
            r[0]
            for r in self.replica.db.execute(
                "SELECT item_id FROM outbox WHERE priority = 0 AND seq <= ? ORDER BY seq LIMIT 5",
                (self.class0_mark,),
            )
        ]
        if waiting:
            self.sim.history.priority_violations.append(
                {
                    "device": self.name,
                    "step": self.sim.step,
                    "class3_batch": frame.get("b"),
                    "class0_not_acked": waiting,
                }
            )

    async def crash(self) -> None:
        self.sim.net.cut(self.name, reason="crash")
        replica, task = self.replica, self.task
        self.replica = self.engine = self.task = None
        replica.db.conn.close()  # from here on, any write of the dead process would fail
        task.cancel()
        with contextlib.suppress(BaseException):
            await task

    async def shutdown(self) -> None:
        """A clean stop at the end of the run (the live loop first, then the files)."""
        if self.task is not None:
            self.stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(self.task), 120)
            except TimeoutError:
                self.task.cancel()
                with contextlib.suppress(BaseException):
                    await self.task


@dataclass
class SimConfig:
    seed: int
    devices: int = 3
    steps: int = 200
    check_every_step: bool = False
    #: tests swap in deliberately broken parts; the product never sets these
    writer_factory: Callable | None = None
    network_factory: Callable[[random.Random], SimNetwork] | None = None


class Simulation:
    def __init__(self, config: SimConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = Path(workdir)
        self.rng = random.Random(config.seed)
        self.loop: VirtualTimeLoop | None = None
        self.net = (config.network_factory or SimNetwork)(random.Random(self.rng.getrandbits(64)))
        self.tokens = MemoryTokens()
        self.batch_size = 8
        self.history = History()
        self.actions: Counter[str] = Counter()
        self.priority_checks: Counter[str] = Counter()
        self.safety_seq = 0  # events committed up to here passed the per-step safety check
        self.step = 0
        self.server: SimServer | None = None
        self.server_up = False
        self.restarting = False
        self.devices = [SimDevice(self, f"device-{i}") for i in range(config.devices)]
        self.campaigns: list[str] = []
        #: campaigns made complete and active, that the engine runs: id -> their wait (s)
        self.running: dict[str, int] = {}
        self.mail = SimMail(random.Random(self.rng.getrandbits(64)), self._now_ms)
        self.secret = self.rng.randbytes(32)
        self.org_id = ""
        self.user_ids: dict[str, str] = {}
        self.conn_faults: dict[tuple[str, int], set[str]] = {}

    # ------------------------------------------------------------------ setup

    def register_device(self, device: SimDevice, replica: Replica) -> None:
        """What ``wedsync client login`` does, done on the server's storage directly."""
        from server.auth import hash_token

        storage = self.server.ctx.storage
        if not self.org_id:
            self.org_id = storage.ensure_org(ORG)
            self._mail_settings(storage)
        email = f"{device.name}@sim.test"
        user_id = storage.create_user(
            org_id=self.org_id, email=email, password_hash="!", role="marketer"
        )
        token = self.rng.randbytes(24).hex()
        storage.create_device(
            user_id=user_id,
            org_id=self.org_id,
            name=device.name,
            token_hash=hash_token(token),
            device_id=replica.device_id,
        )
        self.tokens.set(account_for(replica.device_id), token)
        for key, value in (
            ("server_url", SERVER_URL),
            ("user_email", email),
            ("org", self.org_id),
            ("role", "marketer"),
        ):
            replica.set_setting(key, value)

    def _now_ms(self) -> int:
        return self.loop.now_ms()

    def _mail_settings(self, storage: Any) -> None:
        """The org's SMTP settings (the simulated server: ``SimMail``)."""
        from server.automation import SecretBox
        from server.automation.settings import save_smtp

        with storage.transaction():
            save_smtp(
                storage,
                SecretBox(self.secret),
                self.org_id,
                host="smtp.server.sim",
                port=25,
                security="none",
                user=None,
                password=None,
                from_address="hello@weddings.sim",
                at_ms=self._now_ms(),
            )

    # ------------------------------------------------------------------ observation

    def on_frame(self, device: str, conn: int, direction: str, stage: str, data: bytes) -> None:
        if stage != "sent":
            return
        try:
            frame = msgpack.unpackb(data, raw=False)
        except Exception:  # noqa: BLE001 - the network observes; the receiver validates
            return
        if not isinstance(frame, dict):
            return
        if (
            direction == UP
            and frame.get("t") == m.MsgType.PUSH
            and frame.get("c") == 3
            and "e" in frame
        ):
            sim_device = next(d for d in self.devices if d.name == device)
            sim_device.check_class3_send(frame)
        elif direction == DOWN and frame.get("t") == m.MsgType.ERROR:
            self._server_error_frame(device, conn, frame)

    def _server_error_frame(self, device: str, conn: int, frame: dict[str, Any]) -> None:
        code, message = frame.get("code"), frame.get("msg")
        faults = self.conn_faults.get((device, conn), set())
        if code == "unavailable" and self.restarting:
            self.history.explained_errors["unavailable during a server restart"] += 1
        elif faults & {"loss", "duplicate", "reorder"} and code in ("bad_frame", "unauthenticated"):
            self.history.explained_errors[f"{code} after {'/'.join(sorted(faults))}"] += 1
        else:
            self.unexplained("server", f"ERROR frame to {device}: {code}: {message}")

    def on_log(self, record: logging.LogRecord) -> None:
        if self.restarting:
            self.history.explained_errors["logged during a server restart"] += 1
            return
        if record.name == "client.sync" and "refused" in record.getMessage():
            self.unexplained("client", record.getMessage())
            return
        if record.name.startswith("client.sync"):
            self.history.explained_errors["client warning"] += 1
            return
        self.unexplained(record.name, record.getMessage())

    def unexplained(self, source: str, message: str) -> None:
        self.history.errors.append({"step": self.step, "source": source, "message": message})

    # ------------------------------------------------------------------ run

    def run(self) -> dict[str, Any]:
        from . import checkers
        from .vtime import deterministic_ids

        self.loop = VirtualTimeLoop()
        handler = _ErrorLog(self)
        watched = [logging.getLogger(n) for n in ("server", "client.sync", "asyncio")]
        for logger in watched:
            logger.addHandler(handler)
        try:
            with deterministic_ids(random.Random(self.rng.getrandbits(64)), self.loop.now_ms):
                return self.loop.run_until_complete(self._main(checkers))
        finally:
            for logger in watched:
                logger.removeHandler(handler)
            self.loop.close()

    async def _main(self, checkers: Any) -> dict[str, Any]:
        self.net.observers.append(self.on_frame)
        self.net.observers.append(self._track_conn_faults)
        self._start_server()
        for device in self.devices:
            device.start()
        try:
            for step in range(1, self.config.steps + 1):
                self.step = step
                await self._one_step()
                if self.config.check_every_step:
                    failure = checkers.safety(self)
                    if failure:
                        self.history.step_failures.append({"step": self.step, **failure})
            self.step = self.config.steps + 1
            await self._heal()
            results = checkers.run_all(self)
        finally:
            for device in self.devices:
                if device.alive:
                    await device.shutdown()
                    device.engine._executor.shutdown()
                    device.replica.close()
            if self.server_up:
                self.net.accept = None
                self.net.cut_all()
                await self.server.crash()
        return self._report(results)

    def _track_conn_faults(
        self, device: str, conn: int, direction: str, stage: str, data: bytes
    ) -> None:
        if stage == "sent":
            cond = self.net.conditions(device)
            kinds = self.conn_faults.setdefault((device, conn), set())
            if cond.loss:
                kinds.add("loss")
            if cond.duplicate:
                kinds.add("duplicate")
            if cond.reorder:
                kinds.add("reorder")

    def _start_server(self) -> None:
        if self.server is None:
            self.server = SimServer(
                self.workdir / "server",
                self.config.writer_factory,
                self.loop.now_ms,
                self.mail,
                self.secret,
            )
        self.server.open()
        self.net.accept = self.server.accept
        self.server_up = True

    async def _restart_server(self) -> None:
        self.restarting = True
        try:
            self.net.accept = None
            self.net.cut_all()
            await self.server.crash()
            self.server_up = False
        finally:
            self.restarting = False
        await asyncio.sleep(self.rng.uniform(0.1, 5.0))  # down for a while
        self._start_server()

    async def _one_step(self) -> None:
        rng = self.rng
        for device in self.devices:
            if not device.alive and device.down_until_step <= self.step:
                device.start()
                self.actions["device_restart"] += 1
        alive = [d for d in self.devices if d.alive]
        roll = rng.random()
        if roll < 0.26 and alive:
            self._capture(rng.choice(alive))
        elif roll < 0.34 and alive:  # a burst at a fair: several kinds, so classes queue together
            device = rng.choice(alive)
            for _ in range(rng.randint(3, 6)):
                self._capture(device)
        elif roll < 0.40 and alive and (len(self.campaigns) < 2 + self.step // 40):
            if len(self.running) < 3 and rng.random() < 0.6:
                self._create_running_campaign(rng.choice(alive))
            else:
                self._create_campaign(rng.choice(alive))
        elif roll < 0.55 and alive:
            if self.running and rng.random() < 0.08:
                self._pause_or_resume(rng.choice(alive))
            else:
                self._edit_guarded(rng.choice(alive))
        elif roll < 0.65 and alive:
            self._edit_text(rng.choice(alive))
        elif roll < 0.88:
            self._network_fault(rng.choice(self.devices))
        elif roll < 0.95 and alive:
            device = rng.choice(alive)
            device.down_until_step = self.step + rng.randint(1, 6)
            self.net.faults["device_crash"] += 1
            await device.crash()
        elif roll < 0.98:
            self.net.faults["server_restart"] += 1
            await self._restart_server()
        else:
            self.actions["idle"] += 1
        await asyncio.sleep(rng.choice((0.01, 0.2, 1.0, 3.0, rng.uniform(0, 30))))

    # ------------------------------------------------------------------ actions

    def _capture(self, device: SimDevice) -> None:
        rng, replica = self.rng, device.replica
        kind = KINDS[rng.randrange(len(KINDS))]
        contact = f"couple{rng.randrange(50)}@example.com"
        if kind == "contact":
            result = replica.upsert_contact(
                contact, {"stage": rng.choice(("lead", "booked")), "guests": rng.randrange(20, 200)}
            )
        else:
            count = rng.randint(1, 12) if EVENT_CLASSES[kind] != 0 else rng.randint(1, 4)
            campaign = self._pick_campaign(device) if rng.random() < 0.5 else None
            events = [
                replica.make_event(
                    kind=kind,
                    contact=contact,
                    campaign=campaign,
                    channel=rng.choice(KNOWN_CHANNELS) if kind in ("touchpoint", "lead") else None,
                    value_cents=rng.randrange(10_000, 900_000) if kind == "conversion" else None,
                    occurred_at_ms=self.loop.now_ms() - rng.randrange(0, 86_400_000),
                    payload={"n": i} if kind in ("attachment", "activity_log") else None,
                )
                for i in range(count)
            ]
            result = replica.capture_many(events)
        for event in result.events:
            self.history.captured[event.id] = (device.name, event.kind)
        self.actions[f"capture:{kind}"] += len(result.events)

    def _pick_campaign(self, device: SimDevice, *, running: bool = True) -> str | None:
        """One of the campaigns the device knows, drawn from the run's random stream (without
        the running ones: ``running=False``)."""
        known = sorted(
            c["id"] for c in device.replica.campaigns() if running or c["id"] not in self.running
        )
        return self.rng.choice(known) if known else None

    def _create_running_campaign(self, device: SimDevice) -> None:
        """A complete campaign, activated: any lead enrols its contact; an email, a wait, an
        email, a conversion goal; sometimes quiet hours, a cap, always a holdout."""
        rng = self.rng
        wait_s = rng.choice((60, 300, 600, 3_600))
        fields = {
            "trigger": {"event": "lead"},
            "reentry": {"mode": rng.choice(("once", "every_time"))},
            "holdout_pct": 20,
            "quiet_hours": rng.choice(("", "00:20-00:50")),  # the run starts at 00:00 UTC
            "frequency_cap": rng.choice((None, {"max_sends": 2, "per_days": 1})),
        }
        campaign_id, _ = device.replica.create_campaign(
            name=f"Running {len(self.running) + 1}", campaign_type="nurture"
        )

        def build(doc: pycrdt.Doc) -> list[schema.GuardedEdit | None]:
            edits = [schema.set_field(doc, k, v) for k, v in fields.items() if v is not None]
            for label in ("A", "B"):
                schema.add_variant(
                    doc,
                    subject=f"{label}: hello {{{{ first_name }}}}",
                    body="See the venue: https://weddings.sim/venue",
                )
            schema.add_step(doc, "send_email", {"variant": "auto"})
            schema.add_step(doc, "wait", {"duration_s": wait_s})
            schema.add_step(doc, "send_email", {"variant": "auto"})
            schema.add_step(doc, "goal", {"event": "conversion"})
            edits.append(schema.set_field(doc, "status", "active"))
            return edits

        device.replica.edit_campaign(campaign_id, build)
        self._record_guarded(device, campaign_id)
        self.campaigns.append(campaign_id)
        self.running[campaign_id] = wait_s
        self.actions["campaign_run"] += 1

    def _record_guarded(self, device: SimDevice, campaign_id: str) -> None:
        """Every guarded edit of the campaign in the device's doc not recorded yet."""
        known = {g.edit for g in self.history.guarded}
        for edit, rev in sorted(schema.revisions(device.replica.campaign_doc(campaign_id)).items()):
            if edit in known:
                continue
            self.history.guarded.append(
                GuardedRecord(
                    campaign=campaign_id,
                    field=rev["f"],
                    edit=edit,
                    device=device.name,
                    step=self.step,
                    bases=tuple(rev["b"]),
                )
            )

    def _pause_or_resume(self, device: SimDevice) -> None:
        """Pause a running campaign the device knows, or resume it."""
        known = sorted(c["id"] for c in device.replica.campaigns() if c["id"] in self.running)
        if not known:
            return
        campaign_id = self.rng.choice(known)
        status = device.replica.campaign(campaign_id).get("status")
        new = "paused" if status == "active" else "active"
        device.replica.set_campaign_field(campaign_id, "status", new)
        self._record_guarded(device, campaign_id)
        self.actions[f"campaign_{'pause' if new == 'paused' else 'resume'}"] += 1

    def _create_campaign(self, device: SimDevice) -> None:
        name = f"Campaign {len(self.campaigns) + 1}"
        campaign_id, _ = device.replica.create_campaign(
            name=name,
            campaign_type=self.rng.choice(schema.CAMPAIGN_TYPES),
        )
        self.campaigns.append(campaign_id)
        # Creating sets the status: a guarded edit like any other. A replica that receives a
        # later update of the campaign before the creating one has not seen it.
        for edit, rev in sorted(schema.revisions(device.replica.campaign_doc(campaign_id)).items()):
            self.history.guarded.append(
                GuardedRecord(
                    campaign=campaign_id,
                    field=rev["f"],
                    edit=edit,
                    device=device.name,
                    step=self.step,
                    bases=tuple(rev["b"]),
                )
            )
        self.actions["campaign_create"] += 1

    def _guarded_value(self, name: str) -> Any:
        rng = self.rng
        if name == "status":
            return rng.choice(schema.STATUSES)
        if name == "budget_cents":
            return rng.randrange(0, 5_000_000, 100)
        if name in ("schedule_start", "schedule_end"):
            return f"2025-{rng.randint(6, 12):02d}-{rng.randint(1, 28):02d}"
        if name == "audience_segment":
            return {"rule": "stage", "equals": rng.choice(("lead", "booked", "married"))}
        if name == "trigger":
            return {"kind": rng.choice(("lead", "milestone", "invite_accepted"))}
        return {"per_days": rng.randint(1, 14), "max": rng.randint(1, 5)}

    def _edit_guarded(self, device: SimDevice) -> None:
        campaign_id = self._pick_campaign(device, running=False)
        if campaign_id is None:
            return
        rng, replica = self.rng, device.replica
        name = rng.choice(GUARDED)
        value = self._guarded_value(name)
        made: list[schema.GuardedEdit] = []

        def edit(doc: pycrdt.Doc) -> list[schema.GuardedEdit | None]:
            guarded = schema.set_field(doc, name, value)
            made.append(guarded)
            return [guarded]

        replica.edit_campaign(campaign_id, edit)
        for guarded in made:
            if guarded is None:
                continue
            base = guarded.base
            bases = tuple(base) if isinstance(base, list | tuple) else ((base,) if base else ())
            self.history.guarded.append(
                GuardedRecord(
                    campaign=campaign_id,
                    field=guarded.field,
                    edit=guarded.edit,
                    device=device.name,
                    step=self.step,
                    bases=bases,
                )
            )
        self.actions["edit_guarded"] += 1

    def _edit_text(self, device: SimDevice) -> None:
        campaign_id = self._pick_campaign(device, running=False)
        if campaign_id is None:
            return
        rng, replica = self.rng, device.replica
        name = rng.choice(TEXTS)
        old = replica.campaign(campaign_id).get(name) or ""
        at = rng.randint(0, len(old))
        new = (old[:at] + " " + rng.choice(WORDS) + " " + old[at:]).strip()[:400]
        replica.set_campaign_field(campaign_id, name, new)
        self.actions["edit_text"] += 1

    def _network_fault(self, device: SimDevice) -> None:
        rng = self.rng
        choice = rng.choice(
            (
                "offline",
                "online",
                "slow",
                "loss",
                "duplicate",
                "reorder",
                "cut_mid_frame",
                "perfect",
            )
        )
        cond = LinkConditions()
        if choice == "offline":
            cond = LinkConditions(online=False)
            self.net.faults["offline"] += 1
        elif choice == "slow":
            cond = LinkConditions(latency_ms=(200.0, rng.uniform(500, 8000)))
            self.net.faults["slow"] += 1
        elif choice == "loss":
            cond = LinkConditions(loss=rng.uniform(0.05, 0.3))
        elif choice == "duplicate":
            cond = LinkConditions(duplicate=rng.uniform(0.1, 0.5))
        elif choice == "reorder":
            cond = LinkConditions(latency_ms=(1.0, 400.0), reorder=True)
        elif choice == "cut_mid_frame":
            cond = LinkConditions(cut_after_frames=rng.randint(1, 12))
        self.actions[f"network:{choice}"] += 1
        self.net.set_conditions(device.name, cond)

    async def _heal(self) -> None:
        """End of the run: perfect network, every process up, then sync to quiescence."""
        for device in self.devices:
            self.net.set_conditions(device.name, LinkConditions())
        if not self.server_up:
            self._start_server()
        for device in self.devices:
            if not device.alive:
                device.start()
        for device in self.devices:
            await device.shutdown()
        for round_no in range(3):
            for device in self.devices:
                try:
                    await asyncio.wait_for(device.engine.sync_once(), 300)
                except Exception as exc:  # noqa: BLE001 - reported by the checkers
                    self.unexplained(
                        "client",
                        f"{device.name}: final sync round {round_no}: {type(exc).__name__}: {exc}",
                    )

    # ------------------------------------------------------------------ report

    def _report(self, results: list[dict[str, Any]]) -> dict[str, Any]:
        faults = {k: self.net.faults.get(k, 0) for k in FAULT_KINDS}
        return {
            "seed": self.config.seed,
            "devices": self.config.devices,
            "steps": self.config.steps,
            "virtual_time_s": round(self.loop.time(), 3),
            "faults": faults,
            "actions": dict(sorted(self.actions.items())),
            "events_captured": len(self.history.captured),
            "campaigns": len(self.campaigns),
            "running_campaigns": len(self.running),
            "mail": {
                "accepted": len(self.mail.delivered),
                "deferred": self.mail.deferrals,
                "bounced": self.mail.bounces,
                "cut_off_by_a_crash": sum(self.mail.interrupted.values()),
            },
            "guarded_edits": len(self.history.guarded),
            "concurrent_guarded_pairs": len(concurrent_pairs(self.history.guarded)),
            "explained_errors": dict(sorted(self.history.explained_errors.items())),
            "checkers": results,
            "ok": all(r["status"] != "fail" for r in results),
        }


FAULT_KINDS = (
    "offline",
    "slow",
    "loss",
    "duplicate",
    "reorder",
    "cut_mid_frame",
    "device_crash",
    "server_restart",
)
