"""Live report notices: a push by one device tells the org's other connected devices that the
report changed (and no other org's); bursts are folded, the last change always announced."""

import asyncio
import itertools

from server.commits import CampaignChange, Changes, Commit, Notice
from server.hub import Hub
from server.report_notices import NOTICE_KIND, ReportNotices, report_inputs_changed


def _commit(seq: int, *changes: Changes) -> Commit:
    return Commit(seq, {c.org_id: c for c in changes})


def test_events_and_campaign_changes_are_report_inputs_notices_alone_are_not():
    commit = _commit(
        1,
        Changes("events", events=(["e"],)),
        Changes("unknown", events=None),
        Changes("campaign", campaigns=(CampaignChange("c", b"u", None),)),
        Changes("notice", notices=(Notice("conflict_opened", {}),)),
    )
    assert report_inputs_changed(commit) == ["events", "unknown", "campaign"]


async def test_a_burst_is_one_notice_at_once_and_one_at_the_end_with_the_last_time():
    clock = itertools.count(1_000)
    notices = ReportNotices(Hub(), interval_s=0.2, now_ms=lambda: next(clock))
    heard: list[int] = []
    other: list[int] = []
    notices.subscribe("a", heard.append)
    unsubscribe = notices.subscribe("b", other.append)
    try:
        for seq in range(1, 21):  # twenty commits within the interval
            notices.committed(_commit(seq, Changes("a", events=(["e"],))))
        assert heard == [1_000]  # the first at once
        await asyncio.sleep(0.3)
        assert heard == [1_000, 1_019]  # the rest folded into one, carrying the last commit's
        assert other == []
        notices.committed(_commit(21, Changes("b", events=(["e"],))))
        assert other == [1_020]  # another org has its own interval
        unsubscribe()
        await asyncio.sleep(0.25)
        notices.committed(_commit(22, Changes("b", events=(["e"],))))
        assert other == [1_020] and notices.subscribers("b") == 0
    finally:
        notices.close()


async def test_a_push_reaches_the_orgs_other_connected_device_not_another_orgs(server):
    pusher = await server.device("pusher")
    listener = await server.device("listener", "viewer")
    stranger = await server.device("stranger", "other")
    loop = asyncio.get_running_loop()
    arrived = loop.create_future()
    heard: list[dict] = []
    foreign: list[tuple] = []

    def on_notice(kind: str, body: dict) -> None:
        if kind == NOTICE_KIND:
            heard.append(body)
            if not arrived.done():
                arrived.set_result(body)

    listener.notice_callbacks.append(on_notice)
    stranger.notice_callbacks.append(lambda kind, body: foreign.append((kind, body)))
    own: list[dict] = []  # the pusher is told too: its own report follows its captures
    pusher.notice_callbacks.append(lambda kind, body: kind == NOTICE_KIND and own.append(body))
    sessions = [await listener.connect(), await stranger.connect()]
    try:
        before = server.ctx.now_ms()
        pusher.replica.capture(kind="conversion", value_cents=120_000, channel="email")
        await pusher.sync_once()
        body = await asyncio.wait_for(arrived, 5)
        assert before <= body["as_of_ms"] <= server.ctx.now_ms()
        report = await listener.api("GET", "/api/v1/reports/roi")
        assert report["summary"]["revenue"] == 1_200.0

        # a burst of pushes: fewer notices than pushes, and one after the last push
        pushes = 8
        started = loop.time()
        for i in range(pushes):
            pusher.replica.capture(kind="conversion", value_cents=100 + i, channel="email")
            last_push_started_ms = server.ctx.now_ms()
            await pusher.sync_once()
        last_push_ms = server.ctx.now_ms()
        elapsed = loop.time() - started
        await asyncio.sleep(0.6)
        burst = heard[1:]
        assert 1 <= len(burst) <= elapsed / 0.25 + 2  # at most one per 250 ms (and the first)
        # the last change is announced, with its commit's time
        assert last_push_started_ms <= burst[-1]["as_of_ms"] <= last_push_ms
        assert foreign == []  # another org's device heard nothing
        assert own and own[0]["as_of_ms"] == body["as_of_ms"]  # before the push's ack
    finally:
        for session in sessions:
            await session.close()
