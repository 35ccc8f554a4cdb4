"""Sync against a real server on 127.0.0.1, on each storage backend (SQLite, PostgreSQL)."""

import asyncio

import pytest

from client.sync import OfflineError

pytestmark = pytest.mark.backends


def server_rows(server, sql, args=()):
    return server.rows(sql, args)


def bulk(engine, kind, n):
    replica = engine.replica
    replica.capture_many([replica.make_event(kind=kind, contact=f"c{i}@x.test") for i in range(n)])


@pytest.mark.parametrize("order", ["ab", "ba"])
async def test_offline_edits_of_one_campaign_converge_in_either_order(server, order):
    a = await server.device("a", "marketer")
    b = await server.device("b", "marketer2")
    cid, _ = a.replica.create_campaign(name="Spring open day")
    a.replica.set_campaign_field(cid, "description", "Invite couples to the barn.")
    await a.sync_once()
    await b.sync_once()
    assert b.replica.campaign(cid)["description"] == "Invite couples to the barn."

    a.replica.set_offline(True)
    b.replica.set_offline(True)
    a.replica.set_campaign_field(cid, "quiet_hours", "21:00-08:00")  # different fields
    b.replica.set_campaign_field(cid, "owner", "ben@a.test")
    a.replica.set_campaign_field(cid, "description", "Invite couples to the barn in May.")
    b.replica.set_campaign_field(cid, "description", "Warmly invite couples to the barn.")
    with pytest.raises(OfflineError):
        await a.sync_once()

    first, second = (a, b) if order == "ab" else (b, a)
    for engine in (first, second, first):
        engine.replica.set_offline(False)
        await engine.sync_once()

    snap_a, snap_b = a.replica.campaign(cid), b.replica.campaign(cid)
    server_snap = server_rows(server, "SELECT snapshot FROM campaigns WHERE id = ?", (cid,))[0][0]
    for snap in (snap_a, snap_b):
        snap.pop("updated_at_ms")
    assert snap_a == snap_b
    assert snap_a["quiet_hours"] == "21:00-08:00" and snap_a["owner"] == "ben@a.test"
    # both text edits survive, merged by character
    assert "in May" in snap_a["description"] and "Warmly" in snap_a["description"]
    import json

    assert json.loads(server_snap) == {k: v for k, v in snap_a.items() if k != "id"}


async def test_twenty_thousand_events_sync_exactly_once(server):
    a = await server.device("a")
    bulk(a, "touchpoint", 10_000)
    bulk(a, "open", 6_000)
    bulk(a, "activity_log", 4_000)
    report = await a.sync_once()
    assert report.pushed == {0: 10_000, 1: 6_000, 2: 0, 3: 4_000}
    assert a.replica.queue_depths() == {0: 0, 1: 0, 2: 0, 3: 0}
    assert server.stats()["events"]["total"] == 20_000
    again = await a.sync_once()
    assert sum(again.pushed.values()) == 0 and again.duplicates == 0
    assert server.stats()["events"]["total"] == 20_000


async def test_resending_acked_events_stores_them_once(server):
    a = await server.device("a")
    bulk(a, "conversion", 500)
    # simulate a crash after the server committed but before the client deleted: copy the queue
    saved = a.replica.db.execute(
        "SELECT priority, seq, item_type, item_id, body FROM outbox"
    ).fetchall()
    await a.sync_once()
    with a.replica.transaction():
        a.replica.db.conn.executemany(
            "INSERT INTO outbox (priority, seq, item_type, item_id, body) VALUES (?, ?, ?, ?, ?)",
            saved,
        )
    report = await a.sync_once()
    assert report.pushed[0] == 0 and report.duplicates == 500
    assert server.stats()["events"]["total"] == 500


