"""The ROI report after a sync appends the new events to the kept frame; it must equal the report
of a server that reads everything anew (but for the model fits kept within their staleness
bound, which equal the fits of the report they were made for), and writes it was not told about
must be picked up."""

import pytest

from devtools.seed import seed_demo
from server import admin
from server.commits import Changes, Commit
from server.reports import ReportService
from server.storage import open_storage
from server.sync_ws import REPORTS
from shared.analytics.events import FIT_STALE_GROWTH
from tests.conftest import PASSWORD, USERS, start_server


async def stop(server) -> None:
    for engine in server.engines:
        await engine.close()
        engine.replica.close()
    await server.runner.cleanup()


@pytest.fixture(autouse=True)
def no_automation(monkeypatch):
    """These tests count the report service's appends and rebuilds and compare a kept frame
    with a rebuilt one; the automation engine would add its own writes (enrolments for the
    seeded campaigns) at times of its choosing, so these servers run without it."""

    async def without(app, ctx):  # noqa: ANN001 - server.app's hook, not started
        return None

    monkeypatch.setattr("server.app.start_automation", without)


def seeded(tmp_path):
    data_dir = tmp_path / "server"
    for email, role, org in USERS.values():
        admin.create_user(data_dir, email=email, password=PASSWORD, role=role, org=org)
    return seed_demo(data_dir, org="Org A", seed=7, suppliers=10, couples=100, campaigns=3, days=30)


async def test_report_after_a_sync_equals_the_report_of_a_fresh_server(tmp_path):
    summary = seeded(tmp_path)
    server = await start_server(tmp_path)
    try:
        reports = server.app[REPORTS]
        viewer = await server.device("v", "viewer")
        marketer = await server.device("m", "marketer")
        before = await viewer.api("GET", "/api/v1/reports/roi")
        built = dict(reports.stats)  # the health monitor may have built it first; from here on
        # syncs must append, never rebuild
        campaign = before["campaigns"][0]["campaign"]
        early = summary["from"] + 3_600_000  # out of time order: long before the latest events
        r = marketer.replica
        r.capture(
            kind="contact",
            contact="new@x.test",
            occurred_at_ms=early,
            payload={"fields": {"role": "couple"}},
        )
        r.capture(
            kind="invite_sent",
            contact="new@x.test",
            occurred_at_ms=early + 1,
            payload={"invitee": "later@x.test"},
        )
        r.capture(
            kind="touchpoint",
            contact="new@x.test",
            channel="billboard",
            campaign=campaign,
            occurred_at_ms=early + 2,
        )
        r.capture(
            kind="conversion",
            contact="new@x.test",
            value_cents=123_456,
            campaign=campaign,
            occurred_at_ms=early + 3,
            payload={"type": "booking"},
        )
        await marketer.sync_once()
        first = await viewer.api("GET", "/api/v1/reports/roi")
        assert reports.stats == {"rebuilt": built["rebuilt"], "appended": built["appended"] + 1}
        assert first["summary"]["conversions"] == before["summary"]["conversions"] + 1
        # the invitee arrives later; a contact changes role
        r.capture(
            kind="invite_accepted",
            contact="later@x.test",
            occurred_at_ms=early + 10,
            payload={"inviter": "new@x.test"},
        )
        r.capture(
            kind="contact",
            contact="new@x.test",
            occurred_at_ms=early + 11,
            payload={"fields": {"role": "supplier"}},
        )
        await marketer.sync_once()
        second = await viewer.api("GET", "/api/v1/reports/roi")
        assert reports.stats == {"rebuilt": built["rebuilt"], "appended": built["appended"] + 2}
        frame = reports.frame(reports_org(server))
    finally:
        await stop(server)

    server = await start_server(tmp_path)
    try:
        viewer = await server.device("v2", "viewer")
        fresh = await viewer.api("GET", "/api/v1/reports/roi")
        assert server.app[REPORTS].stats["appended"] == 0
        rebuilt = server.app[REPORTS].frame(reports_org(server))
    finally:
        await stop(server)
    # the model fits are kept across the two syncs (6 events: within the staleness bound):
    # they are the fits made for the first report, and say so; the rest equals a fresh build
    assert len(frame) - len(rebuilt) == 0 and 6 <= len(frame) * FIT_STALE_GROWTH
    fitted = (("predictions",), ("insights",), ("ltv", "repeat_purchase"))
    for path in fitted:
        assert part(second, path) == part(before, path), path
    assert second["predictions"]["churn"]["as_of"]["events"] == len(frame) - 6
    assert fresh["predictions"]["churn"]["as_of"]["events"] == len(frame)
    on_fits = "propensity_within_forecast"  # the one check that reads the fits alone

    def check(report: dict) -> dict:
        return next(c for c in report["checks"] if c["name"] == on_fits)

    assert check(second) == check(before)
    for report in (second, fresh):
        for path in fitted:
            *outer, last = path
            del part(report, tuple(outer))[last]
        report["checks"] = [c for c in report["checks"] if c["name"] != on_fits]
    assert second == fresh
    assert frame.contacts == rebuilt.contacts and frame.ids.tolist() == rebuilt.ids.tolist()
    assert frame.other.tolist() == rebuilt.other.tolist()
    assert frame.role.tolist() == rebuilt.role.tolist()


