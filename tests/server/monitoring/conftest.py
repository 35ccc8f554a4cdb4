"""Real parts for the monitor's tests: a webhook receiver (aiohttp on 127.0.0.1), a mailbox
(aiosmtpd on 127.0.0.1, stoppable and restartable on its port), and a server started with a
monitoring file in its data directory."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from server.monitoring.routes import MONITOR
from tests.conftest import RunningServer, start_server

WEBHOOK_SECRET = secrets.token_hex(16)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collected:
    """Things that arrive (posts, mails), and a way to wait for a number of them."""

    def __init__(self) -> None:
        self.items: list = []
        self._changed = asyncio.Event()

    def add(self, item) -> None:
        self.items.append(item)
        self._changed.set()

    async def wait_for(self, count: int, timeout_s: float = 20.0) -> list:
        async with asyncio.timeout(timeout_s):
            while len(self.items) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.items


@dataclass
class Receiver:
    url: str
    posts: Collected
    #: statuses to answer before accepting (a failing receiver)
    fail_with: list[int] = field(default_factory=list)
    attempts: int = 0

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, body in self.posts.items]


@pytest.fixture
async def webhook():
    posts = Collected()
    receiver = Receiver("", posts)

    async def hook(request: web.Request) -> web.Response:
        receiver.attempts += 1
        body = await request.read()
        if receiver.fail_with:
            return web.Response(status=receiver.fail_with.pop(0))
        posts.add((dict(request.headers), body))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}/hook"
    yield receiver
    await runner.cleanup()


class _Inbox:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server, session, envelope):
        if self.box.replies:  # refused: the next reply in turn
            self.box.refused += 1
            return self.box.replies.pop(0)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.box.mails.add((list(envelope.rcpt_tos), message))
        return "250 OK"


class Mailbox:
    """An SMTP server that can be stopped and started again on the same port; DATA is answered
    with ``replies`` in turn (a refusal, say), then accepted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mails = Collected()
        self.replies: list[str] = []
        self.refused = 0
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Inbox(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def smtp_settings(self, sender: str = "Venue Team <hello@venue.test>") -> dict:
        """The body of ``PUT /api/v1/smtp`` for this server."""
        return {"host": "127.0.0.1", "port": self.port, "security": "none", "from": sender}

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def mailbox():
    box = Mailbox()
    box.start()
    yield box
    box.stop()


def monitoring_file(
    data_dir: Path, receiver: Receiver | None, extra: str = "", monitor: str = ""
) -> None:
    """``monitoring.toml`` in the data directory: readings only when a test asks (the loop's
    own rhythm is an hour), the webhook with a short backoff."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "webhook.secret").write_text(WEBHOOK_SECRET)
    hook = (
        f'webhook_url = "{receiver.url}"\nwebhook_secret_file = "webhook.secret"\n'
        if receiver
        else ""
    )
    (data_dir / "monitoring.toml").write_text(
        "[monitor]\ninterval_s = 3600\nbusiness_interval_s = 3600\nsmtp_probe_timeout_s = 3\n"
        f"{monitor}\n[alerts]\n{hook}webhook_backoff_s = 0.05\nwebhook_attempts = 3\n{extra}"
    )


async def monitored_server(
    tmp_path: Path, receiver: Receiver | None, extra: str = "", monitor: str = "", **config
):
    monitoring_file(tmp_path / "server", receiver, extra, monitor)
    server = await start_server(tmp_path, **config)
    monitor = server.app[MONITOR]
    await asyncio.wait_for(monitor.evaluated.wait(), 60)  # the loop's first reading is done
    return server, monitor


@pytest.fixture
async def stop_servers():
    servers: list[RunningServer] = []
    yield servers
    for server in servers:
        for engine in server.engines:
            await engine.close()
            engine.replica.close()
        await server.runner.cleanup()
