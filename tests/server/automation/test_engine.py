"""The engine in a real server on 127.0.0.1 with real SQLite and a real SMTP server: a synced
event enrols a contact and the personalised mail arrives with its headers and tracked links;
the SMTP settings and run view over HTTP."""

from __future__ import annotations

import pytest

from server.automation.wiring import AUTOMATION
from shared.protocol import campaign as schema

from .mail import Inbox, build_campaign


@pytest.fixture
async def inbox():
    box = Inbox().start()
    yield box
    await box.stop()


async def test_a_synced_score_enrols_the_supplier_and_the_mail_arrives(server, inbox):
    admin = await server.device("admin-laptop", "admin")
    saved = await admin.api("PUT", "/api/v1/smtp", inbox.smtp_settings())
    assert saved["host"] == "127.0.0.1" and saved["password_set"] is False
    laptop = await server.device("venue-laptop")
    replica = laptop.replica
    ids: dict[str, str] = {}
    campaign_id, _ = replica.create_campaign(name="Churn")
    replica.edit_campaign(
        campaign_id, lambda d: ids.update(build_campaign(d, holdout_pct=0, first="a"))
    )
    replica.upsert_contact("sam@florist.test", {"first_name": "Sam", "role": "supplier"})
    replica.capture(kind="health_score", contact="sam@florist.test", payload={"score": 31})
    await laptop.sync_once()

    (mail,) = await inbox.wait_for(1)
    assert mail["To"] == "sam@florist.test"
    assert mail["Subject"] == "Sam, your WedSync score needs a look"
    assert mail["List-Unsubscribe"].startswith(f"<{server.url}/t/u/")
    assert mail["Message-ID"].endswith("@venue.test>")
    text = mail.get_body(("plain",)).get_content()
    assert "Hi Sam" in text and f"{server.url}/t/c/" in text
    assert "https://wedsync.test/dashboard" not in text  # the link is tracked
    html = mail.get_body(("html",)).get_content()
    assert f"{server.url}/t/o/" in html  # the open pixel

    engine = server.app[AUTOMATION]
    await engine.until(lambda: engine.mailer.stats["sent"] == 1)  # recorded after acceptance
    run = await laptop.api("GET", f"/api/v1/campaigns/{campaign_id}/run")
    assert run["totals"]["enrolled"] == 1 and run["totals"]["sent"] == 1
    first = run["steps"][0]
    assert first["sent"] == 1 and sum(v["sent"] for v in first["variants"]) == 1
    assert schema.STEP_KINDS  # the view names each step by its kind
    assert [s["kind"] for s in run["steps"]] == ["send_email", "wait_for", "send_email", "goal"]


async def test_smtp_settings_are_for_admins_and_keep_the_password_out(server, inbox):
    admin = await server.device("admin-laptop", "admin")
    marketer = await server.device("marketer-laptop")
    assert await admin.api("GET", "/api/v1/smtp") == {"configured": False}
    with pytest.raises(Exception) as refused:
        await marketer.api("GET", "/api/v1/smtp")
    assert getattr(refused.value, "code", "") == "forbidden"
    body = {**inbox.smtp_settings(), "user": "mailer", "password": "s3cret-smtp"}
    assert (await admin.api("PUT", "/api/v1/smtp", body))["password_set"] is True
    # changing the host without the password keeps the stored one
    body.pop("password")
    assert (await admin.api("PUT", "/api/v1/smtp", body))["password_set"] is True
    raw = (server.data_dir / "server.sqlite").read_bytes()
    assert b"s3cret-smtp" not in raw  # sealed, not in the file
    with pytest.raises(Exception) as bad:
        await admin.api("PUT", "/api/v1/smtp", {**body, "security": "ssl"})
    assert getattr(bad.value, "code", "") == "smtp_settings_invalid"


def _tracked_links(mail, base: str) -> dict[str, list[str]]:
    import re

    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    found = re.findall(rf"{re.escape(base)}/t/[ocu]/[A-Za-z0-9_\-.]+", html + text)
    links: dict[str, list[str]] = {"o": [], "c": [], "u": []}
    for url in dict.fromkeys(found):
        links[url.split("/t/")[1][0]].append(url)
    unsubscribe = mail["List-Unsubscribe"].split("<")[1].split(">")[0]
    links["u"].append(unsubscribe)
    return links


async def test_pixel_click_and_unsubscribe_over_http_are_recorded_once(server, inbox):
    import time

    import aiohttp

    admin = await server.device("admin-laptop", "admin")
    await admin.api("PUT", "/api/v1/smtp", inbox.smtp_settings())
    laptop = await server.device("venue-laptop")
    replica = laptop.replica
    campaign_id, _ = replica.create_campaign(name="Churn")
    replica.edit_campaign(campaign_id, lambda d: build_campaign(d, holdout_pct=0, first="a") and [])
    replica.upsert_contact("sam@florist.test", {"first_name": "Sam", "role": "supplier"})
    replica.capture(kind="health_score", contact="sam@florist.test", payload={"score": 31})
    await laptop.sync_once()
    (mail,) = await inbox.wait_for(1)
    links = _tracked_links(mail, server.url)
    # the person reads it a minute later (a click within seconds of delivery is a scanner's)
    server.ctx.now_ms = lambda: time.time_ns() // 1_000_000 + 60_000
    person = {"User-Agent": "Mozilla/5.0 (Macintosh) AppleWebKit/605 Thunderbird/115"}
    async with aiohttp.ClientSession() as http:
        for _ in range(2):  # a replay records nothing new
            async with http.get(links["o"][0], headers=person) as resp:
                assert resp.status == 200 and resp.content_type == "image/gif"
        async with http.get(links["o"][0], headers={"User-Agent": "Mozilla/5.0"}) as resp:
            assert resp.status == 200  # Apple's privacy proxy: recorded, not engagement
        async with http.get(links["c"][1], headers=person, allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.headers["Location"] == "https://wedsync.test/call"
        forged = links["c"][0][:-3] + ("AAA" if not links["c"][0].endswith("AAA") else "BBB")
        async with http.get(forged, allow_redirects=False) as resp:
            assert resp.status == 400 and "token_invalid" in await resp.text()
        async with http.get(links["u"][0]) as resp:  # the page asks; a GET never unsubscribes
            assert resp.status == 200 and "<form" in await resp.text()
        for _ in range(2):  # RFC 8058 one-click, replayed
            async with http.post(links["u"][0], data={"List-Unsubscribe": "One-Click"}) as resp:
                assert resp.status == 200 and "unsubscribed" in await resp.text()

    run = await laptop.api("GET", f"/api/v1/campaigns/{campaign_id}/run")
    assert run["totals"]["opened"] == 1 and run["totals"]["clicked"] == 1
    assert run["totals"]["exited"] == 1  # the unsubscribe ended the enrolment
    kinds: dict[str, int] = {}
    for _id, _device, kind, _seq in server.ctx.reader.stored_events():
        kinds[kind] = kinds.get(kind, 0) + 1
    # one human open, one proxy open (flagged), one click, one unsubscribe: replays add nothing
    assert kinds["open"] == 2 and kinds["click"] == 1 and kinds["unsubscribe"] == 1
    org_id = (await laptop.api("GET", "/api/v1/me"))["org_id"]
    assert server.ctx.reader.suppressions(org_id, "sam@florist.test") == ["unsubscribed"]