def part(report: dict, path: tuple[str, ...]):
    for key in path:
        report = report[key]
    return report


def reports_org(server) -> str:
    storage = open_storage(server.data_dir)  # a handle of the test's own, on the same file
    try:
        return storage.org_id("Org A")
    finally:
        storage.close()


async def test_a_write_by_another_process_is_picked_up(tmp_path):
    server = await start_server(tmp_path)
    try:
        reports = server.app[REPORTS]
        viewer = await server.device("v", "viewer")
        marketer = await server.device("m", "marketer")
        marketer.replica.capture(kind="conversion", contact="a@x.test", value_cents=500)
        await marketer.sync_once()
        first = await viewer.api("GET", "/api/v1/reports/roi")
        assert first["summary"]["conversions"] == 1
        built = dict(reports.stats)
        # `wedsync seed-demo` into the same data directory: its own connection and commit
        summary = seed_demo(
            server.data_dir, org="Org A", seed=3, suppliers=5, couples=50, campaigns=2, days=20
        )
        after = await viewer.api("GET", "/api/v1/reports/roi")
        assert reports.stats == {"rebuilt": built["rebuilt"] + 1, "appended": built["appended"]}
        assert after["summary"]["conversions"] > 1
        org = reports_org(server)
        assert len(reports.frame(org)) == summary["events"] + 1
    finally:
        await stop(server)


def test_a_commit_with_duplicates_or_unknown_events_rebuilds(tmp_path):
    storage = open_storage(tmp_path)
    service = ReportService(storage.reader())
    org = storage.ensure_org("O")
    event = ["01J0000000000000000000000A", "click", 1000, 1, "a@x", None, "sms", None, None]

    def commit(seq, events, stored) -> Commit:
        with storage.transaction():
            storage.insert_events(
                org_id=org, device_id="d", events=events, priority=2, commit_seq=seq
            )
            storage.record_commit(seq=seq, priority=2, items=len(events), at_ms=0)
        new = tuple(events) if stored == len(events) else None
        return Commit(seq, {org: Changes(org, events=new)})

    try:
        assert len(service.frame(org)) == 0
        service.committed(commit(1, [event], 1))
        assert len(service.frame(org)) == 1 and service.stats["appended"] == 1
        other = [["01J0000000000000000000000B", *event[1:]], event]  # one new, one stored
        service.committed(commit(2, other, 1))
        assert len(service.frame(org)) == 2 and service.stats["rebuilt"] == 2
        # a commit that stored events no job declared
        third = ["01J0000000000000000000000C", *event[1:]]
        c = commit(3, [third], 1)
        service.committed(Commit(c.seq, c.orgs, events_known=False))
        assert len(service.frame(org)) == 3 and service.stats["rebuilt"] == 3
        # a commit without events (a campaign change) keeps the frame
        frame = service.frame(org)
        with storage.transaction():
            storage.record_commit(seq=4, priority=1, items=1, at_ms=0)
        service.committed(Commit(4, {org: Changes(org)}))
        assert service.frame(org) is frame and service.stats["rebuilt"] == 3
        # another org's new events do not touch this org's frame
        fifth = ["01J0000000000000000000000D", *event[1:]]
        with storage.transaction():
            storage.insert_events(
                org_id="other", device_id="d", events=[fifth], priority=2, commit_seq=5
            )
            storage.record_commit(seq=5, priority=2, items=1, at_ms=0)
        service.committed(Commit(5, {"other": Changes("other", events=(fifth,))}))
        assert service.frame(org) is frame and service.stats["rebuilt"] == 3
    finally:
        service.close()
        storage.close()
