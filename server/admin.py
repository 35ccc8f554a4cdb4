"""Administration on the server's store, a data directory or a database (no server running)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .accounts import check_email, check_password
from .auth import ROLES, hash_password
from .cli import store_location
from .errors import BadRequest, NotFoundError
from .storage import Location, migrate_store, open_storage

DEFAULT_ORG = "default"


def create_user(
    data_dir: Location, *, email: str, password: str, role: str, org: str | None = None
) -> dict[str, Any]:
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}")
    email = check_email(email)  # the same rules as the HTTP API's
    check_password(password, email=email)
    storage = open_storage(data_dir)
    try:
        org = org or _only_org(storage.org_names())
        org_id = storage.ensure_org(org)
        user_id = storage.create_user(
            org_id=org_id, email=email, password_hash=hash_password(password), role=role
        )
    finally:
        storage.close()
    return {"id": user_id, "email": email, "role": role, "org": org, "org_id": org_id}


def _only_org(names: list[str]) -> str:
    """The organisation a user goes to when none is named: the only one there is (a new data
    dir gets ``DEFAULT_ORG``); with several, the caller must choose."""
    if not names:
        return DEFAULT_ORG
    if len(names) == 1:
        return names[0]
    raise BadRequest(
        f"this server has {len(names)} organisations; choose one with --org: "
        + ", ".join(repr(n) for n in names)
    )


def stats(data_dir: Location) -> dict[str, Any]:
    storage = open_storage(data_dir)
    try:
        return storage.stats()
    finally:
        storage.close()


def create_user_command(args: argparse.Namespace) -> dict[str, Any]:
    return create_user(
        store_location(args), email=args.email, password=args.password, role=args.role, org=args.org
    )


def stats_command(args: argparse.Namespace) -> dict[str, Any]:
    return stats(store_location(args))


def copy_command(args: argparse.Namespace) -> dict[str, Any]:
    """`wedsync admin copy --from A --to B`: every table of store A into the empty store B,
    then verified (``server.storage.copy``)."""
    from .storage.copy import copy_store

    def location(text: str) -> Path | str:
        return text if "://" in text else Path(text)

    return copy_store(location(args.source), location(args.target))


def migrate_command(args: argparse.Namespace) -> dict[str, Any]:
    """`wedsync admin migrate`: apply the migrations the store lacks; refuses a store migrated
    by a newer version (``schema_too_new``)."""
    return migrate_store(store_location(args))


def report_roi(
    data_dir: Path,
    *,
    org: str,
    from_ms: int | None,
    to_ms: int | None,
    truth: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The ROI report of ``org`` read from a server's data directory (no server running);
    ``truth`` (channel → true share, as seed-demo's generator knows it) adds each attribution
    model's distance from it."""
    from .reports import ReportService

    storage = open_storage(data_dir)
    org_id = storage.org_id(org)
    if org_id is None:
        storage.close()
        raise NotFoundError(f"no organisation {org!r} in {data_dir}")
    service = ReportService(storage)
    try:
        return service.roi_sync(org_id, from_ms, to_ms, truth=truth)
    finally:
        service.close()
