"""Commits made by the other server processes sharing the store, followed like this process's own.

When several server processes share one database (``docs/scaling.md``), a device connected to
process A must see what a device on process B changed. ``RemoteCommits`` makes each commit of
this process's writer announce itself inside its transaction (``Storage.announce``: PostgreSQL's
NOTIFY, delivered exactly when the commit is, never for one rolled back), and listens to the
others' announcements (``Storage.listen``). A message from another process becomes a
``Commit`` handed, on the event loop, to the writer's listeners: live fan-out forwards its
campaign changes and notices to this process's devices, reports see that events were stored
(which ones is not said: they rebuild from the store).

A message carries the campaign updates themselves when they fit NOTIFY's limit; a commit with
more is announced without them, and the receiver reads each changed campaign's state instead (a
whole state is a valid update). Nothing here is needed for correctness: a device that misses a
live frame (a lost LISTEN connection, a full queue) gets the change by its next pull.

Order: remote commits reach listeners in the order they committed, but may arrive after this
process's own later commits (the listeners' contract says "in commit order" per process). They
are marked ``Commit.remote``: a listener that reads this process's writer (its statistics, its
last commit) skips them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .commits import CampaignChange, Changes, Commit, Notice
from .storage import Storage
from .writer import PriorityWriter

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 7_900


def encode(commit: Commit, origin: str, *, with_updates: bool = True) -> str:
    orgs: dict[str, Any] = {}
    for org_id, changes in commit.orgs.items():
        item: dict[str, Any] = {}
        if changes.events is None or changes.events:
            item["e"] = 1
        if changes.campaigns:
            item["c"] = [
                [
                    c.campaign_id,
                    c.device_id,
                    base64.b64encode(c.update).decode() if with_updates else None,
                ]
                for c in changes.campaigns
            ]
        if changes.notices:
            item["n"] = [
                [n.kind, n.body, list(n.roles) if n.roles else None] for n in changes.notices
            ]
        orgs[org_id] = item
    return json.dumps({"o": origin, "s": commit.seq, "g": orgs}, separators=(",", ":"), default=str)


def origin_of(message: str) -> str:
    return json.loads(message)["o"]


def decode(message: str, read_state: Callable[[str], bytes | None]) -> tuple[str, Commit]:
    """(origin, commit); ``read_state`` gives a campaign's stored state when the message left
    its update out."""
    data = json.loads(message)
    orgs: dict[str, Changes] = {}
    events_known = True
    for org_id, item in data["g"].items():
        campaigns = []
        for campaign_id, device_id, update in item.get("c", ()):
            body = base64.b64decode(update) if update is not None else read_state(campaign_id)
            if body is not None:
                campaigns.append(CampaignChange(campaign_id, body, device_id))
        notices = tuple(
            Notice(kind, body, tuple(roles) if roles else None)
            for kind, body, roles in item.get("n", ())
        )
        if item.get("e"):
            events_known = False  # which events: only the store knows
        events = None if item.get("e") else ()
        orgs[org_id] = Changes(org_id, events, tuple(campaigns), notices)
    return data["o"], Commit(int(data["s"]), orgs, events_known=events_known, remote=True)


class RemoteCommits:
    """Announces this writer's commits and hands the other processes' to its listeners."""

    def __init__(self, storage: Storage, writer: PriorityWriter) -> None:
        self.origin = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._writer = writer
        self._reader = storage.reader()  # the listener thread's own handle
        self._loop = asyncio.get_running_loop()
        self.received = 0
        writer.announce = self._announce
        self._listening = storage.listen(self._on_message, self._on_gap)

    @classmethod
    def attach(cls, storage: Storage, writer: PriorityWriter) -> RemoteCommits | None:
        """Follow the other processes when the store is shared (None otherwise)."""
        return cls(storage, writer) if storage.shared else None

    @property
    def listening(self) -> Any:
        return self._listening

    def close(self) -> None:
        self._writer.announce = None
        if self._listening is not None:
            self._listening.close()
        self._reader.close()

    def _announce(self, storage: Storage, commit: Commit) -> None:
        """Writer thread, inside the commit's transaction."""
        if not commit.orgs:
            return
        message = encode(commit, self.origin)
        if len(message.encode()) > MAX_MESSAGE_BYTES:
            message = encode(commit, self.origin, with_updates=False)
        if len(message.encode()) > MAX_MESSAGE_BYTES:
            log.warning(
                "commit %s is too large to announce; others' devices get it by pulling", commit.seq
            )
            return
        storage.announce(message)

    def _read_state(self, campaign_id: str) -> bytes | None:
        row = self._reader.campaign(campaign_id)
        return row.state if row is not None else None

    def _on_message(self, message: str) -> None:
        """The store's listener thread."""
        if origin_of(message) == self.origin:
            return
        _origin, commit = decode(message, self._read_state)
        self._loop.call_soon_threadsafe(self._deliver, commit)

    def _on_gap(self) -> None:
        log.warning("announcements from other server processes may have been missed")

    def _deliver(self, commit: Commit) -> None:
        self.received += 1
        for listener in self._writer.listeners:
            try:
                listener.committed(commit)
            except Exception:
                log.exception("commit listener %r failed on remote commit %s", listener, commit.seq)


#: the app's ``RemoteCommits`` (None: the store is not shared)
REMOTE: web.AppKey[RemoteCommits | None] = web.AppKey("remote", object)