async def test_class_zero_is_acked_before_the_first_bulk_event_is_sent(server):
    a = await server.device("a")
    bulk(a, "activity_log", 20_000)  # queued first, so it is not order of capture that decides
    bulk(a, "conversion", 2_000)
    log = []
    a.trace.append(lambda step, priority, item_type, n: log.append((step, priority, n)))
    report = await a.sync_once()
    first_bulk_sent = next(i for i, e in enumerate(log) if e[0] == "sent" and e[1] == 3)
    zero_acks = [i for i, e in enumerate(log) if e[0] == "acked" and e[1] == 0]
    assert sum(log[i][2] for i in zero_acks) == 2_000
    assert max(zero_acks) < first_bulk_sent
    assert report.class_done_ms[0] < report.class_done_ms[3]
    # and on the server, every class-0 row was committed before any class-3 row
    (last_zero,), (first_bulk,) = (
        server_rows(server, "SELECT max(commit_seq) FROM events WHERE priority = 0")[0],
        server_rows(server, "SELECT min(commit_seq) FROM events WHERE priority = 3")[0],
    )
    assert last_zero < first_bulk


async def test_twenty_devices_pushing_at_once_commit_class_zero_before_class_one_finishes(server):
    engines = [await server.device(f"d{i}") for i in range(20)]
    for i, engine in enumerate(engines):
        if i % 2:
            bulk(engine, "open", 1_500)  # these devices start with class 1 straight away
        else:
            bulk(engine, "conversion", 300)
            bulk(engine, "open", 500)
    await asyncio.gather(*(e.sync_once() for e in engines))
    stats = server.stats()
    assert stats["events"]["by_class"]["0"] == 3_000
    assert stats["events"]["by_class"]["1"] == 10 * 1_500 + 10 * 500
    (last_zero,) = server_rows(server, "SELECT max(commit_seq) FROM events WHERE priority = 0")[0]
    (last_one,) = server_rows(server, "SELECT max(commit_seq) FROM events WHERE priority = 1")[0]
    assert last_zero < last_one


async def test_campaign_updates_fan_out_live_to_other_devices(server):
    a = await server.device("a")
    b = await server.device("b", "marketer2")
    cid, _ = a.replica.create_campaign(name="Live")
    await a.sync_once()
    await b.sync_once()
    session = await b.connect()  # b stays connected and listens
    try:
        changed = asyncio.get_running_loop().create_future()
        b.replica.subscribe(
            lambda ch: (
                cid in ch.campaigns
                and not changed.done()
                and changed.get_loop().call_soon_threadsafe(changed.set_result, True)
            )
        )
        a.replica.add_campaign_note(cid, "Florist confirmed")
        await a.sync_once()
        await asyncio.wait_for(changed, 5)
        assert [n["text"] for n in b.replica.campaign(cid)["notes"]] == ["Florist confirmed"]
    finally:
        await session.close()


async def test_viewer_captures_are_refused_and_kept_aside(server):
    v = await server.device("v", "viewer")
    bulk(v, "lead", 3)
    report = await v.sync_once()
    assert report.rejected == 3 and sum(report.pushed.values()) == 0
    assert v.replica.status()["rejected"] == 3
    assert server.stats()["events"]["total"] == 0
    audit = server_rows(server, "SELECT action, outcome FROM audit")
    assert ("capture", "refused:forbidden") in audit


async def test_a_slow_device_clock_catches_up_with_the_server_at_connect(server):
    """Contacts merge on hybrid-clock stamps: a laptop whose clock runs an hour slow stamps its
    edits after connecting no earlier than the server's time, so they do not lose to older ones."""
    import time

    from shared.protocol.hlc import HybridClock, wall_ms_of

    a = await server.device("a")
    hour = 3_600_000
    slow = lambda: time.time_ns() // 1_000_000 - hour  # noqa: E731
    a.replica.clock = HybridClock(0, now_ms=slow)  # a new laptop: nothing stamped yet
    before = time.time_ns() // 1_000_000
    await a.sync_once()
    stamp = a.replica.upsert_contact("x@x.test", {"name": "X"}).events[0].hlc
    assert wall_ms_of(stamp) >= before - 1_000
    assert int(a.replica.get_setting("hlc")) >= stamp  # kept across restarts


def test_a_server_clock_far_ahead_is_not_taken_in():
    from shared.protocol.hlc import HybridClock, pack, wall_ms_of

    now = 1_800_000_000_000
    clock = HybridClock(pack(now - 5, 0), now_ms=lambda: now)
    assert not clock.observe_time(now + 2 * 86_400_000, max_lead_ms=86_400_000)
    assert wall_ms_of(clock.now()) == now
    assert clock.observe_time(now + 60_000, max_lead_ms=86_400_000)
    assert wall_ms_of(clock.now()) == now + 60_000
