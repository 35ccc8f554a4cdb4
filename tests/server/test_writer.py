import asyncio

from server.storage import open_storage
from server.writer import PriorityWriter


async def test_queued_jobs_commit_by_class_across_all_submitters(tmp_path):
    storage = open_storage(tmp_path)
    writer = PriorityWriter(storage, max_items=10)
    order: list[int] = []
    gate = asyncio.Event()

    def job(priority):
        def run(st, seq):
            order.append(priority)
            return priority

        return run

    # Block the writer thread so every job below is queued before the first commit.
    blocker = asyncio.get_running_loop().run_in_executor(
        writer._executor, lambda: asyncio.run(_wait(gate))
    )
    writer.start()
    submissions = [writer.submit(p, 5, job(p)) for p in (3, 1, 3, 2, 0, 1, 0, 3, 2, 0)]
    tasks = [asyncio.create_task(s) for s in submissions]
    await asyncio.sleep(0)  # let every submit reach the queue
    gate.set()
    await blocker
    results = await asyncio.gather(*tasks)
    assert results == [3, 1, 3, 2, 0, 1, 0, 3, 2, 0]
    assert order == sorted(order)
    assert writer.stats.commits >= 4  # at most 10 items (two jobs) per commit
    await writer.stop()
    storage.close()


async def _wait(event):
    while not event.is_set():
        await asyncio.sleep(0.001)


async def test_a_failing_job_fails_alone(tmp_path):
    storage = open_storage(tmp_path)
    writer = PriorityWriter(storage)
    writer.start()

    def bad(st, seq):
        st.ensure_org("half-written")
        raise ValueError("boom")

    results = await asyncio.gather(
        writer.submit(0, 1, bad),
        writer.submit(0, 1, lambda st, seq: st.ensure_org("kept")),
        return_exceptions=True,
    )
    assert isinstance(results[0], ValueError)
    assert storage.org_id("kept") is not None and storage.org_id("half-written") is None
    await writer.stop()
    storage.close()


async def test_commits_recorded_by_another_process_are_numbered_after(tmp_path):
    storage = open_storage(tmp_path)
    writer = PriorityWriter(storage)
    writer.start()
    assert await writer.submit(0, 1, lambda st, seq: seq) == 1
    other = open_storage(tmp_path)  # e.g. `wedsync seed-demo` into the running server's data
    with other.transaction():
        other.record_commit(seq=2, priority=0, items=10, at_ms=0)
    other.close()
    assert await writer.submit(0, 1, lambda st, seq: seq) == 3
    assert writer.stats.commits == 2
    await writer.stop()
    storage.close()
