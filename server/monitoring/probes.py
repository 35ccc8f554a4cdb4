"""Readings that need I/O: the store, the disk, the scheduler's due rows, an org's SMTP server.

The synchronous ones run on the monitor's own thread with its own read handle (never on the
event loop, never on the request readers' threads); the SMTP probe is a coroutine with a
timeout. Each returns plain values; grading is for ``checks``.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosmtplib

from ..storage import Storage

#: due rows counted at most (the count is "this many or more" beyond it)
BACKLOG_COUNT_LIMIT = 1000


@dataclass(frozen=True)
class StoreReading:
    reachable: bool
    probe_s: float
    disk_total_bytes: int | None
    disk_free_bytes: int | None
    wal_bytes: int | None  # None: the store keeps no WAL file here (PostgreSQL)
    pool_in_use: int | None  # None: no connection pool (SQLite)
    pool_max: int | None
    pool_waiting: int | None


def read_store(storage: Storage, data_dir: Path, *, timeout_s: float = 2.0) -> StoreReading:
    started = time.perf_counter()
    reachable = storage.reachable(timeout_s)
    probe_s = time.perf_counter() - started
    total = free = None
    try:
        usage = shutil.disk_usage(data_dir)
        total, free = usage.total, usage.free
    except OSError:
        pass
    wal = _wal_bytes(storage)
    in_use = max_size = waiting = None
    pool = getattr(storage, "pool", None)
    stats = getattr(pool, "get_stats", None)
    if callable(stats):
        figures: dict[str, Any] = stats()
        max_size = int(figures.get("pool_max") or getattr(pool, "max_size", 0) or 0) or None
        size = int(figures.get("pool_size", 0))
        in_use = max(0, size - int(figures.get("pool_available", 0)))
        waiting = int(figures.get("requests_waiting", 0))
    return StoreReading(reachable, probe_s, total, free, wal, in_use, max_size, waiting)


def _wal_bytes(storage: Storage) -> int | None:
    """The size of the write-ahead log files beside an embedded store (``*-wal``)."""
    location = Path(storage.location)
    if not location.is_dir():
        return None
    found = False
    size = 0
    for path in location.glob("*-wal"):
        try:
            size += path.stat().st_size
            found = True
        except OSError:
            continue
    return size if found else 0


@dataclass(frozen=True)
class BacklogReading:
    oldest_due_ms: int | None  # the earliest due time of a waiting step or queued send
    overdue_enrolments: int  # due enrolments (at most BACKLOG_COUNT_LIMIT)
    orgs_with_overdue_sends: list[str]


def read_backlog(storage: Storage, now_ms: int) -> BacklogReading | None:
    """The scheduler's due rows; None when the store keeps no automation rows."""
    try:
        dues = [d for d in (storage.next_due_ms(), storage.next_send_due_ms()) if d is not None]
        overdue = len(storage.due_enrolments(now_ms, BACKLOG_COUNT_LIMIT))
        orgs = storage.orgs_with_due_sends(now_ms)
    except (AttributeError, NotImplementedError):
        return None
    return BacklogReading(min(dues) if dues else None, overdue, list(orgs))


@dataclass(frozen=True)
class SmtpProbe:
    ok: bool
    seconds: float
    detail: str


async def probe_smtp(host: str, port: int, *, security: str, timeout_s: float) -> SmtpProbe:
    """Connect, greet (EHLO) and say NOOP: the server answers. No login, no mail."""
    started = time.perf_counter()
    client = aiosmtplib.SMTP(
        hostname=host,
        port=port,
        use_tls=security == "tls",
        start_tls=False,
        timeout=timeout_s,
    )
    try:
        await client.connect()
        code, _ = await client.noop()
        detail = f"{host}:{port} answered {code}"
        ok = 200 <= code < 400
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        ok, detail = False, f"{host}:{port}: {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
    return SmtpProbe(ok, time.perf_counter() - started, detail)
