"""PostgreSQL: due automation steps and sends shared by several server processes, each run once;
a process killed mid-step or mid-send gives its claims back."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from server.storage import open_storage
from tests.server.automation.test_store import enrolment, send

CLAIMER = """
import sys
from server.storage import open_storage
store = open_storage(sys.argv[1])
with store.transaction():
    rows = store.due_enrolments(2_000, 3)
    print(",".join(r.id for r in rows), flush=True)
    sys.stdin.readline()  # held until killed: the step is in progress
"""


def due(store, n: int) -> None:
    for i in range(n):
        store.insert_enrolment(enrolment(f"en{i:02d}", due_ms=1_000 + i), at_ms=0)


def test_two_processes_claim_disjoint_due_enrolments(pg_url):
    first, second = open_storage(pg_url), open_storage(pg_url)
    try:
        due(first, 10)
        with first.transaction():
            mine = {r.id for r in first.due_enrolments(2_000, 6)}
            with second.transaction():  # another process, while the first holds its rows
                theirs = {r.id for r in second.due_enrolments(2_000, 10)}
        assert len(mine) == 6 and len(theirs) == 4 and not mine & theirs
    finally:
        first.close()
        second.close()


async def test_a_process_killed_mid_step_releases_its_enrolments(pg_url):
    store = open_storage(pg_url)
    proc = None
    try:
        due(store, 5)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CLAIMER,
            pg_url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        held = set((await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip().split(","))
        assert held == {"en00", "en01", "en02"}
        with store.transaction():
            assert {r.id for r in store.due_enrolments(2_000, 10)} == {"en03", "en04"}
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        # the dead process's transaction is rolled back when its connection closes
        free: set[str] = set()
        for _ in range(100):
            with store.transaction():
                free = {r.id for r in store.due_enrolments(2_000, 10)}
            if held <= free:
                break
            await asyncio.sleep(0.05)  # the server is noticing the closed connection
        assert free == {"en00", "en01", "en02", "en03", "en04"}
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        store.close()


def test_sends_claimed_by_two_processes_are_disjoint_and_a_dead_claim_is_reclaimed(pg_url):
    first, second = open_storage(pg_url), open_storage(pg_url)
    try:
        for i in range(6):
            assert first.insert_send(send(f"en1/s{i}", due_ms=1_000 + i))
        assert not second.insert_send(send("en1/s0"))  # the same key from another process
        with first.transaction():
            a = first.claim_sends("org-1", now_ms=2_000, limit=4, worker="A", lease_ms=1_000)
            with second.transaction():
                b = second.claim_sends("org-1", now_ms=2_000, limit=4, worker="B", lease_ms=1_000)
        assert len(a) == 4 and len(b) == 2 and not {s.id for s in a} & {s.id for s in b}
        # a third process starting takes back no live claim of another (no double send)
        assert second.reclaim_sends(now_ms=2_500, worker="C") == 0
        # A dies holding its claims: after the lease, they go back to the queue for B
        assert second.reclaim_sends(now_ms=2_500) == 0
        assert second.reclaim_sends(now_ms=3_001) == 6
        again = second.claim_sends("org-1", now_ms=3_001, limit=10, worker="B", lease_ms=1_000)
        assert {s.key for s in again} == {f"en1/s{i}" for i in range(6)}
        assert json.dumps(sorted(s.status for s in again)) == json.dumps(["claimed"] * 6)
    finally:
        first.close()
        second.close()
