"""A device's content generations reach the server's health monitor: sent at once when online,
kept and sent with the next one when offline, dropped when the server refuses them."""

from __future__ import annotations

from client.monitoring import GenerationReporter
from shared.content.recorder import GenerationRecord
from tests.server.monitoring.conftest import monitored_server, stop_servers  # noqa: F401


def _record(ok: bool = True) -> GenerationRecord:
    return GenerationRecord("offline", "offline" if ok else "none", ok, 420.0)


async def test_generations_are_reported_and_wait_while_offline(tmp_path, stop_servers):  # noqa: F811
    server, monitor = await monitored_server(tmp_path, None)
    stop_servers.append(server)
    org = server.ctx.storage.org_id("Org A")
    laptop = await server.device("laptop")
    reporter = GenerationReporter()

    assert await reporter.report(laptop, _record()) is True
    assert monitor.content.figures(org, 3600).count == 1

    laptop.replica.set_offline(True)
    assert await reporter.report(laptop, _record(ok=False)) is False
    assert len(reporter.pending) == 1 and monitor.content.figures(org, 3600).count == 1
    laptop.replica.set_offline(False)
    assert await reporter.report(laptop, _record()) is True
    figures = monitor.content.figures(org, 3600)
    assert (figures.count, figures.success_rate) == (3, 2 / 3)
    assert reporter.sent == 3 and not reporter.pending

    viewer = await server.device("viewer-laptop", "viewer")
    refused = GenerationReporter()
    assert await refused.report(viewer, _record()) is False
    assert not refused.pending  # the server said no: not kept to be refused again
    assert monitor.content.figures(org, 3600).count == 3
