"""Audit entries: who did what to which target, and whether it was refused.

Writes go through the writer: on their own (``ServerContext.audit``) or, when they record a
change, inside that change's job, so the change and its entry commit together (a conflict's
resolution). A refusal by role or org is recorded as ``refused:<error code>`` with the reason,
in the caller's org, before the caller is answered.
"""

from __future__ import annotations

from typing import Any

from .auth import Principal
from .errors import ServerError
from .storage import AuditStore


def record(
    storage: AuditStore,
    principal: Principal | None,
    *,
    action: str,
    target: str | None,
    outcome: str,
    detail: dict[str, Any] | None,
    at_ms: int,
    org_id: str | None = None,
) -> int | None:
    """Append one entry to the log of ``org_id`` (default: the principal's org; none: skip);
    its id."""
    org = org_id or (principal.org_id if principal else None)
    if org is None:
        return None
    return storage.audit(
        org_id=org,
        user_id=principal.user_id if principal else None,
        email=principal.email if principal else None,
        device_id=principal.device_id if principal else None,
        action=action,
        target=target,
        outcome=outcome,
        detail=detail or {},
        at_ms=at_ms,
    )


def record_refusal(
    storage: AuditStore,
    principal: Principal,
    error: ServerError,
    *,
    action: str,
    target: str | None,
    at_ms: int,
) -> int | None:
    return record(
        storage,
        principal,
        action=action,
        target=target,
        outcome=f"refused:{error.code}",
        detail={"reason": error.message},
        at_ms=at_ms,
    )


class RefusalLog:
    """Refusals as audit entries, identical ones in a row coalesced: a client that repeats a
    forbidden request thousands of times adds one entry whose ``repeats`` counts them (and
    ``last_at_ms`` says when the last came), not thousands of rows.

    Identical means the same org, user, device, action, target and outcome within ``window_ms``
    of the run's first refusal. The first refusal of a run is written before the caller is
    answered; the count of its repeats is written at most once per ``flush_s`` (and once more
    when the run ends), each a small update on the writer.
    """

    def __init__(
        self,
        run_write: Any,
        now_ms: Any,
        *,
        window_ms: int = 60_000,
        flush_s: float = 1.0,
    ) -> None:
        self._write = run_write  # PriorityWriter.run_exclusive
        self._now_ms = now_ms
        self._window_ms = window_ms
        self._flush_s = flush_s
        self._runs: dict[tuple, _Run] = {}

    async def refuse(
        self, principal: Principal, error: ServerError, *, action: str, target: str | None
    ) -> None:
        import asyncio

        outcome = f"refused:{error.code}"
        key = (principal.org_id, principal.user_id, principal.device_id, action, target, outcome)
        now = self._now_ms()
        run = self._runs.get(key)
        if run is not None and now - run.first_ms < self._window_ms:
            run.count += 1
            run.last_ms = now
            if run.entry_id is not None and run.flush is None:
                run.flush = asyncio.get_running_loop().call_later(
                    self._flush_s, lambda: asyncio.ensure_future(self._flush(run))
                )
            return
        if len(self._runs) > 10_000:
            self._runs = {k: r for k, r in self._runs.items() if now - r.first_ms < self._window_ms}
        run = self._runs[key] = _Run(first_ms=now, last_ms=now)
        run.entry_id = await self._write(
            lambda st: record_refusal(st, principal, error, action=action, target=target, at_ms=now)
        )
        if run.count > run.written:
            await self._flush(run)

    async def _flush(self, run: _Run) -> None:
        run.flush = None
        if run.entry_id is None or run.count == run.written:
            return
        count, last = run.count, run.last_ms
        await self._write(
            lambda st: st.audit_repeated(run.entry_id, repeats=count, last_at_ms=last)
        )
        run.written = max(run.written, count)


class _Run:
    __slots__ = ("count", "entry_id", "first_ms", "flush", "last_ms", "written")

    def __init__(self, *, first_ms: int, last_ms: int) -> None:
        self.first_ms = first_ms
        self.last_ms = last_ms
        self.count = 1
        self.written = 1
        self.entry_id: int | None = None
        self.flush: Any = None
