"""Render each main view of the desktop app with demo data to docs/screenshots/*.png.

Runs offscreen: a local server, two demo users, a profile with campaigns, captures and syncs.
The conflict on the Conflicts page is a real one: Anna and Ben change the budget of the same
campaign without seeing each other's edit and the server flags it.

    python scripts/screenshots.py [--out docs/screenshots] [--dark] [--size 960x600]
                                  [--views builder ...]

Files are named ``VIEW[-WxH][-dark].png``: the default size (the app's, 1280×800) has no size in
its name; ``--size 960x600`` renders the window at its minimum size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from aiohttp import web  # noqa: E402
from PySide6.QtCore import QPoint  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from client.credentials import MemoryTokens  # noqa: E402
from client.store import Replica  # noqa: E402
from client.sync import SyncEngine  # noqa: E402
from client.ui import campaign_edits as edits  # noqa: E402
from client.ui.app import application, new_event_loop  # noqa: E402
from client.ui.main_window import MainWindow  # noqa: E402
from devtools.demo_campaigns import PLANS  # noqa: E402
from shared.protocol import campaign as schema  # noqa: E402

PASSWORD = "wedsync-demo"
COUPLES = ("ella.james", "priya.sam", "noah.lily", "mia.oscar", "zoe.adam", "ava.leo", "isla.max")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(replica: Replica) -> str:
    spring, _ = replica.create_campaign(
        name="Spring open day",
        campaign_type="nurture",
        owner="anna@demo.wedsync",
        fields={
            "budget_cents": 150_000,
            # no quiet hours: the Results story's emails go out whatever hour this runs at
            "description": "Invite couples who met us at the fair to the barn open day.",
        },
    )

    def flow(doc):  # noqa: ANN001, ANN202
        edits.add_variant(
            doc,
            subject="Come and see the barn in bloom",
            body="Dear {{ first_name }},\n\nOur spring open day is on 12 April: the barn, the "
            "meadow and the kitchen garden, with tastings from 11 until 4.\n\n"
            "Book a time: https://hollowbarn.example/open-day\n\nSee you there,\nHollow Barn",
        )
        edits.add_variant(doc, subject="Your date, our meadow: 12 April")
        first = edits.add_step(doc, "send_email")
        edits.set_step_config(doc, first, {"variant": "auto"})  # a live test of A and B
        wait = edits.add_step(doc, "wait", after=first)
        branch = edits.add_step(doc, "branch", after=wait)
        reminder = edits.add_step(doc, "send_email", after=branch)
        goal = edits.add_step(doc, "goal", after=reminder)
        edits.connect(doc, branch, goal)
        return [
            schema.set_field(
                doc,
                "trigger",
                {
                    "event": "touchpoint",
                    "conditions": [{"field": "channel", "op": "is", "value": "wedding_fair"}],
                },
            ),
            schema.set_field(
                doc,
                "audience_segment",
                {
                    "match": "all",
                    "rules": [
                        {"field": "wedding_date_days", "op": "at least", "value": "90"},
                        {"field": "venue", "op": "is not", "value": "booked"},
                    ],
                },
            ),
            schema.set_field(doc, "frequency_cap", {"max_sends": 2, "per_days": 7}),
            schema.set_field(doc, "status", "active"),
        ]

    replica.edit_campaign(spring, flow)
    for name, kind, status in (
        ("Refer a couple", "viral_referral", "active"),
        ("Winter win-back", "win_back", "paused"),
        ("Super-connector thank you", "super_connector", "scheduled"),
        ("At-risk suppliers", "churn_prevention", "draft"),
        ("First anniversary", "milestone", "draft"),
    ):
        cid, _ = replica.create_campaign(name=name, campaign_type=kind)
        if status != "draft":
            replica.edit_campaign(cid, lambda d, k=kind, s=status: _ready(d, k, s))
    return spring


def _ready(doc, kind: str, status: str) -> list:  # noqa: ANN001
    """What the campaign rules ask of a campaign that runs: its type's trigger and audience,
    an email with content, and a start date when scheduled (``devtools.demo_campaigns``)."""
    plan = PLANS[kind]
    subject, body = plan.variants[0]
    variant = edits.add_variant(doc, subject=subject, body=body)
    first = edits.add_step(doc, "send_email")
    edits.set_step_config(doc, first, {"variant": variant})
    edits.add_step(doc, "wait", after=first)
    guarded = [
        schema.set_field(doc, "trigger", plan.trigger),
        schema.set_field(doc, "audience_segment", plan.audience),
        schema.set_field(doc, "budget_cents", random.randrange(20, 200) * 1000),
    ]
    if status == "scheduled":
        guarded.append(schema.set_field(doc, "schedule_start", "2031-05-01"))
    guarded.append(schema.set_field(doc, "status", "active" if status == "paused" else status))
    if status == "paused":
        guarded.append(schema.set_field(doc, "status", "paused"))
    return guarded


def capture(replica: Replica, n: int) -> None:
    rng = random.Random(4)
    now = int(time.time() * 1000)
    kinds = ("lead", "touchpoint", "conversion", "invite_sent", "milestone", "health_score")
    for i in range(n):
        kind = kinds[i % len(kinds)]
        fields = {
            "kind": kind,
            "contact": f"{rng.choice(COUPLES)}@example.com",
            "occurred_at_ms": now - (n - i) * 97_000,
        }
        if kind in ("lead", "touchpoint"):
            fields["channel"] = rng.choice(("wedding_fair", "venue_visit", "instagram"))
        if kind == "conversion":
            fields["value_cents"] = rng.randrange(80, 600) * 1000
        if kind == "invite_sent":
            fields["payload"] = {"invitee": f"{rng.choice(COUPLES)}.friend@example.com"}
        if kind == "milestone":
            fields["payload"] = {"milestone": "booked"}
        if kind == "health_score":
            fields["payload"] = {"score": rng.randrange(30, 95)}
        replica.capture(**fields)


async def settle(window: MainWindow) -> None:
    for _ in range(4):
        await window.ops.drain()
        await asyncio.sleep(0.05)


async def budget_conflict(server_url: str, anna: SyncEngine, campaign_id: str) -> None:
    """Ben, on his own laptop, raises the budget while Anna, not having seen it, sets her own."""
    ben = SyncEngine(Replica(anna.replica.profile_dir.parent / "ben"), tokens=MemoryTokens())
    try:
        await ben.login(server_url, "ben@demo.wedsync", PASSWORD, "Ben's laptop")
        await ben.sync_once()
        anna.replica.set_campaign_field(campaign_id, "budget_cents", 165_000)
        ben.replica.set_campaign_field(campaign_id, "budget_cents", 180_000)
        # both add a note meanwhile: two entries, not one spliced text
        anna.replica.add_campaign_note(campaign_id, "Book stand 14 at the spring fair.")
        ben.replica.add_campaign_note(campaign_id, "Ask the florist to dress the stand.")
        await ben.sync_once()
        await anna.sync_once()
    finally:
        await ben.close()
        ben.replica.close()


DEFAULT_SIZE = (1280, 800)


async def stalled_scheduler(server_app, engine: SyncEngine) -> None:  # noqa: ANN001
    """The Health page's story: content generations the app reported, and a scheduler that
    stopped with a step seven minutes overdue, which the server's monitor alerts on."""
    from server.automation.wiring import stop_automation
    from server.monitoring.routes import MONITOR
    from server.storage import EnrolmentRow
    from server.sync_ws import CTX

    rng = random.Random(7)
    generations = [
        {
            "requested": "offline",
            "source": "offline",
            "ok": rng.random() > 0.02,
            "latency_ms": rng.uniform(300, 1600),
        }
        for _ in range(60)
    ]
    await engine.api("POST", "/api/v1/monitor/generations", {"generations": generations})
    ctx = server_app[CTX]
    await stop_automation(server_app)
    now = ctx.now_ms()
    org = ctx.storage.org_id("Demo Weddings")
    late = EnrolmentRow(
        id="late-step",
        org_id=org,
        campaign_id="spring",
        contact="ella.james@example.com",
        status="waiting",
        held_out=False,
        node="s1",
        due_ms=now - 420_000,
        wake_on=(),
        state={},
        entered_at_ms=now - 3_600_000,
    )
    await ctx.writer.run_exclusive(lambda st: st.insert_enrolment(late, at_ms=now))
    await server_app[MONITOR].evaluate(business=True)


