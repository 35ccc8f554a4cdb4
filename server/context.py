"""Everything a request handler needs, built once per app (``create_app``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import audit as audit_log
from .auth import Principal, hash_token
from .campaigns import CampaignDocs
from .config import ServerConfig
from .errors import AuthError, ServerError
from .hub import Hub
from .log_epoch import LogEpoch
from .storage import Storage
from .writer import PriorityWriter

T = TypeVar("T")


@dataclass
class ServerContext:
    config: ServerConfig
    storage: Storage  # writer handle: writer thread only
    reader: Storage  # reader handle: reader thread only
    #: runs reads (a ``FairExecutor`` taking turns between orgs, or the simulator's inline one)
    reader_executor: Executor
    writer: PriorityWriter
    docs: CampaignDocs
    hub: Hub
    #: the server's clock (epoch ms): told to devices at WELCOME, stamped on audit entries; the
    #: simulator passes its virtual clock
    now_ms: Callable[[], int] = field(default=lambda: time.time_ns() // 1_000_000)
    #: authentication's own handle and thread, which no user-triggered work can fill (None:
    #: the reader's)
    auth_reader: Storage | None = None
    auth_executor: Executor | None = None
    #: the epoch of the data directory's change log (None: a store without one, PostgreSQL)
    log_epoch: LogEpoch | None = None

    def __post_init__(self) -> None:
        self.refusals = audit_log.RefusalLog(
            self.writer.run_exclusive,
            self.now_ms,
            window_ms=int(self.config.audit_coalesce_s * 1000),
        )

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self.reader_executor, fn, self.reader, *args
        )

    async def auth_read(self, fn: Callable[..., T], *args: Any) -> T:
        """A read for authentication or login, on their own thread and handle."""
        if self.auth_executor is None or self.auth_reader is None:
            return await self.read(fn, *args)
        return await asyncio.get_running_loop().run_in_executor(
            self.auth_executor, fn, self.auth_reader, *args
        )

    async def authenticate(self, token: str) -> Principal:
        if not isinstance(token, str) or not token or len(token) > 200 or not token.isascii():
            raise AuthError("missing or malformed device token; log in again")
        device = await self.auth_read(lambda st: st.device_by_token_hash(hash_token(token)))
        if device is None:
            raise AuthError("unknown or revoked device token; log in again")
        return Principal(
            user_id=device.user_id,
            email=device.email,
            org_id=device.org_id,
            role=device.role,
            device_id=device.device_id,
        )

    async def audit(
        self,
        principal: Principal | None,
        *,
        action: str,
        target: str | None,
        outcome: str,
        detail: dict[str, Any] | None = None,
        org_id: str | None = None,
    ) -> None:
        at_ms = self.now_ms()
        await self.writer.run_exclusive(
            lambda st: audit_log.record(
                st,
                principal,
                action=action,
                target=target,
                outcome=outcome,
                detail=detail,
                at_ms=at_ms,
                org_id=org_id,
            )
        )

    async def refuse(
        self, principal: Principal, error: ServerError, *, action: str, target: str | None
    ) -> None:
        """Log a refused attempt (by role or org) in the audit log of the caller's org;
        identical ones in a row are one entry with a count (``audit.RefusalLog``)."""
        await self.refusals.refuse(principal, error, action=action, target=target)
