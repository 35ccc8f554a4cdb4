"""The live allocation end to end: a real server with its engine on a virtual clock, a real SMTP
server (aiosmtpd), a campaign whose email has two variants; people click the tracked links of
one variant only, and within a minute of virtual time the allocation has moved to it, the run
view says so, the next enrolments are mostly sent that variant, and the control group is never
emailed."""

from __future__ import annotations

import time

import aiohttp
import pytest

from server.automation.wiring import AUTOMATION
from shared.automation.journey import in_holdout
from shared.protocol import campaign as schema

from .mail import Inbox
from .test_engine import _tracked_links

HOLDOUT_PCT = 20
PERSON = {"User-Agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605 Thunderbird/115"}
SUBJECT_A = "Save your date at the barn"
SUBJECT_B = "Your spring wedding, {{ first_name }}?"


class VirtualClock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def advance(self, seconds: float) -> int:
        self.offset_ms += int(seconds * 1000)
        return self()


def open_day(doc) -> dict[str, str]:  # noqa: ANN001
    """A lead starts it; one email drawn between two variants; a conversion goal."""
    fields = {
        "name": "Spring open day",
        "type": "nurture",
        "trigger": {"event": "lead"},
        "holdout_pct": HOLDOUT_PCT,
    }
    for key, value in fields.items():
        schema.set_field(doc, key, value)
    ids = {
        "a": schema.add_variant(
            doc, subject=SUBJECT_A, body="Hi {{ first_name }}, see https://venue.test/barn"
        ),
        "b": schema.add_variant(
            doc, subject=SUBJECT_B, body="Hello {{ first_name }}: https://venue.test/spring"
        ),
    }
    ids["email"] = schema.add_step(doc, "send_email", {"variant": "auto"})
    schema.add_step(doc, "goal", {"event": "conversion"})
    schema.set_field(doc, "status", "active")
    return ids


@pytest.fixture
async def inbox():
    box = Inbox().start()
    yield box
    await box.stop()


async def test_clicks_on_one_variant_move_the_allocation_within_a_minute(server, inbox):
    clock = VirtualClock()
    engine = server.app[AUTOMATION]
    engine.set_clock(clock)
    server.ctx.now_ms = clock  # the tracking routes tell people from scanners by this clock
    engine.mailer.rate_per_s = None
    admin = await server.device("admin-laptop", "admin")
    await admin.api("PUT", "/api/v1/smtp", inbox.smtp_settings())
    laptop = await server.device("venue-laptop")
    replica = laptop.replica
    campaign_id, _ = replica.create_campaign(name="Spring open day")
    ids: dict[str, str] = {}
    replica.edit_campaign(campaign_id, lambda d: ids.update(open_day(d)))
    await laptop.sync_once()  # the campaign is live on the server before any lead

    async def leads(first: int, count: int) -> list[str]:
        """New couples send a lead each; returns those not in the control group."""
        people = [f"couple{n}@mail.test" for n in range(first, first + count)]
        seen = len(inbox.messages)
        for person in people:
            replica.upsert_contact(person, {"first_name": f"Pat{person[6:-10]}"})
            replica.capture(kind="lead", contact=person, payload={"source": "open_day"})
        await laptop.sync_once()
        treated = [p for p in people if not in_holdout(campaign_id, p, HOLDOUT_PCT)]
        await inbox.wait_for(seen + len(treated))
        await engine.until(lambda: engine.mailer.stats["sent"] == len(inbox.messages))
        return treated

    async def allocation_round() -> dict:
        rounds = engine.stats["allocation_rounds"]
        engine.nudge()
        await engine.until(lambda: engine.stats["allocation_rounds"] > rounds)
        run = await laptop.api("GET", f"/api/v1/campaigns/{campaign_id}/run")
        return run["steps"][0]

    treated = await leads(0, 40)
    assert 20 <= len(treated) < 40  # some couples are in the control group
    assert sorted(m["To"] for m in inbox.messages) == sorted(treated)  # no email to the others
    clock.advance(60)  # the first minute's round: no clicks yet, the shares stay near even
    before = await allocation_round()
    assert before["test"]["rounds"] >= 1 and before["test"]["winner"] is None
    for v in before["variants"]:
        assert 0.2 < v["allocation"]["share"] < 0.8 and v["clicked"] == 0

    # people click variant B's link (a minute after delivery: not a scanner); nobody clicks A
    clock.advance(1)
    b_mails = [m for m in inbox.messages if m["Subject"].startswith("Your spring wedding")]
    assert 0 < len(b_mails) < len(inbox.messages)
    async with aiohttp.ClientSession() as http:
        for mail in b_mails:
            (link,) = _tracked_links(mail, server.url)["c"]
            async with http.get(link, headers=PERSON, allow_redirects=False) as resp:
                assert resp.status == 302
    clicked_at = clock()  # the last click
    clock.advance(30)  # half a minute on: the next round is not due yet
    assert not engine.allocator.due(clock()) and engine.allocator.next_in_s(clock()) < 30
    clock.advance(engine.allocator.next_in_s(clock()))  # the engine's timer ends: it is due
    after = await allocation_round()
    assert after["test"]["updated_ms"] - clicked_at <= 60_000  # within a minute of the clicks
    a, b = (next(v for v in after["variants"] if v["id"] == ids[k]) for k in ("a", "b"))
    assert b["clicked"] == b["sent"] == len(b_mails) and a["clicked"] == 0
    assert b["allocation"]["share"] > 0.9 and b["allocation"]["p_best"] > 0.99
    assert a["allocation"]["share"] == pytest.approx(0.05)  # the exploration floor
    assert b["allocation"]["low"] > a["allocation"]["high"]  # the 90 % intervals apart
    assert after["test"]["winner"] is None  # the stop rule wants 200 sends each

    # the next couples: most are sent B; the control group is still held out and not emailed
    seen = len(inbox.messages)
    later = await leads(40, 30)
    new = inbox.messages[seen:]
    assert sorted(m["To"] for m in new) == sorted(later)
    assert sum(m["Subject"].startswith("Your spring wedding") for m in new) / len(new) > 0.7
    run = await laptop.api("GET", f"/api/v1/campaigns/{campaign_id}/run")
    assert run["totals"]["held_out"] == 70 - len(treated) - len(later)
    assert run["totals"]["sent"] == len(treated) + len(later)
