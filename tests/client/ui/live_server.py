"""A real server on 127.0.0.1 with its automation engine (real SQLite in tmp_path), for the
app's tests of the run view, previews, test sends and the mail server dialog; the tests pair
it with a real SMTP server (``tests.server.automation.mail.Inbox``, aiosmtpd). Tests request the
server before ``open_window``, so windows close before it stops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from server.automation.wiring import engine_of

from .conftest import PASSWORD, _free_port
from .server_thread import ServerThread


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    thread: ServerThread

    async def mail_sent(self, count: int) -> None:
        """Wait until the engine has recorded ``count`` emails as accepted by SMTP."""
        engine = engine_of(self.thread.app)
        await self.thread.call(engine.until, lambda: engine.mailer.stats["sent"] >= count)


@asynccontextmanager
async def live_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The server, with an admin, a marketer and a viewer of the org "Venue"."""
    from server import admin
    from server.app import create_app
    from server.config import ServerConfig

    data_dir = tmp_path / "server"
    for email, role in (
        ("admin@venue.test", "admin"),
        ("mia@venue.test", "marketer"),
        ("vic@venue.test", "viewer"),
    ):
        admin.create_user(data_dir, email=email, password=PASSWORD, role=role, org="Venue")
    port = _free_port()
    thread = await ServerThread(
        create_app(ServerConfig(data_dir=data_dir, port=port)), port
    ).start()
    try:
        yield LiveServer(thread.url, data_dir, thread)
    finally:
        await thread.stop()
