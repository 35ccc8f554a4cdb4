"""`wedsync admin ... smtp set|show|test`: an org's mail server, set from the store's host.

They work on the store directly (no server running needed; a running server reads the new
settings with its next send). The password comes from a file or standard input, never from an
argument (which other users see in the process list), and is stored sealed (``secrets``); the
answers never include it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from shared.protocol.ids import new_id

from ..errors import NotFoundError, ServerError
from ..storage import Storage, open_storage
from .mailer import send_test
from .secrets import SecretBox, load_secret
from .settings import load_smtp, save_smtp


class SmtpTestFailed(ServerError):
    code = "smtp_test_failed"  # type: ignore[assignment]


def _open(args: argparse.Namespace) -> tuple[Storage, SecretBox, str]:
    from ..cli import store_location

    location = store_location(args)
    data_dir = location if isinstance(location, Path) else getattr(args, "data_dir", None)
    box = SecretBox(load_secret(data_dir))
    storage = open_storage(location)
    org_id = storage.org_id(args.org)
    if org_id is None:
        storage.close()
        raise NotFoundError(f"no organisation {args.org!r} in {location}")
    return storage, box, org_id


def _password(path: str | None) -> str | None:
    if path is None:
        return None
    text = sys.stdin.readline() if path == "-" else Path(path).read_text(encoding="utf-8")
    password = text.splitlines()[0] if text.strip() else ""
    if not password:
        raise ValueError(f"--password-file {path}: the first line is empty")
    return password


def smtp_set_command(args: argparse.Namespace) -> dict[str, Any]:
    password = _password(args.password_file)
    if (args.user is None) != (password is None):
        raise ValueError("give --user and --password-file together (or neither)")
    storage, box, org_id = _open(args)
    try:
        import time

        with storage.transaction():
            saved = save_smtp(
                storage,
                box,
                org_id,
                host=args.host,
                port=args.port,
                security=args.security,
                user=args.user,
                password=password,
                from_address=args.from_address,
                at_ms=time.time_ns() // 1_000_000,
            )
        return {"org": args.org, **saved.public()}
    finally:
        storage.close()


def smtp_show_command(args: argparse.Namespace) -> dict[str, Any]:
    storage, box, org_id = _open(args)
    try:
        smtp = load_smtp(storage, box, org_id)
        return {"org": args.org, **(smtp.public() if smtp else {"configured": False})}
    finally:
        storage.close()


def smtp_test_command(args: argparse.Namespace) -> dict[str, Any]:
    import time

    storage, box, org_id = _open(args)
    try:
        smtp = load_smtp(storage, box, org_id)
    finally:
        storage.close()
    if smtp is None:
        raise NotFoundError(
            f"{args.org!r} has no SMTP settings: `wedsync admin ... smtp set` first"
        )
    message_id, result = asyncio.run(
        send_test(
            smtp,
            to=args.to,
            variant={
                "subject": "WedSync: test of your mail server settings",
                "body": "This message confirms that WedSync can send mail through this server.",
            },
            fields={},
            key=f"smtp-test:{new_id()}",
            now_ms=time.time_ns() // 1_000_000,
        )
    )
    if result.status != "sent":
        raise SmtpTestFailed(
            f"{smtp.settings.host}:{smtp.settings.port} did not accept the message "
            f"({result.status}: {result.code or ''} {result.detail})".replace("  ", " ")
        )
    return {"org": args.org, "to": args.to, "accepted": True, "message_id": message_id}
