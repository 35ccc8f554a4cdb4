import asyncio
import threading

from server.commits import Changes, Commit, Outcome
from server.storage import open_storage
from server.writer import PriorityWriter


async def test_queued_jobs_commit_by_class_across_all_submitters(tmp_path):
    storage = open_storage(tmp_path)
    writer = PriorityWriter(storage, max_items=10)
    order: list[int] = []
    gate = threading.Event()

    def job(priority):
        def run(st, seq):
            order.append(priority)
            return priority

        return run

    # Block the writer thread so every job below is queued before the first commit.
    blocker = asyncio.ensure_future(writer.run_exclusive(lambda _storage: gate.wait()))
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


EVENT = [
    "01J0000000000000000000000A",
    "click",
    1_700_000_000_000,
    1,
    "a@x",
    None,
    "sms",
    None,
    None,
]


def _event(n: int) -> list:
    return [f"01J00000000000000000000{n:03d}", *EVENT[1:]]


def _store(org_id, events, *, declare=True):
    def run(st, seq):
        stored, dup = st.insert_events(
            org_id=org_id, device_id="d", events=events, priority=1, commit_seq=seq
        )
        if not declare:
            return stored, dup
        new = tuple(events) if stored == len(events) else None if stored else ()
        return Outcome((stored, dup), Changes(org_id, events=new))

    return run


class Recorder:
    """A commit listener that notes each commit and how many watched jobs were still unacked."""

    def __init__(self):
        self.commits: list[Commit] = []
        self.futures: list[asyncio.Future] = []  # the jobs to watch
        self.unacked_at_commit: list[int] = []

    def committed(self, commit):
        self.commits.append(commit)
        self.unacked_at_commit.append(sum(not f.done() for f in self.futures))


async def test_listeners_get_each_commit_with_its_declared_changes_before_the_acks(tmp_path):
    storage = open_storage(tmp_path)
    writer = PriorityWriter(storage)
    recorder = Recorder()
    writer.add_listener(recorder)
    writer.start()
    try:
        first, second = [_event(1), _event(2)], [_event(2), _event(3)]
        recorder.futures = [asyncio.ensure_future(writer.submit(1, 2, _store("o1", first)))]
        assert await recorder.futures[0] == (2, 0)  # the caller gets the outcome's value
        recorder.futures = [asyncio.ensure_future(writer.submit(1, 2, _store("o1", second)))]
        assert await recorder.futures[0] == (1, 1)
    finally:
        await writer.stop()
        storage.close()
    one, two = recorder.commits
    assert recorder.unacked_at_commit == [1, 1]
    assert one.events_known and one.new_events("o1") == tuple(first)
    assert one.new_events("o2") == ()
    assert two.events_known and two.new_events("o1") is None  # a duplicate: rebuild


async def test_events_stored_without_a_declaration_make_the_commit_unknown(tmp_path):
    storage = open_storage(tmp_path)
    writer = PriorityWriter(storage)
    recorder = Recorder()
    writer.add_listener(recorder)
    writer.start()
    try:
        assert await writer.submit(1, 1, _store("o1", [_event(1)], declare=False)) == (1, 0)
        assert await writer.submit(1, 1, lambda st, seq: st.ensure_org("no events")) is not None
    finally:
        await writer.stop()
        storage.close()
    undeclared, without_events = recorder.commits
    assert not undeclared.events_known and undeclared.new_events("o1") is None
    assert without_events.events_known and without_events.orgs == {}


async def test_a_failing_listener_keeps_neither_the_acks_nor_the_other_listeners_back(
    tmp_path, caplog
):
    storage = open_storage(tmp_path)
    writer = PriorityWriter(storage)

    class Broken:
        def committed(self, commit):
            raise RuntimeError("listener bug")

    recorder = Recorder()
    writer.add_listener(Broken())
    writer.add_listener(recorder)
    writer.start()
    try:
        assert await writer.submit(1, 1, _store("o1", [_event(1)])) == (1, 0)
    finally:
        await writer.stop()
        storage.close()
    assert [c.seq for c in recorder.commits] == [1]
    assert "commit listener" in caplog.text and "listener bug" in caplog.text


async def test_a_failed_jobs_declaration_is_not_part_of_the_commit(tmp_path):
    storage = open_storage(tmp_path)
    writer = PriorityWriter(storage)
    recorder = Recorder()
    writer.add_listener(recorder)
    writer.start()

    def stores_then_fails(st, seq):
        _store("o2", [_event(9)])(st, seq)
        raise ValueError("boom")

    try:
        results = await asyncio.gather(
            writer.submit(1, 1, stores_then_fails),
            writer.submit(1, 1, _store("o1", [_event(1)])),
            return_exceptions=True,
        )
    finally:
        await writer.stop()
        storage.close()
    assert isinstance(results[0], ValueError) and results[1] == (1, 0)
    assert all(c.events_known for c in recorder.commits)
    assert {org for c in recorder.commits for org in c.orgs} == {"o1"}
