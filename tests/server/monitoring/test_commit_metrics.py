"""The monitor's commit metrics count this process's writer only: a commit another server
process made (PostgreSQL, ``Commit.remote``) is in that process's metrics."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from server.commits import Changes, Commit
from server.hub import Hub
from server.monitoring.config import MonitorConfig
from server.monitoring.metrics import Metrics
from server.monitoring.monitor import Monitor
from server.storage import open_storage
from server.writer import PriorityWriter


def _commits_timed(metrics: Metrics) -> float:
    """How many commits the writer's commit-duration histogram has observed."""
    text = generate_latest(metrics.registry).decode()
    for family in text_string_to_metric_families(text):
        if family.name == "wedsync_writer_commit_duration_seconds":
            return sum(s.value for s in family.samples if s.name.endswith("_count"))
    raise AssertionError("no commit duration histogram")


def test_another_processs_commit_is_not_counted_as_this_writers(tmp_path):
    storage = open_storage(tmp_path / "srv")
    metrics = Metrics()
    with ThreadPoolExecutor(1) as executor:
        monitor = Monitor(
            config=MonitorConfig(),
            storage=storage,
            data_dir=tmp_path / "srv",
            writer=PriorityWriter(storage),
            hub=Hub(),
            executor=executor,
            metrics=metrics,
        )
        event = ["01J0000000000000000000000E", "lead", 1, 1, "a@x.test", None, None, None, None]
        monitor.committed(Commit(seq=1, orgs={"o": Changes("o", events=(event, event))}))
        assert _commits_timed(metrics) == 1
        remote = Commit(seq=2, orgs={"o": Changes("o", events=None)}, remote=True)
        monitor.committed(remote)
        assert _commits_timed(metrics) == 1  # timed by the process whose writer made it
    storage.close()