#: the views taken before the laptop goes offline (they show what the server says)
ONLINE_VIEWS = ("dashboard", "conflicts", "results", "preview", "smtp", "health")
COUPLES_AT_THE_FAIR = ("olivia", "amelia", "grace", "freya", "lily", "sophia", "ruby", "evie")


async def spring_in_flight(server_app, anna: SyncEngine, spring: str, base: Path):  # noqa: ANN001, ANN201
    """The Results story, for real: Anna's mail server (aiosmtpd in its own process), eight
    couples met at a fair enrolled by the engine and emailed, five opening the email (the
    tracking pixel fetched over HTTP, as a mail client does) and two booking a visit. Returns
    the SMTP server's process."""
    import email as email_parser
    import email.policy as email_policy
    import mailbox
    import re

    import aiohttp

    from server.automation.wiring import engine_of

    port = _port()
    smtp = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
        "-c", "aiosmtpd.handlers.Mailbox", str(base / "maildir"),
    )  # fmt: skip
    for _ in range(200):  # until it answers
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    await anna.api(
        "PUT",
        "/api/v1/smtp",
        {"host": "127.0.0.1", "port": port, "security": "none", "from": "hello@hollowbarn.example"},
    )
    for i, name in enumerate(COUPLES_AT_THE_FAIR):
        email = f"{name}@example.com"
        fields = {
            "first_name": name.capitalize(),
            "wedding_date_days": 120 + 15 * i,
            "venue": "looking",
        }
        anna.replica.upsert_contact(email, fields)
        anna.replica.capture(kind="touchpoint", contact=email, channel="wedding_fair")
    await anna.sync_once()
    engine = engine_of(server_app)
    await engine.until(lambda: engine.mailer.stats["sent"] >= len(COUPLES_AT_THE_FAIR), 120)
    box = mailbox.Maildir(base / "maildir", create=False)
    pixels = [re.search(rb"https?://[^\"']+/t/o/[^\"'\s]+", box.get_bytes(k)) for k in box.keys()]
    reader = {"User-Agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605 Thunderbird/115"}
    async with aiohttp.ClientSession() as http:
        for pixel in [p for p in pixels if p][:5]:
            async with http.get(pixel.group().decode(), headers=reader) as resp:
                resp.raise_for_status()
    # two minutes on (a click within seconds of delivery is a link scanner's), the couples
    # sent variant A click its link; the next allocation round moves the shares towards A
    from server.sync_ws import CTX

    def later() -> int:
        return time.time_ns() // 1_000_000 + 120_000

    for _ in range(200):  # until every couple's email of this campaign is in the maildir
        run = await anna.api("GET", f"/api/v1/campaigns/{spring}/run")
        if run["totals"]["sent"] >= len(COUPLES_AT_THE_FAIR):
            break
        await asyncio.sleep(0.05)
    server_app[CTX].now_ms = later
    engine.set_clock(later)
    texts = [
        message.get_body(("plain",)).get_content()
        for message in (
            email_parser.message_from_bytes(box.get_bytes(k), policy=email_policy.default)
            for k in box.keys()
        )
        if "in bloom" in str(message["Subject"])
    ]
    links = [re.search(r"https?://\S+/t/c/[\w.\-]+", text) for text in texts]
    async with aiohttp.ClientSession() as http:
        for link in [c for c in links if c]:
            async with http.get(link.group(), headers=reader, allow_redirects=False) as resp:
                assert resp.status == 302, resp.status
    rounds = engine.stats["allocation_rounds"]
    engine.allocator.last_round_ms = None  # the minute's round, now
    engine.nudge()
    await engine.until(lambda: engine.stats["allocation_rounds"] > rounds, 60)
    for name in COUPLES_AT_THE_FAIR[:2]:
        anna.replica.capture(
            kind="conversion", contact=f"{name}@example.com", value_cents=450_000, campaign=spring
        )
    await anna.sync_once()
    for _ in range(200):  # until the engine has counted the bookings
        run = await anna.api("GET", f"/api/v1/campaigns/{spring}/run")
        if run["totals"]["converted"] >= 2:
            break
        await asyncio.sleep(0.05)
    return smtp


