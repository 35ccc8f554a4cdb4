"""Spend entries end to end: recorded on a laptop offline (``wedsync client spend add``) or by
the operator on the server's store (``wedsync admin spend add``), synced exactly once, priced
in the report's cost ledger and its channel ROI; an older server, whose WELCOME lists no later
kinds, never receives one (the rest of the queue syncs; the spend waits); bad input is refused
with its code and nothing is written."""

from __future__ import annotations

import msgpack
import pytest

from client.human import sync_line
from client.store import Replica, outbox
from server.spend import BadSpend, add_spend
from shared.protocol import messages as m
from shared.protocol.kinds import MARKETING
from wedsync.cli import main

MAY_1 = 1_777_593_600_000  # 2026-05-01T00:00:00Z
JUNE_1 = MAY_1 + 31 * 86_400_000
WINDOW = f"/api/v1/reports/roi?from={MAY_1}&to={JUNE_1}"


def spend_rows(server) -> list[tuple]:
    return server.rows("SELECT id, channel, value_cents FROM events WHERE kind = 'spend'")


def record(profile, *extra: str) -> int:
    return main(
        [
            "client",
            "--profile",
            str(profile),
            "spend",
            "add",
            "--channel",
            "wedding_fair",
            "--amount",
            "1200",
            "--from",
            "2026-05-01",
            "--to",
            "2026-05-31",
            *extra,
        ]
    )


def fair_journey(replica) -> None:
    """A couple met at the fair who booked: a touch and an acquisition conversion in May."""
    replica.capture(
        kind="touchpoint",
        contact="ann@example.com",
        channel="wedding_fair",
        occurred_at_ms=MAY_1 + 9 * 86_400_000,
    )
    replica.capture(
        kind="conversion",
        contact="ann@example.com",
        value_cents=480_000,
        occurred_at_ms=MAY_1 + 19 * 86_400_000,
        payload={"conversion_type": "new_booking"},
    )


async def test_a_spend_recorded_offline_syncs_once_and_prices_its_channel(server, capsys):
    laptop = await server.device("laptop")
    profile = server.tmp / "profiles" / "laptop"
    laptop.replica.set_offline(True)
    assert record(profile, "--note", "Harrogate fair stand") == 0
    assert "Recorded £1,200.00 on wedding_fair" in capsys.readouterr().out
    fair_journey(laptop.replica)
    assert laptop.replica.queue_depths()[MARKETING] == 1  # the spend waits, offline
    laptop.replica.set_offline(False)

    report = await laptop.sync_once()
    assert report.pushed[MARKETING] == 1 and report.rejected == 0
    (row,) = spend_rows(server)
    assert row[1:] == ("wedding_fair", 120_000)
    assert sum(laptop.replica.queue_depths().values()) == 0

    # the ack was lost and the laptop sends it again: stored once
    packed = msgpack.packb(
        [row[0], "spend", MAY_1, 1, None, None, "wedding_fair", 120_000, {"days": 31}]
    )
    with laptop.replica.transaction():
        seq = outbox.reserve_seqs(laptop.replica.db, 1)
        outbox.enqueue_events(laptop.replica.db, [(MARKETING, seq, row[0], packed, "event:spend")])
    again = await laptop.sync_once()
    assert again.duplicates == 1 and again.pushed[MARKETING] == 0
    assert len(spend_rows(server)) == 1

    assert main(["client", "--profile", str(profile), "spend", "list", "--json"]) == 0
    assert '"synced": true' in capsys.readouterr().out

    viewer = await server.device("boss", "viewer")
    roi = await viewer.api("GET", WINDOW)
    (entry,) = roi["costs"]["spend_entries"]
    assert entry["channel"] == "wedding_fair" and entry["amount"] == entry["in_window"] == 1200.0
    assert entry["to_ms"] - entry["from_ms"] == 31 * 86_400_000
    assert roi["costs"]["by_item"]["spend"] == 1200.0
    assert roi["summary"]["marketing_cost"] >= 1200.0
    fair = next(c for c in roi["channels"] if c["channel"] == "wedding_fair")
    assert fair["cost"] == 1200.0 and fair["priced"]
    credited = fair[roi["attribution"]["roi_model"]]["revenue"]
    assert credited == 4800.0  # the fair was the only touch
    assert fair["roi_ratio"] == pytest.approx(credited / 1200.0)
    assert "wedding_fair" not in roi["costs"]["unpriced_channels"]


