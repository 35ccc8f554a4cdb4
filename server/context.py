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
from .login import LoginThrottle, PasswordChecker
from .logs import get_logger
from .storage import Storage
from .writer import PriorityWriter

T = TypeVar("T")
log = get_logger(__name__)
#: a token's last use is written at most this often (and at least ten times per lifetime)
RENEW_EVERY_MS = 3_600_000


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
        config = self.config
        self.login_throttle = LoginThrottle(
            per_account=config.login_failures_per_account,
            per_address=config.login_failures_per_address,
            max_lockout_s=config.login_lockout_max_s,
        )
        self._passwords: PasswordChecker | None = None
        self._renewing: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self.refusals = audit_log.RefusalLog(
            self.writer.run_exclusive,
            self.now_ms,
            window_ms=int(self.config.audit_coalesce_s * 1000),
        )

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self.reader_executor, fn, self.reader, *args
        )

    @property
    def passwords(self) -> PasswordChecker:
        """The password checks of logins (made on first use: the decoy hash costs a check)."""
        if self._passwords is None:
            self._passwords = PasswordChecker()
        return self._passwords

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
        now = self.now_ms()
        used = device.last_used_ms
        lifetime_ms = int(self.config.token_idle_lifetime_s * 1000)
        if used is not None and now - used > lifetime_ms:
            raise AuthError("device token expired (unused too long); log in again")
        if used is None or now - used > min(lifetime_ms // 10, RENEW_EVERY_MS):
            self._renew(device.device_id, now)  # sliding: each use keeps the token alive
        return Principal(
            user_id=device.user_id,
            email=device.email,
            org_id=device.org_id,
            role=device.role,
            device_id=device.device_id,
        )

    def _renew(self, device_id: str, now: int) -> None:
        """Note the token's use (at most every ``RENEW_EVERY_MS``), off the request's path."""
        if device_id in self._renewing:
            return
        self._renewing.add(device_id)

        async def renew() -> None:
            try:
                await self.writer.run_exclusive(lambda st: st.touch_device(device_id, now))
            except Exception:  # the next use renews it
                log.debug("could not note the use of device %s", device_id, exc_info=True)
            finally:
                self._renewing.discard(device_id)

        task = asyncio.get_running_loop().create_task(renew())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