async def main(out: Path, dark: bool, views: list[str], size: tuple[int, int]) -> None:
    from server import admin
    from server.app import create_app
    from server.config import ServerConfig

    app = application()
    app._wedsync_theme.apply(dark=dark)  # type: ignore[attr-defined]
    base = Path(tempfile.mkdtemp(prefix="wedsync-shots-"))
    admin.create_user(
        base / "server",
        email="anna@demo.wedsync",
        password=PASSWORD,
        role="admin",
        org="Demo Weddings",
    )
    admin.create_user(
        base / "server",
        email="ben@demo.wedsync",
        password=PASSWORD,
        role="marketer",
        org="Demo Weddings",
    )
    # the venue's history for the dashboard: `wedsync seed-demo`'s defaults (180 days)
    from devtools.seed import seed_demo

    seed_demo(
        base / "server",
        org="Demo Weddings",
        seed=42,
        suppliers=300,
        couples=3000,
        campaigns=12,
        days=180,
    )
    port = _port()
    server_app = create_app(ServerConfig(data_dir=base / "server", port=port))
    runner = web.AppRunner(server_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    replica = Replica(base / "anna")
    engine = SyncEngine(replica, tokens=MemoryTokens())
    await engine.login(f"http://127.0.0.1:{port}", "anna@demo.wedsync", PASSWORD, "Anna's laptop")
    spring = seed(replica)
    capture(replica, 24)
    await engine.sync_once()
    await budget_conflict(f"http://127.0.0.1:{port}", engine, spring)
    smtp = await spring_in_flight(server_app, engine, spring, base)
    window = MainWindow(engine)
    window.resize(*size)
    window.show()
    window.start()
    await settle(window)
    out.mkdir(parents=True, exist_ok=True)
    suffix = ("" if size == DEFAULT_SIZE else f"-{size[0]}x{size[1]}") + ("-dark" if dark else "")

    async def conflicts_loaded() -> None:
        window.go("conflicts")
        window.conflicts.reload()
        for _ in range(100):
            await settle(window)
            if window.conflicts.current is not None:
                break
        else:
            raise RuntimeError("the server reported no open conflict")
        window.conflicts.group.button(0).setChecked(True)
        window.conflicts.comment.setPlainText("Anna's figure was signed off on Monday.")

    async def health_with_an_alert() -> None:
        await stalled_scheduler(server_app, engine)
        window.go("health")
        for _ in range(100):
            await settle(window)
            if window.health.alerts.rowCount():
                break
        else:
            raise RuntimeError("no health alert reached the app")
        window.health.reload()

    shot_of: dict[str, Any] = {}  # a dialog's own picture instead of the window's

    async def dashboard_shown(live: bool) -> None:
        window.go("dashboard")
        page = window.dashboard
        page.request_refresh()
        for _ in range(600):
            await settle(window)
            snap = page.snapshot
            if snap is not None and snap.live == live and page.chart.ready and page.idle:
                if live or snap.pending.events:
                    break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError(f"the dashboard showed no {'live' if live else 'offline'} report")
        page.scroll.verticalScrollBar().setValue(0)

    async def results() -> None:
        window.go("campaigns")
        window.campaigns.show_results(spring)
        await settle(window)

    async def preview() -> None:
        window.go("campaigns")
        window.campaigns.open_campaign(spring)
        await settle(window)
        dialog = window.campaigns.builder.show_preview()
        await settle(window)
        shot_of["preview"] = dialog

    async def mail_server() -> None:
        shot_of["smtp"] = dialog = window.campaigns.show_mail_server()
        await settle(window)
        dialog.to.setText("anna@demo.wedsync")

    async def offline_with_a_queue() -> None:
        # the other views show a laptop that is working offline with a few captures queued
        window.offline_toggle.setChecked(True)
        await settle(window)
        capture(replica, 5)

    async def content_generated() -> None:
        # the Content tab's generator, offline, for a venue's nurture campaign
        window.campaigns.open_campaign(spring)
        await settle(window)
        builder = window.campaigns.builder
        builder.tabs.setCurrentIndex(3)
        panel = builder.tabs.currentWidget()
        panel.generator.venue.setText("Hollow Barn")
        panel.generator.region.setText("Cotswolds")
        panel.show_generator()
        await settle(window)

    async def notes_tab() -> None:
        window.go("campaigns")
        window.campaigns.open_campaign(spring)
        await settle(window)
        window.campaigns.builder.tabs.setCurrentWidget(window.campaigns.builder.details)

    async def start_guide() -> None:
        # a campaign with nothing in it yet: the Step tab says how to start
        empty = next(c["id"] for c in replica.campaigns() if not c["steps"])
        window.go("campaigns")
        window.campaigns.open_campaign(empty)
        await settle(window)
        window.campaigns.builder.tabs.setCurrentIndex(0)

    shots = [
        ("dashboard", lambda: dashboard_shown(True)),
        ("conflicts", conflicts_loaded),
        ("results", results),
        ("preview", preview),
        ("smtp", mail_server),
        ("health", health_with_an_alert),
        ("campaigns", lambda: (window.go("campaigns"), window.campaigns.show_list())),
        ("builder", lambda: (window.go("campaigns"), window.campaigns.open_campaign(spring))),
        ("notes", notes_tab),
        ("start", start_guide),
        ("content", lambda: content_generated()),
        ("capture", lambda: (window.go("capture"), window.capture.choose(2, focus=True))),
        ("sync", lambda: window.go("sync")),
        ("dashboard-offline", lambda: dashboard_shown(False)),
    ]
    went_offline = False
    for name, show in shots:
        if name not in ONLINE_VIEWS and not went_offline:
            await offline_with_a_queue()
            went_offline = True
        if views and name not in views:
            continue
        result = show()
        if asyncio.iscoroutine(result):
            await result
        await settle(window)
        if name == "builder":
            steps = replica.campaign(spring)["steps"]
            window.campaigns.builder.canvas.select(steps[2]["id"])
            await settle(window)
        # the pointer rests below the sidebar's items, not on one it would show as hovered
        nav = window.nav.viewport()
        QTest.mouseMove(nav, QPoint(nav.width() // 2, nav.height() - 4))
        await settle(window)
        dialog = shot_of.pop(name, None)
        (dialog or window).grab().save(str(out / f"{name}{suffix}.png"))
        print(out / f"{name}{suffix}.png")
        if dialog is not None:
            dialog.close()
    await window.shutdown()
    window.close()
    await engine.close()
    replica.close()
    await runner.cleanup()
    if smtp.returncode is None:
        smtp.terminate()
        await smtp.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--dark", action="store_true")
    parser.add_argument(
        "--views",
        nargs="*",
        default=[],
        help="dashboard dashboard-offline campaigns builder notes start content capture sync "
        "conflicts results preview smtp health (default: all)",
    )
    parser.add_argument(
        "--size",
        default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}",
        help="window size WIDTHxHEIGHT (the app's minimum is 960x600)",
    )
    args = parser.parse_args()
    width, _, height = args.size.partition("x")
    application()
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main(args.out, args.dark, args.views, (int(width), int(height))))
    sys.exit(0)
