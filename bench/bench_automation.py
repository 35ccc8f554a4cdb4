"""Automation benchmarks: triggers over 10,000 live campaigns, the scheduler, and delivery into a
real SMTP server.

Prints JSON. Run: python bench/bench_automation.py [--campaigns 10000] [--contacts 100000]
[--events 50000] [--latency-events 500]

1. **Triggers.** One org with ``--campaigns`` active campaigns (40 % on ``lead`` with a
   condition on the lead's source, 20 % on a ``health_score`` band, 20 % on ``conversion``
   over a value, 20 % on other kinds), ``--contacts`` contacts and ``--events`` events
   committed in batches of 1,000. The engine's events rounds run over them as the server runs
   them (a real SQLite store, the writer's transactions): for each event, the time to match it
   against every campaign listening for its kind (p50/p99), and events handled per second by
   the whole round (history kept, triggers matched, contacts enrolled and their first steps
   run).
2. **Scheduler.** The enrolments those events made wait an hour; the clock moves past it and
   the due rounds advance them: due steps executed per minute.
3. **Trigger to SMTP.** A real server (the app, its writer, the engine) on the same store and a
   real SMTP server (aiosmtpd) on 127.0.0.1, the per-org rate limit off: ``--latency-events``
   health scores committed one batch at a time; for each, the time from its commit to the SMTP
   server accepting its email (p50/p99); and messages per second into aiosmtpd.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.automation.index import CampaignIndex  # noqa: E402
from server.automation.rounds import Rounds  # noqa: E402
from server.storage import open_storage  # noqa: E402
from shared.protocol.hlc import COUNTER_BITS  # noqa: E402
from shared.protocol.ids import new_id  # noqa: E402

ORG = "Bench Weddings"
HOUR_MS = 3_600_000
SOURCES = [f"source-{i}" for i in range(500)]
CHANNELS = ("wedding_fair", "venue_visit", "instagram", "email", "referral", "paid_search")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def campaign(n: int, rng: random.Random) -> dict:
    """Campaign ``n``: 40 % on leads, 20 % on score bands, 20 % on conversions, 20 % on other
    kinds, each with a condition that picks one value in 500 (a lead's source, an offer code),
    or a region in 200 for the bands: many campaigns listen for a kind, few start on one event."""
    roll = n % 10
    code = {"field": "source", "op": "eq", "value": rng.choice(SOURCES)}
    if roll < 4:
        trigger = {"event": "lead", "conditions": [code]}
    elif roll < 6:
        trigger = {
            "event": "health_score",
            "band": {"enter": ["at_risk", "critical"]},
            "conditions": [{"field": "region", "op": "eq", "value": f"r{rng.randrange(200)}"}],
        }
    elif roll < 8:
        trigger = {
            "event": "conversion",
            "conditions": [code, {"field": "value_cents", "op": "gte", "value": 10_000}],
        }
    else:
        trigger = {
            "event": rng.choice(("touchpoint", "milestone", "invite_accepted")),
            "conditions": [code],
        }
    return {
        "name": f"Campaign {n}",
        "type": "nurture",
        "status": "active",
        "trigger": trigger,
        "holdout_pct": 10,
        "steps": [
            {"id": "s1", "kind": "send_email", "config": {"variant": "auto"}},
            {"id": "w1", "kind": "wait", "config": {"duration_s": 3_600}},
            {"id": "s2", "kind": "send_email", "config": {"variant": "auto"}},
        ],
        "variants": [{"id": "v1", "label": "A", "subject": "Hi {{ first_name }}", "body": "B"}],
    }


def populate(data_dir: Path, args: argparse.Namespace, rng: random.Random) -> dict:
    from server import admin

    admin.create_user(
        data_dir, email="admin@bench.test", password="benchmark-password", role="admin", org=ORG
    )
    storage = open_storage(data_dir)
    org_id = storage.org_id(ORG)
    started = time.perf_counter()
    with storage.transaction():
        for n in range(args.campaigns):
            campaign_id = new_id()
            snapshot = campaign(n, rng)
            storage.save_campaign(
                campaign_id=campaign_id, org_id=org_id, state=b"\x00\x00", snapshot=snapshot,
                at_ms=1,
            )  # fmt: skip
            storage.log_update(
                campaign_id=campaign_id, org_id=org_id, device_id=None, user_id="bench",
                update=b"\x00\x00", meta={}, at_ms=1,
            )  # fmt: skip
    with storage.transaction():
        for i in range(args.contacts):
            storage.merge_contact(
                org_id=org_id,
                email=f"c{i}@bench.test",
                fields={"first_name": f"C{i}", "region": f"r{i % 200}", "role": "supplier"},
                hlc=1,
                device_id="bench",
            )
    storage.close()
    return {"org_id": org_id, "populate_s": round(time.perf_counter() - started, 1)}


def event(rng: random.Random, now_ms: int, contacts: int) -> list:
    kind = rng.choices(
        ("lead", "health_score", "conversion", "touchpoint", "milestone", "open"),
        weights=(30, 20, 10, 20, 10, 10),
    )[0]
    payload = {"source": rng.choice(SOURCES)}
    value = None
    if kind == "health_score":
        payload = {"score": rng.choice((20, 31, 45, 60, 80))}
    elif kind == "conversion":
        value = rng.randrange(10_000, 5_000_000)
    at = now_ms - rng.randrange(0, 3 * 86_400_000)
    return [new_id(), kind, at, at << COUNTER_BITS, f"c{rng.randrange(contacts)}@bench.test", None,
            rng.choice(CHANNELS), value, payload]  # fmt: skip


def triggers_and_scheduler(data_dir: Path, org_id: str, args, rng: random.Random) -> dict:
    storage = open_storage(data_dir)
    now = time.time_ns() // 1_000_000
    with storage.transaction():
        storage.set_automation_meta("event_cursor", f"{storage.last_commit_seq()}:")
    seq = storage.last_commit_seq()
    for start in range(0, args.events, 1_000):
        seq += 1
        batch = [event(rng, now, args.contacts) for _ in range(min(1_000, args.events - start))]
        with storage.transaction():
            storage.insert_events(
                org_id=org_id, device_id="bench", events=batch, priority=1, commit_seq=seq
            )
            storage.record_commit(seq=seq, priority=1, items=len(batch), at_ms=now)
    rounds = Rounds(CampaignIndex())
    started = time.perf_counter()
    with storage.transaction():
        rounds.refresh(storage, org_id, now)  # 10,000 campaigns parsed and indexed once
    index_s = time.perf_counter() - started
    timings: list[float] = []
    handled = enrolled = queued = 0
    started = time.perf_counter()
    while True:
        with storage.transaction():
            done = rounds.events(storage, seq, now)
        timings.extend(t for _, t in done.timings)
        handled += done.read
        enrolled += done.enrolled
        queued += done.queued
        if not done.read:
            break
    events_s = time.perf_counter() - started
    listening = rounds.index.known(org_id).by_kind
    # the scheduler: the clock moves past the hour's wait; every waiting enrolment is due
    later = now + HOUR_MS + 1_000
    advanced = 0
    started = time.perf_counter()
    while True:
        with storage.transaction():
            done = rounds.due(storage, later)
        advanced += done.advanced
        if not done.advanced:
            break
    due_s = time.perf_counter() - started
    storage.close()
    ms = [t * 1000 for t in timings]
    return {
        "campaigns_by_trigger_kind": {k: len(v) for k, v in sorted(listening.items())},
        "looked_up_by_equality": sum(len(v) - len(v.scan) for v in listening.values()),
        "index_build_s": round(index_s, 2),
        "events": handled,
        "triggering_events": len(ms),
        "trigger_match_ms": {
            "p50": round(pct(ms, 0.5), 3),
            "p99": round(pct(ms, 0.99), 3),
            "max": round(max(ms), 3) if ms else None,
        },
        "events_per_s": round(handled / events_s),
        "enrolled": enrolled,
        "sends_queued": queued,
        "scheduler": {
            "due_steps_executed": advanced,
            "seconds": round(due_s, 2),
            "due_steps_per_minute": round(advanced / due_s * 60) if due_s else None,
        },
    }


#: a real SMTP server (aiosmtpd) in a process of its own, as a mail relay is: it prints
#: "<recipient> <wall-clock time of acceptance>" for each message it accepts
SINK = """
import sys, time
from aiosmtpd.controller import Controller

class Sink:
    async def handle_DATA(self, server, session, envelope):
        at = time.time()
        for rcpt in envelope.rcpt_tos:
            print(rcpt, at, flush=True)
        return "250 OK"

controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


class Inbox:
    """Reads the sink's acceptances: recipient -> wall-clock time (only the latency test's)."""

    def __init__(self, process: asyncio.subprocess.Process, expect: int) -> None:
        self.process = process
        self.accepted: dict[str, float] = {}
        self.count = 0
        self.expect = expect

    async def read(self) -> None:
        assert self.process.stdout is not None
        while len(self.accepted) < self.expect:
            line = (await self.process.stdout.readline()).decode().split()
            if not line:
                raise RuntimeError("the SMTP sink stopped")
            self.count += 1
            if line[0].startswith("latency"):
                self.accepted.setdefault(line[0], float(line[1]))


async def trigger_to_smtp(data_dir: Path, org_id: str, args) -> dict:
    from server.app import create_app
    from server.auth import Principal
    from server.automation.secrets import SecretBox, load_secret
    from server.automation.settings import save_smtp
    from server.automation.wiring import AUTOMATION
    from server.config import ServerConfig
    from server.ingest import StoreEvents
    from server.sync_ws import CTX
    from tests.conftest import free_port

    port = free_port()
    sink = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SINK, str(port),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert sink.stdout is not None and (await sink.stdout.readline()).strip() == b"ready"
    inbox = Inbox(sink, args.latency_events)
    # the triggers part queued sends and left enrolments due: clear them, so this part measures
    # its own events through a quiet queue (the 10,000 campaigns still listen)
    conn = sqlite3.connect(data_dir / "server.sqlite")
    with conn:
        conn.execute("UPDATE automation_sends SET status = 'cancelled' WHERE status = 'queued'")
        conn.execute("UPDATE automation_enrolments SET status = 'exited', due_ms = NULL")
    conn.close()
    storage = open_storage(data_dir)
    with storage.transaction():
        save_smtp(
            storage, SecretBox(load_secret(data_dir)), org_id, host="127.0.0.1", port=port,
            security="none", user=None, password=None, from_address="hello@bench.test", at_ms=1,
        )  # fmt: skip
        # one campaign every test event triggers (beside the 10,000 listening already)
        campaign_id = new_id()
        snapshot = campaign(0, random.Random(0))
        snapshot["trigger"] = {
            "event": "health_score",
            "band": {"enter": ["critical"]},
            "conditions": [{"field": "bench", "op": "eq", "value": True}],
        }
        snapshot["holdout_pct"] = 0  # fmt: skip
        storage.save_campaign(
            campaign_id=campaign_id, org_id=org_id, state=b"\x00\x00", snapshot=snapshot, at_ms=2
        )
        storage.log_update(
            campaign_id=campaign_id, org_id=org_id, device_id=None, user_id="bench",
            update=b"\x00\x00", meta={}, at_ms=2,
        )  # fmt: skip
    storage.close()
    app = create_app(ServerConfig(data_dir=data_dir, port=free_port()))
    from aiohttp import web

    runner = web.AppRunner(app)
    await runner.setup()
    engine = app[AUTOMATION]
    engine.mailer.rate_per_s = None  # the per-org limit off
    ctx = app[CTX]
    principal = Principal(user_id="bench", email="b@bench.test", org_id=org_id, role="marketer",
                          device_id="bench-device")  # fmt: skip
    n = args.latency_events
    committed: dict[str, float] = {}
    reading = asyncio.create_task(inbox.read())
    started = time.perf_counter()
    for i in range(n):
        contact = f"latency{i}@bench.test"
        at = time.time_ns() // 1_000_000
        wire = [new_id(), "health_score", at, at << COUNTER_BITS, contact, None, None, None,
                {"score": 20, "bench": True}]  # fmt: skip
        await ctx.writer.submit(1, 1, StoreEvents(principal, 1, [wire]))
        committed[contact] = time.time()
        if i % 25 == 24:
            await asyncio.sleep(0)  # devices' pushes arrive one after the other
    await asyncio.wait_for(reading, 600)
    elapsed = time.perf_counter() - started
    writer = {"commits": ctx.writer.stats.commits, "busy_s": round(ctx.writer.stats.busy_s, 2)}
    await runner.cleanup()
    assert sink.stdin is not None
    sink.stdin.close()
    await sink.wait()
    latency = [(inbox.accepted[c] - t) * 1000 for c, t in committed.items() if c in inbox.accepted]
    first = min(inbox.accepted.values())
    last = max(inbox.accepted.values())
    return {
        "events": n,
        "commit_to_smtp_accepted_ms": {
            "p50": round(pct(latency, 0.5), 1),
            "p99": round(pct(latency, 0.99), 1),
            "max": round(max(latency), 1),
        },
        "messages_into_aiosmtpd_per_s": round((len(inbox.accepted) - 1) / (last - first), 1)
        if last > first
        else None,
        "elapsed_s": round(elapsed, 2),
        "writer": writer,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--latency-events", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="wedsync-bench-automation-") as tmp:
        data_dir = Path(tmp) / "server"
        setup = populate(data_dir, args, rng)
        result = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "campaigns": args.campaigns,
            "contacts": args.contacts,
            **setup,
            "triggers": triggers_and_scheduler(data_dir, setup["org_id"], args, rng),
            "delivery": asyncio.run(trigger_to_smtp(data_dir, setup["org_id"], args)),
        }
    result.pop("org_id")
    print(json.dumps(result, indent=2))
    _ = statistics  # (kept for readers extending the figures)


if __name__ == "__main__":
    main()
