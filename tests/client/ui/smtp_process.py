"""A real SMTP server (aiosmtpd) in a process of its own that delivers into a maildir, for the
app's tests: the test process then runs nothing but the Qt loop, the server under test and the
app, with no SMTP thread beside them. Recipients at ``refused.test`` are refused with a 550.

    python -m tests.client.ui.smtp_process MAILDIR   # prints its port once it answers
"""

from __future__ import annotations

import asyncio
import mailbox
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.handlers import Mailbox

REPO = Path(__file__).resolve().parents[3]
REFUSED_DOMAIN = "refused.test"


class Maildrop(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802 - aiosmtpd's
        if address.endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@dataclass
class MailServer:
    port: int
    maildir: Path

    def smtp_settings(self, sender: str = "Venue Team <hello@venue.test>") -> dict[str, Any]:
        return {"host": "127.0.0.1", "port": self.port, "security": "none", "from": sender}

    def messages(self) -> list[EmailMessage]:
        """Every message delivered so far (each is in the maildir before the 250 is sent)."""
        box = mailbox.Maildir(self.maildir, create=False)
        return [
            message_from_bytes(box.get_bytes(key), policy=policy.default)
            for key in sorted(box.keys(), key=lambda k: box.get_message(k).get_date())
        ]


@asynccontextmanager
async def mail_server(tmp_path: Path) -> AsyncIterator[MailServer]:
    maildir = tmp_path / "maildir"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.client.ui.smtp_process",
        str(maildir),
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line.strip().isdigit():
            raise RuntimeError(f"the SMTP server did not start: {line!r}")
        yield MailServer(int(line), maildir)
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def _main(maildir: str) -> None:
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Maildrop(maildir), hostname="127.0.0.1", port=port)
    controller.start()  # returns once the server answers
    print(port, flush=True)
    sys.stdin.read()  # until the test closes our stdin
    controller.stop()


if __name__ == "__main__":
    _main(sys.argv[1])