class _OlderServer:
    """The server as a version that does not know later kinds: its WELCOME has no ``ek``."""

    def __init__(self, ws) -> None:
        self.ws = ws

    @property
    def close_code(self):
        return self.ws.close_code

    async def send_bytes(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def receive(self, timeout_s: float | None = None):
        data = await self.ws.receive(timeout_s)
        if isinstance(data, bytes):
            frame = msgpack.unpackb(data, raw=False)
            if isinstance(frame, dict) and frame.get("t") == m.MsgType.WELCOME:
                frame.pop("ek", None)
                data = msgpack.packb(frame, use_bin_type=True)
        return data

    async def close(self, **kw) -> bool:
        return await self.ws.close(**kw)


async def test_an_older_server_is_never_sent_a_spend_and_the_rest_syncs(server, capsys):
    laptop = await server.device("laptop")
    profile = server.tmp / "profiles" / "laptop"
    assert record(profile) == 0
    fair_journey(laptop.replica)
    laptop.replica.capture(kind="lead", contact="bob@example.com", channel="instagram")

    async def older(url):
        return _OlderServer(await laptop.ws_connect(url))

    laptop.connector = older
    report = await laptop.sync_once()
    assert report.rejected == 0 and report.pushed[0] == 2 and report.pushed[MARKETING] == 1
    assert report.held == 1
    assert "1 kept queued until the server is upgraded" in sync_line(report.to_dict())
    assert spend_rows(server) == []  # the lead went, the spend waits
    assert laptop.replica.queue_depths()[MARKETING] == 1 and laptop.replica.rejected_count() == 0

    laptop.connector = laptop.ws_connect  # the server is upgraded
    report = await laptop.sync_once()
    assert report.pushed[MARKETING] == 1 and len(spend_rows(server)) == 1 and report.held == 0
    assert sum(laptop.replica.queue_depths().values()) == 0


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (["--amount", "0"], "bad_amount"),
        (["--amount", "12.345"], "bad_amount"),
        (["--channel", "Wedding Fair"], "bad_channel"),
        (["--from", "2026-06-01"], "bad_period"),
        (["--to", "2026-13-01"], "bad_date"),
        (["--from", "2099-01-01", "--to", "2099-01-02"], "bad_date"),
    ],
)
def test_the_laptop_refuses_bad_spend_with_its_code_and_queues_nothing(
    tmp_path, capsys, extra, code
):
    profile = tmp_path / "laptop"
    assert record(profile, *extra) == 1
    err = capsys.readouterr().err
    assert f"[{code}]" in err and len(err.strip().splitlines()) == 1
    replica = Replica(profile)
    try:
        assert sum(replica.queue_depths().values()) == 0 and replica.event_count() == 0
    finally:
        replica.close()


async def test_the_operator_records_spend_on_the_running_servers_store(server, capsys):
    entry = add_spend(
        server.store,
        org="Org A",
        channel="paid_search",
        amount="900.50",
        from_day="2026-05-01",
        to_day="2026-05-10",
        note="May search",
    )
    assert entry["stored"] and entry["days"] == 10 and entry["amount_cents"] == 90_050
    viewer = await server.device("boss", "viewer")
    roi = await viewer.api("GET", WINDOW)
    assert [e["channel"] for e in roi["costs"]["spend_entries"]] == ["paid_search"]
    assert roi["costs"]["by_item"]["spend"] == 900.5
    other = await server.device("them", "other")  # another org's report has none of it
    assert (await other.api("GET", WINDOW))["costs"]["spend_entries"] == []

    with pytest.raises(BadSpend) as refused:
        add_spend(
            server.store,
            org="Org A",
            channel="paid_search",
            amount="-1",
            from_day="2026-05-01",
            to_day="2026-05-10",
        )
    assert refused.value.code == "bad_amount"
    store = ["admin", "--data-dir", str(server.data_dir)]
    period = ["--from", "2026-05-10", "--to", "2026-05-01"]
    args = [*store, "spend", "add", "--org", "Org A", "--channel", "x", "--amount", "5", *period]
    assert main(args) == 1
    assert "[bad_period]" in capsys.readouterr().err
    assert len(spend_rows(server)) == 1  # nothing half-written
