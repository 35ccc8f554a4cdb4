"""The alert router on its own, with a real webhook receiver: retries with backoff, no retry on
a refusal, the cooldown of a flapping check, and episodes carried over a restart."""

from __future__ import annotations

import pytest

from server.monitoring.alerts import AlertHistory, AlertRouter
from server.monitoring.channels import WebhookChannel
from server.monitoring.config import CHECKS, AlertSettings, Webhook
from server.monitoring.status import graded

from .conftest import WEBHOOK_SECRET

MINUTE_MS = 60_000


def _backlog(seconds: float, at_ms: int = 0):
    return graded(
        name="delivery.scheduler_backlog_s",
        title="Scheduler backlog, oldest overdue step",
        group="delivery",
        org_id=None,
        value=seconds,
        unit="s",
        band=CHECKS["delivery.scheduler_backlog_s"].band,
        at_ms=at_ms,
    )


def _router(receiver, history, **settings):
    alerts = AlertSettings(
        webhook=Webhook(receiver.url, WEBHOOK_SECRET.encode()),
        webhook_backoff_s=0.01,
        **settings,
    )
    return AlertRouter(alerts, history, [WebhookChannel(alerts)])


async def _close(router):
    for channel in router.channels:
        await channel.close()


async def test_a_failing_receiver_gets_the_alert_on_a_later_attempt(webhook):
    webhook.fail_with = [500, 503]
    router = _router(webhook, AlertHistory(None), webhook_attempts=3)
    try:
        (alert,) = await router.observe([_backlog(900)], now_ms=0)
        await router.drain()
        assert webhook.attempts == 3 and len(webhook.posts.items) == 1
        (stored,) = router.history.recent(org_id=None, limit=5)
        assert stored.channels["webhook"].endswith("(200, attempt 3)")
        headers = webhook.posts.items[0][0]
        assert headers["X-WedSync-Alert-Id"] == alert.id  # the same id on every attempt
    finally:
        await _close(router)


async def test_a_refusal_is_not_retried_and_is_recorded_as_failed(webhook):
    webhook.fail_with = [403]
    router = _router(webhook, AlertHistory(None), webhook_attempts=5)
    try:
        await router.observe([_backlog(900)], now_ms=0)
        await router.drain()
        assert webhook.attempts == 1 and webhook.posts.items == []
        (stored,) = router.history.recent(org_id=None, limit=5)
        assert (
            stored.channels["webhook"].startswith("failed: ")
            and "HTTP 403" in stored.channels["webhook"]
        )
    finally:
        await _close(router)


async def test_a_flapping_check_is_suppressed_within_the_cooldown_then_alerted(webhook):
    router = _router(webhook, AlertHistory(None), cooldown_s=3600)
    try:
        await router.observe([_backlog(900)], now_ms=0)  # critical: sent
        await router.observe([_backlog(10)], now_ms=5 * MINUTE_MS)  # healthy: recovery sent
        made = await router.observe([_backlog(900)], now_ms=10 * MINUTE_MS)  # flapping
        assert [a.suppressed for a in made] == ["cooldown"]
        await router.observe([_backlog(120)], now_ms=20 * MINUTE_MS)  # warning: still open
        assert await router.observe([_backlog(900)], now_ms=30 * MINUTE_MS) == []
        made = await router.observe([_backlog(900)], now_ms=61 * MINUTE_MS)  # cooldown over
        assert [(a.kind, a.suppressed) for a in made] == [("critical", None)]
        await router.drain()
        assert [b["kind"] for b in webhook.bodies()] == ["critical", "recovered", "critical"]
        kinds = [(a.kind, a.suppressed) for a in router.history.recent(org_id=None, limit=10)]
        assert kinds == [
            ("critical", None),
            ("critical", "cooldown"),
            ("recovered", None),
            ("critical", None),
        ]
    finally:
        await _close(router)


async def test_after_a_restart_an_open_episode_is_not_alerted_again_and_recovers(tmp_path, webhook):
    path = tmp_path / "alerts.jsonl"
    first = _router(webhook, AlertHistory(path))
    try:
        await first.observe([_backlog(900)], now_ms=0)
        await first.drain()
    finally:
        await _close(first)
    history = AlertHistory(path)
    second = _router(webhook, history)
    second.restore(history.load())
    try:
        (loaded,) = history.recent(org_id=None, limit=5)
        assert loaded.channels["webhook"].startswith("delivered")  # the outcome was kept too
        assert await second.observe([_backlog(900)], now_ms=MINUTE_MS) == []
        (recovered,) = await second.observe([_backlog(0)], now_ms=2 * MINUTE_MS)
        assert recovered.kind == "recovered"
        await second.drain()
        assert [b["kind"] for b in webhook.bodies()] == ["critical", "recovered"]
    finally:
        await _close(second)


@pytest.mark.parametrize("keep", [3])
async def test_the_history_file_stays_bounded(tmp_path, webhook, keep):
    path = tmp_path / "alerts.jsonl"
    history = AlertHistory(path, keep=keep)
    router = _router(webhook, history, cooldown_s=1)
    try:
        for n in range(10):
            await router.observe([_backlog(900)], now_ms=n * 2 * MINUTE_MS)
            await router.observe([_backlog(0)], now_ms=(n * 2 + 1) * MINUTE_MS)
        await router.drain()
    finally:
        await _close(router)
    assert len(path.read_text().splitlines()) <= 2 * keep + 1 + 2 * keep
    reread = AlertHistory(path, keep=keep)
    assert [a.id for a in reread.load()] == [a.id for a in history]
