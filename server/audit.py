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
) -> None:
    """Append one entry to the log of ``org_id`` (default: the principal's org; none: skip)."""
    org = org_id or (principal.org_id if principal else None)
    if org is None:
        return
    storage.audit(
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
) -> None:
    record(
        storage,
        principal,
        action=action,
        target=target,
        outcome=f"refused:{error.code}",
        detail={"reason": error.message},
        at_ms=at_ms,
    )
