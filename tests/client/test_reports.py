"""The dashboard's data without Qt: periods, the server's report kept per period and shown
offline with its as-of time and the local captures it cannot count yet, the KPI tiles against
the report JSON and their status bands, advice by name, CSV; and `wedsync report roi
--profile` offline instead of `cannot reach`."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime

import pytest

from client import dashboard
from client.reports import DAY_MS, NoSnapshot, fetch_snapshot, pending_of, period
from client.store import LocalEvent, report_snapshot
from devtools.seed import seed_demo
from tests.conftest import PASSWORD, USERS, free_port
from wedsync.cli import main

NOW = int(datetime(2026, 5, 14, 10, 30, 15, tzinfo=UTC).timestamp() * 1000)


def _ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


# ---------------------------------------------------------------------- periods


def test_periods_are_whole_windows_and_trends_compare_with_the_same_length_before():
    quarter = period("this_quarter", now_ms=NOW)
    assert quarter.from_ms == _ms(2026, 4, 1)
    assert quarter.to_ms == _ms(2026, 5, 14, 10, 31)  # the next whole minute
    before = quarter.previous()
    assert before.to_ms == quarter.from_ms
    assert before.to_ms - before.from_ms == quarter.to_ms - quarter.from_ms
    last30 = period("last_30_days", now_ms=NOW)
    assert last30.to_ms - last30.from_ms == 30 * DAY_MS and last30.key == "last_30_days"
    assert period("last_90_days", now_ms=NOW).from_ms == last30.to_ms - 90 * DAY_MS
    # a custom range covers its first and last day whole, given in either order
    custom = period("custom", from_ms=_ms(2026, 3, 9, 17), to_ms=_ms(2026, 3, 2, 8))
    assert (custom.from_ms, custom.to_ms) == (_ms(2026, 3, 2), _ms(2026, 3, 10))
    assert custom.key == f"custom:{_ms(2026, 3, 2)}:{_ms(2026, 3, 10)}"
    assert custom.label == "2 Mar 2026 – 9 Mar 2026"
    assert period("all").query() == "" and period("all").previous() is None
    with pytest.raises(ValueError):
        period("last_week")


# ---------------------------------------------------------------------- tiles


def _report(**summary) -> dict:
    base = {
        "total_roi_pct": 450.0,
        "attributed_revenue": 12_000.0,
        "conversion_rate": 0.45,
        "viral_coefficient": 1.3,
        "cac": 40.0,
        "nps": 55.0,
    }
    base.update(summary)
    segments = {
        "couples": {"ltv": 1200.0, "ltv_to_cac": 30.0, "new_customers": 50},
        "suppliers": {"ltv": 900.0, "ltv_to_cac": 2.0, "new_customers": 5},
    }
    return {"summary": base, "ltv": {"segments": segments}}


@pytest.mark.parametrize(
    ("key", "field", "value", "status"),
    [
        ("roi", "total_roi_pct", 300.01, "healthy"),
        ("roi", "total_roi_pct", 300.0, "warning"),  # the brief: above 300 %
        ("roi", "total_roi_pct", 0.0, "warning"),  # break-even
        ("roi", "total_roi_pct", -0.1, "critical"),  # at a loss
        ("conversion_rate", "conversion_rate", 0.41, "healthy"),
        ("conversion_rate", "conversion_rate", 0.40, "warning"),
        ("conversion_rate", "conversion_rate", 0.30, "warning"),
        ("conversion_rate", "conversion_rate", 0.29, "critical"),
        ("viral_k", "viral_coefficient", 1.2, "healthy"),  # healthy at 1.2 or more
        ("viral_k", "viral_coefficient", 1.19, "warning"),
        ("viral_k", "viral_coefficient", 1.0, "warning"),  # warning from 1.0
        ("viral_k", "viral_coefficient", 0.99, "critical"),
        ("viral_k", "viral_coefficient", None, "unknown"),
        ("nps", "nps", 50.0, "healthy"),
        ("nps", "nps", -1.0, "critical"),
        ("cac", "cac", 40.0, "no_target"),
    ],
)
def test_a_tiles_status_follows_its_thresholds(key, field, value, status):
    tile = {k.key: k for k in dashboard.kpis(_report(**{field: value}))}[key]
    assert tile.status == status


def test_tiles_read_the_report_and_trend_against_the_period_before():
    now, before = _report(cac=40.0, total_roi_pct=450.0), _report(cac=50.0, total_roi_pct=400.0)
    tiles = {k.key: k for k in dashboard.kpis(now, before, "the 30 days before")}
    assert tiles["roi"].value == 450.0 and tiles["roi"].text == "450 %"
    assert tiles["roi"].trend.text == "↑ 50 pts vs the 30 days before"
    assert tiles["roi"].trend.improving is True
    # CAC fell: lower is better
    assert tiles["cac"].trend.direction == "down" and tiles["cac"].trend.improving is True
    assert tiles["cac"].trend.text == "↓ 20 % vs the 30 days before"
    assert tiles["viral_k"].trend.direction == "flat"
    # LTV is the segment with the most new customers; LTV:CAC is graded on the weaker one
    assert tiles["ltv"].value == 1200.0 and "Suppliers £900.00" in tiles["ltv"].note
    assert tiles["ltv_to_cac"].value == 30.0 and tiles["ltv_to_cac"].status == "warning"
    assert dashboard.kpis(now)[0].trend is None  # nothing to compare with


# ---------------------------------------------------------------------- pending


def test_pending_captures_are_counted_in_words():
    day = _ms(2026, 5, 14)
    events = [  # kind, day, campaign, channel, count, value, queued
        LocalEvent("conversion", day, "c1", "wedding_fair", 1, 250_000, 1),
        LocalEvent("conversion", day, None, None, 1, 200_000, 1),
        LocalEvent("conversion", day, "c1", None, 1, 0, 0),
        LocalEvent("lead", day, None, "wedding_fair", 1, 0, 1),
        LocalEvent("touchpoint", day, None, "email", 2, 0, 2),
    ]
    pending = pending_of(events)
    assert (pending.events, pending.queued, pending.conversions) == (6, 5, 3)
    assert pending.revenue == 4500.0
    assert pending.by_day == {day: {"conversions": 3, "revenue": 4500.0}}
    assert pending.by_campaign == {"c1": {"conversions": 2, "revenue": 2500.0}}
    assert pending.by_channel == {"wedding_fair": 2, "email": 2}
    assert dashboard.pending_text(pending) == (
        "+3 conversions, £4,500.00 pending sync · 2 touches, 1 lead"
    )
    assert dashboard.pending_text(pending_of(events[3:4])) == "+1 lead pending sync"
    assert dashboard.pending_text(pending_of([])) == ""


# ---------------------------------------------------------------------- against a real server


def _seed(server) -> None:  # noqa: ANN001
    seed_demo(server.data_dir, org="Org A", seed=5, suppliers=25, couples=120, campaigns=4, days=75)


async def test_the_report_is_kept_and_shown_offline_with_its_as_of_and_pending_captures(server):
    _seed(server)
    laptop = await server.device("laptop")
    chosen = period("last_90_days")
    live = await fetch_snapshot(laptop, chosen)
    direct = await laptop.api("GET", f"/api/v1/reports/roi?{chosen.query()}")
    assert live.live and live.offline_reason is None
    assert live.report["summary"] == direct["summary"]
    assert live.previous["window"]["to_ms"] == chosen.from_ms  # the period before, for trends
    series = live.report["series"]["buckets"]
    assert sum(b["conversions"] for b in series) == live.report["summary"]["conversions"]
    tiles = {k.key: k for k in dashboard.kpis(live.report, live.previous)}
    assert tiles["roi"].value == direct["summary"]["total_roi_pct"]
    assert tiles["viral_k"].value == direct["summary"]["viral_coefficient"]
    assert tiles["attributed_revenue"].value == direct["summary"]["attributed_revenue"]
    kept = await laptop.run_db(report_snapshot, laptop.replica, "last_90_days")
    assert kept.report == live.report and kept.as_of_ms == live.as_of_ms
    assert live.pending.events == 0

    # at the venue, offline: three bookings and a lead captured here
    laptop.replica.set_offline(True)
    for value in (250_000, 150_000, 50_000):
        laptop.replica.capture(
            kind="conversion", contact="ella@example.com", value_cents=value, channel="venue_visit"
        )
    laptop.replica.capture(kind="lead", contact="sam@example.com", channel="wedding_fair")
    offline = await fetch_snapshot(laptop, period("last_90_days"))
    assert not offline.live and offline.offline_reason == "this profile works offline"
    assert offline.report == live.report and offline.as_of_ms == live.as_of_ms
    assert (offline.pending.conversions, offline.pending.revenue) == (3, 4500.0)
    assert dashboard.pending_text(offline.pending) == (
        "+3 conversions, £4,500.00 pending sync · 1 lead"
    )
    rows = dashboard.channel_rows(offline.report, offline.pending.by_channel)
    assert {r["channel"]: r["pending"] for r in rows if r["pending"]} == {
        "venue_visit": 3,
        "wedding_fair": 1,
    }
    # a period never fetched here has nothing to show offline
    with pytest.raises(NoSnapshot, match="no report for last 30 days on this computer yet"):
        await fetch_snapshot(laptop, period("last_30_days"))

    # back online, the captures sync: the next report counts them, nothing is pending
    laptop.replica.set_offline(False)
    await laptop.sync_once()
    synced = await fetch_snapshot(laptop, period("last_90_days"))
    assert synced.live and synced.pending.events == 0
    gained = synced.report["summary"]["conversions"] - live.report["summary"]["conversions"]
    assert gained == 3


async def test_an_older_answer_never_replaces_a_newer_snapshot(server):
    laptop = await server.device("laptop")
    from client.store import save_report_snapshot

    replica = laptop.replica
    args = {"from_ms": 0, "to_ms": 10, "previous": None}
    assert save_report_snapshot(replica, "all", report={"n": 2}, as_of_ms=200, **args)
    assert not save_report_snapshot(replica, "all", report={"n": 1}, as_of_ms=100, **args)
    assert report_snapshot(replica, "all").report == {"n": 2}
    for i in range(12):  # custom ranges: only the most recent few are kept
        save_report_snapshot(
            replica, f"custom:{i}:{i + 1}", report={}, as_of_ms=i, fetched_at_ms=i, **args
        )
    assert report_snapshot(replica, "custom:0:1") is None
    assert report_snapshot(replica, "custom:11:12") is not None


def test_tables_and_csv_carry_the_reports_numbers_and_names(tmp_path):
    seed_demo(tmp_path, org="Demo", seed=2, suppliers=20, couples=80, campaigns=4, days=60)
    from server.admin import report_roi

    report = report_roi(tmp_path, org="Demo", from_ms=None, to_ms=None)
    names = dashboard.campaign_names(report)
    rows = list(csv.DictReader(io.StringIO(dashboard.campaigns_csv(report))))
    assert len(rows) == len(report["campaigns"])
    by_name = {c["name"]: c for c in report["campaigns"]}
    for row in rows:
        source = by_name[row["Campaign"]]
        assert float(row["Revenue (£)"]) == source["revenue"]
        assert int(row["Sends"]) == source["sends"]
        assert row["ROI tier"] == dashboard.TIER_NAMES[source["tier"]]
    tiers = [dashboard.TIERS.index(by_name[r["Campaign"]]["tier"]) for r in rows]
    assert tiers == sorted(tiers)  # excellent first
    channels = list(csv.DictReader(io.StringIO(dashboard.channels_csv(report))))
    model = report["attribution"]["roi_model"]
    assert {r["Channel"] for r in channels} == {
        dashboard.channel_name(c["channel"]) for c in report["channels"]
    }
    total = sum(float(r["Attributed revenue (£)"]) for r in channels)
    assert total == pytest.approx(sum(c[model]["revenue"] for c in report["channels"]))
    kpis = list(csv.DictReader(io.StringIO(dashboard.kpis_csv(dashboard.kpis(report)))))
    assert [r["KPI"] for r in kpis][:2] == ["Marketing ROI", "Attributed revenue"]
    # advice names campaigns and channels, never a raw id
    advice = dashboard.recommendations(report, names) + dashboard.insights(report, names)
    assert advice
    ids = {c["campaign"] for c in report["campaigns"]}
    for item in advice:
        assert not any(cid in item.text or cid in item.about for cid in ids), item
    text = dashboard.advice_csv(advice)
    assert all(a.text in text for a in advice)


# ---------------------------------------------------------------------- the CLI


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


async def test_cli_report_roi_with_a_profile_works_offline(server, capsys):
    _seed(server)
    profile = server.tmp / "profiles" / "cli"
    code, _, err = await asyncio.to_thread(
        cli, capsys, "client", "--profile", str(profile), "login", "--server", server.url,
        "--email", USERS["marketer"][0], "--password", PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    args = ("report", "roi", "--profile", str(profile), "--period", "last_30_days", "--json")
    code, out, err = await asyncio.to_thread(cli, capsys, *args)
    assert code == 0, err
    live = json.loads(out)
    assert live["snapshot"]["live"] is True and live["summary"]["conversions"] > 0

    # the server goes out of reach; a booking is captured here meanwhile
    from client.store import Replica

    replica = Replica(profile)
    replica.set_setting("server_url", f"http://127.0.0.1:{free_port()}")
    replica.capture(kind="conversion", contact="ella@example.com", value_cents=450_000)
    replica.close()
    code, out, err = await asyncio.to_thread(cli, capsys, *args)
    assert code == 0, err
    offline = json.loads(out)
    assert offline["snapshot"]["live"] is False
    assert offline["snapshot"]["offline_reason"].startswith("the server cannot be reached")
    assert offline["summary"] == live["summary"]
    assert offline["snapshot"]["as_of_ms"] == live["snapshot"]["as_of_ms"]
    assert offline["snapshot"]["pending"]["conversions"] == 1
    assert offline["snapshot"]["pending"]["revenue"] == 4500.0

    code, out, err = await asyncio.to_thread(cli, capsys, *args[:-1])  # for people
    assert code == 0, err
    assert "OFFLINE: The server cannot be reached" in out
    assert "These are the last figures this computer received" in out
    assert "+1 conversion, £4,500.00 pending sync" in out
    # never fetched for this window: a clear error, not a traceback
    code, _, err = await asyncio.to_thread(
        cli, capsys, "report", "roi", "--profile", str(profile), "--period", "this_quarter"
    )
    assert code == 1 and "no_snapshot" in err and "no report for this quarter" in err
