"""kill -9 of a real server process in the middle of its sends, with a real SMTP server: after
the restart every due email goes out once, except the one in flight at the kill, which goes
again with the same Message-ID (and the same bytes) — the documented duplicate, and the only one.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine
from server import admin
from server.automation.secrets import SecretBox, load_secret
from server.automation.settings import save_smtp
from server.storage import open_storage
from tests.conftest import PASSWORD, USERS, free_port, start_server_process
from tests.server.automation.mail import Inbox, build_campaign

pytestmark = pytest.mark.slow
CONTACTS = 24
KILL_AT = 6  # the server dies while SMTP accepts this message


class KillingInbox(Inbox):
    """Accepts mail; on message ``KILL_AT`` it SIGKILLs the server before answering 250, so
    the message is accepted by SMTP but never recorded as sent: the send in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.process = None
        self.killed_at: bytes | None = None
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        self.raw.append(envelope.content)
        if len(self.raw) == KILL_AT and self.process is not None and self.killed_at is None:
            self.killed_at = envelope.content
            os.kill(self.process.pid, signal.SIGKILL)
        return await super().handle_DATA(server, session, envelope)


def configure(data_dir, inbox: Inbox) -> None:
    for email_address, role, org in USERS.values():
        admin.create_user(data_dir, email=email_address, password=PASSWORD, role=role, org=org)
    storage = open_storage(data_dir)
    try:
        org_id = storage.org_id("Org A")
        with storage.transaction():
            save_smtp(
                storage,
                SecretBox(load_secret(data_dir)),
                org_id,
                host="127.0.0.1",
                port=inbox.port,
                security="none",
                user=None,
                password=None,
                from_address="hello@venue.test",
                at_ms=1,
            )
    finally:
        storage.close()


@pytest.fixture
def workdir():
    """A directory of the test's own (not under pytest's temporary root: a process whose
    command line names that root is easy to mistake for the test runner itself)."""
    path = Path(tempfile.mkdtemp(prefix="wedsync-automation-crash-"))
    yield path
    if os.environ.get("KEEP") is None:
        shutil.rmtree(path, ignore_errors=True)


async def test_kill_9_mid_send_repeats_only_the_message_in_flight(workdir):
    tmp_path = workdir
    inbox = KillingInbox().start()
    data_dir = tmp_path / "server"
    configure(data_dir, inbox)
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    inbox.process = await start_server_process(data_dir, port, env)
    replica = Replica(tmp_path / "laptop")
    engine = SyncEngine(replica, tokens=MemoryTokens())
    try:
        await engine.login(f"http://127.0.0.1:{port}", USERS["marketer"][0], PASSWORD, "laptop")
        campaign_id, _ = replica.create_campaign(name="Churn")
        replica.edit_campaign(
            campaign_id, lambda d: build_campaign(d, holdout_pct=0, first="a") and []
        )
        contacts = [f"supplier{i}@florist.test" for i in range(CONTACTS)]
        for contact in contacts:
            replica.upsert_contact(contact, {"first_name": "Sam", "role": "supplier"})
            replica.capture(kind="health_score", contact=contact, payload={"score": 31})
        await engine.sync_once()
        assert await asyncio.wait_for(inbox.process.wait(), 60) == -signal.SIGKILL
        assert inbox.killed_at is not None
        before = len(inbox.messages)

        # the same data directory, a new process: the lost claims come back, nothing else
        inbox.process = await start_server_process(data_dir, port, env)
        await inbox.wait_for(CONTACTS + 1, timeout_s=120)
        # a last contact's email goes through the same lane after every earlier one was
        # recorded: once it is here, nothing more of the earlier ones can come
        replica.upsert_contact("last@florist.test", {"first_name": "Al", "role": "supplier"})
        replica.capture(kind="health_score", contact="last@florist.test", payload={"score": 31})
        await engine.sync_once()
        messages = await inbox.wait_for(CONTACTS + 2, timeout_s=120)
        assert messages[-1]["To"] == "last@florist.test"
        earlier = messages[:-1]
        ids = [m["Message-ID"] for m in earlier]
        assert len(set(ids)) == CONTACTS  # everyone got their email
        assert sorted({m["Message-ID"]: m["To"] for m in earlier}.values()) == sorted(contacts)
        in_flight = email.message_from_bytes(inbox.killed_at, policy=email.policy.default)
        assert [i for i in set(ids) if ids.count(i) > 1] == [in_flight["Message-ID"]]
        assert inbox.raw.count(inbox.killed_at) == 2  # the very same bytes, once more
        assert before == KILL_AT  # nothing went out while the server was down
        reader = open_storage(data_dir)
        try:
            statuses = [
                reader.send_by_key(s).status
                for s in (
                    f"{e.id}/{e.state['done'][0]}"
                    for c in contacts
                    for e in reader.enrolments_of(reader.org_id("Org A"), c)
                )
            ]
        finally:
            reader.close()
        assert statuses == ["sent"] * CONTACTS
    finally:
        await engine.close()
        replica.close()
        if inbox.process is not None and inbox.process.returncode is None:
            inbox.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(inbox.process.wait(), 60)
        await inbox.stop()
