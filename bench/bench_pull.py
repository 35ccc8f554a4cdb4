"""Pull benchmark: a pull by change cursor beside the state-vector path, 10,000 campaigns.

The server (its own process, `wedsync server`) holds N campaigns, written into its store before
it starts (state and log row, as a device's create would leave them). Two devices have synced all
of them: one pulls by change cursor, the other by state vector (its cursor is forgotten before
each pull). Measured, per pull: (a) nothing changed, (b) a third device changed 10 campaigns.
Each round measures both paths back to back (the VM's speed drifts); the JSON has the medians.

Prints JSON. Run: python bench/bench_pull.py [--campaigns 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from client.credentials import MemoryTokens  # noqa: E402
from client.store import Replica  # noqa: E402
from client.sync import SyncEngine  # noqa: E402
from server import admin  # noqa: E402
from server.storage import open_storage  # noqa: E402
from shared.protocol import campaign as schema  # noqa: E402
from shared.protocol.ids import new_id  # noqa: E402
from tests.conftest import free_port, start_server_process  # noqa: E402

PASSWORD = "benchmark-password"


def seed(data_dir: Path, n: int) -> list[str]:
    storage = open_storage(data_dir)
    ids = []
    try:
        org_id = storage.ensure_org("Bench")
        now = time.time_ns() // 1_000_000
        with storage.transaction():
            for i in range(n):
                doc = schema.new_doc()
                with doc.transaction():
                    schema.set_field(doc, "name", f"Campaign {i}")
                    schema.set_field(doc, "type", "nurture")
                    schema.set_field(doc, "status", "draft")
                state = schema.canonical_state(doc)
                cid = new_id()
                storage.save_campaign(
                    campaign_id=cid,
                    org_id=org_id,
                    state=state,
                    snapshot=schema.snapshot(doc),
                    at_ms=now,
                )
                storage.log_update(
                    campaign_id=cid,
                    org_id=org_id,
                    device_id=None,
                    user_id="bench",
                    update=state,
                    meta={},
                    at_ms=now,
                )
                ids.append(cid)
    finally:
        storage.close()
    return ids


class Counting:
    """A transport that counts the bytes of frames sent and received."""

    def __init__(self, inner, counts: dict[str, int]) -> None:
        self.inner, self.counts = inner, counts

    @property
    def close_code(self):
        return self.inner.close_code

    async def send_bytes(self, data: bytes) -> None:
        self.counts["sent"] += len(data)
        await self.inner.send_bytes(data)

    async def receive(self, timeout_s=None):
        data = await self.inner.receive(timeout_s)
        if isinstance(data, bytes):
            self.counts["received"] += len(data)
        return data

    async def close(self, **kw):
        return await self.inner.close(**kw)


async def device(tmp: Path, name: str, url: str) -> tuple[SyncEngine, dict[str, int]]:
    engine = SyncEngine(Replica(tmp / name), tokens=MemoryTokens(), timeout_s=300)
    await engine.login(url, "bench@x.test", PASSWORD, name)
    counts = {"sent": 0, "received": 0}
    connect = engine.ws_connect

    async def connector(ws_url: str):
        return Counting(await connect(ws_url), counts)

    engine.connector = connector
    return engine, counts


async def timed_pull(engine: SyncEngine, counts: dict[str, int], *, by_cursor: bool) -> dict:
    if not by_cursor:
        await engine.run_db(engine.replica.set_setting, "pull_cursor", None)
    session = await engine.connect()
    try:
        counts.update(sent=0, received=0)
        started = time.perf_counter()
        await engine.pull(session)
        seconds = time.perf_counter() - started
    finally:
        await session.close()
    return {"ms": seconds * 1000, "sent": counts["sent"], "received": counts["received"]}


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


async def bench(n_campaigns: int, n_rounds: int, n_changed: int) -> dict:
    result: dict = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "campaigns": n_campaigns,
        "rounds": n_rounds,
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        data_dir = tmp / "server"
        admin.create_user(
            data_dir, email="bench@x.test", password=PASSWORD, role="marketer", org="Bench"
        )
        started = time.perf_counter()
        ids = seed(data_dir, n_campaigns)
        result["seed_s"] = round(time.perf_counter() - started, 2)
        port = free_port()
        proc = await start_server_process(data_dir, port)
        url = f"http://127.0.0.1:{port}"
        engines = []
        try:
            cursor_dev, cursor_counts = await device(tmp, "cursor", url)
            vector_dev, vector_counts = await device(tmp, "vectors", url)
            editor, _ = await device(tmp, "editor", url)
            engines = [cursor_dev, vector_dev, editor]
            started = time.perf_counter()
            await cursor_dev.sync_once()
            result["first_sync_s"] = round(time.perf_counter() - started, 2)
            await vector_dev.sync_once()
            await editor.sync_once()
            assert len(cursor_dev.replica.campaigns()) == n_campaigns
            rng = random.Random(7)
            runs: dict[str, dict[str, list[dict]]] = {
                "unchanged": {"cursor": [], "vectors": []},
                f"{n_changed}_changed": {"cursor": [], "vectors": []},
            }
            for r in range(n_rounds):
                order = [(True, cursor_dev, cursor_counts), (False, vector_dev, vector_counts)]
                if r % 2:
                    order.reverse()
                for by_cursor, engine, counts in order:  # (a) nothing changed
                    runs["unchanged"]["cursor" if by_cursor else "vectors"].append(
                        await timed_pull(engine, counts, by_cursor=by_cursor)
                    )
                for cid in rng.sample(ids, n_changed):  # (b) another device changed some
                    editor.replica.add_campaign_note(cid, f"round {r}")
                await editor.sync_once()
                for by_cursor, engine, counts in order:
                    pulled = await timed_pull(engine, counts, by_cursor=by_cursor)
                    runs[f"{n_changed}_changed"]["cursor" if by_cursor else "vectors"].append(
                        pulled
                    )
            for case, paths in runs.items():
                out = {}
                for path, rows in paths.items():
                    out[path] = {
                        "pull_ms_median": round(median(rows, "ms"), 2),
                        "pull_ms": [round(x["ms"], 1) for x in rows],
                        "bytes_sent": int(median(rows, "sent")),
                        "bytes_received": int(median(rows, "received")),
                    }
                ratios = [
                    v["ms"] / c["ms"]
                    for c, v in zip(paths["cursor"], paths["vectors"], strict=True)
                ]
                out["time_ratio_vectors_over_cursor_median"] = round(statistics.median(ratios), 1)
                result[case] = out
            result["devices_identical"] = all(
                e.replica.campaign_state(cid) == cursor_dev.replica.campaign_state(cid)
                for cid in ids
                for e in (vector_dev, editor)
            )
        finally:
            for engine in engines:
                await engine.close()
                engine.replica.close()
            proc.terminate()
            await proc.wait()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--changed", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.campaigns, args.rounds, args.changed)), indent=2))


if __name__ == "__main__":
    main()
