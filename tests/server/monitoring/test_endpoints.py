"""``/healthz``, ``/readyz``, ``/metrics`` (parsed with prometheus_client's parser, linted with
promtool), the health API's roles, and JSON log lines."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.monitoring.jsonlog import REQUEST_ID, JsonFormatter
from server.monitoring.setup import METRICS_ADDRESS
from tests.conftest import PASSWORD, USERS

from .conftest import monitored_server


async def _token(http, server, user):
    r = await http.post(
        server.url + "/api/v1/login", json={"email": USERS[user][0], "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {(await r.json())['token']}"}


async def test_liveness_and_readiness_need_no_token_and_readiness_follows_the_writer(
    tmp_path, stop_servers
):
    server, _ = await monitored_server(tmp_path, None)
    stop_servers.append(server)
    async with aiohttp.ClientSession() as http:
        r = await http.get(server.url + "/healthz")
        assert (r.status, await r.json()) == (200, {"status": "up"})
        r = await http.get(server.url + "/readyz")
        assert r.status == 200 and (await r.json())["ready"] is True
        r = await http.get(server.url + "/api/v1/health")  # the detailed one keeps its token
        assert r.status == 401
        await server.ctx.writer.stop()
        r = await http.get(server.url + "/readyz")
        assert r.status == 503 and (await r.json())["reason"] == "the writer is not running"
        r = await http.get(server.url + "/healthz")
        assert r.status == 200  # the process is up all the same


async def test_the_health_api_is_for_admins_and_lists_the_servers_and_the_orgs_checks(
    tmp_path, stop_servers
):
    server, _ = await monitored_server(tmp_path, None)
    stop_servers.append(server)
    async with aiohttp.ClientSession() as http:
        admin = await _token(http, server, "admin")
        r = await http.get(server.url + "/api/v1/monitor/health", headers=admin)
        body = await r.json()
        assert r.status == 200 and body["overall"]["status"] in ("healthy", "warning")
        names = {c["name"] for c in body["checks"]}
        assert {"storage.reachable", "sync.lag_s.bulk", "viral.k"} <= names
        orgs = {c["org_id"] for c in body["checks"]}
        assert orgs == {None, server.ctx.storage.org_id("Org A")}  # never Org B's
        for user in ("marketer", "viewer"):
            r = await http.get(
                server.url + "/api/v1/monitor/health", headers=await _token(http, server, user)
            )
            assert r.status == 403


METRICS = """
[metrics]
port = 0
token_env = "WEDSYNC_TEST_METRICS_TOKEN"
"""


async def test_metrics_are_prometheus_text_with_bounded_labels_behind_a_token_or_a_port(
    tmp_path, stop_servers, monkeypatch
):
    monkeypatch.setenv("WEDSYNC_TEST_METRICS_TOKEN", "m" * 24)
    server, monitor = await monitored_server(tmp_path, None, METRICS)
    stop_servers.append(server)
    laptop = await server.device("laptop")
    laptop.replica.capture(kind="conversion", contact="a@x.test", value_cents=100)
    laptop.replica.capture(kind="touchpoint", contact="a@x.test", channel="email")
    await laptop.sync_once()
    await monitor.evaluate(business=False)
    async with aiohttp.ClientSession() as http:
        admin = await _token(http, server, "admin")
        for campaign in ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAW"):
            await http.get(server.url + f"/api/v1/campaigns/{campaign}", headers=admin)
        for n in range(5):
            await http.get(server.url + f"/no/such/path/{n}")
        r = await http.get(server.url + "/metrics")
        assert r.status == 401
        r = await http.get(server.url + "/metrics", headers={"Authorization": "Bearer wrong"})
        assert r.status == 401
        r = await http.get(server.url + "/metrics", headers={"Authorization": "Bearer " + "m" * 24})
        assert r.status == 200 and r.content_type == "text/plain"
        text = await r.text()
        host, port = server.app[METRICS_ADDRESS]
        r = await http.get(f"http://{host}:{port}/metrics")  # the admin port: no token
        assert r.status == 200 and "wedsync_http_requests_total" in await r.text()

    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in (
        "wedsync_http_requests",
        "wedsync_http_request_duration_seconds",
        "wedsync_websocket_session_duration_seconds",
        "wedsync_sync_events",
        "wedsync_writer_queue_items",
        "wedsync_writer_commit_duration_seconds",
        "wedsync_writer_queue_wait_seconds",
        "wedsync_trigger_evaluation_duration_seconds",
        "wedsync_trigger_to_send_seconds",
        "wedsync_smtp_sends",
        "wedsync_content_generations",
        "wedsync_health_checks",
        "wedsync_health_overall_severity",
        "process_resident_memory_bytes",
    ):
        assert name in families, name
    routes = {s.labels["route"] for s in families["wedsync_http_requests"].samples}
    patterns = {r.resource.canonical for r in server.app.router.routes() if r.resource}
    assert routes <= patterns | {"unmatched"}
    assert "/api/v1/campaigns/{campaign_id}" in routes and "unmatched" in routes
    assert not any("01ARZ" in s for s in text.splitlines() if not s.startswith("#"))
    events = {
        s.labels["class"]: s.value
        for s in families["wedsync_sync_events"].samples
        if s.name.endswith("_total")
    }
    assert events == {"attribution": 2.0}
    check_rows = [s for s in families["wedsync_health_checks"].samples]
    assert {s.labels["status"] for s in check_rows} == {"healthy", "warning", "critical", "unknown"}
    assert all(set(s.labels) == {"check", "status"} for s in check_rows)  # no org id label

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian's prometheus package); parsed only")
    lint = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert lint.stdout.strip() == "" and lint.stderr.strip() == ""


def test_json_log_lines_carry_ids_and_never_secrets():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.jsonlog")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    token = REQUEST_ID.set("req-42")
    try:
        logger.info(
            "login for %s with Authorization: Bearer abc.def-123 password=hunter2",
            "ana@a.test",
            extra={"event": "login", "org_id": "org-1", "token": "s3cr3t", "body": "Hi Ana"},
        )
        try:
            raise ValueError("token=zzz999 leaked?")
        except ValueError:
            logger.exception("failed")
    finally:
        REQUEST_ID.reset(token)
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "login" and first["level"] == "info"
    assert (first["org_id"], first["request_id"]) == ("org-1", "req-42")
    assert first["token"] == first["body"] == "[redacted]"
    assert "abc.def-123" not in first["message"] and "hunter2" not in first["message"]
    assert "ana@a.test" in first["message"] and first["time"].endswith("+00:00")
    assert second["event"] == "failed" and "zzz999" not in second["exc"]


async def test_every_answer_carries_a_request_id(tmp_path, stop_servers):
    server, _ = await monitored_server(tmp_path, None)
    stop_servers.append(server)
    async with aiohttp.ClientSession() as http:
        r = await http.get(server.url + "/healthz", headers={"X-Request-Id": "lb-7f3a"})
        assert r.headers["X-Request-Id"] == "lb-7f3a"
        unsafe = "not; a safe <id> " + "x" * 80
        r = await http.get(server.url + "/healthz", headers={"X-Request-Id": unsafe})
        assert r.headers["X-Request-Id"] != unsafe and len(r.headers["X-Request-Id"]) == 16
        r = await http.get(server.url + "/api/v1/me")  # refused: still carries one
        assert r.status == 401 and len(r.headers["X-Request-Id"]) == 16


async def test_the_server_writes_json_log_lines_when_asked(tmp_path):
    """`wedsync server` with WEDSYNC_LOG_FORMAT=json: its start-up lines are JSON objects."""
    import asyncio
    import os
    import sys

    from tests.conftest import free_port

    port = free_port()
    env = {**os.environ, "WEDSYNC_LOG_FORMAT": "json"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wedsync", "server", "--data-dir", str(tmp_path / "srv"),
        "--port", str(port), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert b"listening" in line
        async with aiohttp.ClientSession() as http:
            r = await http.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-Id": "t-77"})
            assert r.status == 200
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = [json.loads(raw) for raw in err.decode().splitlines() if raw.strip()]
    assert lines, "the server logged nothing"
    assert all({"time", "level", "logger", "event", "message"} <= set(x) for x in lines)
    assert any("wedsync server on http://" in x["message"] for x in lines)
    (access,) = [x for x in lines if x.get("request_id") == "t-77"]
    assert access["event"] == "http_request" and access["response_status"] == 200
