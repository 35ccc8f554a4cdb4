"""Sync protocol versions: this server speaks the previous app's version (1) beside its own (2);
an app outside that range is refused with a message that says what to do and how much is
queued, and its queue is kept whole until it can sync."""

from __future__ import annotations

import pytest

from client.sync import VersionMismatch
from shared.protocol import messages as m

from .test_pull_cursor import of_type, record


async def test_the_previous_apps_protocol_syncs_by_cursor_without_an_epoch(server):
    editor = await server.device("editor")
    for i in range(3):
        editor.replica.create_campaign(name=f"Campaign {i}")
    await editor.sync_once()
    old = await server.device("old-app", "marketer2")
    old.protocol_version = m.OLDEST_PROTOCOL_VERSION
    sent, received = record(old)
    old.replica.capture(kind="conversion", contact="ann@example.com", value_cents=120_000)

    report = await old.sync_once()
    (hello,) = of_type(sent, m.MsgType.HELLO)
    (welcome,) = of_type(received, m.MsgType.WELCOME)
    assert hello["v"] == 1 and welcome["v"] == 1  # the conversation is in version 1
    assert report.pushed[0] == 1 and report.pulled == 3
    assert server.stats()["events"]["by_kind"] == {"conversion": 1}

    sent.clear()
    received.clear()
    editor.replica.add_campaign_note(editor.replica.campaigns()[0]["id"], "changed")
    await editor.sync_once()
    report = await old.sync_once()
    pull = of_type(sent, m.MsgType.PULL)[-1]
    assert "k" in pull and "e" not in pull and pull["s"] == {}  # by cursor, no epoch
    assert report.pulled == 1  # only what changed: the cursor was honoured


async def test_the_current_app_sends_its_epoch_with_the_cursor(server):
    device = await server.device("laptop")
    device.replica.create_campaign(name="Fair")
    sent, received = record(device)
    await device.sync_once()
    epoch = of_type(received, m.MsgType.DOCS)[-1]["e"]
    assert epoch == server.ctx.log_epoch.epoch and device.replica.pull_epoch() == epoch
    await device.sync_once()
    pull = of_type(sent, m.MsgType.PULL)[-1]
    assert pull["k"] == device.replica.pull_cursor() and pull["e"] == epoch


@pytest.mark.parametrize(
    ("version", "says"),
    [
        (m.OLDEST_PROTOCOL_VERSION - 1, "Update the app to sync; your 3 queued items are safe"),
        (m.PROTOCOL_VERSION + 1, "The server is older than this app"),
    ],
)
async def test_an_app_the_server_does_not_speak_is_refused_and_keeps_its_queue(
    server, version, says
):
    device = await server.device("laptop")
    campaign, _ = device.replica.create_campaign(name="Kept")
    device.replica.capture(kind="touchpoint", contact="a@example.com", channel="wedding_fair")
    device.replica.capture(kind="lead", contact="b@example.com")
    queued = device.replica.queue_depths()
    assert sum(queued.values()) == 3
    device.protocol_version = version

    for _ in range(2):  # refused again and again: nothing is ever dropped
        with pytest.raises(VersionMismatch) as refused:
            await device.sync_once()
        assert says in refused.value.message
        assert "safe" in refused.value.message
        assert refused.value.theirs == (m.OLDEST_PROTOCOL_VERSION, m.PROTOCOL_VERSION)
        assert device.replica.queue_depths() == queued
    assert server.stats()["events"]["total"] == 0
    assert "safe" in device.replica.status()["last_error"]

    device.protocol_version = m.PROTOCOL_VERSION  # the app is updated
    report = await device.sync_once()
    assert sum(device.replica.queue_depths().values()) == 0
    assert report.pushed[0] == 1 and report.pushed[1] == 2  # lead, and the campaign's update
    assert server.stats()["events"]["total"] == 2
    assert device.replica.campaign(campaign)["name"] == "Kept"


async def test_a_version_1_server_refusal_is_read_from_its_message(server):
    """A server of the previous version names only the version it speaks, in words."""
    from client.sync import _versions_said

    frame = {"msg": "protocol version 2 is not supported; this server speaks 1"}
    assert _versions_said(frame) == (1, 1)
    assert _versions_said({"msg": "x", "vr": [1, 2]}) == (1, 2)
    error = VersionMismatch(ours=2, theirs=(1, 1), queued=1, said=frame["msg"])
    assert error.message.startswith("The server is older than this app")
    assert "your 1 queued item is safe" in error.message
